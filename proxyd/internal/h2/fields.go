package h2

import (
	"net/http"
	"net/textproto"
	"strings"

	"proxyd.dev/proxyd/internal/h2conn"
)

// dropConnectionFields removes the connection-specific fields from h (see h2conn.IsConnectionField),
// and the fields a Connection field names as hop-by-hop (RFC 9110 §7.6.1).
func dropConnectionFields(h http.Header) {
	for _, v := range h["Connection"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for name := range h {
		if h2conn.IsConnectionField(name) {
			delete(h, name)
		}
	}
}

// requestHeader returns the fields of an HTTP/2 request to forward to a backend speaking p, per
// RFC 9113 §8.2 and §8.3: without connection-specific fields; TE only as "trailers" and only to
// an h2c backend (in HTTP/1.1 it is hop-by-hop); the Cookie fields joined into one with "; "
// (§8.2.3). The pseudo-header fields are not in it: :authority becomes the Host field (or
// :authority again) through Request.Host, :path the request-target, :method the method. It edits
// in, the stream's own fields, which nothing reads after them.
func requestHeader(in http.Header, p protocol) http.Header {
	h := in
	if h == nil {
		h = make(http.Header)
	}
	dropConnectionFields(h)
	if p != protoH2C || !strings.EqualFold(h.Get("Te"), "trailers") {
		delete(h, "Te")
	}
	if cookies := h["Cookie"]; len(cookies) > 1 {
		h["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	// Pseudo-header fields the server kept in the map (":protocol" of extended CONNECT) are not
	// fields to forward.
	for name := range h {
		if strings.HasPrefix(name, ":") {
			delete(h, name)
		}
	}
	return h
}

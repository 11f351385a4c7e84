package forwarded

import (
	"bytes"
	"fmt"
	"net/http"
	"net/netip"

	"proxyd.dev/wire"
)

// The fields that name a request's client, spelled as http.Header keys. Heads match them ignoring
// case.
const (
	forwardedFor   = "X-Forwarded-For"
	forwardedProto = "X-Forwarded-Proto"
	forwardedHost  = "X-Forwarded-Host"
	realIP         = "X-Real-Ip"
	forwardedField = "Forwarded" // RFC 7239
)

// clientFields are the fields removed from the request of a client that is not trusted. Read-only.
var clientFields = [...]string{forwardedFor, forwardedProto, forwardedHost, realIP, forwardedField}

// longestClientField is the length of the longest of clientFields.
const longestClientField = len(forwardedProto)

// proto is the X-Forwarded-Proto value and Forwarded "proto" parameter proxyd writes: it serves
// cleartext HTTP only.
const proto = "http"

// written describes a field proxyd writes on every request it forwards.
type written struct {
	name string
	// extend says what becomes of the field a trusted client sent: with extend, its values (of
	// all its fields, in order) are kept, joined into one field, and proxyd's element is appended;
	// without, the field is forwarded as sent, and proxyd writes one only when the client sent none.
	extend bool
	// element appends proxyd's element of the field for the client.
	element func(dst []byte, client netip.Addr) []byte
}

// writtenFields are the fields proxyd writes, in the order it writes them. Read-only.
var writtenFields = [...]written{
	{forwardedFor, true, appendNode},
	{forwardedProto, false, appendProto},
	{forwardedField, true, appendForwardedElement},
}

// AppendHead appends to dst the request head `head` as proxyd forwards it to a backend, with the
// client-address fields edited for the client at `client`:
//
//   - when p does not trust the client, its X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host,
//     X-Real-IP and Forwarded fields are removed, and "X-Forwarded-For: client",
//     "X-Forwarded-Proto: http" and "Forwarded: for=client;proto=http" are added;
//   - when p trusts it, its X-Forwarded-For fields are joined into one with ", " and ", client"
//     appended, its Forwarded fields likewise with the new element, and its X-Forwarded-Proto,
//     X-Forwarded-Host and X-Real-IP fields are kept as sent ("X-Forwarded-Proto: http" is added
//     when it sent none).
//
// Removed fields are matched ignoring case, and also with '_' for '-': a backend that reads fields
// as CGI variables (WSGI, PHP) takes X_Forwarded_For for X-Forwarded-For. Connection options that
// name any of those fields are removed too, whether the client is trusted or not (a Connection
// field left without options is dropped): an intermediary between proxyd and the backend removes
// the fields a request's Connection options name (RFC 9110 §7.6.1), and would otherwise take out
// the fields proxyd wrote, as the client asked. The fields proxyd writes go last, before the empty
// line that ends the head; every other byte is unchanged. An IPv6 client is written as
// X-Forwarded-For 2001:db8::1 and Forwarded for="[2001:db8::1]" (RFC 7239 §6), an IPv4-mapped one
// as IPv4, without a zone; a client without an address as "unknown" (§6.3).
//
// head is exactly one complete request head accepted by wire.ParseRequestHead, ending with the
// empty line; the error names a head that does not end so. AppendHead allocates only to grow dst.
func (p *Policy) AppendHead(dst, head []byte, client netip.Addr) ([]byte, error) {
	const crlf = "\r\n"
	if !bytes.HasSuffix(head, []byte(crlf+crlf)) {
		return dst, fmt.Errorf("forwarded: request head does not end with an empty line: %q", head[max(0, len(head)-32):])
	}
	client, trusted := p.client(client)
	var sent [len(writtenFields)]bool // by a trusted client
	if !namesClient(head) {
		// The common case: nothing to remove or extend, the head is copied as it is.
		dst = append(dst, head[:len(head)-len(crlf)]...)
		return appendWritten(dst, head, client, &sent), nil
	}
	drop := isClientField[[]byte]
	if trusted {
		drop = func(name []byte) bool {
			for i := range writtenFields {
				if f := &writtenFields[i]; wire.FieldNameEqual(name, f.name) {
					sent[i] = true
					return f.extend
				}
			}
			return false
		}
	}
	dst = wire.AppendWithoutOptions(dst, head, drop, isClientField[[]byte])
	return appendWritten(dst[:len(dst)-len(crlf)], head, client, &sent), nil
}

// appendWritten appends to dst, a head without its empty line, the fields proxyd writes for the
// client, extending those of head that sent marks as sent by a trusted client, and the empty line.
func appendWritten(dst, head []byte, client netip.Addr, sent *[len(writtenFields)]bool) []byte {
	const crlf = "\r\n"
	for i := range writtenFields {
		f := &writtenFields[i]
		start := len(dst)
		v := value{f: f, dst: append(append(dst, f.name...), ": "...), sent: sent[i]}
		if sent[i] && f.extend {
			for it := wire.Fields(head); it.Next(); {
				if wire.FieldNameEqual(it.Name(), f.name) {
					addSent(&v, it.Value())
				}
			}
		}
		line, ok := v.finish(client)
		if !ok {
			dst = line[:start]
			continue
		}
		dst = append(line, crlf...)
	}
	return append(dst, crlf...)
}

// namesClient reports whether the valid head has a field that names the client, one of
// clientFields, or a Connection field that may name one: its value holds an 'f' or an 'x', which
// every one of clientFields holds and the usual options (keep-alive, close, upgrade, TE) do not;
// wire.AppendWithoutOptions then finds the options. Only the names of lines that start with an
// 'x', an 'f' or a 'c', in either case, are compared; the lines are found with bytes.IndexByte, so
// a head without such fields, nearly every one, costs little more than a copy.
func namesClient(head []byte) bool {
	for i := bytes.IndexByte(head, '\n') + 1; i < len(head); {
		n := bytes.IndexByte(head[i:], '\n')
		if n < 0 {
			break
		}
		line := head[i : i+n]
		if c := line[0] | 0x20; c == 'x' || c == 'f' || c == 'c' {
			colon := bytes.IndexByte(line, ':')
			switch {
			case colon <= 0:
			case c == 'c':
				if wire.FieldNameEqual(line[:colon], "Connection") && bytes.IndexAny(line[colon+1:], "fFxX") >= 0 {
					return true
				}
			case isClientField(line[:colon]):
				return true
			}
		}
		i += n + 1
	}
	return false
}

// EditHeader edits the client-address fields of h, the fields of a request proxyd forwards, for
// the client at `client`, as AppendHead does in a head; what proxyd writes replaces the fields it
// writes (h["X-Forwarded-For"] is one value). h is not nil, and its keys are in canonical form
// (http.Header's), as in the header of a request proxyd builds to forward.
func (p *Policy) EditHeader(h http.Header, client netip.Addr) {
	client, trusted := p.client(client)
	if !trusted {
		for name := range h {
			if isClientField(name) {
				delete(h, name)
			}
		}
	}
	// Each value is built in buf, unless it outgrows it, and copied by string(line).
	var buf [96]byte
	for i := range writtenFields {
		f := &writtenFields[i]
		v := value{f: f, dst: buf[:0], sent: trusted && len(h[f.name]) > 0}
		if v.sent && f.extend {
			for _, sent := range h[f.name] {
				addSent(&v, sent)
			}
		}
		if line, ok := v.finish(client); ok {
			h[f.name] = []string{string(line)}
		}
	}
}

// client returns the client's address as proxyd writes it (IPv4-mapped IPv6 as IPv4, no zone) and
// whether p trusts it.
func (p *Policy) client(addr netip.Addr) (netip.Addr, bool) {
	addr = addr.Unmap().WithZone("")
	return addr, p.trusts(addr)
}

// value builds the value of one of writtenFields from what a trusted client sent in it and
// proxyd's element.
type value struct {
	f        *written
	dst      []byte
	elements int  // values of the client's in dst
	sent     bool // a trusted client sent the field
}

// addSent adds sent, the value of one field f a trusted client sent (a list: RFC 9110 §5.6.1),
// when f is one proxyd extends.
func addSent[V string | []byte](v *value, sent V) {
	if len(sent) > 0 {
		v.dst = append(v.separate(), sent...)
		v.elements++
	}
}

// finish appends proxyd's element for client and returns the value, or ok == false when the
// client's field is forwarded as sent instead.
func (v *value) finish(client netip.Addr) (line []byte, ok bool) {
	if v.sent && !v.f.extend {
		return v.dst, false
	}
	return v.f.element(v.separate(), client), true
}

// separate returns v.dst with the ", " that comes before the next list element, if any comes
// before it.
func (v *value) separate() []byte {
	if v.elements > 0 {
		return append(v.dst, ", "...)
	}
	return v.dst
}

// isClientField reports whether name is one of clientFields, ignoring case and taking '_' for '-'.
func isClientField[N string | []byte](name N) bool {
	if len(name) > longestClientField {
		return false
	}
	var buf [longestClientField]byte
	n := copy(buf[:], name)
	for i, c := range buf[:n] {
		if c == '_' {
			buf[i] = '-'
		}
	}
	for _, f := range clientFields {
		if wire.FieldNameEqual(buf[:n], f) {
			return true
		}
	}
	return false
}

// appendNode appends the client as an X-Forwarded-For element: 192.0.2.1, 2001:db8::1, or
// "unknown" for a client without an address.
func appendNode(dst []byte, client netip.Addr) []byte {
	if !client.IsValid() {
		return append(dst, "unknown"...)
	}
	return client.AppendTo(dst)
}

// appendProto appends the X-Forwarded-Proto value.
func appendProto(dst []byte, _ netip.Addr) []byte { return append(dst, proto...) }

// appendForwardedElement appends the Forwarded element for the client (RFC 7239 §4):
// for=192.0.2.1;proto=http, with an IPv6 address bracketed and quoted (§6, a quoted-string since
// ':' is not a token character), for="[2001:db8::1]";proto=http, and for=unknown for a client
// without an address (§6.3).
func appendForwardedElement(dst []byte, client netip.Addr) []byte {
	dst = append(dst, "for="...)
	if client.Is6() {
		dst = client.AppendTo(append(dst, `"[`...))
		dst = append(dst, `]"`...)
	} else {
		dst = appendNode(dst, client)
	}
	return append(dst, ";proto="+proto...)
}

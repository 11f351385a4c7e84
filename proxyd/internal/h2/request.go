package h2

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// upstreamRequest is the request that carries a stream to its backend, with its URL: one allocation with
// the stream's rather than two of their own.
type upstreamRequest struct {
	req http.Request
	url url.URL
}

// build makes the request that carries stream r to the backend at addr speaking p, with target
// (the :path, rewritten when --rewrite applies) as its request-target and body as its body. It
// runs in ctx, which ends with the client's stream.
func (u *upstreamRequest) build(ctx context.Context, r *http.Request, addr, target string, p protocol, body io.ReadCloser) *http.Request {
	connect := r.Method == http.MethodConnect && extendedProtocol(r) == "" // a tunnel to :authority
	u.url = targetURL(addr, target)
	out := &http.Request{
		Method:        r.Method,
		URL:           &u.url,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        requestHeader(r.Header, p),
		Body:          body,
		ContentLength: r.ContentLength,
		Host:          r.Host,
		Trailer:       r.Trailer, // filled by the server once the body has ended, before its EOF
	}
	if connect {
		u.url = url.URL{Scheme: "http", Host: r.Host}
	}
	u.req = *out.WithContext(ctx)
	return &u.req
}

// targetURL returns the URL whose request-target, as both transports write it, is target byte for
// byte: "http://addr" with target as the opaque part. A path starting with "//" would be written in
// absolute form from an opaque URL, so it goes into Path and RawPath instead (net/url keeps a valid
// RawPath as written).
func targetURL(addr, target string) url.URL {
	u := url.URL{Scheme: "http", Host: addr}
	path, query, hasQuery := strings.Cut(target, "?")
	u.RawQuery, u.ForceQuery = query, hasQuery && query == ""
	if !strings.HasPrefix(path, "//") {
		u.Opaque = path
		return u
	}
	u.RawPath = path
	if p, err := url.PathUnescape(path); err == nil {
		u.Path = p
	} else {
		u.Path = path
	}
	return u
}

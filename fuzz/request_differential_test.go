package fuzz

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"proxyd.dev/wire"
)

// FuzzRequestHeadDifferential checks every head wire.ParseRequestHead accepts against net/http's
// http.ReadRequest on the same bytes: net/http must accept it too, with the same method, the same
// RequestURI and the same body framing. A framing disagreement is a request-smuggling candidate.
// wire rejecting what net/http accepts is allowed (wire is strict on purpose).
//
// One difference is not about framing and is set aside: wire takes any request-target of visible
// bytes and leaves its syntax to the router, while net/http parses it as a URL. When net/http's URL
// parser rejects the target, the comparison is made on the head with the target replaced by "/".
func FuzzRequestHeadDifferential(f *testing.F) {
	addRequestSeeds(f)
	f.Fuzz(checkRequestHeadDifferential)
}

// checkRequestHeadDifferential is FuzzRequestHeadDifferential's check of one input.
func checkRequestHeadDifferential(t *testing.T, buf []byte) {
	var h wire.RequestHead
	if wire.ParseRequestHead(buf, &h) != nil {
		return
	}
	head := buf[:h.Len]
	if !netHTTPParsesTarget(string(h.Method), string(h.Target)) {
		head = slices.Concat(head[:h.TargetStart], []byte("/"), head[h.TargetStart+len(h.Target):])
		if err := wire.ParseRequestHead(head, &h); err != nil {
			t.Fatalf("head %q with its target replaced by \"/\": %v", head, err)
		}
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		t.Fatalf("wire accepts %q (%+v) but net/http rejects it: %v", head, h.Body, err)
	}
	if req.Method != string(h.Method) || req.RequestURI != string(h.Target) {
		t.Errorf("head %q: net/http reads %q %q, wire %q %q", head, req.Method, req.RequestURI, h.Method, h.Target)
	}
	if got := netHTTPFraming(req.Body, req.ContentLength, req.TransferEncoding, false); got != h.Body {
		t.Errorf("smuggling candidate: head %q is framed %+v by wire, %+v by net/http (ContentLength %d, TransferEncoding %q)",
			head, h.Body, got, req.ContentLength, req.TransferEncoding)
	}
}

// netHTTPParsesTarget reports whether net/http's http.ReadRequest accepts target as the
// request-target of a request with this method: it parses it with url.ParseRequestURI, after
// prefixing "http://" to a CONNECT target not starting with "/".
func netHTTPParsesTarget(method, target string) bool {
	if method == "CONNECT" && !strings.HasPrefix(target, "/") {
		target = "http://" + target
	}
	_, err := url.ParseRequestURI(target)
	return err == nil
}

// netHTTPFraming translates how net/http frames a body (its Body, http.NoBody when there is none;
// its ContentLength, -1 for unknown; its TransferEncoding list) into a wire.Framing. untilClose says
// whether an unknown length without chunked coding means a body read until the connection closes
// (responses); otherwise it is reported as an impossible framing, an invalid Kind, so that it never
// equals a wire framing.
func netHTTPFraming(body io.ReadCloser, contentLength int64, transferEncoding []string, untilClose bool) wire.Framing {
	const invalid = wire.BodyKind(255)
	switch {
	case body == http.NoBody:
		return wire.Framing{Kind: wire.BodyNone}
	case slices.Equal(transferEncoding, []string{"chunked"}) && contentLength == -1:
		return wire.Framing{Kind: wire.BodyChunked}
	case len(transferEncoding) != 0:
		return wire.Framing{Kind: invalid}
	case contentLength > 0:
		return wire.Framing{Kind: wire.BodyLength, Length: contentLength}
	case untilClose:
		return wire.Framing{Kind: wire.BodyUntilClose}
	}
	return wire.Framing{Kind: invalid}
}

package fuzz

import (
	"bufio"
	"bytes"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"proxyd.dev/wire"
)

// FuzzResponseHeadDifferential checks every head wire.ParseResponseHead accepts against net/http's
// http.ReadResponse on the same bytes, as the answer to a GET request: net/http must accept it too,
// with the same status and the same body framing. A framing disagreement lets a backend's response
// run into the next one on the client connection. wire rejecting what net/http accepts is allowed.
//
// Two cases net/http does not read as RFC 9112 does are compared with the RFC instead:
//   - a Transfer-Encoding other than one "chunked" field, which net/http rejects: wire must frame
//     the body chunked when the final coding is chunked, else until close (RFC 9112 §6.3);
//   - Transfer-Encoding in an HTTP/1.0 response, which net/http ignores: the framing is faulty and
//     wire must close the connection after the body (RFC 9112 §6.1), so no next response follows.
func FuzzResponseHeadDifferential(f *testing.F) {
	addResponseSeeds(f)
	f.Fuzz(checkResponseHeadDifferential)
}

// checkResponseHeadDifferential is FuzzResponseHeadDifferential's check of one input.
func checkResponseHeadDifferential(t *testing.T, buf []byte) {
	var h wire.ResponseHead
	if wire.ParseResponseHead(buf, &h) != nil {
		return
	}
	head := buf[:h.Len]
	framing := h.Framing([]byte(http.MethodGet))
	codings := transferCodings(t, head)
	switch {
	case len(codings) > 0 && h.Version == wire.HTTP10:
		if !h.Close {
			t.Errorf("HTTP/1.0 head %q with Transfer-Encoding %q does not close the connection", head, codings)
		}
		return
	case len(codings) > 0 && (len(codings) != 1 || !strings.EqualFold(codings[0], "chunked")):
		if want := codingsFraming(h.Status, codings); framing != want {
			t.Errorf("head %q with Transfer-Encoding %q is framed %+v, RFC 9112 says %+v", head, codings, framing, want)
		}
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatalf("wire accepts %q (%+v) but net/http rejects it: %v", head, framing, err)
	}
	if resp.StatusCode != h.Status {
		t.Errorf("head %q: status %d for net/http, %d for wire", head, resp.StatusCode, h.Status)
	}
	if got := netHTTPFraming(resp.Body, resp.ContentLength, resp.TransferEncoding, true); got != framing {
		t.Errorf("desync candidate: head %q is framed %+v by wire, %+v by net/http (ContentLength %d, TransferEncoding %q)",
			head, framing, got, resp.ContentLength, resp.TransferEncoding)
	}
}

// transferCodings returns the values of the Transfer-Encoding fields of head, read with
// net/textproto, which must accept the fields of a head wire accepted.
func transferCodings(t *testing.T, head []byte) []string {
	t.Helper()
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(head)))
	if _, err := r.ReadLine(); err != nil {
		t.Fatalf("head %q: reading the status line: %v", head, err)
	}
	fields, err := r.ReadMIMEHeader()
	if err != nil {
		t.Fatalf("wire accepts %q but net/textproto rejects its fields: %v", head, err)
	}
	return fields.Values("Transfer-Encoding")
}

// codingsFraming returns the framing RFC 9112 §6.3 gives the body of a response with this status,
// answering a GET, whose Transfer-Encoding fields have these values: none for 1xx, 204 and 304;
// chunked when the final coding of the combined list is chunked; else until the connection closes.
func codingsFraming(status int, values []string) wire.Framing {
	if status < 200 || status == 204 || status == 304 {
		return wire.Framing{Kind: wire.BodyNone}
	}
	var final string
	for _, v := range values {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.Trim(c, " \t"); c != "" {
				final = c
			}
		}
	}
	if strings.EqualFold(final, "chunked") {
		return wire.Framing{Kind: wire.BodyChunked}
	}
	return wire.Framing{Kind: wire.BodyUntilClose}
}

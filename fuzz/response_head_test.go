package fuzz

import (
	"fmt"
	"testing"

	"proxyd.dev/wire"
)

// FuzzResponseHead checks wire.ParseResponseHead on its own: it never panics; it keeps the promises
// headParser.check lists, with status 502, and wire.ResponseParser given the bytes one at a time
// agrees with it; and an accepted head frames no body where RFC 9112 §6.3 says there is none. The
// facts written out again are the version, the status and the framing of the answer to a GET.
func FuzzResponseHead(f *testing.F) {
	addResponseSeeds(f)
	p := headParser[wire.ResponseHead, responseFacts]{
		parse:     wire.ParseResponseHead,
		resumable: func() func([]byte, *wire.ResponseHead) error { return new(wire.ResponseParser).Parse },
		facts:     responseFactsOf,
		statuses:  []int{502},
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		if facts, ok := p.check(t, buf); ok {
			checkResponseFacts(t, buf[:facts.Len], facts)
		}
	})
}

// responseFacts are the facts of a response head, with the framing of its body when it answers a
// GET, a HEAD and a CONNECT request.
type responseFacts struct {
	Version     wire.Version
	Status, Len int
	Close       bool
	Get, Head   wire.Framing
	Connect     wire.Framing
}

// responseFactsOf returns the facts of h.
func responseFactsOf(h *wire.ResponseHead) responseFacts {
	return responseFacts{
		Version: h.Version, Status: h.Status, Len: h.Len, Close: h.Close,
		Get: h.Framing([]byte("GET")), Head: h.Framing([]byte("HEAD")), Connect: h.Framing([]byte("CONNECT")),
	}
}

// checkResponseFacts fails t unless the facts of the accepted head are consistent: a version 1.0
// or 1.1, a three-digit status, no body for HEAD, 1xx, 204 and 304 or a 2xx to CONNECT, and the
// same framing for GET and CONNECT otherwise.
func checkResponseFacts(t *testing.T, head []byte, r responseFacts) {
	t.Helper()
	none := wire.Framing{}
	bodiless := r.Status < 200 || r.Status == 204 || r.Status == 304
	switch {
	case r.Version != wire.HTTP10 && r.Version != wire.HTTP11:
		t.Errorf("head %q: version %v", head, r.Version)
	case r.Status < 100 || r.Status > 999:
		t.Errorf("head %q: status %d", head, r.Status)
	case r.Head != none:
		t.Errorf("head %q: the answer to HEAD is framed %+v", head, r.Head)
	case bodiless && r.Get != none:
		t.Errorf("head %q: status %d is framed %+v", head, r.Status, r.Get)
	case r.Status/100 == 2 && r.Connect != none:
		t.Errorf("head %q: a 2xx answer to CONNECT is framed %+v", head, r.Connect)
	case r.Status/100 != 2 && r.Connect != r.Get:
		t.Errorf("head %q: framed %+v for GET but %+v for CONNECT", head, r.Get, r.Connect)
	case r.Get.Kind == wire.BodyLength && r.Get.Length <= 0,
		r.Get.Kind != wire.BodyLength && r.Get.Length != 0:
		t.Errorf("head %q: framing %+v", head, r.Get)
	}
}

// headLen returns the length of the head.
func (r responseFacts) headLen() int { return r.Len }

// written returns the facts that head writes out: the version, the status and the GET framing.
func (r responseFacts) written() responseFacts {
	return responseFacts{Version: r.Version, Status: r.Status, Get: r.Get}
}

// head writes the version, status and GET framing out as a minimal response head.
func (r responseFacts) head() []byte {
	b := fmt.Appendf(nil, "%v %03d Fuzz\r\n", r.Version, r.Status)
	return append(appendFramingField(b, r.Get), "\r\n"...)
}

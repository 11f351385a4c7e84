package fuzz

import (
	"fmt"
	"testing"

	"proxyd.dev/wire"
)

// FuzzRequestHead checks wire.ParseRequestHead on its own: it never panics; it keeps the promises
// headParser.check lists, with the request statuses 400, 501 and 505, and wire.RequestParser given
// the bytes one at a time agrees with it; and the facts of an accepted head are consistent with
// its bytes. The facts written out again are the method, target, version and framing.
func FuzzRequestHead(f *testing.F) {
	addRequestSeeds(f)
	p := headParser[wire.RequestHead, requestFacts]{
		parse:     wire.ParseRequestHead,
		resumable: func() func([]byte, *wire.RequestHead) error { return new(wire.RequestParser).Parse },
		facts:     requestFactsOf,
		statuses:  []int{400, 501, 505},
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		if facts, ok := p.check(t, buf); ok {
			checkRequestFacts(t, buf, facts)
		}
	})
}

// requestFacts are the facts of a request head.
type requestFacts struct {
	Method, Target   string
	TargetStart, Len int
	Version          wire.Version
	Body             wire.Framing
	Close, Upgrade   bool
	H2C, Expect      bool
}

// requestFactsOf returns the facts of h.
func requestFactsOf(h *wire.RequestHead) requestFacts {
	return requestFacts{
		Method: string(h.Method), Target: string(h.Target), TargetStart: h.TargetStart, Len: h.Len,
		Version: h.Version, Body: h.Body, Close: h.Close, Upgrade: h.Upgrade, H2C: h.H2C, Expect: h.ExpectContinue,
	}
}

// headLen returns the length of the head.
func (r requestFacts) headLen() int { return r.Len }

// written returns the facts that head writes out: the method, target, version and framing, which
// decide where a request goes and where its body ends.
func (r requestFacts) written() requestFacts {
	return requestFacts{Method: r.Method, Target: r.Target, Version: r.Version, Body: r.Body}
}

// head writes the facts out as a minimal request head: the request line, a Host field and the
// field that frames the body.
func (r requestFacts) head() []byte {
	b := fmt.Appendf(nil, "%s %s %v\r\nHost: fuzz.example\r\n", r.Method, r.Target, r.Version)
	return append(appendFramingField(b, r.Body), "\r\n"...)
}

// checkRequestFacts fails t unless the facts of the head accepted from buf are consistent: the
// method opens buf, the target is where TargetStart says, within the request line, the version is
// 1.0 or 1.1 and the framing is one a request can have.
func checkRequestFacts(t *testing.T, buf []byte, r requestFacts) {
	t.Helper()
	head := buf[:r.Len]
	end := r.TargetStart + len(r.Target)
	switch {
	case r.Method == "" || string(head[:len(r.Method)]) != r.Method:
		t.Errorf("method %q does not open the head %q", r.Method, head)
	case r.TargetStart <= len(r.Method) || end >= r.Len || string(head[r.TargetStart:end]) != r.Target:
		t.Errorf("target %q at %d is not in the request line of %q", r.Target, r.TargetStart, head)
	case r.Version != wire.HTTP10 && r.Version != wire.HTTP11:
		t.Errorf("version %v of %q", r.Version, head)
	}
	switch r.Body.Kind {
	case wire.BodyNone, wire.BodyChunked:
		if r.Body.Length != 0 {
			t.Errorf("framing %+v of %q has a length", r.Body, head)
		}
	case wire.BodyLength:
		if r.Body.Length <= 0 {
			t.Errorf("framing %+v of %q: length not positive", r.Body, head)
		}
	default:
		t.Errorf("framing %+v of %q: not a request framing", r.Body, head)
	}
}

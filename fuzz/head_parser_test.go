package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"proxyd.dev/wire"
)

// maxHeadPrefixes bounds how many proper prefixes of an accepted head are parsed again: 512. Heads
// up to that length have every proper prefix checked.
const maxHeadPrefixes = 512

// headFacts are the facts a head parser reads from one head, as FuzzRequestHead and
// FuzzResponseHead compare them.
type headFacts[F any] interface {
	// headLen returns the length of the head.
	headLen() int
	// written returns the facts that head writes out, the others zero.
	written() F
	// head writes the facts out as a minimal head.
	head() []byte
}

// headParser describes one head parser of wire (H is its head type, F the facts read from a head)
// for the checks that FuzzRequestHead and FuzzResponseHead share.
type headParser[H any, F headFacts[F]] struct {
	parse     func(buf []byte, h *H) error
	resumable func() func(buf []byte, h *H) error // the Parse method of a new resumable parser
	facts     func(h *H) F                        // every fact of the parsed head
	statuses  []int                               // the statuses of the parser's *wire.Error
}

// check parses buf and checks what both parsers promise. A rejection is ErrIncomplete (and then so
// is buf without its last byte) or a *wire.Error with one of the parser's statuses, an offset within
// buf and an excerpt from it. An accepted head lies within buf and ends with CRLF CRLF; it gives the
// same facts parsed without the bytes after it; its proper prefixes give ErrIncomplete; and its
// written facts, written out as a minimal head, parse back to themselves. The resumable parser,
// given buf one byte at a time, agrees (see checkResumable). check returns the facts and true when
// buf starts with an accepted head.
func (p headParser[H, F]) check(t *testing.T, buf []byte) (F, bool) {
	t.Helper()
	p.checkResumable(t, buf)
	var h H
	var zero F
	if err := p.parse(buf, &h); err != nil {
		p.checkError(t, buf, err)
		return zero, false
	}
	facts := p.facts(&h)
	n := facts.headLen()
	if n <= 0 || n > len(buf) {
		t.Fatalf("head length %d outside the %d-byte input %q", n, len(buf), buf)
	}
	head := buf[:n]
	if !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		t.Fatalf("head %q does not end with CRLF CRLF", head)
	}
	var alone H
	if err := p.parse(head, &alone); err != nil {
		t.Fatalf("head %q alone: %v", head, err)
	}
	if diff := cmp.Diff(facts, p.facts(&alone)); diff != "" {
		t.Fatalf("head %q parsed alone differs from the head followed by %q (-with +alone):\n%s", head, buf[n:], diff)
	}
	for k := range properPrefixes(n, maxHeadPrefixes) {
		if err := p.parse(head[:k], &alone); err != wire.ErrIncomplete {
			t.Fatalf("prefix %q of the accepted head %q: got %v, want ErrIncomplete", head[:k], head, err)
		}
	}
	again := facts.head()
	if err := p.parse(again, &alone); err != nil {
		t.Fatalf("head %q, written out again from the facts of %q: %v", again, head, err)
	}
	if diff := cmp.Diff(facts.written(), p.facts(&alone).written()); diff != "" {
		t.Fatalf("head %q written out again as %q: facts differ (-original +again):\n%s", head, again, diff)
	}
	return facts, true
}

// checkResumable feeds buf to a new resumable parser one byte per call, until a call gives
// something other than ErrIncomplete, each time in the other of two buffers so that the bytes move
// between calls. It fails t unless that call gives what the one-shot parser gives for the same
// bytes (the same error, or the same facts), and, at about maxHeadPrefixes evenly spread lengths
// before it, the one-shot parser also finds the prefix incomplete.
func (p headParser[H, F]) checkResumable(t *testing.T, buf []byte) {
	t.Helper()
	parse := p.resumable()
	bufs := [2][]byte{make([]byte, len(buf)), make([]byte, len(buf))}
	step := max(1, len(buf)/maxHeadPrefixes)
	for n := 0; n <= len(buf); n++ {
		b := bufs[n%2] // it holds buf[:n-2] from two calls ago
		from := max(n-2, 0)
		copy(b[from:n], buf[from:n])
		var got, want H
		err := parse(b[:n], &got)
		if err == wire.ErrIncomplete && n%step != 0 && n < len(buf) {
			continue
		}
		wantErr := p.parse(buf[:n], &want)
		if !sameError(err, wantErr) {
			t.Fatalf("%q given one byte at a time: at %d bytes the resumable parser gives %v, the one-shot parser %v", buf, n, err, wantErr)
		}
		if err == nil {
			if diff := cmp.Diff(p.facts(&want), p.facts(&got)); diff != "" {
				t.Fatalf("%q given one byte at a time: facts differ at %d bytes (-one-shot +resumable):\n%s", buf, n, diff)
			}
		}
		if err != wire.ErrIncomplete {
			return
		}
	}
}

// sameError reports whether a and b are both nil, both wire.ErrIncomplete, or both *wire.Error
// with the same fields.
func sameError(a, b error) bool {
	ea, okA := a.(*wire.Error)
	eb, okB := b.(*wire.Error)
	if okA && okB {
		return *ea == *eb
	}
	return a == b
}

// checkError fails t unless err, returned by the parser for buf, is ErrIncomplete, also for buf
// without its last byte, or a *wire.Error with one of the parser's statuses, an offset within buf
// and an excerpt taken from buf.
func (p headParser[H, F]) checkError(t *testing.T, buf []byte, err error) {
	t.Helper()
	if err == wire.ErrIncomplete {
		var h H
		if len(buf) > 0 {
			if err := p.parse(buf[:len(buf)-1], &h); err != wire.ErrIncomplete {
				t.Fatalf("%q is incomplete but its prefix %q gives %v", buf, buf[:len(buf)-1], err)
			}
		}
		return
	}
	var e *wire.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is neither ErrIncomplete nor *wire.Error", err, err)
	}
	if !slices.Contains(p.statuses, e.Status) {
		t.Errorf("error %v: status %d, want one of %v", e, e.Status, p.statuses)
	}
	if e.Offset < 0 || e.Offset > len(buf) {
		t.Errorf("error %v: offset %d outside the %d-byte input", e, e.Offset, len(buf))
	}
	if !bytes.Contains(buf, []byte(e.Excerpt)) {
		t.Errorf("error %v: excerpt %q is not from the input", e, e.Excerpt)
	}
}

// appendFramingField appends to b the header field line that frames a body as f:
// "Content-Length: 0" for BodyNone, "Content-Length: n" for BodyLength, "Transfer-Encoding: chunked"
// for BodyChunked, and nothing for BodyUntilClose.
func appendFramingField(b []byte, f wire.Framing) []byte {
	switch f.Kind {
	case wire.BodyNone:
		return append(b, "Content-Length: 0\r\n"...)
	case wire.BodyLength:
		return fmt.Appendf(b, "Content-Length: %d\r\n", f.Length)
	case wire.BodyChunked:
		return append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	return b
}

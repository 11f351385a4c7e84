package wire

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// parseResult is what one call of a head parser gives: its error and, on success, the head.
type parseResult[H any] struct {
	Err  error
	Head H
}

// compareResults compares parse results: errors by value (every field of an *Error), heads with
// their unexported fields.
var compareResults = cmp.Options{
	cmp.AllowUnexported(ResponseHead{}),
	cmp.Comparer(func(a, b error) bool {
		ea, okA := a.(*Error)
		eb, okB := b.(*Error)
		if okA && okB {
			return *ea == *eb
		}
		return a == b
	}),
}

// headParsers are the one-shot parse function of a head type and a constructor of its resumable
// parser, for checkSplits.
type headParsers[H any] struct {
	oneShot func([]byte, *H) error
	// resumable returns the Parse method of a new resumable parser and its work counter: the bytes
	// scanned by the last call.
	resumable func() (parse func([]byte, *H) error, scanned func() int)
	// inBuf reports whether the slices of an accepted head point into buf, or is nil.
	inBuf func(h *H, buf []byte) bool
}

// mover hands out each prefix of a head in a new backing array and overwrites the previous one
// with NUL bytes, which no head has, so that a parser keeping a slice into an old buffer is caught.
type mover struct{ last []byte }

// move returns a copy of b in a new backing array.
func (m *mover) move(b []byte) []byte {
	clear(m.last)
	m.last = bytes.Clone(b)
	if m.last == nil {
		m.last = []byte{}
	}
	return m.last
}

// result returns what the one-shot parser gives for buf.
func (p headParsers[H]) result(buf []byte) parseResult[H] {
	var r parseResult[H]
	if r.Err = p.oneShot(buf, &r.Head); r.Err != nil {
		r.Head = *new(H)
	}
	return r
}

// feed calls parse on the prefixes of buf of lengths ends, each in a new backing array, until a call
// gives something other than ErrIncomplete, and fails t unless every call gives what the one-shot
// parser gives for the same bytes. It returns the number of calls made and the bytes they scanned.
func (p headParsers[H]) feed(t *testing.T, buf []byte, ends []int, parse func([]byte, *H) error, scanned func() int) (calls, work int) {
	t.Helper()
	var m mover
	for _, end := range ends {
		piece := m.move(buf[:end])
		var got parseResult[H]
		if got.Err = parse(piece, &got.Head); got.Err != nil {
			got.Head = *new(H)
		}
		calls++
		work += scanned()
		want := p.result(buf[:end])
		if diff := cmp.Diff(want, got, compareResults); diff != "" {
			t.Fatalf("%q fed in pieces ending at %v: at %d bytes (-one-shot +resumable):\n%s", buf, ends[:calls], end, diff)
		}
		if got.Err == nil && p.inBuf != nil && !p.inBuf(&got.Head, piece) {
			t.Fatalf("%q fed in pieces ending at %v: the head does not point into the last buffer", buf, ends[:calls])
		}
		if got.Err != ErrIncomplete {
			break
		}
	}
	return calls, work
}

// checkSplits feeds buf to a resumable parser byte by byte and in two pieces split at every offset,
// and checks each result against the one-shot parser on the same bytes.
func checkSplits[H any](t *testing.T, p headParsers[H], buf []byte) {
	t.Helper()
	parse, scanned := p.resumable()
	p.feed(t, buf, byteEnds(len(buf)), parse, scanned)
	for k := range len(buf) {
		parse, scanned := p.resumable()
		p.feed(t, buf, []int{k, len(buf)}, parse, scanned)
	}
}

// requestParsers are the request parsers for checkSplits.
var requestParsers = headParsers[RequestHead]{
	oneShot: ParseRequestHead,
	resumable: func() (func([]byte, *RequestHead) error, func() int) {
		p := new(RequestParser)
		return p.Parse, func() int { return p.s.line.scanned }
	},
	inBuf: func(h *RequestHead, buf []byte) bool {
		return &h.Method[0] == &buf[0] && &h.Target[0] == &buf[h.TargetStart]
	},
}

// responseParsers are the response parsers for checkSplits.
var responseParsers = headParsers[ResponseHead]{
	oneShot: ParseResponseHead,
	resumable: func() (func([]byte, *ResponseHead) error, func() int) {
		p := new(ResponseParser)
		return p.Parse, func() int { return p.s.line.scanned }
	},
}

// afterHead follows the heads of the split tests: bytes of a next message, which the parsers must
// not look at.
const afterHead = "NEXT\x00\n"

// TestParserSplits checks the resumable parsers against the one-shot ones on the heads of the
// one-shot tests, valid and malformed, each followed by bytes of a next message.
func TestParserSplits(t *testing.T) {
	requests, responses := []string{chromeRequest, curlRequest}, []string{typicalResponse}
	for _, tc := range validRequests() {
		requests = append(requests, tc.head)
	}
	for _, tc := range validResponses() {
		responses = append(responses, tc.head)
	}
	requests = append(requests, badHeads(badRequests())...)
	responses = append(responses, badHeads(badResponses())...)
	for _, head := range requests {
		checkSplits(t, requestParsers, []byte(head+afterHead))
	}
	for _, head := range responses {
		checkSplits(t, responseParsers, []byte(head+afterHead))
	}
}

// badHeads returns the heads of cases.
func badHeads(cases []badCase) []string {
	heads := make([]string, len(cases))
	for i, tc := range cases {
		heads[i] = tc.head
	}
	return heads
}

// TestParserStartsOver checks that a parser starts a new head after a complete head or an error,
// and after Reset in the middle of one.
func TestParserStartsOver(t *testing.T) {
	var p RequestParser
	var h RequestHead
	bad := []byte("GET / HTTP/1.1\r\nX : y\r\n\r\n")
	steps := []struct {
		reset bool // call Reset instead of Parse
		buf   string
		want  error
	}{
		{buf: chromeRequest[:100], want: ErrIncomplete},
		{buf: chromeRequest},
		{buf: curlRequest[:30], want: ErrIncomplete},
		{buf: curlRequest},
		{buf: string(bad), want: ParseRequestHead(bad, &h)},
		{buf: curlRequest},
		{buf: chromeRequest[:200], want: ErrIncomplete},
		{reset: true},
		{buf: curlRequest},
	}
	for _, s := range steps {
		if s.reset {
			p.Reset()
			continue
		}
		if err := p.Parse([]byte(s.buf), &h); !cmp.Equal(err, s.want, compareResults) {
			t.Fatalf("Parse(%q) = %v, want %v", s.buf, err, s.want)
		}
		if s.want == nil && h.Len != len(s.buf) {
			t.Fatalf("Parse(%q): Len %d, want %d", s.buf, h.Len, len(s.buf))
		}
	}
}

func TestParserPanicsOnShorterBuffer(t *testing.T) {
	var p RequestParser
	var h RequestHead
	if err := p.Parse([]byte(chromeRequest[:100]), &h); err != ErrIncomplete {
		t.Fatalf("Parse = %v, want ErrIncomplete", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Parse with fewer bytes than before did not panic")
		}
	}()
	p.Parse([]byte(chromeRequest[:50]), &h)
}

// TestParserWorkIsLinear drips heads into the parsers and checks, with the parsers' count of the
// bytes their scans passed over, that the work is at most twice the head's size: a parser that
// scans a head from its start at every call does about lines²/2 line scans.
func TestParserWorkIsLinear(t *testing.T) {
	long := strings.Repeat("a", 60000)
	dripped := drippedHead()
	tests := []struct {
		name string
		feed func(t *testing.T, buf []byte, ends []int) (calls, work int)
		head []byte
		ends []int
	}{
		{"16,000 lines, one per call", requestFeed, dripped, lineEnds(dripped)},
		{"long value, one byte per call", requestFeed, []byte("GET / HTTP/1.1\r\nHost: a\r\nX: " + long + "\r\n\r\n"), nil},
		{"long name, one byte per call", requestFeed, []byte("GET / HTTP/1.1\r\nHost: a\r\n" + long + ": v\r\n\r\n"), nil},
		{"long target, one byte per call", requestFeed, []byte("GET /" + long + " HTTP/1.1\r\nHost: a\r\n\r\n"), nil},
		{"long method, one byte per call", requestFeed, []byte(strings.ToUpper(long) + " / HTTP/1.1\r\nHost: a\r\n\r\n"), nil},
		{"long reason, one byte per call", responseFeed, []byte("HTTP/1.1 200 " + long + "\r\nContent-Length: 0\r\n\r\n"), nil},
		{"long response value, one byte per call", responseFeed, []byte("HTTP/1.1 200 OK\r\nX: " + long + "\r\n\r\n"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ends := tc.ends
			if ends == nil {
				ends = byteEnds(len(tc.head))
			}
			calls, work := tc.feed(t, tc.head, ends)
			if calls != len(ends) {
				t.Fatalf("the head was decided after %d of %d calls", calls, len(ends))
			}
			if limit := 2 * len(tc.head); work > limit {
				t.Errorf("%d calls scanned %d bytes of a %d-byte head, want at most %d", calls, work, len(tc.head), limit)
			}
		})
	}
}

// requestFeed feeds a request head to a RequestParser in pieces, like headParsers.feed, but checks
// only the last result against ParseRequestHead, since checking every prefix is quadratic.
func requestFeed(t *testing.T, buf []byte, ends []int) (calls, work int) {
	t.Helper()
	parse, scanned := requestParsers.resumable()
	return feedLast(t, requestParsers, buf, ends, parse, scanned)
}

// responseFeed is requestFeed for response heads.
func responseFeed(t *testing.T, buf []byte, ends []int) (calls, work int) {
	t.Helper()
	parse, scanned := responseParsers.resumable()
	return feedLast(t, responseParsers, buf, ends, parse, scanned)
}

// feedLast calls parse on the prefixes of buf of lengths ends, in the same buffer, until a call
// gives something other than ErrIncomplete, and checks that last result against the one-shot
// parser. It returns the number of calls and the bytes they scanned.
func feedLast[H any](t *testing.T, p headParsers[H], buf []byte, ends []int, parse func([]byte, *H) error, scanned func() int) (calls, work int) {
	t.Helper()
	var got parseResult[H]
	for _, end := range ends {
		got.Err = parse(buf[:end], &got.Head)
		calls++
		work += scanned()
		if got.Err != ErrIncomplete {
			break
		}
	}
	if got.Err != nil {
		got.Head = *new(H)
	}
	if diff := cmp.Diff(p.result(buf[:ends[calls-1]]), got, compareResults); diff != "" {
		t.Fatalf("fed in %d pieces (-one-shot +resumable):\n%s", calls, diff)
	}
	return calls, work
}

// parseInPieces parses head with parse on the prefixes of lengths ends then on the whole head, and
// returns the last error.
func parseInPieces[H any](parse func([]byte, *H) error, h *H, head []byte, ends ...int) error {
	for _, n := range ends {
		if err := parse(head[:n], h); err != ErrIncomplete {
			return err
		}
	}
	return parse(head, h)
}

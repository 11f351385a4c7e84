package wire

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// requestCase is a valid request head and the facts ParseRequestHead must find in it. Len and
// TargetStart are filled in by the test.
type requestCase struct {
	name string
	head string
	want RequestHead
}

func validRequests() []requestCase {
	get := func(target string) RequestHead {
		return RequestHead{Method: []byte("GET"), Target: []byte(target), Version: HTTP11}
	}
	with := func(h RequestHead, f func(*RequestHead)) RequestHead { f(&h); return h }
	return []requestCase{
		{"minimal", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", get("/")},
		{"no fields HTTP/1.0", "GET / HTTP/1.0\r\n\r\n",
			RequestHead{Method: []byte("GET"), Target: []byte("/"), Version: HTTP10, Close: true}},
		{"HTTP/1.0 keep-alive", "GET /x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
			RequestHead{Method: []byte("GET"), Target: []byte("/x"), Version: HTTP10}},
		{"connection close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
			with(get("/"), func(h *RequestHead) { h.Close = true })},
		{"close wins over keep-alive", "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, CLOSE\r\n\r\n",
			with(get("/"), func(h *RequestHead) { h.Close = true })},
		{"content-length", "POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",
			RequestHead{Method: []byte("POST"), Target: []byte("/api"), Version: HTTP11, Body: Framing{BodyLength, 5}}},
		{"content-length zero", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
			RequestHead{Method: []byte("POST"), Target: []byte("/"), Version: HTTP11}},
		{"content-length with OWS", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \t 12 \t\r\n\r\n",
			RequestHead{Method: []byte("POST"), Target: []byte("/"), Version: HTTP11, Body: Framing{BodyLength, 12}}},
		{"content-length max", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n",
			RequestHead{Method: []byte("PUT"), Target: []byte("/"), Version: HTTP11, Body: Framing{BodyLength, 1<<63 - 1}}},
		{"identical content-lengths", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\ncontent-length:  7\r\n\r\n",
			RequestHead{Method: []byte("PUT"), Target: []byte("/"), Version: HTTP11, Body: Framing{BodyLength, 7}}},
		{"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
			RequestHead{Method: []byte("POST"), Target: []byte("/"), Version: HTTP11, Body: Framing{Kind: BodyChunked}}},
		{"chunked with OWS, name in capitals", "POST / HTTP/1.1\r\nHost: a\r\nTRANSFER-ENCODING:  chunked \t\r\n\r\n",
			RequestHead{Method: []byte("POST"), Target: []byte("/"), Version: HTTP11, Body: Framing{Kind: BodyChunked}}},
		{"websocket upgrade", "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nconnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
			with(get("/ws"), func(h *RequestHead) { h.Upgrade = true })},
		{"upgrade without connection token", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", get("/")},
		{"upgrade in HTTP/1.0", "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
			RequestHead{Method: []byte("GET"), Target: []byte("/"), Version: HTTP10, Close: true}},
		{"h2c upgrade", "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: H2C\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
			with(get("/"), func(h *RequestHead) { h.Upgrade, h.H2C = true, true })},
		{"expect 100-continue", "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
			RequestHead{Method: []byte("PUT"), Target: []byte("/"), Version: HTTP11, Body: Framing{BodyLength, 1}, ExpectContinue: true}},
		{"other expectation", "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue-not\r\n\r\n", get("/")},
		{"options asterisk", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
			RequestHead{Method: []byte("OPTIONS"), Target: []byte("*"), Version: HTTP11}},
		{"connect authority", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
			RequestHead{Method: []byte("CONNECT"), Target: []byte("example.com:443"), Version: HTTP11}},
		{"absolute form", "GET http://a/b?c=d HTTP/1.1\r\nHost: a\r\n\r\n", get("http://a/b?c=d")},
		{"obs-text in target and value", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\nX-Name: \xff\xfe\r\n\r\n", get("/caf\xc3\xa9")},
		{"tab and empty values", "GET / HTTP/1.1\r\nHost: a\r\nX-Tab: a\tb\r\nX-Empty:\r\nX-Spaces:   \r\n\r\n", get("/")},
		{"every tchar in a name", "GET / HTTP/1.1\r\nHost: a\r\n!#$%&'*+-.^_`|~09AZaz: v\r\n\r\n", get("/")},
		{"extension method", "PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n",
			RequestHead{Method: []byte("PURGE"), Target: []byte("/x"), Version: HTTP11}},
		// uri-host [ ":" port ]: a reg-name of every allowed byte, IP literals, an empty value.
		{"every Host byte", "GET / HTTP/1.1\r\nHost: \t azAZ09-._~%41!$&'()*+,;=:8080 \r\n\r\n", get("/")},
		{"IPv6 Host", "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", get("/")},
		{"empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", get("/")},
	}
}

func TestParseRequestHeadValid(t *testing.T) {
	for _, tc := range validRequests() {
		t.Run(tc.name, func(t *testing.T) {
			buf := []byte(tc.head + "NEXT REQUEST\x00\n")
			want := tc.want
			want.Len = len(tc.head)
			want.TargetStart = len(want.Method) + 1
			var got RequestHead
			if err := ParseRequestHead(buf, &got); err != nil {
				t.Fatalf("ParseRequestHead(%q) = %v", tc.head, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseRequestHead(%q) mismatch (-want +got):\n%s", tc.head, diff)
			}
			if target := buf[got.TargetStart : got.TargetStart+len(got.Target)]; string(target) != string(got.Target) {
				t.Errorf("TargetStart %d does not locate Target %q", got.TargetStart, got.Target)
			}
		})
	}
}

func TestParseRequestHeadIncomplete(t *testing.T) {
	for _, tc := range validRequests() {
		for n := range len(tc.head) {
			var h RequestHead
			if err := ParseRequestHead([]byte(tc.head[:n]), &h); err != ErrIncomplete {
				t.Errorf("%s: ParseRequestHead(%q) = %v, want ErrIncomplete", tc.name, tc.head[:n], err)
			}
		}
	}
}

// badCase is a malformed head and the status the parser must answer. early marks byte-level
// errors, which must be reported as soon as the byte after the offending one has arrived.
type badCase struct {
	name   string
	head   string
	status int
	early  bool
}

func badRequests() []badCase {
	const pre = "POST / HTTP/1.1\r\nHost: a\r\n"
	return []badCase{
		// Request line.
		{"leading empty line", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"leading LF", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"non-token method", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"tab after method", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"two spaces after method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"two spaces before version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"NUL in target", "GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"DEL in target", "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"tab in target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"no version", "GET /\r\nHost: a\r\n\r\n", 400, true},
		{"lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"garbage version", "GET / HTTPS/1.1\r\nHost: a\r\n\r\n", 400, true},
		{"two-digit major", "GET / HTTP/11.1\r\nHost: a\r\n\r\n", 400, true},
		{"version suffix", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400, true},
		{"space after version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, true},
		{"bare LF after request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400, true},
		{"bare CR after request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400, true},
		{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, false},
		{"HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, false},
		{"HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505, false},
		{"h2 preface", H2Preface, 505, false},
		// Header lines.
		{"space before colon", pre + "Transfer-Encoding : chunked\r\n\r\n", 400, true},
		{"tab before colon", pre + "Transfer-Encoding\t: chunked\r\n\r\n", 400, true},
		{"obs-fold", pre + " Transfer-Encoding: chunked\r\n\r\n", 400, true},
		{"obs-fold with tab", pre + "X: a\r\n\tb\r\n\r\n", 400, true},
		{"obs-fold as first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, true},
		{"vertical tab before value", pre + "Transfer-Encoding:\x0bchunked\r\n\r\n", 400, true},
		{"NUL after value", pre + "Transfer-Encoding: chunked\x00\r\n\r\n", 400, true},
		{"bare CR in value", pre + "X: a\rb\r\n\r\n", 400, true},
		{"bare LF in value", pre + "X: a\nb\r\n\r\n", 400, true},
		{"bare LF ending a field", pre + "X: a\n\r\n", 400, true},
		{"bare LF ending the head", pre + "X: a\r\n\n", 400, true},
		{"bare CR ending the head", pre + "X: a\r\n\r\r\n", 400, true},
		{"NUL in value", pre + "X: a\x00b\r\n\r\n", 400, true},
		{"ESC in value", pre + "X: a\x1bb\r\n\r\n", 400, true},
		{"DEL in value", pre + "X: a\x7fb\r\n\r\n", 400, true},
		{"NUL in name", pre + "X\x00Y: a\r\n\r\n", 400, true},
		{"non-token name", pre + "X(Y): a\r\n\r\n", 400, true},
		{"empty name", pre + ": a\r\n\r\n", 400, true},
		{"no colon", pre + "X-No-Colon\r\n\r\n", 400, true},
		// Transfer-Encoding.
		{"TE capitalised", pre + "Transfer-Encoding: Chunked\r\n\r\n", 400, false},
		{"TE quoted", pre + "Transfer-Encoding: \"chunked\"\r\n\r\n", 400, false},
		{"TE chunked, identity", pre + "Transfer-Encoding: chunked, identity\r\n\r\n", 400, false},
		{"TE identity", pre + "Transfer-Encoding: identity\r\n\r\n", 400, false},
		{"TE chunked twice", pre + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400, false},
		{"TE chunked then gzip", pre + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400, false},
		{"TE empty", pre + "Transfer-Encoding:\r\n\r\n", 400, false},
		{"TE unknown", pre + "Transfer-Encoding: foo\r\n\r\n", 400, false},
		{"TE gzip", pre + "Transfer-Encoding: gzip\r\n\r\n", 501, false},
		{"TE gzip, chunked", pre + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, false},
		{"two TE fields", pre + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400, false},
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, false},
		{"CL then TE", pre + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400, false},
		{"TE then CL", pre + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400, false},
		// Content-Length.
		{"CL hex", pre + "Content-Length: 0x10\r\n\r\n", 400, false},
		{"CL plus", pre + "Content-Length: +10\r\n\r\n", 400, false},
		{"CL negative", pre + "Content-Length: -1\r\n\r\n", 400, false},
		{"CL inner space", pre + "Content-Length:  10 10\r\n\r\n", 400, false},
		{"CL underscore", pre + "Content-Length: 1_0\r\n\r\n", 400, false},
		{"CL overflow", pre + "Content-Length: 99999999999999999999\r\n\r\n", 400, false},
		{"CL just over int64", pre + "Content-Length: 9223372036854775808\r\n\r\n", 400, false},
		{"CL empty", pre + "Content-Length:\r\n\r\n", 400, false},
		{"CL list", pre + "Content-Length: 10, 10\r\n\r\n", 400, false},
		{"CL exponent", pre + "Content-Length: 1e3\r\n\r\n", 400, false},
		{"CL non-ASCII digits", pre + "Content-Length: \xd9\xa1\r\n\r\n", 400, false},
		{"CLs differ", pre + "Content-Length: 10\r\nContent-Length: 11\r\n\r\n", 400, false},
		{"CLs spelled differently", pre + "Content-Length: 10\r\nContent-Length: 010\r\n\r\n", 400, false},
		// Host.
		{"no Host", "GET / HTTP/1.1\r\nX: a\r\n\r\n", 400, false},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400, false},
		{"two Hosts in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400, false},
		{"slash in Host", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, false},
		{"userinfo in Host", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, false},
		{"backslash in Host", "GET / HTTP/1.1\r\nHost: a\\b\r\n\r\n", 400, false},
		{"space in Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, false},
		{"tab in Host", "GET / HTTP/1.1\r\nHost: a\tb\r\n\r\n", 400, false},
		{"query in Host", "GET / HTTP/1.1\r\nHost: a?b\r\n\r\n", 400, false},
		{"fragment in Host", "GET / HTTP/1.1\r\nHost: a#b\r\n\r\n", 400, false},
		{"quote in Host", "GET / HTTP/1.1\r\nHost: \"a\"\r\n\r\n", 400, false},
		{"obs-text in Host", "GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n", 400, false},
		{"invalid Host in HTTP/1.0", "GET / HTTP/1.0\r\nHost: <a>\r\n\r\n", 400, false},
	}
}

// asError returns err as an *Error, failing the test if it is not one.
func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	return e
}

// checkBad runs the common checks on a malformed head: the full head gives the status; every prefix
// gives ErrIncomplete or the same error; an early error is reported once the byte after the
// offending one has arrived; Error() names the offset and quotes the input.
func checkBad(t *testing.T, tc badCase, parse func([]byte) error) {
	t.Helper()
	e := asError(t, parse([]byte(tc.head)))
	if e.Status != tc.status {
		t.Errorf("%q: status %d (%v), want %d", tc.head, e.Status, e, tc.status)
	}
	for n := range len(tc.head) {
		err := parse([]byte(tc.head[:n]))
		if err == ErrIncomplete {
			if tc.early && n >= e.Offset+2 {
				t.Errorf("%q: prefix %q gives ErrIncomplete, want the early error %v", tc.head, tc.head[:n], e)
			}
			continue
		}
		if diff := cmp.Diff(e, asError(t, err), cmpopts.IgnoreFields(Error{}, "Excerpt")); diff != "" {
			t.Errorf("%q: prefix %q gives another error (-full +prefix):\n%s", tc.head, tc.head[:n], diff)
		}
	}
	if msg := e.Error(); !strings.Contains(msg, e.Reason) || !strings.Contains(msg, "byte") {
		t.Errorf("Error() = %q does not name the problem and offset", msg)
	}
}

func TestParseRequestHeadBad(t *testing.T) {
	parse := func(b []byte) error { var h RequestHead; return ParseRequestHead(b, &h) }
	for _, tc := range badRequests() {
		t.Run(tc.name, func(t *testing.T) { checkBad(t, tc, parse) })
	}
}

func TestParseRequestHeadErrorText(t *testing.T) {
	var h RequestHead
	err := ParseRequestHead([]byte("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n"), &h)
	want := `wire: 400: whitespace before colon in header name at byte 42: "ransfer-Encoding : chunked\r\n\r\n"`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestParseHeadsDoNotAllocate(t *testing.T) {
	var req RequestHead
	var resp ResponseHead
	var reqParser RequestParser
	var respParser ResponseParser
	chrome, response := []byte(chromeRequest), []byte(typicalResponse)
	tests := []struct {
		name  string
		parse func() error
		want  error
	}{
		{"chrome request", func() error { return ParseRequestHead(chrome, &req) }, nil},
		{"incomplete request", func() error { return ParseRequestHead(chrome[:100], &req) }, ErrIncomplete},
		{"response", func() error { return ParseResponseHead(response, &resp) }, nil},
		{"incomplete response", func() error { return ParseResponseHead(response[:50], &resp) }, ErrIncomplete},
		{"request in pieces", func() error { return parseInPieces(reqParser.Parse, &req, chrome, 1, 30, 100, 101, 400) }, nil},
		{"response in pieces", func() error { return parseInPieces(respParser.Parse, &resp, response, 5, 20, 50) }, nil},
	}
	for _, tc := range tests {
		allocs := testing.AllocsPerRun(100, func() {
			if err := tc.parse(); err != tc.want {
				t.Fatalf("%s: error %v, want %v", tc.name, err, tc.want)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations, want 0", tc.name, allocs)
		}
	}
}

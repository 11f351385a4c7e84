package wire

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// responseFacts is what a test compares after ParseResponseHead: the exported facts and the
// framing for a GET.
type responseFacts struct {
	Version Version
	Status  int
	Close   bool
	Framing Framing
}

func validResponses() []struct {
	name, head string
	want       responseFacts
} {
	return []struct {
		name, head string
		want       responseFacts
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n",
			responseFacts{HTTP11, 200, false, Framing{BodyLength, 12}}},
		{"typical", typicalResponse, responseFacts{HTTP11, 200, false, Framing{BodyLength, 1234}}},
		{"length zero", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", responseFacts{HTTP11, 200, false, Framing{}}},
		{"identical lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
			responseFacts{HTTP11, 200, false, Framing{BodyLength, 3}}},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
			responseFacts{HTTP11, 200, false, Framing{Kind: BodyChunked}}},
		{"chunked any case", "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n",
			responseFacts{HTTP11, 200, false, Framing{Kind: BodyChunked}}},
		{"gzip then chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
			responseFacts{HTTP11, 200, false, Framing{Kind: BodyChunked}}},
		{"chunked over two fields", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
			responseFacts{HTTP11, 200, false, Framing{Kind: BodyChunked}}},
		{"final coding not chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
			responseFacts{HTTP11, 200, false, Framing{Kind: BodyUntilClose}}},
		{"no length", "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n",
			responseFacts{HTTP11, 200, false, Framing{Kind: BodyUntilClose}}},
		{"no reason", "HTTP/1.1 204\r\n\r\n", responseFacts{HTTP11, 204, false, Framing{}}},
		{"empty reason", "HTTP/1.1 404 \r\nContent-Length: 1\r\n\r\n", responseFacts{HTTP11, 404, false, Framing{BodyLength, 1}}},
		{"reason with obs-text and tab", "HTTP/1.1 200 D\xe9j\xe0\tvu\r\nContent-Length: 1\r\n\r\n",
			responseFacts{HTTP11, 200, false, Framing{BodyLength, 1}}},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", responseFacts{HTTP10, 200, true, Framing{BodyLength, 2}}},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n",
			responseFacts{HTTP10, 200, false, Framing{BodyLength, 2}}},
		{"HTTP/1.0 chunked closes", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n",
			responseFacts{HTTP10, 200, true, Framing{Kind: BodyChunked}}},
		{"close", "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
			responseFacts{HTTP11, 500, true, Framing{}}},
		{"304 with length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", responseFacts{HTTP11, 304, false, Framing{}}},
		{"100 continue", "HTTP/1.1 100 Continue\r\n\r\n", responseFacts{HTTP11, 100, false, Framing{}}},
		{"101 switching", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
			responseFacts{HTTP11, 101, false, Framing{}}},
		{"status 999", "HTTP/1.1 999 Odd\r\nContent-Length: 1\r\n\r\n", responseFacts{HTTP11, 999, false, Framing{BodyLength, 1}}},
	}
}

func TestParseResponseHeadValid(t *testing.T) {
	for _, tc := range validResponses() {
		t.Run(tc.name, func(t *testing.T) {
			var h ResponseHead
			if err := ParseResponseHead([]byte(tc.head+"BODY\x00\n"), &h); err != nil {
				t.Fatalf("ParseResponseHead(%q) = %v", tc.head, err)
			}
			if h.Len != len(tc.head) {
				t.Errorf("Len = %d, want %d", h.Len, len(tc.head))
			}
			got := responseFacts{h.Version, h.Status, h.Close, h.Framing([]byte("GET"))}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseResponseHead(%q) mismatch (-want +got):\n%s", tc.head, diff)
			}
			for n := range len(tc.head) {
				if err := ParseResponseHead([]byte(tc.head[:n]), &h); err != ErrIncomplete {
					t.Errorf("ParseResponseHead(%q) = %v, want ErrIncomplete", tc.head[:n], err)
				}
			}
		})
	}
}

// TestResponseCoded tells a body in a transfer coding other than a single chunked from one that is
// not.
func TestResponseCoded(t *testing.T) {
	for _, tc := range []struct {
		fields string
		want   bool
	}{
		{"Content-Length: 2\r\n", false},
		{"", false},
		{"Transfer-Encoding: chunked\r\n", false},
		{"Transfer-Encoding: Chunked\r\n", false},
		{"Transfer-Encoding: gzip, chunked\r\n", true},
		{"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", true},
		{"Transfer-Encoding: chunked, chunked\r\n", true},
		{"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", true},
		{"Transfer-Encoding: chunked, gzip\r\n", true},
		{"Transfer-Encoding: gzip\r\n", true},
	} {
		head := "HTTP/1.1 200 OK\r\n" + tc.fields + "\r\n"
		var h ResponseHead
		if err := ParseResponseHead([]byte(head), &h); err != nil {
			t.Fatalf("ParseResponseHead(%q) = %v", head, err)
		}
		if got := h.Coded(); got != tc.want {
			t.Errorf("Coded() of %q = %v, want %v", head, got, tc.want)
		}
	}
}

func TestResponseFramingByMethod(t *testing.T) {
	tests := []struct {
		head   string
		method string
		want   Framing
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "HEAD", Framing{}},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD", Framing{}},
		{"HTTP/1.1 200 OK\r\n\r\n", "HEAD", Framing{}},
		{"HTTP/1.1 200 Connection established\r\n\r\n", "CONNECT", Framing{}},
		{"HTTP/1.1 204 No Content\r\n\r\n", "CONNECT", Framing{}},
		{"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 3\r\n\r\n", "CONNECT", Framing{BodyLength, 3}},
		{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "POST", Framing{BodyLength, 10}},
		{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "head", Framing{BodyLength, 10}},
		{"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", Framing{}},
		{"HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n", "GET", Framing{}},
	}
	for _, tc := range tests {
		var h ResponseHead
		if err := ParseResponseHead([]byte(tc.head), &h); err != nil {
			t.Fatalf("ParseResponseHead(%q) = %v", tc.head, err)
		}
		if got := h.Framing([]byte(tc.method)); got != tc.want {
			t.Errorf("Framing(%q) of %q = %+v, want %+v", tc.method, tc.head, got, tc.want)
		}
	}
}

func badResponses() []badCase {
	const pre = "HTTP/1.1 200 OK\r\n"
	return []badCase{
		{"HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", 502, true},
		{"HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", 502, true},
		{"lower-case version", "http/1.1 200 OK\r\n\r\n", 502, true},
		{"leading empty line", "\r\nHTTP/1.1 200 OK\r\n\r\n", 502, true},
		{"two-digit status", "HTTP/1.1 20 OK\r\n\r\n", 502, true},
		{"four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", 502, true},
		{"status below 100", "HTTP/1.1 099 OK\r\n\r\n", 502, true},
		{"two spaces before status", "HTTP/1.1  200 OK\r\n\r\n", 502, true},
		{"tab before status", "HTTP/1.1\t200 OK\r\n\r\n", 502, true},
		{"NUL in reason", "HTTP/1.1 200 O\x00K\r\n\r\n", 502, true},
		{"bare LF after status line", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", 502, true},
		{"bare CR in reason", "HTTP/1.1 200 O\rK\r\n\r\n", 502, true},
		{"space before colon", pre + "Content-Length : 3\r\n\r\n", 502, true},
		{"obs-fold", pre + "X: a\r\n b\r\n\r\n", 502, true},
		{"bare LF in value", pre + "X: a\nb\r\n\r\n", 502, true},
		{"control byte in value", pre + "X: \x01\r\n\r\n", 502, true},
		{"CL negative", pre + "Content-Length: -1\r\n\r\n", 502, false},
		{"CL list", pre + "Content-Length: 3, 3\r\n\r\n", 502, false},
		{"CL overflow", pre + "Content-Length: 99999999999999999999\r\n\r\n", 502, false},
		{"CLs differ", pre + "Content-Length: 3\r\nContent-Length: 4\r\n\r\n", 502, false},
		{"CL and TE", pre + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 502, false},
		{"TE and CL", pre + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 502, false},
		{"TE quoted", pre + "Transfer-Encoding: \"chunked\"\r\n\r\n", 502, false},
		{"TE empty", pre + "Transfer-Encoding: \r\n\r\n", 502, false},
	}
}

func TestParseResponseHeadBad(t *testing.T) {
	parse := func(b []byte) error { var h ResponseHead; return ParseResponseHead(b, &h) }
	for _, tc := range badResponses() {
		t.Run(tc.name, func(t *testing.T) { checkBad(t, tc, parse) })
	}
}

package h2conn

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// blockLimit is the header list limit of the tests' readers.
const blockLimit = 1 << 10

// blockOutcome is what reading one header block came to, as both readers report it.
type blockOutcome struct {
	Fields    []hpack.HeaderField
	Truncated bool
	Error     string // the error's kind and code: "stream PROTOCOL_ERROR", "connection COMPRESSION_ERROR"
}

// outcome reads one frame from read and describes it.
func outcome(f http2.Frame, err error) blockOutcome {
	var se http2.StreamError
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &se):
		return blockOutcome{Error: "stream " + se.Code.String()}
	case errors.As(err, &ce):
		return blockOutcome{Error: "connection " + http2.ErrCode(ce).String()}
	case err != nil:
		return blockOutcome{Error: err.Error()}
	}
	mh, ok := f.(*http2.MetaHeadersFrame)
	if !ok {
		return blockOutcome{Error: "not a header block"}
	}
	return blockOutcome{Fields: append([]hpack.HeaderField(nil), mh.Fields...), Truncated: mh.Truncated}
}

// framesOf returns block as the frames of stream 1: a HEADERS frame and CONTINUATION frames, each
// with one of the fragments it is cut into at cuts.
func framesOf(block []byte, cuts ...int) []byte {
	var buf bytes.Buffer
	fr := http2.NewFramer(&buf, nil)
	var frags [][]byte
	for _, c := range cuts {
		c = min(c, len(block))
		frags, block = append(frags, block[:c]), block[c:]
	}
	frags = append(frags, block)
	for i, frag := range frags {
		end := i == len(frags)-1
		if i == 0 {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: frag, EndHeaders: end, EndStream: true})
		} else {
			fr.WriteContinuation(1, end, frag)
		}
	}
	return buf.Bytes()
}

// readBoth reads the frames in wire with x/net/http2's ReadMetaHeaders, with the rule where
// proxyd's reader differs (values lose whitespace at their ends; a block it reads whole, one of
// whose pseudo-header fields had such whitespace, is a stream error), and with Conn.ReadFrame.
func readBoth(t *testing.T, wire []byte) (want, got blockOutcome) {
	t.Helper()
	ref := http2.NewFramer(nil, bytes.NewReader(wire))
	ref.MaxHeaderListSize = blockLimit
	ref.ReadMetaHeaders = hpack.NewDecoder(HeaderTableSize, nil)
	want = outcome(ref.ReadFrame())
	for i, f := range want.Fields {
		v := strings.Trim(f.Value, " \t")
		if v != f.Value && f.IsPseudo() {
			want = blockOutcome{Error: "stream " + http2.ErrCodeProtocol.String()}
			break
		}
		want.Fields[i].Value = v
	}

	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	go func() { client.Write(wire); client.Close() }()
	c := New(server, nil, nil, nil, blockLimit, 0, nil)
	got = outcome(c.ReadFrame())
	return want, got
}

// encode returns fields as one header block, literal names and values as they are.
func encode(fields ...string) []byte {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return buf.Bytes()
}

// TestReadFrameMatchesReadMetaHeaders checks that header blocks read with Conn.ReadFrame come to
// what x/net/http2's ReadMetaHeaders makes of them: the same fields, the same truncation, the
// same stream or connection errors.
func TestReadFrameMatchesReadMetaHeaders(t *testing.T) {
	request := []string{":method", "GET", ":scheme", "http", ":path", "/a?b", ":authority", "example.test", "accept", "*/*", "cookie", "a=1", "cookie", "b=2"}
	long := strings.Repeat("v", blockLimit/2)
	for _, tc := range []struct {
		name  string
		block []byte
		cuts  []int
	}{
		{"request", encode(request...), nil},
		{"request in three fragments", encode(request...), []int{3, 9}},
		{"response", encode(":status", "200", "content-type", "text/plain"), nil},
		{"trailers", encode("grpc-status", "0", "grpc-message", ""), nil},
		{"upper-case name", encode(":status", "200", "Content-Type", "x"), nil},
		{"invalid name", encode(":status", "200", "a b", "x"), nil},
		{"empty name", encode(":status", "200", "", "x"), nil},
		{"invalid value", encode(":status", "200", "x", "a\x00b"), nil},
		{"value with whitespace at its ends", encode(":status", "200", "x", " a\t"), nil},
		{"value with whitespace, then a fragment", encode(":status", "200", "x", "a ", "c", "d"), []int{8}},
		{"value with whitespace, then over the limit", encode(":status", "200", "x", "a ", "b", long, "c", long), nil},
		{"pseudo-header value with whitespace", encode(":status", "200 ", "x", "a"), nil},
		{"pseudo-header value with whitespace, then a fragment", encode(":method", "GET ", "c", "d"), []int{7}},
		{"invalid field, then a fragment", encode(":status", "200", "a b", "x", "c", "d"), []int{14}},
		{"pseudo after regular", encode("x", "1", ":status", "200"), nil},
		{"unknown pseudo", encode(":method", "GET", ":bogus", "1"), nil},
		{"repeated pseudo", encode(":status", "200", ":status", "204"), nil},
		{"request and response pseudo", encode(":method", "GET", ":status", "200"), nil},
		{"over the limit", encode(":status", "200", "a", long, "b", long, "c", "d"), nil},
		{"over the limit in fragments", encode(":status", "200", "a", long, "b", long, "c", "d"), []int{blockLimit / 2, blockLimit}},
		{"trailer names over the limit", encode(":method", "GET", "trailer", strings.Repeat("a,", blockLimit/30)), nil},
		{"fragment far over the limit", encode("a", strings.Repeat("v", 3*blockLimit)), nil},
		{"not HPACK", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, nil},
		{"truncated HPACK", encode("a", "value")[:4], nil},
		{"empty", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, got := readBoth(t, framesOf(tc.block, tc.cuts...))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ReadFrame differs from ReadMetaHeaders (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadFrameReusesFields checks that the fields of a header block are decoded into the slice
// the previous block used: reading a block allocates no field slice.
func TestReadFrameReusesFields(t *testing.T) {
	block := framesOf(encode(":method", "GET", ":scheme", "http", ":path", "/", "accept", "*/*", "x-a", "1", "x-b", "2"))
	var wire bytes.Buffer
	for range 10 {
		wire.Write(block)
	}
	client, server := net.Pipe()
	defer server.Close()
	go func() { client.Write(wire.Bytes()); client.Close() }()
	c := New(server, nil, nil, nil, blockLimit, 0, nil)
	var first *hpack.HeaderField
	for i := range 10 {
		f, err := c.ReadFrame()
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		fields := f.(*http2.MetaHeadersFrame).Fields
		if len(fields) != 6 {
			t.Fatalf("block %d: %d fields, want 6", i, len(fields))
		}
		if i == 0 {
			first = &fields[0]
		} else if &fields[0] != first {
			t.Fatalf("block %d decoded into a new slice", i)
		}
	}
}

// FuzzHeaderBlock checks that any header block, in up to three fragments, comes to what
// x/net/http2's ReadMetaHeaders makes of it.
func FuzzHeaderBlock(f *testing.F) {
	f.Add(encode(":method", "GET", ":path", "/", "x", "y"), uint16(3), uint16(9))
	f.Add(encode(":status", "200", "A", "b"), uint16(0), uint16(0))
	f.Add(encode("trailer", "a,b,c", "x", strings.Repeat("v", blockLimit)), uint16(40), uint16(600))
	f.Fuzz(func(t *testing.T, block []byte, cut1, cut2 uint16) {
		var cuts []int
		for _, c := range []uint16{cut1, cut2} {
			if c > 0 {
				cuts = append(cuts, int(c))
			}
		}
		want, got := readBoth(t, framesOf(block, cuts...))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ReadFrame differs from ReadMetaHeaders (-want +got):\n%s", diff)
		}
	})
}

// TestReadFrameValueWhitespace checks that a regular field's value that starts or ends with a space
// or a tab, which RFC 9113 §8.2.1 makes malformed, is taken without that whitespace, as an
// HTTP/1.1 recipient reads it, and that a pseudo-header field's is a stream error; whitespace
// within a value stays.
func TestReadFrameValueWhitespace(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        string // the value read, or the error
	}{
		{"x-a", " leading", "leading"},
		{"x-a", "trailing ", "trailing"},
		{"x-a", "\t both \t", "both"},
		{"cookie", "a=1; ", "a=1;"},
		{"x-a", " ", ""},
		{"x-a", "inner space\tand tab", "inner space\tand tab"},
		{"x-a", "", ""},
		{":authority", "example.test ", "stream PROTOCOL_ERROR"},
		{":path", " /", "stream PROTOCOL_ERROR"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			_, got := readBoth(t, framesOf(encode(":method", "GET", tc.name, tc.value)))
			switch {
			case got.Error != "" || len(got.Fields) != 2:
				if got.Error != tc.want {
					t.Errorf("ReadFrame: error %q, %d fields; want %q", got.Error, len(got.Fields), tc.want)
				}
			case got.Fields[1].Value != tc.want:
				t.Errorf("ReadFrame: value %q, want %q", got.Fields[1].Value, tc.want)
			}
		})
	}
}

package h2

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// byteConn is a net.Conn whose reads come from r; nothing else of it is used.
type byteConn struct {
	net.Conn
	r io.Reader
}

func (c byteConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// encodeRequest returns the header block of a GET for path with the fields extra, encoded by enc.
func encodeRequest(enc *hpack.Encoder, buf *bytes.Buffer, path string, extra ...hpack.HeaderField) []byte {
	buf.Reset()
	for _, f := range append([]hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"}, {Name: ":authority", Value: "a"}, {Name: ":path", Value: path}}, extra...) {
		enc.WriteField(f)
	}
	return bytes.Clone(buf.Bytes())
}

// clientBytes returns what a client sends: the preface and the frames write writes.
func clientBytes(t testing.TB, write func(fr *http2.Framer, enc *hpack.Encoder, buf *bytes.Buffer) error) []byte {
	t.Helper()
	var out, block bytes.Buffer
	out.WriteString(http2.ClientPreface)
	if err := write(http2.NewFramer(&out, nil), hpack.NewEncoder(&block), &block); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// libraryView reads r after the preface as x/net/http2's server does (a Framer with an HPACK
// decoder, the frame size limit proxyd advertises) and describes every frame, or error, it reads.
func libraryView(t testing.TB, r io.Reader) []string {
	t.Helper()
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(r, preface); err != nil || string(preface) != http2.ClientPreface {
		t.Fatalf("preface %q, %v", preface, err)
	}
	fr := http2.NewFramer(nil, r)
	fr.ReadMetaHeaders = hpack.NewDecoder(headerTableSize, nil)
	fr.SetMaxReadFrameSize(maxFrameSize)
	var seen []string
	for {
		f, err := fr.ReadFrame()
		var se http2.StreamError
		switch {
		case errors.Is(err, io.EOF):
			return seen
		case errors.As(err, &se):
			seen = append(seen, fmt.Sprintf("stream error %d %v", se.StreamID, se.Code))
			continue
		case err != nil:
			return append(seen, err.Error())
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				seen = append(seen, "SETTINGS ACK")
				continue
			}
			var s []string
			f.ForeachSetting(func(v http2.Setting) error {
				s = append(s, v.String())
				return nil
			})
			seen = append(seen, fmt.Sprint("SETTINGS ", s))
		case *http2.MetaHeadersFrame:
			seen = append(seen, fmt.Sprintf("HEADERS %d %v", f.StreamID, f.Fields))
		case *http2.DataFrame:
			seen = append(seen, fmt.Sprintf("DATA %d %q", f.StreamID, f.Data()))
		default:
			seen = append(seen, f.Header().String())
		}
	}
}

// TestInspectedConnFrames reads a client's frames through inspectedConn, in reads of one byte and
// in reads as large as the library's: the library sees SETTINGS with a repeated setting collapsed,
// a malformed request's stream error after the whole block was decoded (the next request decodes
// with the same dynamic table), and every other frame as it was sent.
func TestInspectedConnFrames(t *testing.T) {
	in := clientBytes(t, func(fr *http2.Framer, enc *hpack.Encoder, buf *bytes.Buffer) error {
		bad := encodeRequest(enc, buf, "/bad", hpack.HeaderField{Name: "connection", Value: "close"}, hpack.HeaderField{Name: "x-long", Value: "y"})
		good := encodeRequest(enc, buf, "/good", hpack.HeaderField{Name: "x-long", Value: "y"})
		return errors.Join(
			fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100}, http2.Setting{ID: http2.SettingEnablePush, Val: 0}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1}),
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: bad[:4], PadLength: 3}),
			fr.WriteContinuation(1, true, bad[4:]),
			fr.WriteData(1, true, []byte("body")),
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: good, EndStream: true, EndHeaders: true}),
			fr.WritePing(false, [8]byte{1}),
			fr.WriteSettingsAck(),
		)
	})
	want := []string{
		"SETTINGS [[INITIAL_WINDOW_SIZE = 1] [ENABLE_PUSH = 0]]",
		"stream error 1 PROTOCOL_ERROR",
		`DATA 1 "body"`,
		`HEADERS 3 [header field ":method" = "GET" header field ":scheme" = "http" header field ":authority" = "a" header field ":path" = "/good" header field "x-long" = "y"]`,
		"[FrameHeader PING len=8]",
		"SETTINGS ACK",
	}
	for _, read := range []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"one byte", iotest.OneByteReader},
		{"frames", func(r io.Reader) io.Reader { return r }},
	} {
		conn := newInspectedConn(byteConn{r: bytes.NewReader(in)}, testMaxHeaderSize)
		if diff := cmp.Diff(want, libraryView(t, read.wrap(conn))); diff != "" {
			t.Errorf("%s: frames the library reads (-want +got):\n%s", read.name, diff)
		}
	}
}

// TestInspectedConnGivesUp sends a frame over the size limit and after it a malformed request:
// inspectedConn passes the rest through untouched, for the library to fail the connection.
func TestInspectedConnGivesUp(t *testing.T) {
	in := clientBytes(t, func(fr *http2.Framer, enc *hpack.Encoder, buf *bytes.Buffer) error {
		return errors.Join(
			fr.WriteData(1, false, make([]byte, maxFrameSize+1)),
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: encodeRequest(enc, buf, "/", hpack.HeaderField{Name: "connection", Value: "close"}), EndHeaders: true}),
		)
	})
	out, err := io.ReadAll(iotest.OneByteReader(newInspectedConn(byteConn{r: bytes.NewReader(in)}, testMaxHeaderSize)))
	if err != nil || !bytes.Equal(out, in) {
		t.Errorf("read %d bytes, %v; want the %d bytes sent, unchanged", len(out), err, len(in))
	}
}

// settingsFrame returns settings as a parsed SETTINGS frame.
func settingsFrame(t testing.TB, settings ...http2.Setting) *http2.SettingsFrame {
	t.Helper()
	var buf bytes.Buffer
	fr := http2.NewFramer(&buf, &buf)
	if err := fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	f, err := fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	return f.(*http2.SettingsFrame)
}

func TestCollapseSettings(t *testing.T) {
	type set = http2.Setting
	window, table, push, frame := http2.SettingInitialWindowSize, http2.SettingHeaderTableSize, http2.SettingEnablePush, http2.SettingMaxFrameSize
	many := make([]set, maxSettingsPerFrame+1)
	for i := range many {
		many[i] = set{ID: push, Val: 0}
	}
	tests := []struct {
		name string
		in   []set
		want []set // nil: the frame passes as it is
	}{
		{"no repeats", []set{{ID: window, Val: 1}, {ID: push, Val: 0}}, nil},
		{"last value", []set{{ID: window, Val: 100}, {ID: push, Val: 0}, {ID: window, Val: 1}, {ID: window, Val: 7}}, []set{{ID: window, Val: 7}, {ID: push, Val: 0}}},
		{"smallest table", []set{{ID: table, Val: 0}, {ID: table, Val: 8192}, {ID: frame, Val: 1 << 20}, {ID: frame, Val: 1 << 14}}, []set{{ID: table, Val: 0}, {ID: frame, Val: 1 << 14}}},
		{"invalid value", []set{{ID: push, Val: 0}, {ID: push, Val: 2}, {ID: push, Val: 1}}, nil},
		{"invalid later value", []set{{ID: window, Val: 1}, {ID: window, Val: 1 << 31}}, nil},
		{"over the library's limit", many, nil},
	}
	for _, tc := range tests {
		got, ok := collapseSettings(settingsFrame(t, tc.in...))
		if ok != (tc.want != nil) {
			t.Errorf("%s: rewritten %v, want %v", tc.name, ok, tc.want != nil)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", tc.name, diff)
		}
	}
}

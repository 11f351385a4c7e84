package wire

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReaderWithoutBuffer(t *testing.T) {
	src := strings.NewReader("data")
	r := NewReader(src)
	if r.Source() != src {
		t.Errorf("Source() = %v, want the reader given to NewReader", r.Source())
	}
	if n, err := r.Fill(); n != 0 || err != ErrBufferFull {
		t.Errorf("Fill() without buffer = %d, %v; want 0, ErrBufferFull", n, err)
	}
	if b := r.Detach(); b != nil {
		t.Errorf("Detach() without buffer = %q, want nil", b)
	}
	if len(r.Buffered()) != 0 || r.Cap() != 0 {
		t.Errorf("Buffered() = %q, Cap() = %d; want empty, 0", r.Buffered(), r.Cap())
	}
}

func TestReaderFillDiscardDetach(t *testing.T) {
	r := NewReader(strings.NewReader("hello world"))
	buf := make([]byte, 8)
	r.Attach(buf)
	step := func(what string, gotN int, gotErr error, wantN int, wantErr error, wantBuffered string) {
		t.Helper()
		if gotN != wantN || gotErr != wantErr || string(r.Buffered()) != wantBuffered {
			t.Errorf("%s: %d, %v, Buffered %q; want %d, %v, %q", what, gotN, gotErr, r.Buffered(), wantN, wantErr, wantBuffered)
		}
	}
	n, err := r.Fill()
	step("first Fill", n, err, 8, nil, "hello wo")
	n, err = r.Fill()
	step("Fill of a full buffer", n, err, 0, ErrBufferFull, "hello wo")
	if b := r.Detach(); b != nil {
		t.Errorf("Detach() with buffered bytes = %q, want nil", b)
	}
	r.Discard(6)
	step("Discard(6)", 0, nil, 0, nil, "wo")
	n, err = r.Fill()
	step("Fill after Discard compacts", n, err, 3, nil, "world")
	if &r.Buffered()[0] != &buf[0] {
		t.Error("Fill did not move the buffered bytes to the start of the buffer")
	}
	n, err = r.Fill()
	step("Fill at end", n, err, 0, io.EOF, "world")
	r.Discard(5)
	if b := r.Detach(); len(b) != 8 || &b[0] != &buf[0] {
		t.Errorf("Detach() = %q, want the attached 8-byte buffer", b)
	}
	if r.Cap() != 0 {
		t.Errorf("Cap() after Detach = %d, want 0", r.Cap())
	}
}

func TestReaderGrow(t *testing.T) {
	r := NewReader(strings.NewReader("0123456789abcdef"))
	r.Attach(make([]byte, 4))
	if _, err := r.Fill(); err != nil {
		t.Fatal(err)
	}
	r.Discard(1)
	r.Grow(make([]byte, 16))
	if got := string(r.Buffered()); got != "123" || r.Cap() != 16 {
		t.Fatalf("after Grow: Buffered %q, Cap %d; want %q, 16", got, r.Cap(), "123")
	}
	if n, err := r.Fill(); n != 12 || err != nil || string(r.Buffered()) != "123456789abcdef" {
		t.Errorf("Fill after Grow = %d, %v, Buffered %q", n, err, r.Buffered())
	}
}

func TestReaderReset(t *testing.T) {
	r := NewReader(strings.NewReader("old"))
	r.Attach(make([]byte, 8))
	if _, err := r.Fill(); err != nil {
		t.Fatal(err)
	}
	src := strings.NewReader("new")
	r.Reset(src)
	if len(r.Buffered()) != 0 || r.Cap() != 8 || r.Source() != src {
		t.Fatalf("after Reset: Buffered %q, Cap %d", r.Buffered(), r.Cap())
	}
	if _, err := r.Fill(); err != nil || string(r.Buffered()) != "new" {
		t.Errorf("Fill after Reset: %v, Buffered %q; want %q", err, r.Buffered(), "new")
	}
}

// emptyReader returns no bytes and no error forever.
type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderFillNoProgress(t *testing.T) {
	r := NewReader(emptyReader{})
	r.Attach(make([]byte, 8))
	if n, err := r.Fill(); n != 0 || !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("Fill() = %d, %v; want 0, io.ErrNoProgress", n, err)
	}
}

func TestReaderMisusePanics(t *testing.T) {
	filled := func() *Reader {
		r := NewReader(strings.NewReader("abc"))
		r.Attach(make([]byte, 8))
		if _, err := r.Fill(); err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name string
		f    func()
	}{
		{"Discard beyond buffered", func() { filled().Discard(4) }},
		{"Discard negative", func() { filled().Discard(-1) }},
		{"Attach with buffered bytes", func() { filled().Attach(make([]byte, 8)) }},
		{"Grow into a smaller buffer", func() { filled().Grow(make([]byte, 2)) }},
		{"Filled beyond the free space", func() { filled().Filled(6) }},
		{"Filled negative", func() { filled().Filled(-1) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", tc.name)
				}
			}()
			tc.f()
		})
	}
}

func TestReaderAttachFilled(t *testing.T) {
	r := NewReader(strings.NewReader(" world"))
	buf := make([]byte, 16)
	copy(buf, "hello")
	r.AttachFilled(buf, 5)
	if got := string(r.Buffered()); got != "hello" {
		t.Fatalf("Buffered after AttachFilled = %q, want %q", got, "hello")
	}
	if _, err := r.Fill(); err != nil {
		t.Fatal(err)
	}
	if got := string(r.Buffered()); got != "hello world" {
		t.Fatalf("Buffered after Fill = %q, want %q", got, "hello world")
	}
}

// TestReaderSpaceFilled reads into the buffer as an event loop does, beside the Reader: Space
// moves what is buffered to the start and offers the rest, Filled adds what was read there and
// counts it as progress.
func TestReaderSpaceFilled(t *testing.T) {
	r := NewReader(strings.NewReader(""))
	var p Progress
	r.SetProgress(&p)
	r.Attach(make([]byte, 8))
	n := copy(r.Space(), "GET /x")
	r.Filled(n)
	r.Discard(4)
	space := r.Space()
	if got, want := len(space), 6; got != want {
		t.Fatalf("Space after Discard has %d bytes, want %d", got, want)
	}
	r.Filled(copy(space, " y"))
	if got, want := string(r.Buffered()), "/x y"; got != want {
		t.Errorf("Buffered = %q, want %q", got, want)
	}
	if got, want := p.Moved(), int64(8); got != want {
		t.Errorf("Progress.Moved = %d, want %d", got, want)
	}
}

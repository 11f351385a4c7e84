package wire

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// TestProgressCountsReadsAndWrites relays bodies of each framing through a Reader with a Progress
// and checks that every byte is counted once read and once written.
func TestProgressCountsReadsAndWrites(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		f    Framing
	}{
		{"content-length", "hello, world", Framing{Kind: BodyLength, Length: 12}},
		{"chunked", "5\r\nhello\r\n0\r\n\r\n", Framing{Kind: BodyChunked}},
		{"until close", strings.Repeat("x", 10000), Framing{Kind: BodyUntilClose}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Progress
			r := NewReader(strings.NewReader(tc.body))
			r.Attach(make([]byte, 4096))
			r.SetProgress(&p)
			var dst bytes.Buffer
			n, err := CopyBody(&dst, r, tc.f)
			if err != nil || n != int64(len(tc.body)) {
				t.Fatalf("CopyBody = %d, %v; want %d", n, err, len(tc.body))
			}
			if got, want := p.Moved(), 2*int64(len(tc.body)); got != want {
				t.Errorf("Moved() = %d, want %d", got, want)
			}
			if p.Writing() {
				t.Error("Writing() after the relay ended")
			}
		})
	}
}

// blockingWriter reports each Write on entered and returns once release is closed.
type blockingWriter struct {
	entered chan struct{}
	release chan struct{}
}

func (w *blockingWriter) Write(b []byte) (int, error) {
	w.entered <- struct{}{}
	<-w.release
	return len(b), nil
}

// TestProgressWritingWhileBlocked checks that Writing reports a write the destination has not taken.
func TestProgressWritingWhileBlocked(t *testing.T) {
	var p Progress
	r := NewReader(strings.NewReader("abc"))
	r.Attach(make([]byte, 64))
	r.SetProgress(&p)
	w := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := CopyLength(w, r, 3)
		done <- err
	}()
	<-w.entered
	if !p.Writing() || p.Moved() != 3 {
		t.Errorf("inside a blocked write: Writing() = %v, Moved() = %d; want true, 3", p.Writing(), p.Moved())
	}
	close(w.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p.Writing() || p.Moved() != 6 {
		t.Errorf("after the write: Writing() = %v, Moved() = %d; want false, 6", p.Writing(), p.Moved())
	}
}

// TestProgressSpliced checks that bytes moved by splice(2) between TCP connections are counted.
func TestProgressSpliced(t *testing.T) {
	const size = 4 << 20
	in, inProxy := tcpPair(t)
	outProxy, out := tcpPair(t)
	go io.Copy(in, randomStream(size, 5))
	go io.Copy(io.Discard, out)
	var p Progress
	r := newTestReader(t, inProxy, 4096, false)
	r.SetProgress(&p)
	if n, err := CopyLength(outProxy, r, size); err != nil || n != size {
		t.Fatalf("CopyLength = %d, %v; want %d", n, err, size)
	}
	if got := p.Moved(); got != 2*size {
		t.Errorf("Moved() = %d, want %d", got, 2*size)
	}
}

package wire

import (
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// tcpPair returns the two ends of a TCP connection over 127.0.0.1, closed when the test ends.
func tcpPair(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan *net.TCPConn, 1)
	go func() {
		c, _ := ln.AcceptTCP()
		accepted <- c
	}()
	client, err = net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// randomStream returns a reader of n deterministic pseudo-random bytes.
func randomStream(n int64, seed byte) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{seed}), n)
}

// streamSum returns the SHA-256 of what randomStream(n, seed) yields.
func streamSum(t testing.TB, n int64, seed byte) [32]byte {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, randomStream(n, seed)); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// sumOf reads exactly n bytes from r and returns their SHA-256, or the read error.
func sumOf(r io.Reader, n int64) ([32]byte, error) {
	h := sha256.New()
	_, err := io.CopyN(h, r, n)
	return [32]byte(h.Sum(nil)), err
}

// waitTimeout bounds how long a test waits for another goroutine before it fails.
const waitTimeout = 20 * time.Second

// receive returns the value sent on ch, failing the test if none comes within waitTimeout.
func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// writeFunc adapts a function to io.Writer.
type writeFunc func([]byte) (int, error)

func (f writeFunc) Write(p []byte) (int, error) { return f(p) }

// recorder is a writer that records each Write separately.
type recorder struct{ writes []string }

func (w *recorder) Write(p []byte) (int, error) {
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

// all returns everything written.
func (w *recorder) all() string {
	s := ""
	for _, p := range w.writes {
		s += p
	}
	return s
}

// checkStreams feeds pieces to copy one at a time, each only once the previous one has been
// written in one Write, and then ends the source if closeSource is set. copy must return nil.
func checkStreams(t *testing.T, copy func(io.Writer, *Reader) (int64, error), pieces []string, closeSource bool) {
	t.Helper()
	pr, pw := io.Pipe()
	written := make(chan string)
	dst := writeFunc(func(p []byte) (int, error) { written <- string(p); return len(p), nil })
	done := make(chan error, 1)
	r := NewReader(pr)
	r.Attach(make([]byte, 4096))
	go func() {
		_, err := copy(dst, r)
		done <- err
	}()
	for _, piece := range pieces {
		go pw.Write([]byte(piece))
		if got := receive(t, written, "piece "+piece); got != piece {
			t.Fatalf("wrote %q, want %q", got, piece)
		}
	}
	if closeSource {
		pw.Close()
	}
	if err := receive(t, done, "the copy to end"); err != nil {
		t.Fatal(err)
	}
}

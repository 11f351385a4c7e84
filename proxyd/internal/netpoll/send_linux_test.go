package netpoll

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/loopback"
)

// newSender returns a Sender for c, failing the test if it cannot.
func newSender(t *testing.T, c *net.TCPConn) *Sender {
	t.Helper()
	return NewSender(newSocket(t, c))
}

// answerAfterRequest makes peer read a request of n bytes and then do what answers it; the
// returned channel gives the request as read.
func answerAfterRequest(t *testing.T, peer *net.TCPConn, n int, answer peerAct) <-chan []byte {
	got := make(chan []byte, 1)
	go func() {
		req := make([]byte, n)
		peer.SetReadDeadline(time.Now().Add(waitLimit))
		if _, err := io.ReadFull(peer, req); err != nil {
			t.Errorf("peer reading the request: %v", err)
		}
		answer(t, peer)
		got <- req
	}()
	return got
}

// TestSendAwaitWaitsForAnswer writes the request whole and returns only once the answer has begun
// to come: bytes, a close, a half-close or a reset, which the next Read reports.
func TestSendAwaitWaitsForAnswer(t *testing.T) {
	const request = "GET / HTTP/1.1\r\nHost: b\r\n\r\n"
	for _, tt := range readyCases("HTTP/1.1 204 No Content\r\n\r\n") {
		t.Run(tt.name, func(t *testing.T) {
			local, peer := loopback.Pair(t)
			got := answerAfterRequest(t, peer, len(request), tt.peerDoes)
			local.SetReadDeadline(time.Now().Add(waitLimit))
			bufs := net.Buffers{[]byte(request[:4]), []byte(request[4:])}
			sent, err := newSender(t, local).SendAwait(&bufs)
			if !sent || err != nil {
				t.Fatalf("SendAwait = %v, %v; want true, nil", sent, err)
			}
			if quietOf(local) {
				t.Errorf("the connection is quiet after SendAwait returned: it did not wait for the answer")
			}
			if len(bufs) != 0 {
				t.Errorf("SendAwait left %d buffers, want all consumed", len(bufs))
			}
			if diff := cmp.Diff(request, string(<-got)); diff != "" {
				t.Errorf("request the peer read (-want +got):\n%s", diff)
			}
			checkLeft(t, local, tt.wantData, "SendAwait")
		})
	}
}

// TestSendAwaitKeepAlive sends request after request on one connection, each answer read the usual
// way in between: the readiness of an answer already read never ends the next wait early, and the
// next answer's arrival always ends it.
func TestSendAwaitKeepAlive(t *testing.T) {
	local, peer := loopback.Pair(t)
	s := newSender(t, local)
	buf := make([]byte, 64)
	for i := range 20 {
		req, answer := []byte("request"), "answer"
		got := answerAfterRequest(t, peer, len(req), sends(answer))
		local.SetReadDeadline(time.Now().Add(waitLimit))
		bufs := net.Buffers{req}
		if sent, err := s.SendAwait(&bufs); !sent || err != nil {
			t.Fatalf("request %d: SendAwait = %v, %v; want true, nil", i, sent, err)
		}
		<-got
		if quietOf(local) {
			t.Fatalf("request %d: the connection is quiet after SendAwait returned", i)
		}
		n, err := local.Read(buf)
		if err != nil || string(buf[:n]) != answer {
			t.Fatalf("request %d: Read after SendAwait = %q, %v; want %q", i, buf[:n], err, answer)
		}
	}
}

// TestSendAwaitPartialWrite gives up, reporting false without an error, when the kernel takes only
// part of the request: what is left in the buffers, written the usual way, completes it.
func TestSendAwaitPartialWrite(t *testing.T) {
	local, peer := loopback.Pair(t)
	// 32 MiB: more than the send buffer (tcp_wmem's largest by default 4 MiB) and the peer's
	// receive buffer (tcp_rmem's, 6 MiB) hold together.
	request := bytes.Repeat([]byte("0123456789abcdef"), 2<<20)
	bufs := net.Buffers{request[:1<<20], request[1<<20:]}
	sender := newSender(t, local)
	sent, err := sender.SendAwait(&bufs)
	if sent || err != nil {
		t.Fatalf("SendAwait of 32 MiB to a peer that does not read = %v, %v; want false, nil", sent, err)
	}
	left := 0
	for _, b := range bufs {
		left += len(b)
	}
	if left == 0 || left == len(request) {
		t.Fatalf("SendAwait left %d of %d bytes, want some written and some left", left, len(request))
	}
	got := make(chan []byte, 1)
	go func() {
		all := make([]byte, len(request))
		peer.SetReadDeadline(time.Now().Add(waitLimit))
		if _, err := io.ReadFull(peer, all); err != nil {
			t.Errorf("peer reading the request: %v", err)
		}
		got <- all
	}()
	local.SetWriteDeadline(time.Now().Add(waitLimit))
	if err := sender.Send(&bufs); err != nil || len(bufs) != 0 {
		t.Fatalf("Send of the rest = %v with %d buffers left; want nil and none", err, len(bufs))
	}
	if !bytes.Equal(<-got, request) {
		t.Errorf("the peer did not read the request as written")
	}
}

// TestSendFails reports why Send could not write everything: the peer reset the connection, or
// the write deadline passed while the peer read nothing.
func TestSendFails(t *testing.T) {
	t.Run("reset", func(t *testing.T) {
		local, peer := loopback.Pair(t)
		resets(t, peer)
		waitReadable(t, local)
		bufs := net.Buffers{[]byte("head"), []byte("body")}
		if err := newSender(t, local).Send(&bufs); !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
			t.Fatalf("Send after the peer reset = %v; want ECONNRESET or EPIPE", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		local, _ := loopback.Pair(t)
		local.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		bufs := net.Buffers{bytes.Repeat([]byte("x"), 32<<20)} // more than the buffers hold
		if err := newSender(t, local).Send(&bufs); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Send to a peer that reads nothing = %v; want os.ErrDeadlineExceeded", err)
		}
	})
}

// TestSendAwaitWriteFails reports the write's error when the peer has reset the connection.
func TestSendAwaitWriteFails(t *testing.T) {
	local, peer := loopback.Pair(t)
	resets(t, peer)
	waitReadable(t, local)
	bufs := net.Buffers{[]byte("request")}
	sent, err := newSender(t, local).SendAwait(&bufs)
	if sent || err == nil {
		t.Fatalf("SendAwait after the peer reset = %v, %v; want false and an error", sent, err)
	}
}

// TestSendAwaitDeadline leaves an ended wait for the next read to report: a read deadline already
// past writes nothing and reports false; one that passes while waiting reports true, and the next
// Read fails with os.ErrDeadlineExceeded.
func TestSendAwaitDeadline(t *testing.T) {
	t.Run("already past", func(t *testing.T) {
		local, _ := loopback.Pair(t)
		local.SetReadDeadline(time.Now().Add(-time.Second))
		bufs := net.Buffers{[]byte("request")}
		if sent, err := newSender(t, local).SendAwait(&bufs); sent || err != nil || len(bufs) != 1 {
			t.Fatalf("SendAwait past the read deadline = %v, %v with %d buffers left; want false, nil, 1", sent, err, len(bufs))
		}
	})
	t.Run("passes while waiting", func(t *testing.T) {
		local, peer := loopback.Pair(t)
		got := answerAfterRequest(t, peer, len("request"), func(*testing.T, *net.TCPConn) {})
		local.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		bufs := net.Buffers{[]byte("request")}
		if sent, err := newSender(t, local).SendAwait(&bufs); !sent || err != nil {
			t.Fatalf("SendAwait to a peer that never answers = %v, %v; want true, nil", sent, err)
		}
		<-got
		if _, err := local.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read after the wait's deadline = %v, want os.ErrDeadlineExceeded", err)
		}
	})
}

// TestConsume removes exactly n bytes from the front of the buffers.
func TestConsume(t *testing.T) {
	for n, want := range [][]string{
		{"ab", "cd", "ef"},
		{"b", "cd", "ef"},
		{"cd", "ef"},
		{"d", "ef"},
		{"ef"},
		{"f"},
		{},
	} {
		bufs := net.Buffers{[]byte("ab"), []byte("cd"), []byte("ef")}
		Consume(&bufs, n)
		got := []string{}
		for _, b := range bufs {
			got = append(got, string(b))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Consume(%d) (-want +got):\n%s", n, diff)
		}
	}
}

// TestSendAwaitAllocatesNothing: a Sender is made once per connection, its sends cost no
// allocation.
func TestSendAwaitAllocatesNothing(t *testing.T) {
	local, peer := loopback.Pair(t)
	s := newSender(t, local)
	go io.Copy(peer, peer) // echoes every request: its answer
	ping, buf := []byte("ping"), make([]byte, 4)
	var arr [1][]byte // SendAwait consumes bufs: each send lays it out again, in place
	var bufs net.Buffers
	local.SetReadDeadline(time.Now().Add(waitLimit))
	allocs := testing.AllocsPerRun(50, func() {
		arr[0] = ping
		bufs = arr[:]
		if sent, err := s.SendAwait(&bufs); !sent || err != nil {
			t.Fatalf("SendAwait = %v, %v", sent, err)
		}
		io.ReadFull(local, buf)
	})
	if allocs != 0 {
		t.Errorf("SendAwait allocates %v times per send, want 0", allocs)
	}
}

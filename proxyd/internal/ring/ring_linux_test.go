package ring

import (
	"errors"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// TestMain fails the run when any test leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitLimit bounds the waits in the poller, so that a lost wake-up fails a test instead of
// hanging it.
const waitLimit = 10 * time.Second

// completion is what a completion carried.
type completion struct {
	UserData uint64
	Res      int32
}

// onRing runs f with a new ring and its waiter on a goroutine locked to its thread, as a ring
// must be used, and closes both after. The waiter's waits end at a deadline: a lost wake-up fails
// the test instead of hanging it.
func onRing(t *testing.T, f func(r *Ring, w *Waiter)) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		r, err := New(8)
		if err != nil {
			t.Errorf("New: %v", err)
			return
		}
		defer r.Close()
		w, err := NewWaiter(r)
		if err != nil {
			t.Errorf("NewWaiter: %v", err)
			return
		}
		defer w.Close()
		w.file.SetDeadline(time.Now().Add(waitLimit))
		f(r, w)
	}()
	<-done
}

// message is a sendmsg(2) message of parts, which it keeps reachable while the kernel reads them.
func message(parts ...[]byte) *unix.Msghdr {
	iov := make([]unix.Iovec, len(parts))
	for i, p := range parts {
		iov[i].Base = &p[0]
		iov[i].SetLen(len(p))
	}
	msg := &unix.Msghdr{Iov: &iov[0]}
	msg.SetIovlen(len(iov))
	return msg
}

// socketPair returns the two ends of a connected stream socket pair, closed when the test ends.
func socketPair(t *testing.T) (a, b int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// await enters r, and waits with w as a loop does, until n completions came, and returns them.
func await(t *testing.T, r *Ring, w *Waiter, n int) []completion {
	t.Helper()
	var got []completion
	err := w.Wait(func() bool {
		for {
			if err := r.Enter(); err != nil {
				t.Errorf("Enter: %v", err)
				return true
			}
			k := r.Complete(func(ud uint64, res int32, _ uint32) { got = append(got, completion{ud, res}) })
			if len(got) >= n {
				return true
			}
			if k == 0 {
				return false
			}
		}
	})
	if err != nil {
		t.Errorf("Wait: %v", err)
	}
	return got
}

func TestSendAndRecv(t *testing.T) {
	a, b := socketPair(t)
	buf := make([]byte, 16)
	onRing(t, func(r *Ring, w *Waiter) {
		r.Recv(b, buf, 1)
		msg := message([]byte("hello"))
		r.Sendmsg(a, msg, 2)
		got := await(t, r, w, 2)
		runtime.KeepAlive(msg)
		want := []completion{{2, 5}, {1, 5}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("completions (-want +got):\n%s", diff)
		}
	})
	if string(buf[:5]) != "hello" {
		t.Errorf("received %q, want %q", buf[:5], "hello")
	}
}

func TestSendmsgSendsEveryPart(t *testing.T) {
	a, b := socketPair(t)
	msg := message([]byte("GET / HTTP/1.1\r\n"), []byte("\r\n"))
	onRing(t, func(r *Ring, w *Waiter) {
		r.Sendmsg(a, msg, 7)
		if diff := cmp.Diff([]completion{{7, 18}}, await(t, r, w, 1)); diff != "" {
			t.Errorf("completions (-want +got):\n%s", diff)
		}
	})
	runtime.KeepAlive(msg)
	buf := make([]byte, 32)
	n, err := unix.Read(b, buf)
	if err != nil || string(buf[:n]) != "GET / HTTP/1.1\r\n\r\n" {
		t.Errorf("peer read %q, %v", buf[:n], err)
	}
}

func TestRecvSeesEndAndErrors(t *testing.T) {
	a, b := socketPair(t)
	buf := make([]byte, 16)
	onRing(t, func(r *Ring, w *Waiter) {
		r.Recv(b, buf, 1)
		unix.Shutdown(a, unix.SHUT_WR)
		r.Recv(-1, buf, 2)
		got := await(t, r, w, 2)
		want := map[uint64]int32{1: 0, 2: -int32(unix.EBADF)}
		for _, c := range got {
			if want[c.UserData] != c.Res {
				t.Errorf("completion %d: result %d, want %d", c.UserData, c.Res, want[c.UserData])
			}
		}
	})
}

func TestCancelEndsARecv(t *testing.T) {
	_, b := socketPair(t)
	buf := make([]byte, 16)
	onRing(t, func(r *Ring, w *Waiter) {
		r.Recv(b, buf, 1)
		if err := r.Enter(); err != nil {
			t.Fatalf("Enter: %v", err)
		}
		r.Cancel(1, 2)
		got := map[uint64]int32{}
		for _, c := range await(t, r, w, 2) {
			got[c.UserData] = c.Res
		}
		want := map[uint64]int32{1: -int32(unix.ECANCELED), 2: 1}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("results by user data (-want +got):\n%s", diff)
		}
	})
}

func TestFullQueueSubmitsBeforeQueueingMore(t *testing.T) {
	a, b := socketPair(t)
	buf := make([]byte, 64)
	onRing(t, func(r *Ring, w *Waiter) {
		const sends = 20 // more than the 8 entries of the queue
		msg := message([]byte("x"))
		for i := range sends {
			r.Sendmsg(a, msg, uint64(i))
		}
		if got := len(await(t, r, w, sends)); got != sends {
			t.Errorf("%d completions, want %d", got, sends)
		}
		runtime.KeepAlive(msg)
	})
	n, _ := unix.Read(b, buf)
	if n != 20 {
		t.Errorf("peer read %d bytes, want 20", n)
	}
}

// TestEnterAsksForWhatTheKernelHasNotTaken: Enter asks the kernel to submit the entries it has not
// taken yet, however they were taken before. Here a call of the test's own takes the receive's
// entry behind Enter's back, which leaves a count kept by Enter one behind the kernel, as a failed
// call's -1 would. Were Enter to ask for that entry again, the kernel would return at once without
// running the receive's completion, which comes as deferred work once the peer sends, and the wait
// would end at its deadline.
func TestEnterAsksForWhatTheKernelHasNotTaken(t *testing.T) {
	a, b := socketPair(t)
	buf := make([]byte, 16)
	onRing(t, func(r *Ring, w *Waiter) {
		r.Recv(b, buf, 1)
		atomic.StoreUint32(r.sqTail, r.tail)
		if _, _, e := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), 1, 0, 0, 0, 0); e != 0 {
			t.Fatalf("io_uring_enter: %v", e)
		}
		if _, err := unix.Write(a, []byte("hi")); err != nil {
			t.Fatalf("write: %v", err)
		}
		if diff := cmp.Diff([]completion{{1, 2}}, await(t, r, w, 1)); diff != "" {
			t.Errorf("completions (-want +got):\n%s", diff)
		}
	})
}

// TestWaiterWakesForCompletionsAndWake waits in the poller on a ring with a receive under way:
// the pass runs at first, when the peer sends (the ring's completion), and when Wake is called.
func TestWaiterWakesForCompletionsAndWake(t *testing.T) {
	a, b := socketPair(t)
	buf := make([]byte, 16)
	next := make(chan struct{})
	onRing(t, func(r *Ring, w *Waiter) {
		r.Recv(b, buf, 1)
		passes, woken := 0, false
		go func() {
			<-next
			unix.Write(a, []byte("hi"))
			<-next
			w.Wake()
		}()
		err := w.Wait(func() bool {
			passes++
			if err := r.Enter(); err != nil {
				t.Errorf("Enter: %v", err)
				return true
			}
			got := 0
			r.Complete(func(ud uint64, res int32, _ uint32) {
				if ud != 1 || res != 2 {
					t.Errorf("completion %d, result %d; want 1, 2", ud, res)
				}
				got++
			})
			switch {
			case passes == 1:
				next <- struct{}{} // now the peer sends
			case got == 1:
				next <- struct{}{} // now Wake
				woken = true
				return false
			case woken:
				return true
			}
			return false
		})
		if err != nil {
			t.Errorf("Wait: %v", err)
		}
	})
}

func TestWaiterCloseEndsTheWait(t *testing.T) {
	onRing(t, func(r *Ring, w *Waiter) {
		first := make(chan struct{})
		closed := make(chan struct{})
		go func() {
			<-first
			w.Close()
			close(closed)
		}()
		err := w.Wait(func() bool {
			select {
			case <-first:
			default:
				close(first)
			}
			return false
		})
		<-closed
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("Wait returned %v, want os.ErrClosed", err)
		}
	})
}

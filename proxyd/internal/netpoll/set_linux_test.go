package netpoll

import (
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/loopback"
)

// reports is what a Set under test reported, in order.
type reports chan string

// newTestSet returns a set whose reports go to the returned channel, closed by the test's cleanup;
// Linux has sets, so NewSetIfSupported gives one.
func newTestSet(t *testing.T) (*Set[string], reports) {
	t.Helper()
	got := make(reports, 1024)
	s, err := NewSetIfSupported(func(v string) { got <- v })
	if err != nil || s == nil {
		t.Fatalf("NewSetIfSupported = %v, %v; want a set", s, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, got
}

// next returns the next report, waiting at most waitLimit.
func (r reports) next(t *testing.T) string {
	t.Helper()
	select {
	case v := <-r:
		return v
	case <-time.After(waitLimit):
		t.Fatal("the set reported nothing")
		return ""
	}
}

// none checks that nothing was reported that has not been received yet.
func (r reports) none(t *testing.T) {
	t.Helper()
	select {
	case v := <-r:
		t.Errorf("unexpected report %q", v)
	default:
	}
}

// add adds c to s, reported as v.
func add(t *testing.T, s *Set[string], c *net.TCPConn, v string) Key {
	t.Helper()
	k, err := s.Add(rawConn(t, c), v)
	if err != nil {
		t.Fatalf("Add(%s): %v", v, err)
	}
	return k
}

// TestSetReportsReadable reports a socket once its peer sends, closes, half-closes or resets it,
// exactly once per Add, and leaves what arrived for the next Read.
func TestSetReportsReadable(t *testing.T) {
	for _, tt := range readyCases("GET / HTTP/1.1\r\n\r\n") {
		t.Run(tt.name, func(t *testing.T) {
			s, got := newTestSet(t)
			local, peer := loopback.Pair(t)
			k := add(t, s, local, "conn")
			tt.peerDoes(t, peer)
			if v := got.next(t); v != "conn" {
				t.Fatalf("reported %q, want conn", v)
			}
			if s.Wake(k) {
				t.Error("Wake after the report = true, want false: the socket was reported already")
			}
			if n := s.Len(); n != 0 {
				t.Errorf("Len after the report = %d, want 0", n)
			}
			// Reported once: though still readable, the socket is not reported again while another
			// becomes ready (epoll reports in the order sockets became ready). Added again, it is
			// reported again at once.
			staysOutUntilAdded(t, s, got, local)
			checkLeft(t, local, tt.wantData, "the report")
		})
	}
}

// TestSetWake reports a quiet socket on Wake, on the calling goroutine, once; what arrives on it
// later is reported no more.
func TestSetWake(t *testing.T) {
	s, got := newTestSet(t)
	local, peer := loopback.Pair(t)
	k := add(t, s, local, "woken")
	if !s.Wake(k) {
		t.Fatal("Wake of a member = false, want true")
	}
	select {
	case v := <-got:
		if v != "woken" {
			t.Fatalf("reported %q, want woken", v)
		}
	default:
		t.Fatal("Wake returned before the report")
	}
	if s.Wake(k) {
		t.Error("second Wake = true, want false")
	}

	// The woken socket becomes readable; then another member does. Epoll reports in the order
	// sockets became ready, so had the woken one stayed armed, its report would come first.
	sends("late")(t, peer)
	waitReadable(t, local)
	staysOutUntilAdded(t, s, got, local)
}

// staysOutUntilAdded checks that local, readable but already reported (or woken), is not reported
// again while another member becomes ready after it (epoll reports in the order sockets became
// ready, so an armed local would come first), and that it is reported at once when added again.
func staysOutUntilAdded(t *testing.T, s *Set[string], got reports, local *net.TCPConn) {
	t.Helper()
	other, otherPeer := loopback.Pair(t)
	add(t, s, other, "other")
	sends("x")(t, otherPeer)
	if v := got.next(t); v != "other" {
		t.Fatalf("reported %q, want other: a reported socket stays out of the set", v)
	}
	add(t, s, local, "again")
	if v := got.next(t); v != "again" {
		t.Fatalf("reported %q, want again", v)
	}
	got.none(t)
}

// TestSetDescriptorReuse never lets a key reach a later socket with the descriptor number of the
// socket it was given for: a report of the old key (Wake, as the set's goroutine does for each
// event it takes) finds nothing, and the new socket keeps its own registration.
func TestSetDescriptorReuse(t *testing.T) {
	s, got := newTestSet(t)
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	oldConn, oldPeer := acceptPair(t, ln)
	oldFd := fdOf(t, oldConn)
	oldKey := add(t, s, oldConn, "old")
	sends("x")(t, oldPeer)
	if v := got.next(t); v != "old" {
		t.Fatalf("reported %q, want old", v)
	}
	oldConn.Close()
	oldPeer.Close()

	newConn, newPeer := acceptPair(t, ln) // Linux hands out the lowest free descriptor numbers
	if fd := fdOf(t, newConn); fd != oldFd {
		t.Fatalf("the new socket has descriptor %d, want the old one's %d", fd, oldFd)
	}
	add(t, s, newConn, "new")
	if s.Wake(oldKey) {
		t.Error("Wake of the old key = true, want false")
	}
	got.none(t)
	if n := s.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1: the new socket", n)
	}
	sends("y")(t, newPeer)
	if v := got.next(t); v != "new" {
		t.Fatalf("reported %q, want new", v)
	}
	got.none(t)
}

// acceptPair dials ln and returns the accepted end and the dialled one, both closed by the test's
// cleanup.
func acceptPair(t *testing.T, ln *net.TCPListener) (accepted, dialed *net.TCPConn) {
	t.Helper()
	dialed, err := net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dialed.Close() })
	accepted, err = ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { accepted.Close() })
	return accepted, dialed
}

// fdOf returns the descriptor number of c.
func fdOf(t *testing.T, c *net.TCPConn) uintptr {
	t.Helper()
	var fd uintptr
	if err := rawConn(t, c).Control(func(d uintptr) { fd = d }); err != nil {
		t.Fatalf("Control: %v", err)
	}
	return fd
}

// TestSetManyReadyAtOnce reports each of more sockets than one epoll_wait(2) batch exactly once
// when all become readable at once.
func TestSetManyReadyAtOnce(t *testing.T) {
	const n = 3 * waitBatch
	s, got := newTestSet(t)
	peers := make([]*net.TCPConn, n)
	want := make(map[string]int, n)
	for i := range peers {
		local, peer := loopback.Pair(t)
		name := fmt.Sprint("conn", i)
		add(t, s, local, name)
		peers[i] = peer
		want[name] = 1
	}
	for _, p := range peers {
		sends("x")(t, p)
	}
	seen := make(map[string]int, n)
	for range n {
		seen[got.next(t)]++
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
	got.none(t)
	if l := s.Len(); l != 0 {
		t.Errorf("Len = %d, want 0", l)
	}
}

// TestSetClose ends the set's goroutine and closes its descriptor; Add fails afterwards, with the
// socket left untouched, and a second Close returns nil.
func TestSetClose(t *testing.T) {
	local, _ := loopback.Pair(t)
	before := openFds(t)
	s, err := NewSet(func(string) { t.Error("a closed set reported") })
	if err != nil {
		t.Fatalf("NewSet: %v", err)
	}
	add(t, s, local, "left")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Add(rawConn(t, local), "late"); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Add after Close = %v, want net.ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if after := openFds(t); after != before {
		t.Errorf("%d descriptors open after Close, %d before NewSet", after, before)
	}
}

// TestSetAddClosed fails to add a closed socket, which is then no member.
func TestSetAddClosed(t *testing.T) {
	s, _ := newTestSet(t)
	local, _ := loopback.Pair(t)
	rc := rawConn(t, local)
	local.Close()
	if _, err := s.Add(rc, "closed"); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Add of a closed socket = %v, want net.ErrClosed", err)
	}
	if n := s.Len(); n != 0 {
		t.Errorf("Len = %d, want 0", n)
	}
}

// openFds returns how many descriptors the process has open.
func openFds(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("listing open descriptors: %v", err)
	}
	return len(entries)
}

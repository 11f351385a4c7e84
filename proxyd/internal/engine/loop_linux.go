package engine

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
	"proxyd.dev/proxyd/internal/netpoll"
	"proxyd.dev/proxyd/internal/ring"
	"proxyd.dev/proxyd/internal/upstream"
	"proxyd.dev/wire"
)

// ringEntries is the submission queue of each loop's ring: a pass queues more only after
// submitting these.
const ringEntries = 1024

// loops are the server's ring loops (ringLoopCount): each serves, on a thread of its own, the
// client connections given to it from their accept on, their socket calls the entries of an
// io_uring instance (package ring). A loop waits for a request, and serves an exchange that
// reads nothing more from the client on a kept or pooled backend connection, whose response
// comes whole in the first reads: the route, the request and the response as the goroutines
// would make them, with the same lifetime rules, but many connections' calls in one system call.
// Anything else (a partial or malformed head, a body, an upgrade, a dial, a response that does not
// come whole, a slow client, an interrupt of the lifetime, the HTTP/2 preface) goes back to a
// goroutine at the step it reached (fromLoop), and the connection comes back to the loop at its
// next wait. The loops serve only while enough connections are busy (engaged): with few, each
// wake of a loop is a hand-over between threads that a goroutine, which runs on whichever thread
// polled, does not make.
type loops struct {
	all      []*loop       // a connection goes to the one its descriptor picks
	busy     *atomic.Int32 // the server's count of busy connections (Server.busy)
	busyFrom int32         // how many make the loops serve (Config.RingLoopsBusy)
	on       atomic.Bool   // set while they do
}

// loopsBusyEach is Config.RingLoopsBusy's default for each loop. Against goroutines, in (a) of
// scripts/bench.sh with fewer connections (ab.sh's CONNS), the loops gave 0.76x the rate with one
// busy connection, 0.79x with 4 and 1.00x with 16 on two loops, and a tenth less CPU per request
// with 64.
const loopsBusyEach = 16

// loopShare is Config.RingLoopsShare's default when the loops take every processor. A loop under
// load finds work at every pass and would keep its processor until the runtime preempts it, every
// 10 ms; the runtime's poller, which finds the other connections' sockets ready, would run about
// as seldom (scripts/bench/NOTES.md).
const loopShare = time.Millisecond

// startLoops starts n loops for s, or none, with the error, where io_uring is unavailable.
func startLoops(s *Server, n int) (*loops, error) {
	ls := &loops{busy: &s.busy, busyFrom: int32(s.cfg.RingLoopsBusy)}
	if ls.busyFrom == 0 {
		ls.busyFrom = int32(loopsBusyEach * n)
	}
	share := s.cfg.RingLoopsShare
	if share == 0 && n >= runtime.GOMAXPROCS(0) {
		share = loopShare
	}
	for range n {
		l := &loop{s: s, share: share, done: make(chan struct{})}
		ready := make(chan error, 1)
		go l.run(ready)
		if err := <-ready; err != nil {
			ls.stop()
			return nil, err
		}
		ls.all = append(ls.all, l)
	}
	return ls, nil
}

// engaged reports whether a connection waits for its next request on the loops: from when
// ls.busyFrom connections are busy until fewer than half as many are. False without loops.
func (ls *loops) engaged() bool {
	if ls == nil {
		return false
	}
	busy, on := ls.busy.Load(), ls.on.Load()
	switch {
	case !on && busy >= ls.busyFrom:
		ls.on.Store(true)
		return true
	case on && busy < ls.busyFrom/2:
		ls.on.Store(false)
		return false
	}
	return on
}

// admit gives c, which waits for its next request (beginWait), to the loop its descriptor picks.
// It reports false, giving it to none, when shutdown closed c in its wait meanwhile.
func (ls *loops) admit(c *clientConn) bool {
	fd := netpoll.Fd(c.sock.RawConn())
	if fd < 0 {
		return false
	}
	l := ls.all[fd%len(ls.all)]
	if !c.life.toLoop(l) {
		return false
	}
	// The descriptor stays c's: shutdown closes c through the loop from now on.
	c.ring.fd = int32(fd)
	l.post(c)
	return true
}

// stop ends the loops, once no connection is left on them.
func (ls *loops) stop() {
	for _, l := range ls.all {
		l.mu.Lock()
		l.stopping = true
		l.mu.Unlock()
		l.waiter.Wake()
		<-l.done
	}
}

// Operations of the entries, in the low byte of their user data; the connection's slot is above.
const (
	opClientPoll = iota + 1
	opClientRecv
	opBackendSend
	opBackendRecv
	opClientSend
	opCancel
)

// loop is one ring loop. Its goroutine, locked to its thread, owns the ring and, while it serves
// them, the connections given to it: their fields, as their goroutine would, and their sockets.
type loop struct {
	s      *Server
	share  time.Duration // how long a pass runs while it finds work (Config.RingLoopsShare); 0: no limit
	r      *ring.Ring
	waiter *ring.Waiter
	done   chan struct{} // closed when the loop has ended

	mu       sync.Mutex
	inbox    []*clientConn // connections given to the loop or interrupted; guarded by mu
	stopping bool          // guarded by mu

	// Owned by the loop's goroutine: the connections it serves, by slot (nil: a free slot), the
	// free slots, and a pass's share of the inbox.
	conns   []*clientConn
	free    []uint32
	scratch []*clientConn
	// The exchanges whose request waits for the check of its backend connection (forward), and
	// the poll(2) entries of those connections, in the same order; owned by the loop's goroutine.
	forwards []*clientConn
	checks   []unix.PollFd
}

// ringConn is the state of a client connection that a loop serves, what every connection holds:
// the rest is the exchange's (ringExchange). The loop serves the connection while it holds it in
// the slot (serves), which it leaves only once the loop has seen the completion of every entry
// made for it but a cancellation's, which it ignores: no other completion can name a slot that
// another connection took since.
type ringConn struct {
	slot    uint32   // where the loop keeps it, which its entries name
	fd      int32    // the client socket's descriptor, once it went to a loop
	pending uint8    // the operations under way, a bit for each
	cont    loopCont // where a goroutine goes on once the loop gave it back
}

// ringExchange is the state of an exchange that a loop serves. The request goes on the kept
// backend connection (clientConn.backend).
type ringExchange struct {
	sendLen int // the length of the request or the response being sent; -1: failed
	// What the sends name, the kernel's until they complete.
	backendMsg, clientMsg unix.Msghdr
	backendIov, clientIov [maxParts]unix.Iovec
	refused               refusal // what fromLoop answers with contRefuse
}

// loopCont is where a connection that a loop gave back goes on.
type loopCont uint8

const (
	contAfterWait loopCont = iota // read the head whose first bytes the wait read (afterWait)
	contReadHead                  // read the rest of the head, or answer it malformed
	contExchange                  // serve the head in c.ex.head
	contRefuse                    // answer ringExchange.refused
	contForward                   // send the planned request (a dial is needed)
	contResponse                  // the request went on c.backend: go on with the response
	contWrite                     // write what is left of c.ex.parts, then finish the response
	contNext                      // go on with the next request: pipelined, or waited for on a goroutine
)

// run sets the loop up, reports how that went on ready, and serves until stop.
func (l *loop) run(ready chan<- error) {
	defer close(l.done)
	runtime.LockOSThread() // for good: a ring is used by the thread that made it
	r, err := ring.New(ringEntries)
	if err != nil {
		ready <- err
		return
	}
	defer r.Close()
	w, err := ring.NewWaiter(r)
	if err != nil {
		ready <- err
		return
	}
	defer w.Close()
	l.r, l.waiter = r, w
	ready <- nil
	if err := w.Wait(l.pass); err != nil {
		l.s.log.Error("ring loop ended", "err", err)
	}
}

// post hands c to the loop: given to it, or interrupted (lifetime.interruptLocked). It may be
// called from any goroutine.
func (l *loop) post(c *clientConn) {
	l.mu.Lock()
	l.inbox = append(l.inbox, c)
	wake := len(l.inbox) == 1
	l.mu.Unlock()
	if wake {
		l.waiter.Wake()
	}
}

// pass takes what was posted, submits what is queued and handles the completions, until there is
// nothing left to do or its share of time is up; it reports true once the loop is to end.
func (l *loop) pass() bool {
	var start time.Time
	if l.share > 0 {
		start = time.Now()
	}
	for {
		l.mu.Lock()
		in := append(l.scratch[:0], l.inbox...)
		clear(l.inbox)
		l.inbox = l.inbox[:0]
		stopping := l.stopping
		l.mu.Unlock()
		for _, c := range in {
			l.receive(c)
		}
		clear(in)
		l.scratch = in
		if err := l.r.Enter(); err != nil {
			l.s.log.Error("ring loop", "err", err)
		}
		n := l.r.Complete(l.complete)
		l.forward()
		if n == 0 && len(in) == 0 {
			return stopping
		}
		if l.share > 0 && time.Since(start) >= l.share {
			// Submit what is queued and wait in the poller: the processor goes to the goroutines
			// waiting to run, and the poller finds those whose sockets are ready. The completions
			// of what was submitted, or those it ran, signal the waiter and end the wait.
			if err := l.r.Enter(); err != nil {
				l.s.log.Error("ring loop", "err", err)
			}
			l.s.cfg.Metrics.RingLoopYield()
			return false
		}
	}
}

// receive takes c, posted: it starts serving it, or, when c is already being served, cancels
// what is under way if its lifetime interrupted it (again, if it was posted twice: the second
// cancellation finds nothing).
func (l *loop) receive(c *clientConn) {
	defer l.recoverPanic(c)
	if !l.serves(c) {
		if !c.life.onLoop(l) {
			return // an interrupt posted before the loop gave it back
		}
		l.take(c)
		l.pollClient(c)
		return
	}
	if c.ring.pending != 0 && c.life.interrupted() {
		for op := uint8(opClientPoll); op < opCancel; op++ {
			if c.ring.pending&(1<<op) != 0 {
				l.r.Cancel(userData(c, op), userData(c, opCancel))
			}
		}
	}
}

// serves reports whether the loop serves c: whether c holds its slot. A connection's descriptor
// picks its loop for good, so that a slot left stale names another connection or none.
func (l *loop) serves(c *clientConn) bool {
	return int(c.ring.slot) < len(l.conns) && l.conns[c.ring.slot] == c
}

// take gives c a slot.
func (l *loop) take(c *clientConn) {
	if n := len(l.free); n > 0 {
		c.ring.slot = l.free[n-1]
		l.free = l.free[:n-1]
	} else {
		c.ring.slot = uint32(len(l.conns))
		l.conns = append(l.conns, nil)
	}
	l.conns[c.ring.slot] = c
}

// userData is the user data of an entry of op for c.
func userData(c *clientConn, op uint8) uint64 { return uint64(c.ring.slot)<<8 | uint64(op) }

// begin records that an entry of op for c is under way, and returns its user data.
func begin(c *clientConn, op uint8) uint64 {
	c.ring.pending |= 1 << op
	return userData(c, op)
}

// complete handles the completion of an entry.
func (l *loop) complete(ud uint64, res int32, _ uint32) {
	op := uint8(ud)
	if op == opCancel {
		return
	}
	c := l.conns[ud>>8]
	defer l.recoverPanic(c)
	c.ring.pending &^= 1 << op
	switch op {
	case opClientPoll:
		l.clientReady(c, res)
	case opClientRecv:
		l.clientRead(c, res)
	case opBackendSend:
		if re := &c.ex.ring; int(res) != re.sendLen {
			// Its receive, if still under way, ends with the connection; the exchange goes on on
			// a goroutine, which finds the failure again.
			unix.Shutdown(c.backend.Fd, unix.SHUT_RDWR)
			re.sendLen = -1
		}
		l.maybeResponded(c)
	case opBackendRecv:
		if res > 0 {
			c.backend.Reader.Filled(int(res))
		} else {
			c.ex.ring.sendLen = -1 // the exchange goes on on a goroutine, which reads the failure again
		}
		l.maybeResponded(c)
	case opClientSend:
		l.clientWritten(c, res)
	}
}

// recoverPanic, deferred by a step of the loop for c, turns the step's panic into a log entry and
// the end of both sockets, whose entries then complete, handing the connection back.
func (l *loop) recoverPanic(c *clientConn) {
	if p := recover(); p != nil {
		l.s.log.Error("connection handler panicked", "client", c.conn.RemoteAddr(), "panic", p, "stack", string(debug.Stack()))
		c.abort()
	}
}

// pollClient waits for c's next request holding no buffer, backend connection or exchange data
// until it comes, as a goroutine's wait does: the next request takes the backend connection from
// the pool, most likely the one just given back.
func (l *loop) pollClient(c *clientConn) {
	c.releaseForWait()
	l.r.PollIn(int(c.ring.fd), begin(c, opClientPoll))
}

// clientReady reads what the client sent, once the wait for a request found it readable (res
// its events, or the wait's failure).
func (l *loop) clientReady(c *clientConn, res int32) {
	if res < 0 {
		l.clientRead(c, res)
		return
	}
	if c.idle.buf == nil {
		c.idle.buf = l.s.bufs.Get()
	}
	l.r.Recv(int(c.ring.fd), c.idle.buf, begin(c, opClientRecv))
}

// clientRead takes what the wait for a request read: res bytes, or its failure.
func (l *loop) clientRead(c *clientConn, res int32) {
	if res == -int32(unix.ECANCELED) && c.life.why() == causeHandoff {
		l.park(c)
		return
	}
	c.idle.n = max(res, -1)
	if !c.requested && mayBeH2(c.idle.buf[:max(res, 0)]) {
		l.handBack(c, contAfterWait) // the goroutine tells, reading on if need be
		return
	}
	then, err := c.headWithin()
	switch {
	case then == thenServe:
		l.serve(c)
	case then == thenReadHead || err != nil:
		// The goroutine reads the rest, or finds the head malformed again and answers it.
		l.handBack(c, contReadHead)
	case then == thenClose:
		l.leave(c)
		c.finish()
	default:
		l.handBack(c, contExchange)
	}
}

// mayBeH2 reports whether the first bytes of a connection are, or may be, those of an HTTP/2 client,
// with a valid preface or not (see clientConn.readRequestHead).
func mayBeH2(first []byte) bool {
	match, more := wire.MatchH2Preface(first)
	return match || more || wire.InvalidH2Preface(first)
}

// serve readies the request in c.ex.head, whose exchange reads nothing more from the client, for
// a kept or pooled backend connection, which forward checks, with those of the pass's other
// exchanges, before it sends the request.
func (l *loop) serve(c *clientConn) {
	ex := c.ex
	c.beginExchange()
	if r := c.planRequest(); r.status != 0 {
		ex.ring.refused = r
		l.handBack(c, contRefuse)
		return
	}
	b := c.keptBackend(ex.pool)
	if b == nil && c.srv.cfg.ProxyProtocol == 0 {
		if b = ex.pool.TakeIdle(); b != nil {
			c.keepBackend(b, ex.pool)
		}
	}
	if b == nil || len(b.Reader.Space()) == 0 {
		l.handBack(c, contForward)
		return
	}
	l.forwards = append(l.forwards, c)
	l.checks = append(l.checks, unix.PollFd{Fd: int32(b.Fd)})
}

// forward sends the requests that serve readied, each on its backend connection, and waits for
// their responses, once one poll(2) for all those connections has found them quiet, as the
// goroutines' check of each (upstream.Quiet) does. A request whose connection is not quiet goes
// to a goroutine with that connection closed, and the goroutine takes another.
func (l *loop) forward() {
	if len(l.forwards) == 0 {
		return
	}
	netpoll.PollQuiet(l.checks)
	for i, c := range l.forwards {
		b := c.backend
		if l.checks[i].Revents != 0 {
			c.dropBackend(b)
			l.handBack(c, contForward)
			continue
		}
		c.life.enter(phaseAwait)
		c.srv.cfg.Metrics.RingLoopExchange()
		re := &c.ex.ring
		re.sendLen = layOut(&re.backendMsg, &re.backendIov, c.ex.parts)
		l.r.Sendmsg(b.Fd, &re.backendMsg, begin(c, opBackendSend))
		l.r.Recv(b.Fd, b.Reader.Space(), begin(c, opBackendRecv))
	}
	clear(l.forwards)
	l.forwards, l.checks = l.forwards[:0], l.checks[:0]
}

// layOut points msg at the bytes of parts through iov, and returns their length.
func layOut(msg *unix.Msghdr, iov *[maxParts]unix.Iovec, parts [][]byte) int {
	n, total := 0, 0
	for _, p := range parts {
		if len(p) == 0 {
			continue
		}
		iov[n].Base = unsafe.SliceData(p)
		iov[n].SetLen(len(p))
		n++
		total += len(p)
	}
	*msg = unix.Msghdr{Iov: &iov[0]}
	msg.SetIovlen(n)
	return total
}

// maybeResponded goes on with the response once both the request's send and the response's
// receive have completed.
func (l *loop) maybeResponded(c *clientConn) {
	if c.ring.pending&(1<<opBackendSend|1<<opBackendRecv) != 0 {
		return
	}
	if c.ex.ring.sendLen < 0 || c.life.interrupted() {
		l.handBack(c, contResponse)
	} else {
		l.responded(c, c.backend)
	}
}

// responded relays the response whose first bytes b.Reader holds, when its head is final and it
// came whole; it reads more of a head that has not.
func (l *loop) responded(c *clientConn, b *upstream.Conn) {
	ex := c.ex
	ex.respParser.Reset()
	err := wire.ParseHead(&b.Reader, upstream.MaxResponseHeadSize, c.parseResponse)
	switch {
	case errors.Is(err, wire.ErrIncomplete) && len(b.Reader.Space()) > 0:
		l.r.Recv(b.Fd, b.Reader.Space(), begin(c, opBackendRecv))
		return
	case err != nil || ex.resp.Status < 200: // an interim response, or 101
		l.handBack(c, contResponse)
		return
	}
	if c.planResponse(b) != nil || ex.relay.inline == 0 && ex.relay.framing.Kind != wire.BodyNone {
		l.handBack(c, contResponse)
		return
	}
	c.life.enter(phaseWrite)
	re := &ex.ring
	re.sendLen = layOut(&re.clientMsg, &re.clientIov, ex.parts)
	l.r.Sendmsg(int(c.ring.fd), &re.clientMsg, begin(c, opClientSend))
}

// clientWritten ends the exchange once the response went whole, and waits for the next request.
func (l *loop) clientWritten(c *clientConn, res int32) {
	if int(res) != c.ex.ring.sendLen {
		netpoll.Consume(&c.ex.parts, max(int(res), 0))
		l.handBack(c, contWrite)
		return
	}
	if !c.finishResponse(c.backend, nil) || c.srv.shutting.Load() {
		l.leave(c)
		c.finish()
		return
	}
	if len(c.rd.Buffered()) > 0 || !l.s.loops.engaged() {
		l.handBack(c, contNext) // pipelined, or too few connections are busy for the loops
		return
	}
	if !c.beginWait() {
		l.leave(c)
		c.finish()
		return
	}
	l.pollClient(c)
}

// leave forgets c, which has nothing under way; its socket is the goroutine's, or closed, from
// then on.
func (l *loop) leave(c *clientConn) {
	l.conns[c.ring.slot] = nil
	l.free = append(l.free, c.ring.slot)
	c.life.leaveLoop()
}

// park moves the long wait of c, which has nothing under way, to the server's idle set, as a
// goroutine would (handOff), holding nothing: no goroutine wakes for it.
func (l *loop) park(c *clientConn) {
	c.releaseForWait()
	l.leave(c)
	c.handOff()
}

// handBack gives c, which has nothing under way, back to a goroutine that goes on with cont.
func (l *loop) handBack(c *clientConn, cont loopCont) {
	l.leave(c)
	c.ring.cont = cont
	l.s.workers.Run(connWork{c: c, from: fromLoop})
}

// fromLoop goes on, on a goroutine, where the loop that served c gave it back, and returns what
// came of the exchange, as nextRequest does.
func (c *clientConn) fromLoop() headResult {
	switch c.ring.cont {
	case contAfterWait:
		return c.afterWait(nil)
	case contReadHead:
		return c.readRequestHead()
	case contExchange:
		return headReady
	case contNext:
		return c.nextRequest()
	}
	// The others are within an exchange, whose data holds what the loop left.
	keep := false
	switch c.ring.cont {
	case contRefuse:
		keep = c.refuse(c.ex.ring.refused)
		c.ex.ring.refused = refusal{}
	case contForward:
		keep = c.forward(nil)
	case contResponse:
		keep = c.forward(c.backend)
	case contWrite:
		keep = c.finishResponse(c.backend, c.writeParts())
	default:
		panic(fmt.Sprintf("engine: no way on from the ring loop for %d", c.ring.cont))
	}
	if !keep || c.srv.shutting.Load() {
		return headClose
	}
	return c.nextRequest()
}

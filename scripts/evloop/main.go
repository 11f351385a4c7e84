//go:build linux

// Command evloop measures what an engine of event loops would give proxyd: a keep-alive reverse
// proxy for HTTP/1.1 with proxyd's command line, its request and response parsing (proxyd.dev/wire)
// and its routing (proxyd.dev/router), built as nginx's workers are, one epoll(7) instance per
// processor (GOMAXPROCS) whose goroutine serves every connection on it, each event by a function
// call. It is a measuring tool, not a proxy to run: it serves what the bench's scenarios (a), (b)
// and (d) send, whole request heads without a body to backends that answer with a Content-Length,
// and closes anything else. It has no timeouts, no logs and no shutdown.
//
// Each loop has a listener of its own (SO_REUSEPORT spreads the connections) and its own pool of
// backend connections. Its sockets are edge-triggered; a read shorter than the room left is taken
// to have drained the socket, as nginx takes it. The socket calls are raw system calls
// (unix.RawSyscall), as proxyd's own are. What it makes per exchange is what proxyd makes: a read
// of the request, a check that the kept backend connection is quiet (recvfrom(2) with MSG_PEEK),
// its write to the backend, a read of the response and its write to the client.
//
// Its environment chooses how the loops wait and make their calls (the environment, not flags, so
// that the scripts that start proxyd start it so too: A_ENV, B_ENV):
//
//   - EVLOOP_WAIT=poller (the default): each loop waits in the runtime's poller, which reports the
//     epoll instance readable when a member is ready, and takes the events without waiting (as
//     proxyd's idle set does; see proxyd/internal/netpoll);
//
//   - EVLOOP_WAIT=thread: each loop waits on a thread of its own, in epoll_wait(2), as nginx's
//     workers do, which the runtime sees as a blocking system call;
//
//   - EVLOOP_WAIT=raw: the same wait made as a raw system call, the loop's processor held meanwhile.
//
//     [EVLOOP_WAIT=poller|thread|raw] [EVLOOP_PROCS=N] evloop LISTEN DEFAULT_BACKEND \
//     [-r /path=host:port]... [flags, ignored]
//
// EVLOOP_PROCS=N gives the runtime N processors, the loops staying one per GOMAXPROCS: with
// EVLOOP_WAIT=thread and N above GOMAXPROCS, the runtime has processors to spare while the loops
// wait, and leaves theirs to them.
//
// Its loops on io_uring (EVLOOP_IO=uring, up to 7a19b1b) became proxyd's --ring-loops.
//
// scripts/ab.sh and scripts/bench.sh measure it in proxyd's place with B_BIN and PROXYD_BIN.
package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
	"proxyd.dev/router"
	"proxyd.dev/wire"
)

// bufSize is the size of a client connection's request buffer and of a backend connection's
// response buffer.
const bufSize = 16 << 10

// Answers of the loop itself; the connection is closed after each.
const (
	badRequest = "HTTP/1.1 400 Bad Request\r\nContent-Length: 12\r\nConnection: close\r\n\r\nbad request\n"
	badGateway = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 12\r\nConnection: close\r\n\r\nbad gateway\n"
)

// errRefused is route's and response's verdict on what the loops do not serve.
var errRefused = errors.New("not served")

// request is what the loops keep of the request they serve: all of it is its head.
type request struct {
	len     int  // of the request, at the start of its client's buffer
	backend int  // the backend's index in router.Table.Backends
	head    bool // the method is HEAD
	close   bool // the client connection closes after the response
}

// requests is a client connection's buffer of request bytes, and the request at its start that
// is being served.
type requests struct {
	buf []byte // the request bytes read, buf[:n]
	n   int
	req request
}

// served drops the request served from the start of the buffer, keeping what came after it.
func (r *requests) served() {
	copy(r.buf, r.buf[r.req.len:r.n])
	r.n -= r.req.len
	r.req = request{}
}

// client is a client connection.
type client struct {
	requests
	fd       int
	pending  bool     // the request went to a backend, or goes once it is connected
	readable bool     // the socket may hold bytes not read yet
	be       *backend // the backend connection it uses or keeps, if any
}

// backend is a connection to a backend.
type backend struct {
	fd         int
	idx        int     // the backend's index in router.Table.Backends
	owner      *client // the client whose response it carries; nil when idle
	keeper     *client // the client that keeps it between its requests
	pooled     bool    // in the loop's pool
	connecting bool    // connect(2) is under way
	buf        []byte  // the response bytes read, buf[:n]
	n          int
	remaining  int64 // the body bytes still to relay when a response did not come in one read
}

// slot is what a file descriptor of a loop is: a client or a backend connection.
type slot struct {
	c *client
	b *backend
}

// loop is one event loop: its epoll instance, its listener, its connections and their buffers.
type loop struct {
	ep     int
	epFile *os.File // of ep, in the runtime's poller
	lfd    int
	events []unix.EpollEvent
	slots  []slot // by file descriptor
	table  *router.Table
	addrs  []unix.RawSockaddrInet4 // by backend index
	pool   [][]*backend            // idle backend connections, by backend index
	free   [][]byte                // request buffers of closed client connections

	// The arguments of its raw system calls, which must not live on a goroutine's stack.
	iov      [2]unix.Iovec
	scratch  []byte
	one      int32
	peek     [1]byte
	soErr    int32
	soErrLen uint32
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "evloop:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: evloop LISTEN DEFAULT_BACKEND [-r /path=host:port]...")
	}
	var routes []router.Route
	for i := 2; i < len(args); i++ {
		if args[i] == "-r" && i+1 < len(args) {
			r, err := router.ParseRoute(args[i+1])
			if err != nil {
				return err
			}
			routes = append(routes, r)
			i++
		} else if !strings.HasPrefix(args[i], "--") {
			return fmt.Errorf("argument %q: want -r /path=host:port", args[i])
		}
	}
	table, err := router.New(args[1], routes, router.Options{})
	if err != nil {
		return err
	}
	listen, err := netip.ParseAddrPort(args[0])
	if err != nil || !listen.Addr().Is4() {
		return fmt.Errorf("listen address %q: want an IPv4 ip:port", args[0])
	}
	var addrs []unix.RawSockaddrInet4
	for _, b := range table.Backends() {
		ap, err := netip.ParseAddrPort(b)
		if err != nil || !ap.Addr().Is4() {
			return fmt.Errorf("backend %q: want an IPv4 ip:port", b)
		}
		addrs = append(addrs, rawAddr(ap))
	}
	wait := os.Getenv("EVLOOP_WAIT")
	switch wait {
	case "":
		wait = "poller"
	case "poller", "thread", "raw":
	default:
		return fmt.Errorf("EVLOOP_WAIT=%q: want poller, thread or raw", wait)
	}
	n := runtime.GOMAXPROCS(0)
	if v := os.Getenv("EVLOOP_PROCS"); v != "" {
		procs, err := strconv.Atoi(v)
		if err != nil || procs < 1 {
			return fmt.Errorf("EVLOOP_PROCS=%q: want a count of processors", v)
		}
		runtime.GOMAXPROCS(procs)
	}
	done := make(chan error, n)
	for range n {
		l := &loop{table: table, addrs: addrs, one: 1, pool: make([][]*backend, len(addrs))}
		l.events = make([]unix.EpollEvent, 128)
		l.scratch = make([]byte, 0, 4096)
		if err := l.open(listen); err != nil {
			return err
		}
		go func() { done <- l.run(wait) }()
	}
	fmt.Fprintf(os.Stderr, "evloop: listening on %s, %d loops\n", listen, n)
	return <-done
}

func rawAddr(ap netip.AddrPort) unix.RawSockaddrInet4 {
	sa := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ap.Addr().As4()}
	port := (*[2]byte)(unsafe.Pointer(&sa.Port)) // in network byte order
	port[0], port[1] = byte(ap.Port()>>8), byte(ap.Port())
	return sa
}

// open makes the loop's listener (a request is accepted once its first bytes came, as proxyd's
// are: TCP_DEFER_ACCEPT) and its epoll instance, non-blocking so that the runtime's poller can
// wait for it.
func (l *loop) open(ap netip.AddrPort) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	for _, o := range [][3]int{
		{unix.SOL_SOCKET, unix.SO_REUSEADDR, 1},
		{unix.SOL_SOCKET, unix.SO_REUSEPORT, 1},
		{unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 1},
	} {
		if err := unix.SetsockoptInt(fd, o[0], o[1], o[2]); err != nil {
			return err
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		return fmt.Errorf("listen on %s: %w", ap, err)
	}
	if err := unix.Listen(fd, 4096); err != nil {
		return err
	}
	l.lfd = fd
	if l.ep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return err
	}
	if err := unix.SetNonblock(l.ep, true); err != nil {
		return err
	}
	l.epFile = os.NewFile(uintptr(l.ep), "epoll")
	return unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
}

// run serves the loop's connections. It takes the events of its epoll instance without waiting
// until a batch is not full; then it waits as wait says:
//   - poller: in the runtime's poller, until the instance is readable;
//   - thread: on a thread of its own, in epoll_wait(2), which the runtime sees as a blocking system
//     call and hands the processor to another thread meanwhile;
//   - raw: on a thread of its own, in epoll_wait(2) made as a raw system call, the processor held
//     while it waits (a signal, which the runtime sends to preempt, ends the wait).
func (l *loop) run(wait string) error {
	if wait == "poller" {
		rc, err := l.epFile.SyscallConn()
		if err != nil {
			return err
		}
		return rc.Read(func(uintptr) bool {
			for l.takeEvents() {
			}
			return false
		})
	}
	runtime.LockOSThread()
	for {
		if l.takeEvents() {
			continue
		}
		var n int
		var err error
		if wait == "raw" {
			r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_WAIT, uintptr(l.ep),
				uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events)), ^uintptr(0), 0, 0)
			n, err = int(r), nil
			if e != 0 {
				n, err = 0, e
			}
		} else {
			n, err = unix.EpollWait(l.ep, l.events, -1)
		}
		if err != nil && err != unix.EINTR {
			return err
		}
		l.handle(l.events[:max(n, 0)])
	}
}

// takeEvents handles the events ready now, and reports whether a full batch came.
func (l *loop) takeEvents() bool {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_WAIT, uintptr(l.ep),
		uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events)), 0, 0, 0)
	n := int(r)
	if e != 0 {
		n = 0
	}
	l.handle(l.events[:n])
	return n == len(l.events)
}

func (l *loop) handle(events []unix.EpollEvent) {
	for i := range events {
		fd := int(events[i].Fd)
		if fd == l.lfd {
			l.accept()
			continue
		}
		if fd >= len(l.slots) {
			continue
		}
		switch s := l.slots[fd]; {
		case s.c != nil:
			l.clientEvent(s.c)
		case s.b != nil:
			l.backendEvent(s.b, events[i].Events)
		}
	}
}

func (l *loop) setSlot(fd int, s slot) {
	for fd >= len(l.slots) {
		l.slots = append(l.slots, make([]slot, len(l.slots)+1024)...)
	}
	l.slots[fd] = s
}

// ctl makes epoll_ctl(2) op for fd; events are edge-triggered.
func (l *loop) ctl(op, fd int, events uint32) {
	ev := unix.EpollEvent{Events: events | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
	unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(l.ep), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(&ev)), 0, 0)
}

func (l *loop) nodelay(fd int) {
	unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.IPPROTO_TCP, unix.TCP_NODELAY,
		uintptr(unsafe.Pointer(&l.one)), 4, 0)
}

func closeFd(fd int) { unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0) }

func read(fd int, p []byte) (int, unix.Errno) {
	r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(r), e
}

func write(fd int, p []byte) (int, unix.Errno) {
	r, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(r), e
}

// writeAll writes p to fd whole, or reports false.
func writeAll(fd int, p []byte) bool {
	n, e := write(fd, p)
	return e == 0 && n == len(p)
}

// writevAll writes a then b to fd whole with one writev(2), or reports false.
func (l *loop) writevAll(fd int, a, b []byte) bool {
	if len(b) == 0 {
		return writeAll(fd, a)
	}
	l.iov[0] = unix.Iovec{Base: &a[0], Len: uint64(len(a))}
	l.iov[1] = unix.Iovec{Base: &b[0], Len: uint64(len(b))}
	r, _, e := unix.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&l.iov[0])), 2)
	return e == 0 && int(r) == len(a)+len(b)
}

func (l *loop) accept() {
	for range 64 {
		r, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(l.lfd), 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		if e != 0 {
			return
		}
		fd := int(r)
		l.nodelay(fd)
		c := &client{fd: fd, requests: requests{buf: l.takeBuf()}}
		l.setSlot(fd, slot{c: c})
		l.ctl(unix.EPOLL_CTL_ADD, fd, unix.EPOLLIN)
		l.readClient(c) // its request came with it
	}
}

func (l *loop) takeBuf() []byte {
	if n := len(l.free); n > 0 {
		b := l.free[n-1]
		l.free = l.free[:n-1]
		return b
	}
	return make([]byte, bufSize)
}

func (l *loop) clientEvent(c *client) {
	if c.pending {
		c.readable = true // read once the response is written
		return
	}
	l.readClient(c)
}

func (l *loop) readClient(c *client) {
	if c.n == len(c.buf) {
		l.closeClient(c) // a head larger than the buffer
		return
	}
	n, e := read(c.fd, c.buf[c.n:])
	if e == unix.EAGAIN {
		return
	}
	if e != 0 || n == 0 {
		l.closeClient(c)
		return
	}
	c.readable = c.n+n == len(c.buf) // a full read may have left bytes behind
	c.n += n
	l.serve(c)
}

// serve routes the request at the start of c.buf and sends it, once its head is whole.
func (l *loop) serve(c *client) {
	switch err := l.route(&c.requests); {
	case err == wire.ErrIncomplete:
	case err != nil:
		l.answer(c, badRequest)
	default:
		l.send(c, c.req.backend, true)
	}
}

// route parses the request head at the start of r's buffer and routes it into r.req. It returns
// wire.ErrIncomplete until the head is whole, and errRefused for a request the loops do not serve
// (malformed, with a body, an upgrade). A client's "Connection: close" is taken out of the head,
// and the backend connection stays open, as proxyd's does.
func (l *loop) route(r *requests) error {
	var h wire.RequestHead
	err := wire.ParseRequestHead(r.buf[:r.n], &h)
	switch {
	case err == wire.ErrIncomplete:
		return err
	case err != nil || h.Body.Kind != wire.BodyNone || h.Upgrade:
		return errRefused
	}
	m, err := l.table.Match(h.Target)
	if err != nil {
		return errRefused
	}
	r.req = request{len: h.Len, backend: m.Backend, head: string(h.Method) == "HEAD", close: h.Close}
	if h.Close && h.Version == wire.HTTP11 {
		l.scratch = wire.StripConnectionClose(l.scratch[:0], r.buf[:h.Len])
		shorter := h.Len - len(l.scratch)
		copy(r.buf, l.scratch)
		copy(r.buf[len(l.scratch):], r.buf[h.Len:r.n])
		r.n -= shorter
		r.req.len -= shorter
	}
	return nil
}

// response parses the response head at the start of buf[:n], the response to a HEAD request when
// head, and returns it with the length of the whole response. It returns wire.ErrIncomplete while
// the head may go on within buf, and errRefused for a response the loops do not relay: malformed,
// a 1xx, or one whose length its head does not give.
func response(buf []byte, n int, head bool) (wire.ResponseHead, int64, error) {
	var h wire.ResponseHead
	err := wire.ParseResponseHead(buf[:n], &h)
	switch {
	case err == wire.ErrIncomplete && n < len(buf):
		return h, 0, err
	case err != nil || h.Status < 200:
		return h, 0, errRefused
	}
	method := "GET"
	if head {
		method = "HEAD"
	}
	switch f := h.Framing([]byte(method)); f.Kind {
	case wire.BodyNone:
		return h, int64(h.Len), nil
	case wire.BodyLength:
		return h, int64(h.Len) + f.Length, nil
	}
	return h, 0, errRefused
}

func (l *loop) answer(c *client, s string) {
	writeAll(c.fd, []byte(s))
	l.closeClient(c)
}

// send sends c's request to backend idx, on a kept or pooled connection that is still quiet, else
// on a new one once it is connected. A request that a kept connection fails to take is sent once
// more, on another.
func (l *loop) send(c *client, idx int, retry bool) {
	b := l.take(c, idx)
	if b == nil {
		if b = l.dial(idx); b == nil {
			l.answer(c, badGateway)
			return
		}
		b.owner, c.be, c.pending = c, b, true
		return
	}
	b.owner, c.be, c.pending = c, b, true
	if !writeAll(b.fd, c.buf[:c.req.len]) && retry {
		c.be, c.pending = nil, false
		l.closeBackend(b)
		l.send(c, idx, false)
	}
}

// take returns a connection to backend idx that is quiet: c's own, or the pool's latest; nil when
// there is none.
func (l *loop) take(c *client, idx int) *backend {
	if b := c.be; b != nil {
		c.be, b.keeper = nil, nil
		switch {
		case b.idx != idx:
			l.putPool(b)
		case l.quiet(b.fd):
			return b
		default:
			l.closeBackend(b)
		}
	}
	// The pool's latest that is quiet; the others are closed.
	for pool := l.pool[idx]; len(pool) > 0; {
		b := pool[len(pool)-1]
		pool = pool[:len(pool)-1]
		l.pool[idx] = pool
		if l.quiet(b.fd) {
			b.pooled = false
			return b
		}
		l.closeBackend(b)
	}
	return nil
}

// quiet reports whether the backend connection fd has sent nothing, not even its end, since its
// last response.
func (l *loop) quiet(fd int) bool {
	_, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&l.peek[0])), 1,
		unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
	return e == unix.EAGAIN
}

func (l *loop) putPool(b *backend) {
	if len(l.pool[b.idx]) >= 64 {
		l.closeBackend(b)
		return
	}
	b.pooled = true
	l.pool[b.idx] = append(l.pool[b.idx], b)
}

func (l *loop) unpool(b *backend) {
	p := l.pool[b.idx]
	for i, x := range p {
		if x == b {
			l.pool[b.idx] = append(p[:i], p[i+1:]...)
			return
		}
	}
}

func (l *loop) dial(idx int) *backend {
	r, _, e := unix.RawSyscall(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if e != 0 {
		return nil
	}
	fd := int(r)
	l.nodelay(fd)
	_, _, e = unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&l.addrs[idx])), unsafe.Sizeof(l.addrs[idx]))
	if e != 0 && e != unix.EINPROGRESS {
		closeFd(fd)
		return nil
	}
	b := &backend{fd: fd, idx: idx, buf: make([]byte, bufSize), connecting: true}
	l.setSlot(fd, slot{b: b})
	l.ctl(unix.EPOLL_CTL_ADD, fd, unix.EPOLLIN|unix.EPOLLOUT)
	return b
}

func (l *loop) backendEvent(b *backend, events uint32) {
	switch {
	case b.connecting:
		if events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return
		}
		b.connecting = false
		l.ctl(unix.EPOLL_CTL_MOD, b.fd, unix.EPOLLIN)
		l.soErrLen = 4
		unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(b.fd), unix.SOL_SOCKET, unix.SO_ERROR,
			uintptr(unsafe.Pointer(&l.soErr)), uintptr(unsafe.Pointer(&l.soErrLen)), 0)
		if c := b.owner; l.soErr != 0 || !writeAll(b.fd, c.buf[:c.req.len]) {
			l.fail(c, b)
		}
	case b.owner != nil:
		l.readBackend(b)
	case !l.quiet(b.fd): // idle, and it spoke: it ends there
		if b.keeper != nil {
			b.keeper.be = nil
		}
		if b.pooled {
			l.unpool(b)
		}
		l.closeBackend(b)
	}
}

// fail answers c 502 and closes both connections.
func (l *loop) fail(c *client, b *backend) {
	c.be = nil
	l.closeBackend(b)
	l.answer(c, badGateway)
}

// abandon closes both connections, the response begun.
func (l *loop) abandon(c *client, b *backend) {
	c.be = nil
	l.closeBackend(b)
	l.closeClient(c)
}

func (l *loop) readBackend(b *backend) {
	c := b.owner
	if b.remaining > 0 {
		l.relayRest(c, b)
		return
	}
	n, e := read(b.fd, b.buf[b.n:])
	if e == unix.EAGAIN {
		return
	}
	if e != 0 || n == 0 {
		l.fail(c, b)
		return
	}
	b.n += n
	h, total, err := response(b.buf, b.n, c.req.head)
	switch {
	case err == wire.ErrIncomplete:
		return
	case err != nil:
		l.fail(c, b)
		return
	}
	have := min(int64(b.n), total)
	var ok bool
	if c.req.close {
		l.scratch = wire.AppendCloseHead(l.scratch[:0], b.buf[:h.Len])
		ok = l.writevAll(c.fd, l.scratch, b.buf[h.Len:have])
	} else {
		ok = writeAll(c.fd, b.buf[:have])
	}
	extra := int64(b.n) > total
	b.n = 0
	if !ok || extra {
		l.abandon(c, b)
		return
	}
	if have < total {
		b.remaining = total - have
		return
	}
	l.finish(c, b, h.Close)
}

// relayRest relays what is left of a response body, as it comes.
func (l *loop) relayRest(c *client, b *backend) {
	for b.remaining > 0 {
		n, e := read(b.fd, b.buf[:min(int64(len(b.buf)), b.remaining)])
		if e == unix.EAGAIN {
			return
		}
		if e != 0 || n == 0 || !writeAll(c.fd, b.buf[:n]) {
			l.abandon(c, b)
			return
		}
		b.remaining -= int64(n)
	}
	l.finish(c, b, false)
}

// finish ends an exchange: c keeps b, unless it closes, and serves its next request if it came.
func (l *loop) finish(c *client, b *backend, backendCloses bool) {
	b.owner, c.pending = nil, false
	if backendCloses {
		c.be = nil
		l.closeBackend(b)
	} else {
		b.keeper = c
	}
	if c.req.close {
		l.closeClient(c)
		return
	}
	c.served()
	switch {
	case c.n > 0:
		l.serve(c)
	case c.readable:
		c.readable = false
		l.readClient(c)
	}
}

func (l *loop) closeBackend(b *backend) {
	l.slots[b.fd] = slot{}
	closeFd(b.fd)
}

func (l *loop) closeClient(c *client) {
	if b := c.be; b != nil {
		c.be, b.keeper = nil, nil
		if b.owner != nil {
			b.owner = nil
			l.closeBackend(b)
		} else {
			l.putPool(b)
		}
	}
	l.slots[c.fd] = slot{}
	closeFd(c.fd)
	l.free = append(l.free, c.buf)
	c.buf = nil
}

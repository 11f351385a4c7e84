//go:build linux

package main

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
	"proxyd.dev/wire"
)

// The ring loop (EVLOOP_IO=uring) makes the socket calls of an exchange as entries of an
// io_uring(7) instance per loop, and one io_uring_enter(2) per pass of the loop submits all that
// are queued and runs the completions due: a system call per pass rather than one per socket call.
// The instance is set up for one thread (IORING_SETUP_SINGLE_ISSUER) whose io_uring_enter runs the
// completions (IORING_SETUP_DEFER_TASKRUN), so each loop runs on a thread of its own. By default it
// waits in the runtime's poller for an eventfd that the ring signals when it has completions to
// run, its processor free meanwhile; with EVLOOP_WAIT=raw (or thread) it waits in io_uring_enter, a
// raw system call, its processor held. It accepts with one multishot accept, reads and writes with
// IORING_OP_RECV and IORING_OP_SEND, and checks a kept backend connection with the recvfrom(2) of
// the epoll loops, outside the ring. Its backend connections are dialled with a blocking
// connect(2), once each: the bench's loads reuse them. A buffer is the kernel's from the entry that
// names it until its completion; the loop names only buffers of connections it keeps meanwhile.
//
// The ABI of <linux/io_uring.h> that it uses follows.
const (
	opAccept = 13
	opSend   = 26
	opRecv   = 27

	setupSingleIssuer = 1 << 12
	setupDeferTaskrun = 1 << 13
	featSingleMmap    = 1 << 0
	enterGetEvents    = 1 << 0
	acceptMultishot   = 1 << 0
	registerEventfd   = 4
	cqeFMore          = 1 << 1

	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000
)

// sqringOffsets is struct io_sqring_offsets.
type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

// cqringOffsets is struct io_cqring_offsets.
type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// uringParams is struct io_uring_params.
type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqringOffsets
	cqOff                                                                  cqringOffsets
}

// sqe is struct io_uring_sqe, as the operations used here lay it out.
type sqe struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64
	len         uint32
	opFlags     uint32
	userData    uint64
	bufIndex    uint16
	personality uint16
	fileIndex   int32
	addr3       uint64
	pad         uint64
}

// cqe is struct io_uring_cqe.
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// ring is one io_uring instance, used by one thread: its submission queue, of which tail is the
// next entry and submitted the first not yet submitted, and its completion queue.
type ring struct {
	fd                int
	sqHead, sqTail    *uint32
	sqMask, sqEntries uint32
	sqArray           []uint32
	sqes              []sqe
	cqHead, cqTail    *uint32
	cqMask            uint32
	cqes              []cqe
	tail, submitted   uint32
}

// newRing sets up an instance of entries entries and maps its queues.
func newRing(entries uint32) (*ring, error) {
	var p uringParams
	p.flags = setupSingleIssuer | setupDeferTaskrun
	fd, _, e := unix.RawSyscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", e)
	}
	if p.features&featSingleMmap == 0 {
		return nil, fmt.Errorf("io_uring: no single mmap")
	}
	size := max(p.sqOff.array+p.sqEntries*4, p.cqOff.cqes+p.cqEntries*uint32(unsafe.Sizeof(cqe{})))
	rb, err := unix.Mmap(int(fd), offSQRing, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, err
	}
	sb, err := unix.Mmap(int(fd), offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(sqe{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, err
	}
	at := func(off uint32) unsafe.Pointer { return unsafe.Pointer(&rb[off]) }
	r := &ring{
		fd:        int(fd),
		sqHead:    (*uint32)(at(p.sqOff.head)),
		sqTail:    (*uint32)(at(p.sqOff.tail)),
		sqMask:    *(*uint32)(at(p.sqOff.ringMask)),
		sqEntries: p.sqEntries,
		sqArray:   unsafe.Slice((*uint32)(at(p.sqOff.array)), p.sqEntries),
		sqes:      unsafe.Slice((*sqe)(unsafe.Pointer(&sb[0])), p.sqEntries),
		cqHead:    (*uint32)(at(p.cqOff.head)),
		cqTail:    (*uint32)(at(p.cqOff.tail)),
		cqMask:    *(*uint32)(at(p.cqOff.ringMask)),
		cqes:      unsafe.Slice((*cqe)(at(p.cqOff.cqes)), p.cqEntries),
	}
	r.tail = atomic.LoadUint32(r.sqTail)
	r.submitted = r.tail
	return r, nil
}

// get returns a zeroed submission queue entry, submitting what is queued when the queue is full.
func (r *ring) get() *sqe {
	if r.tail-atomic.LoadUint32(r.sqHead) >= r.sqEntries {
		r.enter(false)
	}
	i := r.tail & r.sqMask
	r.sqArray[i] = i
	s := &r.sqes[i]
	*s = sqe{}
	r.tail++
	return s
}

// enter submits what is queued and runs the completions due; with wait, it waits for one.
func (r *ring) enter(wait bool) {
	atomic.StoreUint32(r.sqTail, r.tail)
	minComplete := uintptr(0)
	if wait {
		minComplete = 1
	}
	n, _, e := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(r.tail-r.submitted), minComplete, enterGetEvents, 0, 0)
	if e == 0 {
		r.submitted += uint32(n)
	}
}

// Operations, in the low byte of an entry's user data; the object's id and generation above.
const (
	uAccept = iota + 1
	uClientRecv
	uClientSend
	uBackendRecv
	uBackendSend
)

// uclient is a client connection of the ring loop.
type uclient struct {
	requests
	id, gen  uint32
	fd       int
	backends []*ubackend // by backend index, the connections it keeps
}

// ubackend is a backend connection of the ring loop.
type ubackend struct {
	id, gen uint32
	fd      int
	idx     int
	buf     []byte
	n       int
	owner   *uclient
	sendLen int // the length of the request it is sending
}

// uloop is an event loop on io_uring: every socket call of an exchange is an entry of its ring,
// and one io_uring_enter(2) submits them all and waits for their completions.
type uloop struct {
	*loop
	r       *ring
	pool    [][]*ubackend // idle backend connections, by backend index
	objs    []any         // by id
	gens    []uint32
	freeIDs []uint32
}

// alloc gives o an id, and the id's generation: an entry's user data names both, so that the
// completion of an entry made for a connection closed since is told apart.
func (u *uloop) alloc(o any) (id, gen uint32) {
	if n := len(u.freeIDs); n > 0 {
		id = u.freeIDs[n-1]
		u.freeIDs = u.freeIDs[:n-1]
	} else {
		id = uint32(len(u.objs))
		u.objs = append(u.objs, nil)
		u.gens = append(u.gens, 0)
	}
	u.gens[id]++
	u.objs[id] = o
	return id, u.gens[id]
}

func (u *uloop) release(id uint32) {
	u.objs[id] = nil
	u.freeIDs = append(u.freeIDs, id)
}

func userData(id, gen uint32, op int) uint64 {
	return uint64(id)<<32 | uint64(gen&0xffffff)<<8 | uint64(op)
}

// queue queues an entry of op on fd with buffer p.
func (u *uloop) queue(op uint8, fd int, p []byte, flags uint32, ud uint64) {
	s := u.r.get()
	s.opcode, s.fd, s.len, s.opFlags, s.userData = op, int32(fd), uint32(len(p)), flags, ud
	s.addr = uint64(uintptr(unsafe.Pointer(&p[0])))
}

// runRing serves the loop's connections through its ring, waiting in the runtime's poller when
// inPoller says so.
func (u *uloop) runRing(inPoller bool) error {
	runtime.LockOSThread()
	r, err := newRing(1024)
	if err != nil {
		return err
	}
	u.r = r
	u.pool = make([][]*ubackend, len(u.addrs))
	s := r.get()
	s.opcode, s.fd, s.ioprio, s.opFlags, s.userData = opAccept, int32(u.lfd), acceptMultishot, unix.SOCK_CLOEXEC, uAccept
	if !inPoller {
		for {
			u.pass(true)
		}
	}
	// The ring signals an eventfd when it has completions to run: the loop waits for that in the
	// runtime's poller, and never reads the eventfd, whose every signal is an edge.
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return err
	}
	ev := int32(efd)
	if _, _, e := unix.RawSyscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerEventfd, uintptr(unsafe.Pointer(&ev)), 1, 0, 0); e != 0 {
		return fmt.Errorf("io_uring_register eventfd: %w", e)
	}
	rc, err := os.NewFile(uintptr(efd), "eventfd").SyscallConn()
	if err != nil {
		return err
	}
	return rc.Read(func(uintptr) bool {
		for u.pass(false) {
		}
		return false
	})
}

// pass submits what is queued, runs the completions due and handles them; with wait, it waits
// for one when none is there. It reports whether it handled any.
func (u *uloop) pass(wait bool) bool {
	r := u.r
	head := atomic.LoadUint32(r.cqHead)
	r.enter(wait && head == atomic.LoadUint32(r.cqTail))
	tail := atomic.LoadUint32(r.cqTail)
	any := head != tail
	for ; head != tail; head++ {
		c := r.cqes[head&r.cqMask]
		u.complete(c.userData, c.res, c.flags)
	}
	atomic.StoreUint32(r.cqHead, head)
	return any
}

// complete handles the completion of the entry whose user data is ud.
func (u *uloop) complete(ud uint64, res int32, flags uint32) {
	op := int(ud & 0xff)
	if op == uAccept {
		if flags&cqeFMore == 0 {
			s := u.r.get()
			s.opcode, s.fd, s.ioprio, s.opFlags, s.userData = opAccept, int32(u.lfd), acceptMultishot, unix.SOCK_CLOEXEC, uAccept
		}
		if res >= 0 {
			u.accepted(int(res))
		}
		return
	}
	id, gen := uint32(ud>>32), uint32(ud>>8)&0xffffff
	if int(id) >= len(u.objs) || u.gens[id]&0xffffff != gen || u.objs[id] == nil {
		return // for an object closed since
	}
	switch op {
	case uClientRecv:
		u.clientRead(u.objs[id].(*uclient), res)
	case uClientSend:
		if c := u.objs[id].(*uclient); int(res) < 0 || c.req.close {
			u.closeClient(c)
		}
	case uBackendSend:
		// A request not sent whole ends the connection; its receive, still under way and naming
		// its buffer, ends with it and drops it (backendRead).
		if b := u.objs[id].(*ubackend); int(res) != b.sendLen {
			unix.RawSyscall(unix.SYS_SHUTDOWN, uintptr(b.fd), unix.SHUT_RDWR, 0)
		}
	case uBackendRecv:
		u.backendRead(u.objs[id].(*ubackend), res)
	}
}

func (u *uloop) accepted(fd int) {
	u.nodelay(fd)
	c := &uclient{fd: fd, requests: requests{buf: u.takeBuf()}, backends: make([]*ubackend, len(u.addrs))}
	c.id, c.gen = u.alloc(c)
	u.recvClient(c)
}

func (u *uloop) recvClient(c *uclient) {
	u.queue(opRecv, c.fd, c.buf[c.n:], 0, userData(c.id, c.gen, uClientRecv))
}

func (u *uloop) clientRead(c *uclient, res int32) {
	if res <= 0 {
		u.closeClient(c)
		return
	}
	c.n += int(res)
	u.serveRing(c)
}

// serveRing routes the request at the start of c.buf and sends it, once its head is whole.
func (u *uloop) serveRing(c *uclient) {
	switch err := u.route(&c.requests); {
	case err == wire.ErrIncomplete && c.n < len(c.buf):
		u.recvClient(c)
		return
	case err != nil:
		u.answer(c, badRequest)
		return
	}
	b := u.takeBackend(c, c.req.backend)
	if b == nil {
		if b = u.dialBlocking(c.req.backend); b == nil {
			u.answer(c, badGateway)
			return
		}
	}
	b.owner, b.sendLen = c, c.req.len
	u.queue(opSend, b.fd, c.buf[:c.req.len], unix.MSG_NOSIGNAL, userData(b.id, b.gen, uBackendSend))
	u.queue(opRecv, b.fd, b.buf, 0, userData(b.id, b.gen, uBackendRecv))
}

// answer answers c with s, the loop's own answer, and closes it.
func (u *uloop) answer(c *uclient, s string) {
	writeAll(c.fd, []byte(s))
	u.closeClient(c)
}

// takeBackend returns c's connection to backend idx, or a pooled one, that is still quiet; nil
// when there is none.
func (u *uloop) takeBackend(c *uclient, idx int) *ubackend {
	if b := c.backends[idx]; b != nil {
		c.backends[idx] = nil
		if u.quiet(b.fd) {
			return b
		}
		u.dropBackend(b)
	}
	fd := func(b *ubackend) int { return b.fd }
	b, p, _ := popQuiet(u.loop, u, u.pool[idx], fd, (*uloop).dropBackend)
	u.pool[idx] = p
	return b
}

func (u *uloop) dialBlocking(idx int) *ubackend {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	u.nodelay(fd)
	a := u.addrs[idx]
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: int(a.Port>>8 | a.Port<<8), Addr: a.Addr}); err != nil {
		closeFd(fd)
		return nil
	}
	b := &ubackend{fd: fd, idx: idx, buf: make([]byte, bufSize)}
	b.id, b.gen = u.alloc(b)
	return b
}

// backendRead takes what a backend read brought: the response, which must come whole and be of
// known length, is sent to the client, and the client's next request read.
func (u *uloop) backendRead(b *ubackend, res int32) {
	c := b.owner
	if res <= 0 || c == nil {
		u.failBackend(b)
		return
	}
	b.n += int(res)
	h, total, err := response(b.buf, b.n, c.req.head)
	switch {
	case err == wire.ErrIncomplete:
		u.queue(opRecv, b.fd, b.buf[b.n:], 0, userData(b.id, b.gen, uBackendRecv))
		return
	case err != nil || total != int64(b.n) || h.Close:
		u.failBackend(b)
		return
	}
	b.n, b.owner = 0, nil
	c.backends[b.idx] = b
	if c.req.close {
		// The request, whose bytes c.buf held, is sent: c.buf holds the response now, its head
		// saying close, until its send completes.
		out := wire.AppendCloseHead(c.buf[:0], b.buf[:h.Len])
		out = append(out, b.buf[h.Len:total]...)
		u.queue(opSend, c.fd, out, unix.MSG_NOSIGNAL, userData(c.id, c.gen, uClientSend))
		return
	}
	u.queue(opSend, c.fd, b.buf[:total], unix.MSG_NOSIGNAL, userData(c.id, c.gen, uClientSend))
	c.served()
	if c.n > 0 {
		u.serveRing(c)
		return
	}
	u.recvClient(c)
}

// failBackend closes b, and the client whose response it was carrying.
func (u *uloop) failBackend(b *ubackend) {
	c := b.owner
	u.dropBackend(b)
	if c != nil {
		u.closeClient(c)
	}
}

func (u *uloop) dropBackend(b *ubackend) {
	b.owner = nil
	u.release(b.id)
	closeFd(b.fd)
}

// closeClient closes c. The backend connections it keeps go to the pool; the one carrying its
// response, if any, is not among them (see serveRing), and failBackend drops it.
func (u *uloop) closeClient(c *uclient) {
	for i, b := range c.backends {
		switch {
		case b == nil:
		case len(u.pool[i]) >= 64:
			u.dropBackend(b)
		default:
			u.pool[i] = append(u.pool[i], b)
		}
		c.backends[i] = nil
	}
	u.release(c.id)
	closeFd(c.fd)
	u.free = append(u.free, c.buf) // no entry names it now: its receive and send have completed
	c.buf = nil
}

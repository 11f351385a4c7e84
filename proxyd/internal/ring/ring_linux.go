package ring

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The ABI of <linux/io_uring.h> that the package uses.
const (
	opPollAdd     = 6
	opSendmsg     = 9
	opAsyncCancel = 14
	opRecv        = 27

	setupSingleIssuer = 1 << 12
	setupDeferTaskrun = 1 << 13
	featSingleMmap    = 1 << 0
	enterGetEvents    = 1 << 0
	registerEventfd   = 4
	cancelAll         = 1 << 0

	offSQRing = 0
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

// params is struct io_uring_params.
type params struct {
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

// Ring is one io_uring instance. It is set up for a single thread (IORING_SETUP_SINGLE_ISSUER)
// whose io_uring_enter(2) runs the completions (IORING_SETUP_DEFER_TASKRUN): New and every method
// but Close must be called from one goroutine locked to its thread (runtime.LockOSThread).
//
// An entry names a buffer by its address: the buffer, and the socket, must stay as they are until
// the entry's completion has been seen. Nothing here keeps them alive; the caller does.
type Ring struct {
	fd                int
	sqHead, sqTail    *uint32
	sqMask, sqEntries uint32
	sqArray           []uint32
	sqes              []sqe
	cqHead, cqTail    *uint32
	cqMask            uint32
	cqes              []cqe
	// tail is the next entry to fill; the kernel's head (sqHead) is the first it has not taken.
	tail uint32
	maps [2][]byte
}

// New sets up an instance with room for entries submissions (a power of two) and maps its
// queues. It fails where the kernel lacks io_uring or what the instance needs (Linux 6.1), or a
// seccomp profile refuses it.
func New(entries uint32) (*Ring, error) {
	var p params
	p.flags = setupSingleIssuer | setupDeferTaskrun
	fd, _, e := unix.RawSyscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return nil, fmt.Errorf("io_uring_setup of %d entries: %w", entries, e)
	}
	r := &Ring{fd: int(fd)}
	if err := r.mapQueues(&p); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// mapQueues maps the queues of the instance set up with p.
func (r *Ring) mapQueues(p *params) error {
	if p.features&featSingleMmap == 0 {
		return fmt.Errorf("io_uring: the kernel maps its queues apart (no IORING_FEAT_SINGLE_MMAP)")
	}
	size := max(p.sqOff.array+p.sqEntries*4, p.cqOff.cqes+p.cqEntries*uint32(unsafe.Sizeof(cqe{})))
	rb, err := unix.Mmap(r.fd, offSQRing, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("io_uring: mapping its queues: %w", err)
	}
	r.maps[0] = rb
	sb, err := unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(sqe{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("io_uring: mapping its entries: %w", err)
	}
	r.maps[1] = sb
	at := func(off uint32) unsafe.Pointer { return unsafe.Pointer(&rb[off]) }
	r.sqHead = (*uint32)(at(p.sqOff.head))
	r.sqTail = (*uint32)(at(p.sqOff.tail))
	r.sqMask = *(*uint32)(at(p.sqOff.ringMask))
	r.sqEntries = p.sqEntries
	r.sqArray = unsafe.Slice((*uint32)(at(p.sqOff.array)), p.sqEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&sb[0])), p.sqEntries)
	r.cqHead = (*uint32)(at(p.cqOff.head))
	r.cqTail = (*uint32)(at(p.cqOff.tail))
	r.cqMask = *(*uint32)(at(p.cqOff.ringMask))
	r.cqes = unsafe.Slice((*cqe)(at(p.cqOff.cqes)), p.cqEntries)
	r.tail = atomic.LoadUint32(r.sqTail)
	return nil
}

// Close unmaps the queues and closes the instance; the kernel cancels what is still under way.
func (r *Ring) Close() error {
	for _, m := range r.maps {
		if m != nil {
			unix.Munmap(m)
		}
	}
	return unix.Close(r.fd)
}

// queued is the count of entries filled that the kernel has not taken yet: from its head, which it
// moves as it takes them, to the tail.
func (r *Ring) queued() uint32 { return r.tail - atomic.LoadUint32(r.sqHead) }

// get returns a zeroed submission queue entry, submitting what is queued first when the queue
// is full.
func (r *Ring) get() *sqe {
	if r.queued() >= r.sqEntries {
		r.Enter()
	}
	i := r.tail & r.sqMask
	r.sqArray[i] = i
	s := &r.sqes[i]
	*s = sqe{}
	r.tail++
	return s
}

// PollIn queues a one-shot wait for fd to become readable (or to fail, or its peer to close);
// its completion carries userData and the events seen (see poll(2)) or a negated errno.
func (r *Ring) PollIn(fd int, userData uint64) {
	s := r.get()
	s.opcode, s.fd, s.opFlags, s.userData = opPollAdd, int32(fd), unix.POLLIN, userData
}

// Recv queues a recv(2) of fd into p, at least one byte long; its completion carries userData
// and the count read (0 at the end of the stream) or a negated errno.
func (r *Ring) Recv(fd int, p []byte, userData uint64) {
	s := r.get()
	s.opcode, s.fd, s.userData = opRecv, int32(fd), userData
	s.addr, s.len = uint64(uintptr(unsafe.Pointer(&p[0]))), uint32(len(p))
}

// Sendmsg queues a sendmsg(2) of msg to fd, without SIGPIPE: msg and what it points to are the
// kernel's until the completion, which carries userData and the count sent or a negated errno.
func (r *Ring) Sendmsg(fd int, msg *unix.Msghdr, userData uint64) {
	s := r.get()
	s.opcode, s.fd, s.opFlags, s.userData = opSendmsg, int32(fd), unix.MSG_NOSIGNAL, userData
	s.addr, s.len = uint64(uintptr(unsafe.Pointer(msg))), 1
}

// Cancel queues the cancellation of every entry under way whose user data is target: each
// completes with -ECANCELED, unless it completes otherwise first. The cancellation's own
// completion carries userData and the count cancelled or a negated errno (-ENOENT: none).
func (r *Ring) Cancel(target, userData uint64) {
	s := r.get()
	s.opcode, s.fd, s.opFlags, s.userData = opAsyncCancel, -1, cancelAll, userData
	s.addr = target
}

// Enter submits what is queued and runs the completions due, without waiting for any (a Waiter
// waits for them). It is a raw system call: it skips the scheduler's bookkeeping of a call that
// may block, which would keep the runtime's monitor thread awake.
//
// It asks the kernel to take what is queued, no more: a call that asks for more than is there
// submits that and returns at once, without running the completions due. So the count comes from
// the kernel's head (queued), not from what earlier calls returned (a failed call returns -1).
func (r *Ring) Enter() error {
	atomic.StoreUint32(r.sqTail, r.tail)
	_, _, e := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(r.queued()), 0, enterGetEvents, 0, 0)
	if e != 0 && e != unix.EINTR && e != unix.EBUSY && e != unix.EAGAIN {
		return fmt.Errorf("io_uring_enter: %w", e)
	}
	return nil
}

// Complete calls f with the user data, result and flags of every completion there, in order, and
// reports how many there were. f may queue entries.
func (r *Ring) Complete(f func(userData uint64, res int32, flags uint32)) int {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail)
	for i := head; i != tail; i++ {
		c := r.cqes[i&r.cqMask]
		// The entry goes back to the kernel before f runs: f may enter the ring.
		atomic.StoreUint32(r.cqHead, i+1)
		f(c.userData, c.res, c.flags)
	}
	return int(tail - head)
}

// RegisterEventfd makes the ring signal the eventfd efd whenever a completion is posted.
func (r *Ring) RegisterEventfd(efd int) error {
	fd := int32(efd)
	_, _, e := unix.RawSyscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerEventfd, uintptr(unsafe.Pointer(&fd)), 1, 0, 0)
	if e != 0 {
		return fmt.Errorf("io_uring_register of eventfd %d: %w", efd, e)
	}
	return nil
}

package engine

import (
	"net"
	"sync"
	"time"

	"proxyd.dev/proxyd/internal/netpoll"
	"proxyd.dev/proxyd/internal/tunnel"
	"proxyd.dev/wire"
)

// phase is what a client connection is doing, as far as its timeouts are concerned. Each phase has
// one rule, applied by lifetime.check:
const (
	// phaseHead: waiting for a request head or reading one. It must be complete within
	// --header-timeout, counted from the accept for the first request and from the first byte for
	// later ones.
	phaseHead phase = iota
	// phaseIdle: waiting for the next request on a kept-alive connection, at most --idle-timeout.
	// After handoffAfter, or at once while many connections wait on their goroutines (see
	// maxGoroutineWaits), the wait moves off its goroutine into the server's idle set (see park).
	phaseIdle
	// phaseSend: writing a request head to the backend, which must take it within --idle-timeout.
	phaseSend
	// phaseAwait: waiting for the response head. While the request body streams, it must move
	// within --idle-timeout; from its end the head must come within --response-header-timeout.
	phaseAwait
	// phaseWrite: writing a response head, an interim response or an answer of the proxy to the
	// client, which must take it within --idle-timeout.
	phaseWrite
	// phaseBody: relaying a response body. A client that takes no byte for --idle-timeout has
	// stalled; a silent backend is not (event streams pause as long as they like), but a client
	// that goes away meanwhile is noticed within a tick.
	phaseBody
	// phaseTunnel: an upgraded connection, closed after --tunnel-idle-timeout without a byte
	// either way.
	phaseTunnel
	// phaseLinger: draining what a client still sends after an error answer, at most
	// lingerTimeout.
	phaseLinger
)

type phase uint8

// cause says why a lifetime interrupted its connections.
type cause uint8

const (
	causeNone            cause = iota
	causeHeadTimeout           // the request head did not come in time: 408
	causeIdle                  // the keep-alive wait ended: close quietly
	causeHandoff               // a long idle wait: park it
	causeResponseTimeout       // no response head in time: 504
	causeUploadStalled         // the request body stopped arriving: 408
	causeBackendStalled        // the backend stopped taking the request: 504
	causeClientStalled         // the client stopped taking the response: 499
	causeClientGone            // the client closed or reset its connection while waiting: 499
	causeUploadEnded           // the request body copier failed; its error says why
	causeStop                  // the exchange stops its request body copier
	causeLinger                // the lingering close is over
)

// pastDeadline is a deadline long past: setting it wakes a blocked read or write at once.
var pastDeadline = time.Unix(1, 0)

// timeouts are the limits a lifetime enforces, from the server's Config.
type timeouts struct {
	header, idle, responseHeader, tunnelIdle time.Duration
}

// lifetime owns every timeout of one client connection and of the backend connection its exchange
// uses. The connection's goroutines say which phase they are in (enter); the server's sweeper calls
// check on every tick, which enforces the phase's rule from what it observes: how long the phase
// has lasted and whether the relays in it made progress. When a rule is broken it interrupts: it
// puts the deadlines of both connections in the past, which wakes every blocked read and write,
// and records the cause for the goroutines to act on. No other code sets a deadline, and no
// runtime timer is armed on the request path.
type lifetime struct {
	// conn is the connection whose lifetime this is, for the ring loop that serves it.
	conn *clientConn
	// sock is the client connection's: its deadlines are set and it is closed through it, and
	// clientState polls its RawConn.
	sock *netpoll.Socket
	// clientState asks the client socket whether its peer left, allocating nothing once made: the
	// sweeper makes it the first time it asks, as most connections never wait that long for a
	// backend. Guarded by mu.
	clientState *netpoll.Checker
	// idle is the server's set of parked idle waits; nil where the system has none.
	idle *idleSet

	mu sync.Mutex
	// seq counts the phase changes, the end of an upload included; guarded by mu.
	seq   uint64
	phase phase // guarded by mu
	// cause is why the deadlines of client and hit are in the past; causeNone when they are not.
	// Guarded by mu.
	cause cause
	// waiting is set while the connection waits for a request holding nothing; closed once
	// shutdown closed it in that wait. Guarded by mu.
	waiting, closed bool
	// handedOff is set once the current idle wait moved off the goroutine that served the previous
	// request; guarded by mu.
	handedOff bool
	// loop is the ring loop that serves the connection, nil when none does; an interrupt, or
	// shutdown's close of a waiting connection, goes through it. Guarded by mu.
	loop *loop
	// parked is the key of the current wait in the idle set, once parked there; 0 before. Waking
	// it by that key does nothing once the set has reported it. Guarded by mu.
	parked   netpoll.Key
	backend  *net.TCPConn   // the exchange's backend connection, interrupted with the client; guarded by mu
	upload   *wire.Progress // the request body while its copier runs; guarded by mu
	download *wire.Progress // the response body relay in phaseBody; guarded by mu
	tunnel   *tunnel.Tunnel // the tunnel in phaseTunnel; guarded by mu
	hit      *net.TCPConn   // the backend connection interrupted with the client; guarded by mu

	// What the sweeper saw at its previous ticks, at times on its clock (see sweeper.checkConns);
	// owned by the sweeper's goroutine, which writes them with mu held (endWait reads seenSeq).
	seenSeq                uint64
	seenAt                 time.Duration // when the sweeper first saw phase seenSeq
	upMoved, downMoved     int64         // Progress.Moved of upload and download when last changed
	upMovedAt, downMovedAt time.Duration // when they last changed
}

// enter starts phase p: a new phase of the connection's own goroutine, which clears any interrupt
// of the previous phase. It reports false when shutdown closed the connection while it waited.
func (l *lifetime) enter(p phase) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.enterLocked(p)
}

// enterLocked is enter with l.mu held.
func (l *lifetime) enterLocked(p phase) bool {
	l.seq++
	l.phase = p
	l.handedOff = false
	l.download, l.tunnel = nil, nil
	if l.cause != causeUploadEnded { // stays until the exchange has taken the copier's result
		l.clearLocked()
	}
	return !l.closed
}

// clearLocked takes the deadlines an interrupt put in the past back out. l.mu is held.
func (l *lifetime) clearLocked() {
	if l.cause == causeNone {
		return
	}
	l.sock.TCPConn().SetDeadline(time.Time{})
	if l.hit != nil {
		l.hit.SetDeadline(time.Time{})
		l.hit = nil
	}
	l.cause = causeNone
}

// interruptLocked wakes every goroutine blocked on the client or the backend connection by putting
// their deadlines in the past, and a parked wait, whose new goroutine finds the deadline past; it
// records why. A second interrupt keeps the first cause. l.mu is held. This is the one place that
// interrupts I/O.
func (l *lifetime) interruptLocked(c cause) {
	if l.cause != causeNone {
		return
	}
	l.cause = c
	l.sock.TCPConn().SetDeadline(pastDeadline)
	if l.backend != nil {
		l.backend.SetDeadline(pastDeadline)
		l.hit = l.backend
	}
	l.wakeLocked()
	if l.loop != nil {
		l.loop.post(l.conn)
	}
}

// toLoop records that the ring loop lp serves the connection from now on. It reports false,
// recording nothing, when shutdown closed the connection in its wait meanwhile.
func (l *lifetime) toLoop(lp *loop) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.loop = lp
	return true
}

// leaveLoop records that no ring loop serves the connection any more.
func (l *lifetime) leaveLoop() {
	l.mu.Lock()
	l.loop = nil
	l.mu.Unlock()
}

// onLoop reports whether the ring loop lp serves the connection.
func (l *lifetime) onLoop(lp *loop) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loop == lp
}

// interrupted reports whether an interrupt is in force, or shutdown closed the connection in its
// wait: what a ring loop serving it cancels its calls for.
func (l *lifetime) interrupted() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cause != causeNone || l.closed
}

// wakeLocked takes a parked wait out of the idle set and continues it on a new goroutine now,
// unless the set has done so already. l.mu is held.
func (l *lifetime) wakeLocked() {
	if l.parked != 0 {
		l.idle.Wake(l.parked)
		l.parked = 0
	}
}

// interrupt is interruptLocked for a goroutine that does not hold l.mu.
func (l *lifetime) interrupt(c cause) {
	l.mu.Lock()
	l.interruptLocked(c)
	l.mu.Unlock()
}

// why returns the cause of the interrupt in force, causeNone when there is none.
func (l *lifetime) why() cause {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cause
}

// useBackend makes b (nil: none) the backend connection interrupted with the client.
func (l *lifetime) useBackend(b *net.TCPConn) {
	l.mu.Lock()
	l.backend = b
	l.mu.Unlock()
}

// startUpload watches the progress of a streamed request body until endUpload.
func (l *lifetime) startUpload(p *wire.Progress) {
	l.mu.Lock()
	l.upload = p
	l.mu.Unlock()
}

// endUpload records the end of the request body: the response-header timeout starts now. A copier
// that failed (err != nil) wakes the exchange with causeUploadEnded, unless it was interrupted.
func (l *lifetime) endUpload(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.upload = nil
	l.seq++
	if err != nil {
		l.interruptLocked(causeUploadEnded)
	}
}

// ackUpload clears the interrupt of a failed request body copier once the exchange has its result.
func (l *lifetime) ackUpload() {
	l.mu.Lock()
	if l.cause == causeUploadEnded {
		l.clearLocked()
	}
	l.mu.Unlock()
}

// relayBody enters phaseBody for a relay that counts its progress in p.
func (l *lifetime) relayBody(p *wire.Progress) {
	l.mu.Lock()
	l.enterLocked(phaseBody)
	l.download = p
	l.mu.Unlock()
}

// runTunnel enters phaseTunnel for t.
func (l *lifetime) runTunnel(t *tunnel.Tunnel) {
	l.mu.Lock()
	l.enterLocked(phaseTunnel)
	l.tunnel = t
	l.mu.Unlock()
}

// beginWait marks the start of a wait for a request that holds nothing but the socket, entering
// phaseIdle first when the wait is between requests (the first request's wait is phaseHead from
// the accept on).
func (l *lifetime) beginWait(idle bool) {
	l.mu.Lock()
	if idle {
		l.enterLocked(phaseIdle)
	}
	l.waiting = true
	l.mu.Unlock()
}

// endWait marks the end of that wait, entering phaseHead when the wait was between requests (the
// header timeout of a later request counts from its first byte). It reports whether the
// connection is still open (false when shutdown closed it meanwhile), and whether the wait was
// brief: over before the sweeper saw it, so shorter than a tick.
func (l *lifetime) endWait(idle bool) (open, brief bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waiting = false
	l.parked = 0
	brief = l.seenSeq != l.seq
	if idle {
		l.enterLocked(phaseHead)
	}
	return !l.closed, brief
}

// park hands the idle wait of c off its goroutine: a hand-off's interrupt is cleared (the phase
// and its age stay), and the wait goes into the idle set, which holds no goroutine for it and
// passes c to its ready function (clientConn.wake) once the client sends something, closes or
// resets the connection, or the lifetime wakes it: an interrupt (the idle timeout) or shutdown.
// It reports false, parking nothing, when there is no set, when shutdown closed the connection
// meanwhile, or with the error of a set that cannot take it; the wait then goes on elsewhere.
func (l *lifetime) park(c *clientConn) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clearLocked()
	l.handedOff = true
	if l.idle == nil || l.closed {
		return false, nil
	}
	k, err := l.idle.Add(l.sock.RawConn(), c)
	if err != nil {
		return false, err
	}
	l.parked = k
	return true, nil
}

// closeIfWaiting closes the connection when it waits for a request holding nothing (shutdown). A
// parked wait leaves the idle set first (its descriptor must leave the set's epoll instance
// while it is still open), for a new goroutine that finds the connection closed; a ring loop's
// wait is ended by the loop, which closes the connection. The close is not under l.mu: it waits
// for a read of the connection in progress, whose callback (readIdle) may take l.mu.
func (l *lifetime) closeIfWaiting() {
	l.mu.Lock()
	closing := l.waiting && !l.closed
	onLoop := closing && l.loop != nil
	if closing {
		l.closed = true
		l.wakeLocked()
	}
	if onLoop {
		l.loop.post(l.conn)
	}
	l.mu.Unlock()
	if closing && !onLoop {
		l.sock.TCPConn().Close()
	}
}

// check applies the rule of the current phase at time now on the sweeper's clock, with the
// server's limits, from the sweeper's goroutine.
func (l *lifetime) check(now time.Duration, limits *timeouts) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cause != causeNone || l.closed {
		return // already interrupted; the goroutines act on it
	}
	if l.seq != l.seenSeq {
		l.seenSeq, l.seenAt = l.seq, now
		l.upMoved, l.upMovedAt = moved(l.upload), now
		l.downMoved, l.downMovedAt = moved(l.download), now
		return
	}
	if l.upload != nil {
		if m := l.upload.Moved(); m != l.upMoved {
			l.upMoved, l.upMovedAt = m, now
		} else if now-l.upMovedAt >= limits.idle {
			c := causeUploadStalled
			if l.upload.Writing() {
				c = causeBackendStalled
			}
			l.interruptLocked(c)
			return
		} else { // moved nothing since the previous tick: relay what has come of it
			l.upload.Hurry()
		}
	}
	age := now - l.seenAt
	switch l.phase {
	case phaseHead:
		l.expire(age, limits.header, causeHeadTimeout)
	case phaseIdle:
		switch {
		case age >= limits.idle:
			l.interruptLocked(causeIdle)
		case age >= handoffAfter && !l.handedOff:
			l.interruptLocked(causeHandoff)
		}
	case phaseSend:
		l.expire(age, limits.idle, causeBackendStalled)
	case phaseAwait:
		if l.upload == nil {
			l.expire(age, limits.responseHeader, causeResponseTimeout)
			l.checkClientGone()
		}
	case phaseWrite:
		l.expire(age, limits.idle, causeClientStalled)
	case phaseBody:
		l.checkBody(now, limits)
	case phaseTunnel:
		if l.tunnel != nil && l.tunnel.IdleFor() >= limits.tunnelIdle {
			l.tunnel.Close()
		}
	case phaseLinger:
		l.expire(age, lingerTimeout, causeLinger)
	}
}

// expire interrupts with c once a phase of this age has reached its limit. l.mu is held.
func (l *lifetime) expire(age, limit time.Duration, c cause) {
	if age >= limit {
		l.interruptLocked(c)
	}
}

// checkBody applies phaseBody's rule: a relay that waits to write and has moved nothing for the
// idle timeout has a stalled client; one that waits for the backend and moved nothing since the
// previous tick looks whether the client is still there, and relays what has come of the body
// (wire.Progress.Hurry). l.mu is held.
func (l *lifetime) checkBody(now time.Duration, limits *timeouts) {
	if l.download == nil {
		return
	}
	if m := l.download.Moved(); m != l.downMoved {
		l.downMoved, l.downMovedAt = m, now
		return
	}
	if l.download.Writing() {
		l.expire(now-l.downMovedAt, limits.idle, causeClientStalled)
		return
	}
	l.download.Hurry()
	l.checkClientGone()
}

// init readies l for the client connection c of sock, just accepted, whose idle waits may park
// in idle (nil where the system has no idle set).
func (l *lifetime) init(c *clientConn, sock *netpoll.Socket, idle *idleSet) {
	l.conn, l.sock, l.idle = c, sock, idle
	// The first head counts from the accept; seq 1 makes the sweeper start counting at its next tick.
	l.phase, l.seq = phaseHead, 1
}

// checkClientGone interrupts with causeClientGone when the client closed or reset its connection
// while the exchange waits for the backend. l.mu is held.
func (l *lifetime) checkClientGone() {
	if l.cause != causeNone {
		return
	}
	if l.clientState == nil {
		l.clientState = netpoll.NewChecker(l.sock.RawConn())
	}
	if l.clientState.PeerGone() {
		l.interruptLocked(causeClientGone)
	}
}

// moved returns p.Moved(), 0 for nil.
func moved(p *wire.Progress) int64 {
	if p == nil {
		return 0
	}
	return p.Moved()
}

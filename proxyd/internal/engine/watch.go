package engine

import (
	"net"
	"sync/atomic"

	"proxyd.dev/proxyd/internal/netpoll"
	"proxyd.dev/proxyd/internal/upstream"
)

// disconnectWatcher notices a client that goes away while a streamed response (chunked or
// close-delimited, an event stream among them) waits for the backend's next bytes, which may not come
// for minutes: it closes the backend connection so that the relay ends and the backend learns that
// nobody listens any more.
type disconnectWatcher struct {
	client  *net.TCPConn
	backend *upstream.Conn
	fired   atomic.Bool
	done    chan struct{}
}

// watchDisconnect starts watching client for the length of one streamed response from backend.
func watchDisconnect(client *net.TCPConn, backend *upstream.Conn) *disconnectWatcher {
	w := &disconnectWatcher{client: client, backend: backend, done: make(chan struct{})}
	go w.run()
	return w
}

func (w *disconnectWatcher) run() {
	defer close(w.done)
	if netpoll.WaitReadable(w.client) != nil {
		return // stopped
	}
	// Readable: either the client closed or reset the connection, or it already sent its next
	// request, which stays in the socket for the request loop.
	if netpoll.PeerGone(w.client) {
		w.fired.Store(true)
		w.backend.Close()
	}
}

// stop ends the watch and reports whether the client went away during it.
func (w *disconnectWatcher) stop() bool {
	w.client.SetReadDeadline(longAgo)
	<-w.done
	return w.fired.Load()
}

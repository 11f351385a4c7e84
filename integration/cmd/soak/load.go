//go:build linux

package main

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// loadConfig shapes a load.
type loadConfig struct {
	conns      int
	interval   time.Duration // between two requests of one client
	maxPerConn int           // requests per client at most
	// reconnect, when positive, makes a client close its connection and open a new one after
	// between 20 and 20+reconnect requests.
	reconnect int
	// bodies mixes POSTs (Content-Length and chunked) and 256 KiB downloads into the GETs.
	bodies bool
}

// requestTimeout bounds one request of a well-behaved client.
const requestTimeout = 10 * time.Second

// bigSize is the size of the downloads a load mixes in.
const bigSize = 256 << 10

// load is a set of well-behaved keep-alive clients sending checked, mixed requests at a bounded
// rate until stopped or their request budget is spent. Each holds one connection all along (a new
// one after a failure, or now and then when cfg.reconnect asks for it).
type load struct {
	addr  string
	cfg   loadConfig
	tally tally
	stopC chan struct{}
	wg    sync.WaitGroup
	// tried is done once per client after its first request, answered or not.
	tried sync.WaitGroup
}

func startLoad(addr string, cfg loadConfig) *load {
	l := &load{addr: addr, cfg: cfg, stopC: make(chan struct{})}
	l.tried.Add(cfg.conns)
	for id := range cfg.conns {
		l.wg.Add(1)
		go l.client(id)
	}
	return l
}

// waitTried waits until every client has sent its first request, at most within.
func (l *load) waitTried(within time.Duration) bool {
	done := make(chan struct{})
	go func() {
		l.tried.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(within):
		return false
	}
}

func (l *load) client(id int) {
	defer l.wg.Done()
	tried := sync.OnceFunc(l.tried.Done)
	defer tried()
	var c *clientConn
	defer func() {
		if c != nil {
			c.close()
		}
	}()
	tick := time.NewTicker(l.cfg.interval)
	defer tick.Stop()
	served := 0
	for i := range l.cfg.maxPerConn {
		select {
		case <-l.stopC:
			return
		case <-tick.C:
		}
		if c == nil {
			var err error
			if c, err = dialClient(l.addr, requestTimeout); err != nil {
				l.tally.record(fmt.Errorf("dial: %w", err))
				continue
			}
			served = 0
		}
		r, err := l.one(c, id, i)
		l.tally.record(err)
		tried()
		served++
		if err != nil || r.close || (l.cfg.reconnect > 0 && served >= 20+(id*7+i)%l.cfg.reconnect) {
			c.close()
			c = nil
		}
	}
}

// one sends the i-th request of client id and checks its answer.
func (l *load) one(c *clientConn, id, i int) (*reply, error) {
	t := mixedTarget(id, i)
	if !l.cfg.bodies {
		return t.get(c, requestTimeout)
	}
	switch i % 25 {
	case 7, 17:
		return t.post(c, 1000, false, requestTimeout)
	case 9, 19:
		return t.post(c, 3000, true, requestTimeout)
	case 11:
		return getBig(c, target{fmt.Sprintf("/alpha/big/c%d/r%d", id, i), nameAlpha}, bigSize)
	}
	return t.get(c, requestTimeout)
}

// getBig downloads n bytes from t's backend and checks their count.
func getBig(c *clientConn, t target, n int) (*reply, error) {
	r, err := c.roundTrip(getRequest(fmt.Sprintf("%s?%s=%d", t.path, paramBig, n)), time.Now().Add(requestTimeout))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w", t.path, err)
	case r.status != http.StatusOK || r.backend != t.backend || len(r.body) != n:
		return r, fmt.Errorf("%s: status %d from %q with %d bytes, want 200 from %q with %d", t.path, r.status, r.backend, len(r.body), t.backend, n)
	}
	return r, nil
}

// stop ends the clients and waits for them.
func (l *load) stop() {
	close(l.stopC)
	l.wg.Wait()
}

// Command tunnelecho measures a proxy's tunnels, as WebSocket traffic uses them: small messages,
// one at a time, each answered. It is both ends of that load.
//
// With -serve it is the backend: it answers a request that asks to upgrade with 101 Switching
// Protocols and then echoes every byte back, any other request with 200 and a short body, and runs
// until killed. With -load it is the client: -c connections through the proxy each ask to upgrade,
// then send a message of -size bytes, read its echo and pause for -every, again and again, until
// -d has passed or each has sent -n messages; it then prints "N requests in D", N being the
// messages echoed in all, as wrk prints its requests (scripts/ab.sh, scenario w, reads it).
//
//	tunnelecho -serve 127.0.0.1:18383
//	tunnelecho -load 127.0.0.1:18390 -d 5s -c 8 -every 1ms
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	serve := flag.String("serve", "", "serve as the backend on this address")
	load := flag.String("load", "", "load the proxy at this address")
	dur := flag.Duration("d", 5*time.Second, "with -load: how long the load lasts")
	conns := flag.Int("c", 8, "with -load: connections (tunnels)")
	size := flag.Int("size", 64, "with -load: bytes a message")
	every := flag.Duration("every", time.Millisecond, "with -load: the pause after each echo")
	most := flag.Int("n", 1_000_000, "with -load: the most messages a connection sends")
	flag.Parse()
	switch {
	case *serve != "":
		ln, err := net.Listen("tcp", *serve)
		if err != nil {
			log.Fatalf("tunnelecho: listen on -serve %q: %v", *serve, err)
		}
		log.Fatal(http.Serve(ln, http.HandlerFunc(answer)))
	case *load != "":
		if *conns < 1 || *size < 1 {
			log.Fatalf("tunnelecho: -c %d and -size %d must be at least 1", *conns, *size)
		}
		start := time.Now()
		n, err := run(*load, *conns, *size, *every, *most, start.Add(*dur))
		if err != nil {
			log.Fatalf("tunnelecho: %v", err)
		}
		fmt.Printf("%d requests in %.2fs (messages echoed through %d tunnels)\n", n, time.Since(start).Seconds(), *conns)
	default:
		fmt.Fprintln(os.Stderr, "tunnelecho: give -serve ADDR or -load ADDR")
		os.Exit(2)
	}
}

// answer upgrades a request that asks to, and echoes what comes after; it answers any other with
// 200.
func answer(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") == "" {
		io.WriteString(w, "tunnelecho\n")
		return
	}
	nc, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer nc.Close()
	io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+r.Header.Get("Upgrade")+"\r\n\r\n")
	io.Copy(nc, rw.Reader)
}

// run loads addr with conns tunnels until end or most messages each, and returns how many messages
// came back, or the first failure.
func run(addr string, conns, size int, every time.Duration, most int, end time.Time) (int64, error) {
	var (
		echoed atomic.Int64
		wg     sync.WaitGroup
		once   sync.Once
		first  error
	)
	for range conns {
		wg.Go(func() {
			if err := tunnel(addr, size, every, most, end, &echoed); err != nil {
				once.Do(func() { first = err })
			}
		})
	}
	wg.Wait()
	return echoed.Load(), first
}

// tunnel opens one tunnel through addr and sends messages through it until end or most of them,
// counting each echo that comes back intact in echoed.
func tunnel(addr string, size int, every time.Duration, most int, end time.Time, echoed *atomic.Int64) error {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return fmt.Errorf("dial -load %s: %w", addr, err)
	}
	defer nc.Close()
	nc.SetDeadline(end.Add(10 * time.Second)) // a stuck tunnel fails the run rather than hang it
	io.WriteString(nc, "GET /tunnel HTTP/1.1\r\nHost: tunnelecho\r\nConnection: Upgrade\r\nUpgrade: tunnelecho\r\n\r\n")
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return fmt.Errorf("upgrade through %s: %w", addr, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("upgrade through %s: status %s, want 101", addr, resp.Status)
	}
	msg := bytes.Repeat([]byte{'m'}, size)
	got := make([]byte, size)
	for i := 0; i < most && time.Now().Before(end); i++ {
		if _, err := nc.Write(msg); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
		if _, err := io.ReadFull(br, got); err != nil {
			return fmt.Errorf("echo of message %d: %w", i, err)
		}
		if !bytes.Equal(got, msg) {
			return fmt.Errorf("echo of message %d differs: %q", i, got)
		}
		echoed.Add(1)
		time.Sleep(every)
	}
	return nil
}

package integration

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"proxyd.dev/integration/backend/api"
)

// TestOperating runs proxyd with its operating features against backend containers: the admin
// listener's metrics and probes, --forwarded, and a route reload by SIGHUP that a keep-alive
// connection opened before it follows, while a routes file that does not parse changes nothing.
func TestOperating(t *testing.T) {
	t.Parallel()
	def := startBackend(t, api.ModeHTTP1, "D")
	one := startBackend(t, api.ModeHTTP1, "one")
	two := startBackend(t, api.ModeHTTP1, "two")
	routes := filepath.Join(t.TempDir(), "routes")
	writeFile(t, routes, "# the service\n/svc="+one.addr+"\n")
	admin := "http://" + freeAddr(t)
	p := runProxy(t, def.addr, "--routes-file", routes, "--admin-addr", strings.TrimPrefix(admin, "http://"), "--forwarded")
	c := newClient(t)
	c.Transport.(*http.Transport).MaxConnsPerHost = 1 // one keep-alive connection throughout

	req, err := http.NewRequest(http.MethodGet, "http://"+p.addr+"/svc/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", "6.6.6.6")
	resp, body := do(t, c, req)
	echo := decodeEcho(t, resp, body)
	if echo.Backend != "one" || echo.Headers["X-Forwarded-For"] != "127.0.0.1" || echo.Headers["X-Forwarded-Proto"] != "http" || echo.Headers["Forwarded"] != "for=127.0.0.1;proto=http" {
		t.Errorf("GET /svc/x reached %s with X-Forwarded-For %q, X-Forwarded-Proto %q, Forwarded %q; want one, 127.0.0.1, http, for=127.0.0.1;proto=http",
			echo.Backend, echo.Headers["X-Forwarded-For"], echo.Headers["X-Forwarded-Proto"], echo.Headers["Forwarded"])
	}
	probes := newClient(t)
	checkStatus(t, probes, admin+healthPath, http.StatusOK)
	checkStatus(t, probes, admin+readyPath, http.StatusOK)

	writeFile(t, routes, "/svc="+two.addr+"\n")
	reload(t, p, "routes reloaded")
	if got := getEcho(t, c, "http://"+p.addr+"/svc/x").Backend; got != "two" {
		t.Errorf("after the reload /svc/x reached %s, want two", got)
	}

	writeFile(t, routes, "/svc="+one.addr+"\nsvc2=nohost\n")
	reload(t, p, "routes:2:")
	if got := getEcho(t, c, "http://"+p.addr+"/svc/x").Backend; got != "two" {
		t.Errorf("after a reload that failed /svc/x reached %s, want two (the routes as they were)", got)
	}

	// A request is counted once its response is written, which may be just after the client has
	// read it: the scrape waits for the third.
	const counted = `proxyd_requests_total{code="2xx",method="GET",route="/svc"} 3` + "\n"
	var metrics []byte
	for limit := time.Now().Add(requestTimeout); !strings.Contains(string(metrics), counted); {
		if time.Now().After(limit) {
			t.Fatalf("/metrics has no line %q within %v:\n%s", counted, requestTimeout, metrics)
		}
		_, metrics = get(t, probes, admin+"/metrics")
	}
	for _, want := range []string{
		`proxyd_route_reloads_total{result="success"} 2`,
		`proxyd_route_reloads_total{result="failure"} 1`,
		`proxyd_client_connections_total 1`,
		`proxyd_backend_dials_total{backend="` + two.addr + `"} 1`,
	} {
		if !strings.Contains(string(metrics), want+"\n") {
			t.Errorf("/metrics has no line %q", want)
		}
	}
}

// reload sends SIGHUP to proxyd and waits for a log line containing want.
func reload(t *testing.T, p *proxyProcess, want string) {
	t.Helper()
	from := p.stderr.Len()
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, want, from, proxyStartTimeout)
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestProxyProtocol puts proxyd with --proxy-protocol in front of a backend that reads the PROXY
// header (as nginx's proxy_protocol listeners do): the backend sees each client's own address and
// port, in both versions of the header, and two clients never share a backend connection.
func TestProxyProtocol(t *testing.T) {
	t.Parallel()
	be := startBackend(t, api.ModeHTTP1, "proxied", testcontainers.WithCmdArgs("-proxy-protocol"))
	for _, version := range []string{"v1", "v2"} {
		t.Run(version, func(t *testing.T) {
			proxy := startProxy(t, be.addr, "--proxy-protocol="+version)
			for range 2 {
				conn, err := net.Dial("tcp", proxy)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				br := bufio.NewReader(conn)
				for i := range 2 { // two requests on the connection: the kept backend connection serves both
					target := fmt.Sprintf("/who/%d", i)
					if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: example.test\r\n\r\n", target); err != nil {
						t.Fatal(err)
					}
					resp, body := readResponse(t, br, http.MethodGet, target)
					echo := decodeEcho(t, resp, body)
					if echo.RemoteAddr != conn.LocalAddr().String() {
						t.Errorf("the backend saw the client %s, want %s", echo.RemoteAddr, conn.LocalAddr())
					}
				}
			}
		})
	}
}

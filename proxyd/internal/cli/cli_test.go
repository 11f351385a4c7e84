package cli

import (
	"bytes"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"proxyd.dev/proxyd/internal/engine"
	"proxyd.dev/proxyd/internal/proxyproto"
	"proxyd.dev/router"
)

// parse runs Parse and Config as main does; exit must not be called for these inputs.
func parse(t *testing.T, args ...string) (engine.Config, error) {
	t.Helper()
	a, err := Parse(args, io.Discard, io.Discard, func(code int) { t.Fatalf("exit(%d) called for %q", code, args) })
	if err != nil {
		return engine.Config{}, err
	}
	return a.Config(nil)
}

func TestConfigFromArgs(t *testing.T) {
	cfg, err := parse(t, "127.0.0.1:8080", "localhost:3000",
		"-r", "/api=127.0.0.1:4000", "--route", "/api/v2=[::1]:4002", "-r", "/static*=cdn.internal:80",
		"--rewrite", "--header-timeout=3s", "--max-header-size=8192", "--access-log")
	if err != nil {
		t.Fatal(err)
	}
	got := struct {
		Backends      []string
		Routes        []string
		Rewrite       bool
		HeaderTimeout time.Duration
		IdleTimeout   time.Duration
		MaxHeaderSize int
		AccessLog     bool
	}{cfg.Routes.Backends(), nil, cfg.Rewrite, cfg.HeaderTimeout, cfg.IdleTimeout, cfg.MaxHeaderSize, cfg.AccessLog}
	for _, r := range cfg.Routes.Routes() {
		got.Routes = append(got.Routes, r.String())
	}
	want := got
	want.Backends = []string{"localhost:3000", "127.0.0.1:4000", "[::1]:4002", "cdn.internal:80"}
	want.Routes = []string{"/static*=cdn.internal:80", "/api/v2=[::1]:4002", "/api=127.0.0.1:4000"}
	want.Rewrite, want.HeaderTimeout, want.IdleTimeout, want.MaxHeaderSize, want.AccessLog = true, 3*time.Second, 60*time.Second, 8192, true
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

// TestRoutingOptions turns on the routing and forwarding options: escaped slashes decoded for
// routing, CONNECT tunnelled.
func TestRoutingOptions(t *testing.T) {
	cfg, err := parse(t, ":8080", "127.0.0.1:3000", "-r", "/api=127.0.0.1:4000", "--escaped-slashes=decode", "--allow-connect")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.AllowConnect {
		t.Error("--allow-connect did not set AllowConnect")
	}
	m, err := cfg.Routes.Match([]byte("/api%2Fx"))
	if err != nil || m.Backend != 1 {
		t.Errorf("Match(/api%%2Fx) with --escaped-slashes=decode = %+v, %v; want the /api route", m, err)
	}
	cfg, err = parse(t, ":8080", "127.0.0.1:3000", "--escaped-slashes=reject")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Routes.Match([]byte("/a%2Fb")); err == nil {
		t.Error("Match(/a%2Fb) with --escaped-slashes=reject: no error")
	}
}

// TestRingLoopsOptions turns three ring loops on, serving whatever the load.
func TestRingLoopsOptions(t *testing.T) {
	cfg, err := parse(t, ":8080", "127.0.0.1:3000", "--ring-loops", "--ring-loops-busy=-1", "--ring-loops-count=3")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.RingLoops || cfg.RingLoopsBusy != -1 || cfg.RingLoopsCount != 3 {
		t.Errorf("RingLoops, RingLoopsBusy, RingLoopsCount = %v, %d, %d; want true, -1, 3", cfg.RingLoops, cfg.RingLoopsBusy, cfg.RingLoopsCount)
	}
}

// TestRingLoopsOffAndOn turns the ring loops, on by default (TestDefaults), off and on.
func TestRingLoopsOffAndOn(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"--ring-loops"}, true},
		{[]string{"--no-ring-loops"}, false},
	} {
		cfg, err := parse(t, append([]string{":8080", "127.0.0.1:3000"}, tc.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.RingLoops != tc.want {
			t.Errorf("%q: RingLoops = %v, want %v", tc.args, cfg.RingLoops, tc.want)
		}
	}
}

// TestClientAddressOptions turns on --forwarded with trusted prefixes and the PROXY protocol.
func TestClientAddressOptions(t *testing.T) {
	cfg, err := parse(t, ":8080", "127.0.0.1:3000", "--forwarded", "--trust-forwarded=10.0.0.0/8,192.0.2.1", "--trust-forwarded", "2001:db8::/32", "--proxy-protocol=v2")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Forwarded == nil {
		t.Fatal("--forwarded did not set a policy")
	}
	got := map[string]bool{}
	for _, a := range []string{"10.1.2.3", "192.0.2.1", "192.0.2.2", "2001:db8::1", "11.0.0.1"} {
		got[a] = cfg.Forwarded.Trusts(netip.MustParseAddr(a))
	}
	want := map[string]bool{"10.1.2.3": true, "192.0.2.1": true, "192.0.2.2": false, "2001:db8::1": true, "11.0.0.1": false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trusted (-want +got):\n%s", diff)
	}
	if cfg.ProxyProtocol != proxyproto.V2 {
		t.Errorf("ProxyProtocol = %v, want v2", cfg.ProxyProtocol)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := parse(t, ":8080", "127.0.0.1:3000")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Routes, cfg.Logger = nil, nil
	want := engine.Config{
		HeaderTimeout:         10 * time.Second,
		IdleTimeout:           60 * time.Second,
		DialTimeout:           5 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		TunnelIdleTimeout:     time.Hour,
		MaxHeaderSize:         64 << 10,
		BackendIdleConns:      128,
		RingLoops:             true,
	}
	if diff := cmp.Diff(want, cfg, cmpopts.IgnoreUnexported(router.Table{})); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

// TestBadArguments checks that every malformed argument is refused with a message naming it.
func TestBadArguments(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // must appear in the error
	}{
		{"no arguments", nil, "LISTEN_ADDRESS"},
		{"no default backend", []string{":8080"}, "DEFAULT_BACKEND"},
		{"route without =", []string{":8080", "127.0.0.1:1", "-r", "/api"}, `"/api"`},
		{"route path without /", []string{":8080", "127.0.0.1:1", "-r", "api=127.0.0.1:2"}, `"api=127.0.0.1:2"`},
		{"route bad port", []string{":8080", "127.0.0.1:1", "-r", "/api=127.0.0.1:99999"}, `99999`},
		{"route port zero", []string{":8080", "127.0.0.1:1", "-r", "/api=127.0.0.1:0"}, `"/api=127.0.0.1:0"`},
		{"route empty host", []string{":8080", "127.0.0.1:1", "-r", "/api=:80"}, `"/api=:80"`},
		{"route no port", []string{":8080", "127.0.0.1:1", "-r", "/api=backend"}, `"/api=backend"`},
		{"duplicate route", []string{":8080", "127.0.0.1:1", "-r", "/api=127.0.0.1:2", "-r", "/api=127.0.0.1:3"}, `/api`},
		{"default backend empty host", []string{":8080", ":3000"}, `DEFAULT_BACKEND`},
		{"default backend bad port", []string{":8080", "127.0.0.1:x"}, `DEFAULT_BACKEND`},
		{"default backend no port", []string{":8080", "127.0.0.1"}, `DEFAULT_BACKEND`},
		{"listen without port", []string{"127.0.0.1", "127.0.0.1:1"}, `LISTEN_ADDRESS "127.0.0.1"`},
		{"listen bad port", []string{":70000", "127.0.0.1:1"}, `LISTEN_ADDRESS ":70000"`},
		{"listen hostname", []string{"example.com:80", "127.0.0.1:1"}, `"example.com"`},
		{"listen ipv6 unbracketed", []string{"::1:80", "127.0.0.1:1"}, `LISTEN_ADDRESS "::1:80"`},
		{"zero timeout", []string{":8080", "127.0.0.1:1", "--dial-timeout=0s"}, "--dial-timeout"},
		{"bad duration", []string{":8080", "127.0.0.1:1", "--idle-timeout=soon"}, "--idle-timeout"},
		{"header size too small", []string{":8080", "127.0.0.1:1", "--max-header-size=10"}, "--max-header-size=10"},
		{"negative ring loop count", []string{":8080", "127.0.0.1:1", "--ring-loops-count=-1"}, "--ring-loops-count=-1"},
		{"too many ring loops", []string{":8080", "127.0.0.1:1", "--ring-loops-count=257"}, "--ring-loops-count=257: must be between 0 and 256"},
		{"unknown log format", []string{":8080", "127.0.0.1:1", "--log-format=xml"}, "--log-format"},
		{"unknown flag", []string{":8080", "127.0.0.1:1", "--bogus"}, "--bogus"},
		{"unknown escaped-slashes action", []string{":8080", "127.0.0.1:1", "--escaped-slashes=drop"}, "--escaped-slashes"},
		{"admin address bad", []string{":8080", "127.0.0.1:1", "--admin-addr=localhost"}, `--admin-addr "localhost"`},
		{"admin address is the proxy's", []string{"127.0.0.1:8080", "127.0.0.1:1", "--admin-addr=127.0.0.1:8080"}, `--admin-addr "127.0.0.1:8080": must differ`},
		{"unknown PROXY protocol version", []string{":8080", "127.0.0.1:1", "--proxy-protocol=v3"}, `--proxy-protocol: PROXY protocol version "v3"`},
		{"bad trusted prefix", []string{":8080", "127.0.0.1:1", "--forwarded", "--trust-forwarded=10.0.0.0/33"}, `"10.0.0.0/33"`},
		{"trust without --forwarded", []string{":8080", "127.0.0.1:1", "--trust-forwarded=10.0.0.0/8"}, `--trust-forwarded: needs --forwarded`},
		{"routes alike in normal form", []string{":8080", "127.0.0.1:1", "-r", "/api=127.0.0.1:2", "-r", "/%61pi=127.0.0.1:3"}, `/api`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.args...)
			if err == nil {
				t.Fatalf("%q accepted", tc.args)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line containing %q", msg, tc.want)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, tc := range []struct {
		flag string
		want []string
	}{
		{"--help", []string{"LISTEN_ADDRESS", "--route", "--rewrite", "API gateway", "Microservices", "Webhook fan-out", "--header-timeout"}},
		{"--version", []string{"proxyd " + Version}},
	} {
		var out bytes.Buffer
		exited := -1
		// Parse goes on after exit returns; only the exit status and the output matter here.
		Parse([]string{tc.flag}, &out, io.Discard, func(code int) {
			if exited < 0 {
				exited = code
			}
		})
		if exited != 0 {
			t.Errorf("%s: exit status %d, want 0", tc.flag, exited)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s output lacks %q:\n%s", tc.flag, w, out.String())
			}
		}
	}
}

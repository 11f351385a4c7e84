package router

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name   string
		def    string
		routes []Route
		opts   Options
		reason string
	}{
		{"empty default", "", nil, Options{}, `default backend: backend "": empty address`},
		{"default not canonical", "Host:080", nil, Options{}, `backend "Host:080" is not canonical (want "host:80"`},
		{"duplicate", "d:1", []Route{{Path: "/api", Backend: "a:1"}, {Path: "/api", Backend: "b:1"}}, Options{},
			`duplicate route "/api=b:1": "/api=a:1" already routes that path ("/api" in normal form)`},
		{"duplicate star", "d:1", []Route{{Path: "/a", Prefix: true, Backend: "a:1"}, {Path: "/a", Prefix: true, Backend: "a:1"}}, Options{},
			`duplicate route "/a*=a:1"`},
		{"duplicate in normal form", "d:1", []Route{{Path: "/api", Backend: "a:1"}, {Path: "/%61pi", Backend: "b:1"}}, Options{},
			`duplicate route "/%61pi=b:1": "/api=a:1" already routes that path ("/api" in normal form)`},
		{"duplicate slashes", "d:1", []Route{{Path: "//api//", Backend: "a:1"}, {Path: "/api/", Backend: "b:1"}}, Options{},
			`duplicate route "/api/=b:1": "//api//=a:1" already routes that path ("/api/" in normal form)`},
		{"duplicate hex case", "d:1", []Route{{Path: "/a%2f", Backend: "a:1"}, {Path: "/a%2F", Backend: "b:1"}}, Options{},
			`duplicate route "/a%2F=b:1": "/a%2f=a:1" already routes that path ("/a%2F" in normal form)`},
		{"duplicate decoded slash", "d:1", []Route{{Path: "/a/b", Backend: "a:1"}, {Path: "/a%2Fb", Backend: "b:1"}},
			Options{EscapedSlashes: Decode}, `duplicate route "/a%2Fb=b:1": "/a/b=a:1" already routes that path ("/a/b" in normal form)`},
		{"encoded slash rejected", "d:1", []Route{{Path: "/a%2fb", Backend: "a:1"}}, Options{EscapedSlashes: Reject},
			`route "/a%2fb=a:1": route path "/a%2fb": encoded slash (%2F) at byte 2, no request can match it`},
		{"unknown option", "d:1", nil, Options{EscapedSlashes: 3}, `options: unknown EscapedSlashes value 3`},
		{"backslash", "d:1", []Route{{Path: `/a\b`, Backend: "a:1"}}, Options{}, `route path "/a\\b": backslash`},
		{"bad path", "d:1", []Route{{Path: "api", Backend: "a:1"}}, Options{}, `route "api=a:1": route path "api": must start with "/"`},
		{"empty path", "d:1", []Route{{Path: "", Backend: "a:1"}}, Options{}, `route "=a:1": route path "": empty`},
		{"star inside", "d:1", []Route{{Path: "/a*", Prefix: true, Backend: "a:1"}}, Options{}, `"*" allowed only at the end`},
		{"route backend not canonical", "d:1", []Route{{Path: "/a", Backend: "[0::1]:1"}}, Options{}, `route "/a=[0::1]:1": backend "[0::1]:1" is not canonical`},
		{"route backend invalid", "d:1", []Route{{Path: "/a", Backend: "a"}}, Options{}, `route "/a=a": backend "a": missing port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := New(tt.def, tt.routes, tt.opts)
			if err == nil {
				t.Fatalf("New = %v, want an error", tab)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q, want it to contain %q", err, tt.reason)
			}
		})
	}
}

func TestNewNormalisesRoutePaths(t *testing.T) {
	tests := []struct {
		slashes EscapedSlashes
		spec    string
		want    string // the route as Routes gives it
	}{
		{Keep, "/%61pi=a:1", "/api=a:1"},
		{Keep, "//api//v1/=a:1", "/api/v1/=a:1"},
		{Keep, "/caf%c3%a9*=a:1", "/caf%C3%A9*=a:1"},
		{Keep, "/a%2fb=a:1", "/a%2Fb=a:1"},
		{Keep, "/%7e%2D%5f%2E=a:1", "/~-_.=a:1"},
		{Keep, "/a%3b%2c=a:1", "/a%3B%2C=a:1"},
		{Decode, "/a%2fb=a:1", "/a/b=a:1"},
		{Decode, "/%2F%2Fa%2F/=a:1", "/a/=a:1"},
		{Reject, "//=a:1", "/=a:1"},
	}
	for _, tt := range tests {
		tab := mustTableWith(t, Options{EscapedSlashes: tt.slashes}, "d:1", tt.spec)
		if got := tab.Routes()[0].String(); got != tt.want {
			t.Errorf("%v: route %q is %q in the table, want %q", tt.slashes, tt.spec, got, tt.want)
		}
	}
}

func TestNewAllowsSamePathWithAndWithoutStar(t *testing.T) {
	tab := mustTable(t, "d:1", "/api=a:1", "/api*=b:1")
	if got := len(tab.Routes()); got != 2 {
		t.Fatalf("%d routes, want 2", got)
	}
}

func TestBackends(t *testing.T) {
	tab := mustTable(t, "d:1", "/z=c:3", "/a=a:1", "/zz=c:3", "/b=d:1", "/y=b:2")
	want := []string{"d:1", "c:3", "a:1", "b:2"}
	if diff := cmp.Diff(want, tab.Backends()); diff != "" {
		t.Errorf("Backends() (-want +got):\n%s", diff)
	}
	tab.Backends()[0] = "changed:1"
	if got := tab.Backends()[0]; got != "d:1" {
		t.Errorf("Backends()[0] = %q after changing a returned slice; the table must not change", got)
	}
}

func TestRoutesInMatchOrder(t *testing.T) {
	tab := mustTable(t, "d:1", "/=a:1", "/api*=a:1", "/b=a:1", "/api/v2=a:1", "/api=a:1", "/a=a:1", "/*=a:1", "/api/=a:1")
	var got []string
	for _, r := range tab.Routes() {
		got = append(got, r.String())
	}
	want := []string{"/api/v2=a:1", "/api/=a:1", "/api=a:1", "/api*=a:1", "/a=a:1", "/b=a:1", "/=a:1", "/*=a:1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Routes() (-want +got):\n%s", diff)
	}
}

// matchCase is a request-target and the route that should take it ("default" for none).
type matchCase struct {
	target string
	route  string
}

func TestMatch(t *testing.T) {
	long := "/api/" + strings.Repeat("x", 64<<10)
	groups := []struct {
		name   string
		opts   Options
		routes []string
		cases  []matchCase
	}{
		{"readme example", Options{}, []string{"/api=b1:1", "/api/v2=b2:2", "/webhook=b3:3"}, []matchCase{
			{"/", "default"},
			{"/api", "/api=b1:1"},
			{"/api/users", "/api=b1:1"},
			{"/api/v2/users", "/api/v2=b2:2"},
			{"/api/v2", "/api/v2=b2:2"},
			{"/api/v2?x", "/api/v2=b2:2"},
			{"/api/v22", "/api=b1:1"},
			{"/webhook/stripe", "/webhook=b3:3"},
			{"/other", "default"},
			{"/api?x=1", "/api=b1:1"},
			{"/api?/v2", "/api=b1:1"},
		}},
		{"segment boundary", Options{}, []string{"/api=b1:1"}, []matchCase{
			{"/apiary", "default"},
			{"/api.json", "default"},
			{"/api/", "/api=b1:1"},
			{"/api//x", "/api=b1:1"},
			{"/ap", "default"},
			{"/API", "default"},
			{"/%41pi", "default"},
			{"/api;x", "default"},
			{long, "/api=b1:1"},
		}},
		{"normal form", Options{}, []string{"/api=b1:1", "/api/v2=b2:2", "/caf%C3%A9=utf:1", "/a%2Fb=enc:1"}, []matchCase{
			{"/%61pi/x", "/api=b1:1"},
			{"/%61%70%69", "/api=b1:1"},
			{"//api/x", "/api=b1:1"},
			{"///api", "/api=b1:1"},
			{"/api//v2//x", "/api/v2=b2:2"},
			{"/api/%76%32", "/api/v2=b2:2"},
			{"//%61pi//%762?q=%61", "/api/v2=b2:2"},
			{"http://h//api/x", "/api=b1:1"},
			{"/caf%c3%a9/x", "/caf%C3%A9=utf:1"},
			{"/caf%C3%a9", "/caf%C3%A9=utf:1"},
			{"/a%2fb", "/a%2Fb=enc:1"},
			{"/%61%2fb/", "/a%2Fb=enc:1"},
			{"/api%2Fv2", "default"},
			{"/api%2fx", "default"},
			{"/ap%69ary", "default"},
			{"/api%2e", "default"},
			{"/%2561pi", "default"},
		}},
		{"normal form over more than one window", Options{}, []string{"/" + strings.Repeat("a", 300) + "=long:1", "/a=short:1"}, []matchCase{
			{"/" + strings.Repeat("a", 300), "/" + strings.Repeat("a", 300) + "=long:1"},
			{"//" + strings.Repeat("%61", 300) + "//x", "/" + strings.Repeat("a", 300) + "=long:1"},
			{"/" + strings.Repeat("a/", 200), "/a=short:1"},
			{"/" + strings.Repeat("%61", 299) + "b", "default"},
			{"/" + strings.Repeat("%61", 301), "default"},
		}},
		{"encoded slash decoded", Options{EscapedSlashes: Decode}, []string{"/api=b1:1", "/a/b=ab:1", "/c%2Fd=cd:1"}, []matchCase{
			{"/api%2Fx", "/api=b1:1"},
			{"/%2Fapi", "/api=b1:1"},
			{"/%2f%2F/api%2f", "/api=b1:1"},
			{"/a%2Fb", "/a/b=ab:1"},
			{"/a%2f/b", "/a/b=ab:1"},
			{"/c/d", "/c/d=cd:1"},
			{"/c%2fd/e", "/c/d=cd:1"},
			{"/apiary", "default"},
		}},
		{"encoded slash rejected", Options{EscapedSlashes: Reject}, []string{"/api=b1:1"}, []matchCase{
			{"//api/x", "/api=b1:1"},
			{"/%61pi", "/api=b1:1"},
			{"/api?x=%2F", "/api=b1:1"},
		}},
		{"star route", Options{}, []string{"/api*=b1:1"}, []matchCase{
			{"/api", "/api*=b1:1"},
			{"/apiary", "/api*=b1:1"},
			{"/api.json?x", "/api*=b1:1"},
			{"/api/x", "/api*=b1:1"},
			{"/ap%69ary", "/api*=b1:1"},
			{"/api%2Fx", "/api*=b1:1"},
			{"/ap", "default"},
			{"/ap?i", "default"},
		}},
		{"star and plain on one path", Options{}, []string{"/api*=star:1", "/api=plain:1"}, []matchCase{
			{"/api", "/api=plain:1"},
			{"/api/x", "/api=plain:1"},
			{"/apiary", "/api*=star:1"},
		}},
		{"longer star beats shorter plain", Options{}, []string{"/api=plain:1", "/api/v*=star:1"}, []matchCase{
			{"/api/v", "/api/v*=star:1"},
			{"/api/v1", "/api/v*=star:1"},
			{"/api/x", "/api=plain:1"},
		}},
		{"trailing slash route", Options{}, []string{"/api/=b1:1"}, []matchCase{
			{"/api", "default"},
			{"/api?x", "default"},
			{"/api/", "/api/=b1:1"},
			{"/api/users", "/api/=b1:1"},
			{"/api//", "/api/=b1:1"},
			{"//api//x", "/api/=b1:1"},
			{"/apix", "default"},
		}},
		{"root route", Options{}, []string{"/=root:1", "/api=b1:1"}, []matchCase{
			{"/", "/=root:1"},
			{"/x", "/=root:1"},
			{"//", "/=root:1"},
			{"/apiary", "/=root:1"},
			{"/api/x", "/api=b1:1"},
			{"*", "default"},
			{"example.com:443", "default"},
			{"[::1]:443", "default"},
			{"http:80", "default"},
			{"http://h", "/=root:1"},
		}},
		{"double slash route", Options{}, []string{"//=b1:1", "/a//b=b2:1"}, []matchCase{
			{"//", "/=b1:1"},
			{"/", "/=b1:1"},
			{"/a/b/c", "/a/b=b2:1"},
			{"/a//b", "/a/b=b2:1"},
		}},
		{"bytes matched literally", Options{}, []string{"/a%2Fb=enc:1", "/caf\u00e9=utf:1", "/a/b=plain:1"}, []matchCase{
			{"/a%2Fb", "/a%2Fb=enc:1"},
			{"/a%2Fb/c", "/a%2Fb=enc:1"},
			{"/a/b", "/a/b=plain:1"},
			{"/caf\u00e9/x", "/caf\u00e9=utf:1"},
			{"/caf%C3%A9", "default"},
		}},
		{"absolute form", Options{}, []string{"/api=b1:1"}, []matchCase{
			{"http://host:8080/api/x?q", "/api=b1:1"},
			{"HTTP://host/api", "/api=b1:1"},
			{"https://host/api", "/api=b1:1"},
			{"hTtPs://host/api?x", "/api=b1:1"},
			{"http://host/%61pi", "/api=b1:1"},
			{"http://[::1]:8080/api", "/api=b1:1"},
			{"http://host:/api", "/api=b1:1"},
			{"http://host", "default"},
			{"http://host?/api", "default"},
			{"http://host/apiary", "default"},
		}},
		{"nested prefixes", Options{}, []string{"/a=n1:1", "/a/b=n2:1", "/a/b/c=n3:1", "/a/bc=n4:1", "/ab=n5:1"}, []matchCase{
			{"/a/b/c/d", "/a/b/c=n3:1"},
			{"/a/b/cd", "/a/b=n2:1"},
			{"/a/bc", "/a/bc=n4:1"},
			{"/a/bcd", "/a=n1:1"},
			{"/ab/c", "/ab=n5:1"},
			{"/abc", "default"},
			{"/a/x", "/a=n1:1"},
		}},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			tab := mustTableWith(t, g.opts, "default:1", g.routes...)
			for _, c := range g.cases {
				m, err := tab.Match([]byte(c.target))
				if err != nil {
					t.Errorf("Match(%.40q): %v", c.target, err)
					continue
				}
				if got := routeName(tab, m); got != c.route {
					t.Errorf("Match(%.40q) chose %q, want %q", c.target, got, c.route)
				}
				checkMatchConsistent(t, tab, string(Path([]byte(c.target))), m)
			}
		})
	}
}

func TestMatchStripsRawBytes(t *testing.T) {
	tests := []struct {
		opts   Options
		route  string
		target string
		strip  int
	}{
		{Options{}, "/api", "/api/x", 4},
		{Options{}, "/api", "//api/x", 5},
		{Options{}, "/api", "/%61pi/x", 6},
		{Options{}, "/api", "///%61%70%69//x?q=/api", 12},
		{Options{}, "/api/", "//api//x", 5},
		{Options{}, "/api*", "/ap%69ary", 6},
		{Options{}, "/a%2Fb", "/a%2fb/c", 6},
		{Options{}, "/", "//x", 0},
		{Options{}, "/*", "//x", 0},
		{Options{EscapedSlashes: Decode}, "/api", "/%2Fapi%2Fx", 7},
		{Options{EscapedSlashes: Decode}, "/a/b", "/a%2F%2fb/c", 9},
		{Options{}, "/" + strings.Repeat("a", 200), "//" + strings.Repeat("%61", 200) + "/x", 602},
	}
	for _, tt := range tests {
		tab := mustTableWith(t, tt.opts, "d:1", tt.route+"=r:1")
		m, err := tab.Match([]byte(tt.target))
		if err != nil {
			t.Fatalf("Match(%.40q): %v", tt.target, err)
		}
		if diff := cmp.Diff(Match{Backend: 1, Route: 0, Strip: tt.strip}, m); diff != "" {
			t.Errorf("route %.40q: Match(%.40q) (-want +got):\n%s", tt.route, tt.target, diff)
		}
	}
}

// checkMatchConsistent checks that m's backend and strip agree with its route, for the raw path.
func checkMatchConsistent(t *testing.T, tab *Table, path string, m Match) {
	t.Helper()
	want := Match{Backend: 0, Route: -1}
	if m.Route >= 0 {
		r := tab.Routes()[m.Route]
		want = Match{Route: m.Route, Strip: modelStrip(path, strings.TrimSuffix(r.Path, "/"), tab.slashes)}
		for i, b := range tab.Backends() {
			if b == r.Backend {
				want.Backend = i
				break
			}
		}
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("path %.40q: inconsistent Match (-want +got):\n%s", path, diff)
	}
}

func TestMatchRouteOnDefaultBackend(t *testing.T) {
	tab := mustTable(t, "d:1", "/a=d:1")
	m, err := tab.Match([]byte("/a/x"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Match{Backend: 0, Route: 0, Strip: 2}, m); diff != "" {
		t.Errorf("Match (-want +got):\n%s", diff)
	}
}

func TestMatchEmptyTable(t *testing.T) {
	tab := mustTable(t, "d:1")
	for _, target := range []string{"/", "/x", "*", "http://h/x"} {
		m, err := tab.Match([]byte(target))
		if err != nil {
			t.Fatalf("Match(%q): %v", target, err)
		}
		if diff := cmp.Diff(Match{Route: -1}, m); diff != "" {
			t.Errorf("Match(%q) (-want +got):\n%s", target, diff)
		}
	}
}

func TestMatchConcurrently(t *testing.T) {
	const (
		goroutines = 8
		rounds     = 1000
	)
	tab := benchTable(t, 100)
	targets := map[string]string{
		"/svc42/v1/x":  "/svc42/v1=10.0.0.42:8080",
		"/svc40/v2abc": "/svc40/v2*=10.0.0.40:8080",
		"/svc42/v2":    "default",
		"//svc42/%761": "/svc42/v1=10.0.0.42:8080",
	}
	var wg sync.WaitGroup
	errs := make(chan string, goroutines)
	for range goroutines {
		wg.Go(func() {
			for range rounds {
				for target, want := range targets {
					m, err := tab.Match([]byte(target))
					if got := routeName(tab, m); err != nil || got != want {
						errs <- fmt.Sprintf("Match(%q) = %q, %v; want %q", target, got, err, want)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

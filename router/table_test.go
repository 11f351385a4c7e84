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
		reason string
	}{
		{"empty default", "", nil, `default backend: backend "": empty address`},
		{"default not canonical", "Host:080", nil, `backend "Host:080" is not canonical (want "host:80"`},
		{"duplicate", "d:1", []Route{{Path: "/api", Backend: "a:1"}, {Path: "/api", Backend: "b:1"}},
			`duplicate route "/api=b:1": "/api=a:1" already routes that path`},
		{"duplicate star", "d:1", []Route{{Path: "/a", Prefix: true, Backend: "a:1"}, {Path: "/a", Prefix: true, Backend: "a:1"}},
			`duplicate route "/a*=a:1"`},
		{"bad path", "d:1", []Route{{Path: "api", Backend: "a:1"}}, `route "api=a:1": route path "api": must start with "/"`},
		{"empty path", "d:1", []Route{{Path: "", Backend: "a:1"}}, `route "=a:1": route path "": empty`},
		{"star inside", "d:1", []Route{{Path: "/a*", Prefix: true, Backend: "a:1"}}, `"*" allowed only at the end`},
		{"route backend not canonical", "d:1", []Route{{Path: "/a", Backend: "[0::1]:1"}}, `route "/a=[0::1]:1": backend "[0::1]:1" is not canonical`},
		{"route backend invalid", "d:1", []Route{{Path: "/a", Backend: "a"}}, `route "/a=a": backend "a": missing port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := New(tt.def, tt.routes)
			if err == nil {
				t.Fatalf("New = %v, want an error", tab)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q, want it to contain %q", err, tt.reason)
			}
		})
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
		routes []string
		cases  []matchCase
	}{
		{"spec example", []string{"/api=b1:1", "/api/v2=b2:2", "/webhook=b3:3"}, []matchCase{
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
		{"segment boundary", []string{"/api=b1:1"}, []matchCase{
			{"/apiary", "default"},
			{"/api.json", "default"},
			{"/api/", "/api=b1:1"},
			{"/api//x", "/api=b1:1"},
			{"/ap", "default"},
			{"/API", "default"},
			{"/%41pi", "default"},
			{"//api", "default"},
			{long, "/api=b1:1"},
		}},
		{"star route", []string{"/api*=b1:1"}, []matchCase{
			{"/api", "/api*=b1:1"},
			{"/apiary", "/api*=b1:1"},
			{"/api.json?x", "/api*=b1:1"},
			{"/api/x", "/api*=b1:1"},
			{"/ap", "default"},
			{"/ap?i", "default"},
		}},
		{"star and plain on one path", []string{"/api*=star:1", "/api=plain:1"}, []matchCase{
			{"/api", "/api=plain:1"},
			{"/api/x", "/api=plain:1"},
			{"/apiary", "/api*=star:1"},
		}},
		{"longer star beats shorter plain", []string{"/api=plain:1", "/api/v*=star:1"}, []matchCase{
			{"/api/v", "/api/v*=star:1"},
			{"/api/v1", "/api/v*=star:1"},
			{"/api/x", "/api=plain:1"},
		}},
		{"trailing slash route", []string{"/api/=b1:1"}, []matchCase{
			{"/api", "default"},
			{"/api?x", "default"},
			{"/api/", "/api/=b1:1"},
			{"/api/users", "/api/=b1:1"},
			{"/api//", "/api/=b1:1"},
			{"/apix", "default"},
		}},
		{"root route", []string{"/=root:1", "/api=b1:1"}, []matchCase{
			{"/", "/=root:1"},
			{"/x", "/=root:1"},
			{"//", "/=root:1"},
			{"/apiary", "/=root:1"},
			{"/api/x", "/api=b1:1"},
			{"*", "default"},
			{"example.com:443", "default"},
			{"", "default"},
			{"http://h", "/=root:1"},
		}},
		{"double slash route", []string{"//=b1:1", "/a//b=b2:1"}, []matchCase{
			{"//", "//=b1:1"},
			{"//x", "//=b1:1"},
			{"/", "default"},
			{"/a//b/c", "/a//b=b2:1"},
			{"/a/b", "default"},
		}},
		{"bytes matched literally", []string{"/a%2Fb=enc:1", "/caf\u00e9=utf:1", "/a/b=plain:1"}, []matchCase{
			{"/a%2Fb", "/a%2Fb=enc:1"},
			{"/a%2Fb/c", "/a%2Fb=enc:1"},
			{"/a%2fb", "default"},
			{"/a/b", "/a/b=plain:1"},
			{"/caf\u00e9/x", "/caf\u00e9=utf:1"},
			{"/caf%C3%A9", "default"},
		}},
		{"absolute form", []string{"/api=b1:1"}, []matchCase{
			{"http://host:8080/api/x?q", "/api=b1:1"},
			{"HTTP://host/api", "/api=b1:1"},
			{"https://host/api", "/api=b1:1"},
			{"hTtPs://host/api?x", "/api=b1:1"},
			{"http://host", "default"},
			{"http://host?/api", "default"},
			{"http://host/apiary", "default"},
			{"ftp://host/api", "default"},
			{"http:/api", "default"},
			{"api", "default"},
		}},
		{"nested prefixes", []string{"/a=n1:1", "/a/b=n2:1", "/a/b/c=n3:1", "/a/bc=n4:1", "/ab=n5:1"}, []matchCase{
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
			tab := mustTable(t, "default:1", g.routes...)
			for _, c := range g.cases {
				m, err := tab.Match([]byte(c.target))
				if err != nil {
					t.Errorf("Match(%.40q): %v", c.target, err)
					continue
				}
				if got := routeName(tab, m); got != c.route {
					t.Errorf("Match(%.40q) chose %q, want %q", c.target, got, c.route)
				}
				checkMatchConsistent(t, tab, m)
			}
		})
	}
}

// checkMatchConsistent checks that m's backend and strip agree with its route.
func checkMatchConsistent(t *testing.T, tab *Table, m Match) {
	t.Helper()
	want := Match{Backend: 0, Route: -1}
	if m.Route >= 0 {
		r := tab.Routes()[m.Route]
		want = Match{Route: m.Route, Strip: len(strings.TrimSuffix(r.Path, "/"))}
		for i, b := range tab.Backends() {
			if b == r.Backend {
				want.Backend = i
				break
			}
		}
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("inconsistent Match (-want +got):\n%s", diff)
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

package router

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRouteAccepts(t *testing.T) {
	tests := []struct {
		spec string
		want Route
	}{
		{"/api=127.0.0.1:8080", Route{Path: "/api", Backend: "127.0.0.1:8080"}},
		{"/api/=b:1", Route{Path: "/api/", Backend: "b:1"}},
		{"/api*=b:1", Route{Path: "/api", Prefix: true, Backend: "b:1"}},
		{"/api/*=b:1", Route{Path: "/api/", Prefix: true, Backend: "b:1"}},
		{"/=b:1", Route{Path: "/", Backend: "b:1"}},
		{"/*=b:1", Route{Path: "/", Prefix: true, Backend: "b:1"}},
		{"/key=value=[::1]:9", Route{Path: "/key=value", Backend: "[::1]:9"}},
		{"/caf\u00e9/%2F/x=B:01", Route{Path: "/caf\u00e9/%2F/x", Backend: "b:1"}},
		{"/.well-known/acme=b:1", Route{Path: "/.well-known/acme", Backend: "b:1"}},
		{"/a..b/..c/.d=b:1", Route{Path: "/a..b/..c/.d", Backend: "b:1"}},
		{"//=b:1", Route{Path: "//", Backend: "b:1"}},
		{"/%61pi//x=b:1", Route{Path: "/%61pi//x", Backend: "b:1"}}, // kept as written; New normalises
		{"/a;v=1/b..;x=b:1", Route{Path: "/a;v=1/b..;x", Backend: "b:1"}},
		{"/a/...;=b:1", Route{Path: "/a/...;", Backend: "b:1"}},
		{"/a%2fb%c3%a9=b:1", Route{Path: "/a%2fb%c3%a9", Backend: "b:1"}},
	}
	for _, tt := range tests {
		got, err := ParseRoute(tt.spec)
		if err != nil {
			t.Errorf("ParseRoute(%q): %v", tt.spec, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseRoute(%q) (-want +got):\n%s", tt.spec, diff)
		}
	}
}

func TestParseRouteRejects(t *testing.T) {
	tests := []struct {
		spec   string
		names  string // the input the error must name, quoted
		reason string
	}{
		{"/api", "/api", `missing "="`},
		{"", "", `missing "="`},
		{"=b:1", "", "empty"},
		{"*=b:1", "", "empty"},
		{"api=b:1", "api", `must start with "/"`},
		{"/a*b=b:1", "/a*b", `"*" allowed only at the end (byte 2)`},
		{"/a**=b:1", "/a*", `"*" allowed only at the end`},
		{"/a?x=1=b:1", "/a?x=1", `'?' not allowed`},
		{"/a#x=b:1", "/a#x", `'#' not allowed`},
		{"/a b=b:1", "/a b", `' ' not allowed`},
		{"/a\tb=b:1", "/a\tb", `'\t' not allowed`},
		{"/a\x7fb=b:1", "/a\x7fb", `not allowed`},
		{"/a/../b=b:1", "/a/../b", "dot segment at byte 3"},
		{"/a/%2e=b:1", "/a/%2e", "dot segment"},
		{"/a%00=b:1", "/a%00", "encoded NUL"},
		{"/a%zz=b:1", "/a%zz", "two hex digits"},
		{"/a/..;=b:1", "/a/..;", "dot segment at byte 3"},
		{"/a/%2e%2E%3bx/b=b:1", "/a/%2e%2E%3bx/b", "dot segment at byte 3"},
		{`/a\b=b:1`, `/a\b`, "backslash"},
		{"/a%5cb=b:1", "/a%5cb", "encoded backslash (%5C) at byte 2"},
		{"/api=b", "b", "missing port"},
		{"/api=b:0", "b:0", "out of range"},
		{"/api=", "", "empty address"},
	}
	for _, tt := range tests {
		got, err := ParseRoute(tt.spec)
		if err == nil {
			t.Errorf("ParseRoute(%q) = %v, want an error", tt.spec, got)
			continue
		}
		if !strings.Contains(err.Error(), strconv.Quote(tt.names)) || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("ParseRoute(%q) error %q: want it to name %q and say %q", tt.spec, err, tt.names, tt.reason)
		}
	}
}

func TestRouteStringRoundTrip(t *testing.T) {
	for _, spec := range []string{"/api=b:1", "/api*=b:1", "/=[::1]:80", "/a=b=c:2", "/x/*=h:65535"} {
		r, err := ParseRoute(spec)
		if err != nil {
			t.Fatalf("ParseRoute(%q): %v", spec, err)
		}
		if got := r.String(); got != spec {
			t.Errorf("ParseRoute(%q).String() = %q", spec, got)
		}
	}
}

func TestRoutePattern(t *testing.T) {
	for _, tt := range []struct{ spec, want string }{
		{"/api=b:1", "/api"},
		{"/api*=b:1", "/api*"},
		{"/=b:1", "/"},
		{"/a=b=c:2", "/a=b"},
		{"/x/*=h:65535", "/x/*"},
	} {
		r, err := ParseRoute(tt.spec)
		if err != nil {
			t.Fatalf("ParseRoute(%q): %v", tt.spec, err)
		}
		if got := r.Pattern(); got != tt.want {
			t.Errorf("ParseRoute(%q).Pattern() = %q, want %q", tt.spec, got, tt.want)
		}
	}
}

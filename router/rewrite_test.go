package router

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rewriteCase is a table of one route, a target it matches and what Rewrite makes of the target.
type rewriteCase struct {
	route, target, want string
}

// checkRewrites checks each case with a table built with opts.
func checkRewrites(t *testing.T, opts Options, cases []rewriteCase) {
	t.Helper()
	for _, tt := range cases {
		tab := mustTableWith(t, opts, "d:1", tt.route+"=r:1")
		m, err := tab.Match([]byte(tt.target))
		if err != nil {
			t.Fatalf("Match(%q): %v", tt.target, err)
		}
		prefix := []byte("GET ")
		got, err := Rewrite(prefix, []byte(tt.target), m)
		if err != nil || string(got) != "GET "+tt.want {
			t.Errorf("%v, route %q: Rewrite(%q) = %q, %v; want %q", opts.EscapedSlashes, tt.route, tt.target, got[len(prefix):], err, tt.want)
		}
	}
}

func TestRewrite(t *testing.T) {
	checkRewrites(t, Options{}, []rewriteCase{
		{"/api", "/api/users", "/users"},
		{"/api", "/api", "/"},
		{"/api", "/api?x=1", "/?x=1"},
		{"/api", "/api/?x=1", "/?x=1"},
		{"/api", "/api//x", "//x"},
		{"/api", "/api/a%2Fb?q=/api", "/a%2Fb?q=/api"},
		{"/api", "/other", "/other"},
		{"/api", "*", "*"},
		{"/api", "h:443", "h:443"},
		{"/api*", "/apiary", "/ary"},
		{"/api*", "/api", "/"},
		{"/api*", "/api/x", "/x"},
		{"/api*", "/api.json?v", "/.json?v"},
		{"/api/", "/api/users", "/users"},
		{"/api/", "/api/", "/"},
		{"/api/", "/api/?x", "/?x"},
		{"/api/", "/api", "/api"},
		{"/api/*", "/api/x", "/x"},
		{"/", "/x/y?z", "/x/y?z"},
		{"/", "//x", "//x"},
		{"/*", "/x", "/x"},
		{"/api", "http://h:8080/api/x?q", "http://h:8080/x?q"},
		{"/api", "HTTPS://h/api", "HTTPS://h/"},
		{"/api", "http://h/api?q", "http://h/?q"},
		{"/", "http://h", "http://h/"},
		{"/", "http://h?q", "http://h/?q"},
		{"/a%2Fb", "/a%2Fb/c", "/c"},
		// The raw bytes that normalise to the route are removed; the rest is kept as sent.
		{"/api", "//api/x", "/x"},
		{"/api", "/%61pi/x", "/x"},
		{"/api", "/%61pi/%78?%61", "/%78?%61"},
		{"/api", "//api//%2fx", "//%2fx"},
		{"/api/", "//%61pi//x", "//x"},
		{"/api*", "/ap%69ary", "/ary"},
		{"/api*", "/ap%69%61ry", "/%61ry"},
		{"/a%2Fb", "/a%2fb/c", "/c"},
		{"/caf%C3%A9", "/caf%c3%a9/%c3%a9", "/%c3%a9"},
		{"/api", "http://h//%61pi/x?q", "http://h/x?q"},
	})
}

func TestRewriteDecodedSlashes(t *testing.T) {
	checkRewrites(t, Options{EscapedSlashes: Decode}, []rewriteCase{
		{"/api", "/%2Fapi/x", "/x"},
		{"/api", "/api%2Fx", "/%2Fx"},
		{"/a/b", "/a%2f%2Fb/c?d", "/c?d"},
	})
}

func TestRewriteRejectsAmbiguousResults(t *testing.T) {
	tests := []struct {
		route  string
		target string
		want   PathError
	}{
		{"/pre*", "/pre../admin", PathError{Path: "/../admin", Offset: 1, Reason: ReasonDotSegment}},
		{"/pre*", "/pre..", PathError{Path: "/..", Offset: 1, Reason: ReasonDotSegment}},
		{"/pre*", "/pre.?x", PathError{Path: "/.", Offset: 1, Reason: ReasonDotSegment}},
		{"/pre*", "/pre.;/x", PathError{Path: "/.;/x", Offset: 1, Reason: ReasonDotSegment}},
		{"/pre*", "/pre..;x=1/admin", PathError{Path: "/..;x=1/admin", Offset: 1, Reason: ReasonDotSegment}},
		{"/pre*", "/pre%2e%2e/admin", PathError{Path: "/%2e%2e/admin", Offset: 1, Reason: ReasonDotSegment}},
		{"/pre*", "/pr%65.%2E%3b/x", PathError{Path: "/.%2E%3b/x", Offset: 1, Reason: ReasonDotSegment}},
		{"/pre*", "//pre..%2Fadmin", PathError{Path: "/..%2Fadmin", Offset: 1, Reason: ReasonDotSegment}},
		{"/pre*", "http://h/pre../x?q", PathError{Path: "/../x", Offset: 1, Reason: ReasonDotSegment}},
	}
	for _, tt := range tests {
		tab := mustTable(t, "d:1", tt.route+"=r:1")
		m, err := tab.Match([]byte(tt.target))
		if err != nil || m.Route != 0 {
			t.Fatalf("route %q: Match(%q) = %+v, %v; want the route", tt.route, tt.target, m, err)
		}
		dst := []byte("GET ")
		got, err := Rewrite(dst, []byte(tt.target), m)
		var pe *PathError
		if !errors.As(err, &pe) {
			t.Errorf("route %q: Rewrite(%q) = %q, %v; want a *PathError", tt.route, tt.target, got, err)
			continue
		}
		if diff := cmp.Diff(tt.want, *pe); diff != "" {
			t.Errorf("route %q: Rewrite(%q) error (-want +got):\n%s", tt.route, tt.target, diff)
		}
		if string(got) != "GET " {
			t.Errorf("route %q: Rewrite(%q) with an error returns %q, want dst as given", tt.route, tt.target, got)
		}
	}
}

func TestRewriteClampsStrip(t *testing.T) {
	tests := []struct {
		target string
		m      Match
		want   string
	}{
		{"/ab?q", Match{Route: 0, Strip: 99}, "/?q"},
		{"/ab", Match{Route: 0, Strip: -5}, "/ab"},
		{"http://h", Match{Route: 0, Strip: 3}, "http://h/"},
		{"/ab", Match{Route: -1, Strip: 2}, "/ab"},
		{"*", Match{Route: 0, Strip: 1}, "*"},
		{"h:443", Match{Route: 0, Strip: 1}, "h:443"},
		{"foo", Match{Route: -1}, "foo"},
	}
	for _, tt := range tests {
		if got, err := Rewrite(nil, []byte(tt.target), tt.m); err != nil || string(got) != tt.want {
			t.Errorf("Rewrite(%q, %+v) = %q, %v; want %q", tt.target, tt.m, got, err, tt.want)
		}
	}
}

func TestRewriteChecksWhatMatchWouldReject(t *testing.T) {
	tests := []struct {
		target string
		m      Match
		want   PathError
	}{
		{`/pre\x`, Match{Route: 0, Strip: 4}, PathError{Path: `/\x`, Offset: 1, Reason: ReasonBackslash}},
		{"/pre%5Cx", Match{Route: 0, Strip: 4}, PathError{Path: "/%5Cx", Offset: 1, Reason: ReasonEncodedBackslash}},
		{"/a/../b", Match{Route: 0, Strip: 0}, PathError{Path: "/a/../b", Offset: 3, Reason: ReasonDotSegment}},
		{"ws://h/x", Match{Route: 0}, PathError{Path: "ws://h/x", Reason: ReasonScheme}},
		{"foo", Match{Route: 0}, PathError{Path: "foo", Reason: ReasonMalformedTarget}},
	}
	for _, tt := range tests {
		_, err := Rewrite(nil, []byte(tt.target), tt.m)
		var pe *PathError
		if !errors.As(err, &pe) {
			t.Errorf("Rewrite(%q, %+v): %v, want a *PathError", tt.target, tt.m, err)
			continue
		}
		if diff := cmp.Diff(tt.want, *pe); diff != "" {
			t.Errorf("Rewrite(%q, %+v) error (-want +got):\n%s", tt.target, tt.m, diff)
		}
	}
}

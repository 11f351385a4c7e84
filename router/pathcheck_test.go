package router

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMatchRejectsAmbiguousPaths(t *testing.T) {
	tests := []struct {
		target string
		want   PathError
	}{
		{"/a/../b", PathError{Path: "/a/../b", Offset: 3, Reason: ReasonDotSegment}},
		{"/a/./b", PathError{Path: "/a/./b", Offset: 3, Reason: ReasonDotSegment}},
		{"/..", PathError{Path: "/..", Offset: 1, Reason: ReasonDotSegment}},
		{"/.", PathError{Path: "/.", Offset: 1, Reason: ReasonDotSegment}},
		{"/a/..", PathError{Path: "/a/..", Offset: 3, Reason: ReasonDotSegment}},
		{"/a/.?x", PathError{Path: "/a/.", Offset: 3, Reason: ReasonDotSegment}},
		{"/%2e%2e/x", PathError{Path: "/%2e%2e/x", Offset: 1, Reason: ReasonDotSegment}},
		{"/.%2E/", PathError{Path: "/.%2E/", Offset: 1, Reason: ReasonDotSegment}},
		{"/%2E./", PathError{Path: "/%2E./", Offset: 1, Reason: ReasonDotSegment}},
		{"/%2e/", PathError{Path: "/%2e/", Offset: 1, Reason: ReasonDotSegment}},
		{"/a/%2E%2e?x", PathError{Path: "/a/%2E%2e", Offset: 3, Reason: ReasonDotSegment}},
		{"/a/..%2Fb", PathError{Path: "/a/..%2Fb", Offset: 3, Reason: ReasonDotSegment}},
		{"/a%2F..%2fb", PathError{Path: "/a%2F..%2fb", Offset: 5, Reason: ReasonDotSegment}},
		{"/a%2f.", PathError{Path: "/a%2f.", Offset: 5, Reason: ReasonDotSegment}},
		{"//../x", PathError{Path: "//../x", Offset: 2, Reason: ReasonDotSegment}},
		{"http://h/a/../b?q", PathError{Path: "/a/../b", Offset: 3, Reason: ReasonDotSegment}},
		{"HTTPS://h/%2e", PathError{Path: "/%2e", Offset: 1, Reason: ReasonDotSegment}},
		// A path parameter after a dot segment: Tomcat and Spring strip it, then resolve the dots.
		{"/api/..;/admin", PathError{Path: "/api/..;/admin", Offset: 5, Reason: ReasonDotSegment}},
		{"/api/.;/admin", PathError{Path: "/api/.;/admin", Offset: 5, Reason: ReasonDotSegment}},
		{"/api/.;x", PathError{Path: "/api/.;x", Offset: 5, Reason: ReasonDotSegment}},
		{"/api/..;", PathError{Path: "/api/..;", Offset: 5, Reason: ReasonDotSegment}},
		{"/api/%2e%2e;x=1/admin", PathError{Path: "/api/%2e%2e;x=1/admin", Offset: 5, Reason: ReasonDotSegment}},
		{"/api/..%3B/admin", PathError{Path: "/api/..%3B/admin", Offset: 5, Reason: ReasonDotSegment}},
		{"/api/.%2E%3bx/admin", PathError{Path: "/api/.%2E%3bx/admin", Offset: 5, Reason: ReasonDotSegment}},
		{"/..;a;b", PathError{Path: "/..;a;b", Offset: 1, Reason: ReasonDotSegment}},
		// Backslashes: refused anywhere, and ends of a segment before that.
		{`/api\admin`, PathError{Path: `/api\admin`, Offset: 4, Reason: ReasonBackslash}},
		{`\`, PathError{Path: `\`, Offset: 0, Reason: ReasonMalformedTarget}},
		{`/\api`, PathError{Path: `/\api`, Offset: 1, Reason: ReasonBackslash}},
		{`/api/..\admin`, PathError{Path: `/api/..\admin`, Offset: 5, Reason: ReasonDotSegment}},
		{"/api/..%5cadmin", PathError{Path: "/api/..%5cadmin", Offset: 5, Reason: ReasonDotSegment}},
		{"/api/..%5Cadmin", PathError{Path: "/api/..%5Cadmin", Offset: 5, Reason: ReasonDotSegment}},
		{"/api%5Cadmin", PathError{Path: "/api%5Cadmin", Offset: 4, Reason: ReasonEncodedBackslash}},
		{"/%5capi/x", PathError{Path: "/%5capi/x", Offset: 1, Reason: ReasonEncodedBackslash}},
		{"http://h/a%5C", PathError{Path: "/a%5C", Offset: 2, Reason: ReasonEncodedBackslash}},
		{`http://h\api/x`, PathError{Path: `http://h\api/x`, Offset: 8, Reason: ReasonBackslash}},
		{"http://u@h/api/x", PathError{Path: "http://u@h/api/x", Offset: 7, Reason: ReasonAuthority}},
		// Encoded NUL and malformed escapes.
		{"/a%00", PathError{Path: "/a%00", Offset: 2, Reason: ReasonEncodedNUL}},
		{"/%00/..", PathError{Path: "/%00/..", Offset: 1, Reason: ReasonEncodedNUL}},
		{"/a%", PathError{Path: "/a%", Offset: 2, Reason: ReasonBadEscape}},
		{"/%", PathError{Path: "/%", Offset: 1, Reason: ReasonBadEscape}},
		{"/%4", PathError{Path: "/%4", Offset: 1, Reason: ReasonBadEscape}},
		{"/%4?1", PathError{Path: "/%4", Offset: 1, Reason: ReasonBadEscape}},
		{"/%zz", PathError{Path: "/%zz", Offset: 1, Reason: ReasonBadEscape}},
		{"/%g0", PathError{Path: "/%g0", Offset: 1, Reason: ReasonBadEscape}},
		{"/%0g", PathError{Path: "/%0g", Offset: 1, Reason: ReasonBadEscape}},
		{"/ok/%%41", PathError{Path: "/ok/%%41", Offset: 4, Reason: ReasonBadEscape}},
		// A fragment, which a request-target never carries: refused before anything else.
		{"/admin#x", PathError{Path: "/admin#x", Offset: 6, Reason: ReasonFragment}},
		{"/api#/../admin", PathError{Path: "/api#/../admin", Offset: 4, Reason: ReasonFragment}},
		{"/a?x#y", PathError{Path: "/a?x#y", Offset: 4, Reason: ReasonFragment}},
		{"http://h/a#", PathError{Path: "http://h/a#", Offset: 10, Reason: ReasonFragment}},
		{"*#", PathError{Path: "*#", Offset: 1, Reason: ReasonFragment}},
		// Targets: other schemes, malformed absolute-form, none of the forms of RFC 9112 §3.2.
		{"ws://h/api/x", PathError{Path: "ws://h/api/x", Reason: ReasonScheme}},
		{"WSS://h/api/x", PathError{Path: "WSS://h/api/x", Reason: ReasonScheme}},
		{"ftp://h/api/x", PathError{Path: "ftp://h/api/x", Reason: ReasonScheme}},
		{"httpx://h/api", PathError{Path: "httpx://h/api", Reason: ReasonScheme}},
		{"a:b", PathError{Path: "a:b", Reason: ReasonScheme}},
		{"h:", PathError{Path: "h:", Reason: ReasonScheme}},
		{"http:/api/x", PathError{Path: "http:/api/x", Reason: ReasonMalformedTarget}},
		{"http:x", PathError{Path: "http:x", Reason: ReasonMalformedTarget}},
		{"HTTPS:", PathError{Path: "HTTPS:", Reason: ReasonMalformedTarget}},
		{"http//x", PathError{Path: "http//x", Reason: ReasonMalformedTarget}},
		{"://x", PathError{Path: "://x", Reason: ReasonMalformedTarget}},
		{"1http://h/x", PathError{Path: "1http://h/x", Reason: ReasonMalformedTarget}},
		{"foo", PathError{Path: "foo", Reason: ReasonMalformedTarget}},
		{"api/x", PathError{Path: "api/x", Reason: ReasonMalformedTarget}},
		{"", PathError{Path: "", Reason: ReasonMalformedTarget}},
		{"**", PathError{Path: "**", Reason: ReasonMalformedTarget}},
		{"*?x", PathError{Path: "*?x", Reason: ReasonMalformedTarget}},
		{"?x", PathError{Path: "?x", Reason: ReasonMalformedTarget}},
		{"[::1]", PathError{Path: "[::1]", Reason: ReasonMalformedTarget}},
		{"a b:80", PathError{Path: "a b:80", Reason: ReasonMalformedTarget}},
	}
	tab := mustTable(t, "d:1", "/=root:1", "/a=a:1")
	for _, tt := range tests {
		m, err := tab.Match([]byte(tt.target))
		var pe *PathError
		if !errors.As(err, &pe) {
			t.Errorf("Match(%q) = %+v, %v; want a *PathError", tt.target, m, err)
			continue
		}
		if diff := cmp.Diff(tt.want, *pe); diff != "" {
			t.Errorf("Match(%q) error (-want +got):\n%s", tt.target, diff)
		}
		if diff := cmp.Diff(Match{Route: -1}, m); diff != "" {
			t.Errorf("Match(%q) with an error (-want +got):\n%s", tt.target, diff)
		}
	}
}

func TestMatchEscapedSlashes(t *testing.T) {
	tests := []struct {
		target string
		want   map[EscapedSlashes]string // the route taken, or the reason of the error
	}{
		{"/api%2Fx", map[EscapedSlashes]string{Keep: "default", Reject: ReasonEncodedSlash, Decode: "/api=api:1"}},
		{"/api%2fx", map[EscapedSlashes]string{Keep: "default", Reject: ReasonEncodedSlash, Decode: "/api=api:1"}},
		{"/%2Fapi", map[EscapedSlashes]string{Keep: "default", Reject: ReasonEncodedSlash, Decode: "/api=api:1"}},
		{"/a%2Fb", map[EscapedSlashes]string{Keep: "/a%2Fb=enc:1", Reject: ReasonEncodedSlash, Decode: "/a/b=enc:1"}},
		{"/api/..%2F", map[EscapedSlashes]string{Keep: ReasonDotSegment, Reject: ReasonDotSegment, Decode: ReasonDotSegment}},
		{"/api?a%2Fb", map[EscapedSlashes]string{Keep: "/api=api:1", Reject: "/api=api:1", Decode: "/api=api:1"}},
		{"/api/x", map[EscapedSlashes]string{Keep: "/api=api:1", Reject: "/api=api:1", Decode: "/api=api:1"}},
	}
	for _, slashes := range allEscapedSlashes() {
		specs := []string{"/api=api:1", "/a%2Fb=enc:1"}
		if slashes == Reject {
			specs = specs[:1]
		}
		tab := mustTableWith(t, Options{EscapedSlashes: slashes}, "d:1", specs...)
		for _, tt := range tests {
			m, err := tab.Match([]byte(tt.target))
			got := routeName(tab, m)
			var pe *PathError
			if errors.As(err, &pe) {
				got = pe.Reason
			}
			if want := tt.want[slashes]; got != want {
				t.Errorf("%v: Match(%q) gives %q, %v; want %q", slashes, tt.target, got, err, want)
			}
		}
	}
}

func TestMatchAcceptsUnambiguousPaths(t *testing.T) {
	tab := mustTable(t, "d:1", "/=root:1")
	for _, target := range []string{
		"/a..b", "/.well-known/x", "/a/.b", "/..a", "/a../", "/.../x", "/a/...", "/%2e%2e%2e",
		"/.%2e.", "/%2ea", "/a%2Fb", "/%41pi", "/%ff", "/%25", "/%2500", "/%255C", "//", "/a//b", "/",
		"/...;/x", "/a..;/x", "/;/x", "/;", "/a;..", "/x/.a;b", "/%3B..", "/..a%3B",
		"/x?/../y", "/x?%00", "/x?%zz", "/x?.", `/x?\`, "/x?%5C", "http://h/a?/..", "http://h", "http://h?..",
		"*", "h:443", "example.com:443", "[::1]:443", "[v1.x]:1", "http:80", "a%41:1", "h!$&'()*+,;=:1",
		"/" + strings.Repeat("a/", 32<<10), strings.Repeat("/", 1000) + "x",
	} {
		if m, err := tab.Match([]byte(target)); err != nil {
			t.Errorf("Match(%.40q) = %+v, %v; want no error", target, m, err)
		}
	}
}

func TestPathErrorMessage(t *testing.T) {
	tab := mustTable(t, "d:1")
	_, err := tab.Match([]byte("/a/../b?q"))
	want := `router: bad path "/a/../b" at byte 3: dot segment`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

func TestPathErrorTruncatesLongPath(t *testing.T) {
	tab := mustTable(t, "d:1")
	path := "/" + strings.Repeat("x", 64<<10) + "/.."
	_, err := tab.Match([]byte(path))
	var pe *PathError
	if !errors.As(err, &pe) {
		t.Fatalf("Match: %v, want a *PathError", err)
	}
	want := PathError{Path: path[:maxErrorPath] + "...", Offset: len(path) - 2, Reason: ReasonDotSegment}
	if diff := cmp.Diff(want, *pe); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
}

func TestPathCheckAgreesWithModel(t *testing.T) {
	const paths = 100000
	tokens := []string{
		"/", ".", "..", "%2e", "%2E", "%2F", "%2f", "a", "%", "%0", "%00", "%41", "%25", "%2", "e",
		";", "%3B", "%3b", `\`, "%5C", "%5c", "//", "%61",
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, slashes := range allEscapedSlashes() {
		tab := mustTableWith(t, Options{EscapedSlashes: slashes}, "d:1")
		for range paths {
			path := randomPath(rng, tokens, 8)
			_, err := tab.Match([]byte(path))
			if got, want := err != nil, modelRejects(path, slashes); got != want {
				t.Fatalf("%v: Match(%q) error %v; model rejects: %v", slashes, path, err, want)
			}
		}
	}
}

func TestPathCheckNoticesNormalForm(t *testing.T) {
	tests := []struct {
		path    string
		slashes EscapedSlashes
		normal  bool
	}{
		{"/api/x", Keep, true},
		{"/", Keep, true},
		{"/a%2Fb%C3%A9", Keep, true},
		{"/a%2Fb", Decode, false},
		{"/a%2Fb", Reject, false}, // rejected, so never matched
		{"/a%2fb", Keep, false},
		{"/caf%c3%A9", Keep, false},
		{"/%61", Keep, false},
		{"/%7E", Keep, false},
		{"/%2E%2E%2E", Keep, false},
		{"//a", Keep, false},
		{"/a//", Keep, false},
		{"/a/%2F", Keep, true},
		{"/;/;", Keep, true},
	}
	for _, tt := range tests {
		_, reason, normal := checkPath([]byte(tt.path), tt.slashes)
		if want := tt.normal && reason == ""; normal != want {
			t.Errorf("checkPath(%q, %v) normal %v (reason %q), want %v", tt.path, tt.slashes, normal, reason, want)
		}
		if normal && modelNormal(tt.path, tt.slashes) != tt.path {
			t.Errorf("checkPath(%q, %v) says normal, the model normalises it to %q", tt.path, tt.slashes, modelNormal(tt.path, tt.slashes))
		}
	}
}

func TestPathBytesClasses(t *testing.T) {
	for c := range 256 {
		want := byte(plain)
		switch c {
		case '%', '/', '\\':
			want = special
		case '.', ';':
			want = dotty
		}
		if got := pathBytes[c]; got != want {
			t.Errorf("pathBytes[%q] = %q, want %q", rune(c), got, want)
		}
	}
}

func TestIsUnreserved(t *testing.T) {
	for c := range 256 {
		if got, want := isUnreserved(byte(c)), strings.IndexByte(modelUnreserved, byte(c)) >= 0; got != want {
			t.Errorf("isUnreserved(%q) = %v, want %v", rune(c), got, want)
		}
	}
}

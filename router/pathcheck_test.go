package router

import (
	"errors"
	"math/rand/v2"
	"slices"
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
		{"/api#/../admin", PathError{Path: "/api#/../admin", Offset: 6, Reason: ReasonDotSegment}},
		{"http://h/a/../b?q", PathError{Path: "/a/../b", Offset: 3, Reason: ReasonDotSegment}},
		{"HTTPS://h/%2e", PathError{Path: "/%2e", Offset: 1, Reason: ReasonDotSegment}},
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

func TestMatchAcceptsUnambiguousPaths(t *testing.T) {
	tab := mustTable(t, "d:1", "/=root:1")
	for _, target := range []string{
		"/a..b", "/.well-known/x", "/a/.b", "/..a", "/a../", "/.../x", "/a/...", "/%2e%2e%2e",
		"/.%2e.", "/%2ea", "/a%2Fb", "/%41pi", "/%ff", "/%25", "/%2500", "//", "/a//b", "/",
		"/x?/../y", "/x?%00", "/x?%zz", "/x?.", "http://h/a?/..", "http://h", "http://h?..",
		"*", "h:443", "", "/" + strings.Repeat("a/", 32<<10),
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

// modelRejects is the path check written plainly: any malformed escape or "%00" rejects the path;
// else, with "%2e" decoded to "." and "%2F" to "/", any segment "." or ".." does.
func modelRejects(path string) bool {
	const hex = "0123456789abcdefABCDEF"
	for i := 0; i < len(path); i++ {
		if path[i] != '%' {
			continue
		}
		if i+2 >= len(path) || !strings.ContainsRune(hex, rune(path[i+1])) || !strings.ContainsRune(hex, rune(path[i+2])) ||
			path[i+1:i+3] == "00" {
			return true
		}
	}
	decoded := strings.NewReplacer("%2e", ".", "%2E", ".", "%2f", "/", "%2F", "/").Replace(path)
	segments := strings.Split(decoded, "/")
	return slices.Contains(segments, ".") || slices.Contains(segments, "..")
}

func TestPathCheckAgreesWithModel(t *testing.T) {
	const paths = 100000
	tokens := []string{"/", ".", "..", "%2e", "%2E", "%2F", "%2f", "a", "%", "%0", "%00", "%41", "%25", "%2", "e"}
	rng := rand.New(rand.NewPCG(3, 4))
	tab := mustTable(t, "d:1")
	for range paths {
		var b strings.Builder
		b.WriteByte('/')
		for range rng.IntN(8) {
			b.WriteString(tokens[rng.IntN(len(tokens))])
		}
		path := b.String()
		_, err := tab.Match([]byte(path))
		if got, want := err != nil, modelRejects(path); got != want {
			t.Fatalf("Match(%q) error %v; model rejects: %v", path, err, want)
		}
	}
}

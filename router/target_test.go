package router

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPath(t *testing.T) {
	tests := []struct {
		target string
		want   []byte // nil: the target has no path, or is rejected as a whole
	}{
		{"/a/b?q", []byte("/a/b")},
		{"/a/b", []byte("/a/b")},
		{"/?", []byte("/")},
		{"/a#b?c", nil},
		{"//%61/b", []byte("//%61/b")},
		{"http://h:8080/a?q", []byte("/a")},
		{"HTTPS://h/a/b", []byte("/a/b")},
		{"http://h", []byte{}},
		{"http://h?q=/x", []byte{}},
		{"http://user@h/x", nil},
		{"http:///x", nil},
		{"http://h//x", []byte("//x")},
		{"*", nil},
		{"h:443", nil},
		{"[::1]:443", nil},
		{"http:80", nil},
		{"", nil},
		{"ftp://h/x", nil},
		{"ws://h/api/x", nil},
		{"http:/x", nil},
		{"http:x", nil},
		{"http//x", nil},
		{"://x", nil},
		{"htt", nil},
		{"foo", nil},
		{`http://h\x/y`, nil},
	}
	for _, tt := range tests {
		got := Path([]byte(tt.target))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Path(%q) (-want +got):\n%s", tt.target, diff)
		}
	}
}

func TestSplitTargetForms(t *testing.T) {
	tests := []struct {
		target string
		reason string // "" for a target Match routes or sends to the default backend
	}{
		{"/", ""},
		{"*", ""},
		{"example.com:443", ""},
		{"EXAMPLE.com:1", ""},
		{"127.0.0.1:8080", ""},
		{"[2001:db8::1]:443", ""},
		{"[v7.abc]:1", ""},
		{"a%2Eb:1", ""},
		{"http:80", ""},
		{"http://h/x", ""},
		{"HtTp://h", ""},
		{"https://h?x", ""},
		{"http://h:/z", ""},
		{"http://[::1]:80/z", ""},
		{"http://[v7.abc]/z", ""},
		{"http://%41%2e/z", ""},
		{"ws://h/x", ReasonScheme},
		{"wss://h/x", ReasonScheme},
		{"ftp://h/x", ReasonScheme},
		{"mailto:x@y", ReasonScheme},
		{"a+b-c.d:x", ReasonScheme},
		{"h:", ReasonScheme},
		{"http:/x", ReasonMalformedTarget},
		{"http:x", ReasonMalformedTarget},
		{"https:/", ReasonMalformedTarget},
		{"http//x", ReasonMalformedTarget},
		{"://x", ReasonMalformedTarget},
		{":80", ReasonMalformedTarget},
		{"foo", ReasonMalformedTarget},
		{"", ReasonMalformedTarget},
		{"**", ReasonMalformedTarget},
		{"[::1]", ReasonMalformedTarget},
		{"[]:80", ReasonMalformedTarget},
		{"[::1:80", ReasonMalformedTarget},
		{"h/x:80", ReasonMalformedTarget},
		{"h%zz:80", ReasonMalformedTarget},
		{"%41:80x", ReasonMalformedTarget},
		{"\\", ReasonMalformedTarget},
		{`http://h\x/y`, ReasonBackslash},
		{`http://\`, ReasonBackslash},
		{"http://h:x@y/z", ReasonAuthority},
		{"http://user@h/x", ReasonAuthority},
		{"http:///x", ReasonAuthority},
		{"http://", ReasonAuthority},
		{"https://?x", ReasonAuthority},
		{"http://:80/x", ReasonAuthority},
		{"http://h:8x/", ReasonAuthority},
		{"http://h:80:80/", ReasonAuthority},
		{"http://[::1/x", ReasonAuthority},
		{"http://[]/x", ReasonAuthority},
		{"http://h%zz/x", ReasonAuthority},
		{"http://h\"/x", ReasonAuthority},
		{"http://caf\xc3\xa9/x", ReasonAuthority},
		{"/a#b", ReasonFragment},
		{"/a?q#f", ReasonFragment},
		{"http://h#f", ReasonFragment},
		{"h:80#", ReasonFragment},
		{"#", ReasonFragment},
	}
	for _, tt := range tests {
		_, _, err := splitTarget([]byte(tt.target))
		got := ""
		if pe := (*PathError)(nil); errors.As(err, &pe) {
			got = pe.Reason
		}
		if got != tt.reason {
			t.Errorf("splitTarget(%q): %v, want reason %q", tt.target, err, tt.reason)
		}
	}
}

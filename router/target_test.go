package router

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPath(t *testing.T) {
	tests := []struct {
		target string
		want   []byte // nil: the target has no path
	}{
		{"/a/b?q", []byte("/a/b")},
		{"/a/b", []byte("/a/b")},
		{"/?", []byte("/")},
		{"/a#b?c", []byte("/a#b")},
		{"http://h:8080/a?q", []byte("/a")},
		{"HTTPS://h/a/b", []byte("/a/b")},
		{"http://h", []byte{}},
		{"http://h?q=/x", []byte{}},
		{"http://user@h/x", []byte("/x")},
		{"*", nil},
		{"h:443", nil},
		{"", nil},
		{"ftp://h/x", nil},
		{"http:/x", nil},
		{"htt", nil},
	}
	for _, tt := range tests {
		got := Path([]byte(tt.target))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Path(%q) (-want +got):\n%s", tt.target, diff)
		}
	}
}

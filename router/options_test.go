package router

import (
	"strings"
	"testing"
)

func TestParseEscapedSlashes(t *testing.T) {
	for _, want := range allEscapedSlashes() {
		got, err := ParseEscapedSlashes(want.String())
		if err != nil || got != want {
			t.Errorf("ParseEscapedSlashes(%q) = %v, %v; want %v", want.String(), got, err, want)
		}
	}
	for _, name := range []string{"", "Keep", "DECODE", "decode ", "unescape", "merge"} {
		if got, err := ParseEscapedSlashes(name); err == nil || !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Errorf("ParseEscapedSlashes(%q) = %v, %v; want an error naming the input", name, got, err)
		}
	}
}

func TestEscapedSlashesString(t *testing.T) {
	for v, want := range map[EscapedSlashes]string{Keep: "keep", Reject: "reject", Decode: "decode", 7: "EscapedSlashes(7)"} {
		if got := v.String(); got != want {
			t.Errorf("EscapedSlashes(%d).String() = %q, want %q", uint8(v), got, want)
		}
	}
}

func TestZeroOptionsKeepEscapedSlashes(t *testing.T) {
	if got := (Options{}).EscapedSlashes; got != Keep {
		t.Errorf("Options{}.EscapedSlashes = %v, want keep", got)
	}
}

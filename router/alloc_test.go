package router

import (
	"strings"
	"testing"
)

func TestMatchAndRewriteDoNotAllocate(t *testing.T) {
	tab := benchTable(t, 1000)
	decode := mustTableWith(t, Options{EscapedSlashes: Decode}, "d:1", "/api=a:1", "/"+strings.Repeat("a", 300)+"=b:1")
	for _, tt := range []struct {
		tab    *Table
		target string
	}{
		{tab, "/svc123/v1/users/42?x=1"}, {tab, "/svc7"}, {tab, "/svc999/v2/x"}, {tab, "/nothing/here"},
		{tab, "http://h:80/svc5/v1/a?b"}, {tab, "http://h"}, {tab, "*"}, {tab, "h:443"}, {tab, "/"},
		{tab, "/svc1/a%2Fb/%41"},
		// Not in normal form: normalised on the stack.
		{tab, "//svc123/v1/x"}, {tab, "/%73vc123/%761"}, {tab, "/svc5/v1/a%2fb"}, {tab, "//api/%61"},
		{tab, "/svc10/v2" + strings.Repeat("%61", 500)}, {tab, strings.Repeat("/", 1000) + "svc1/v1"},
		{decode, "/%2Fapi%2F"}, {decode, "//" + strings.Repeat("%61", 300) + "/x"},
	} {
		in := []byte(tt.target)
		dst := make([]byte, 0, len(in)+1)
		var m Match
		var err error
		if n := testing.AllocsPerRun(100, func() { m, err = tt.tab.Match(in) }); n != 0 {
			t.Errorf("Match(%.40q): %v allocations per run, want 0", tt.target, n)
		}
		if err != nil {
			t.Fatalf("Match(%.40q): %v", tt.target, err)
		}
		if n := testing.AllocsPerRun(100, func() { dst, err = Rewrite(dst[:0], in, m) }); n != 0 || err != nil {
			t.Errorf("Rewrite(%.40q): %v allocations per run, %v; want 0, no error", tt.target, n, err)
		}
	}
}

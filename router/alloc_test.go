package router

import "testing"

func TestMatchAndRewriteDoNotAllocate(t *testing.T) {
	tab := benchTable(t, 1000)
	for _, target := range []string{
		"/svc123/v1/users/42?x=1", "/svc7", "/svc999/v2/x", "/nothing/here", "http://h:80/svc5/v1/a?b",
		"http://h", "*", "h:443", "/", "/svc1/a%2Fb/%41",
	} {
		in := []byte(target)
		dst := make([]byte, 0, len(in)+1)
		var m Match
		var err error
		if n := testing.AllocsPerRun(100, func() { m, err = tab.Match(in) }); n != 0 {
			t.Errorf("Match(%q): %v allocations per run, want 0", target, n)
		}
		if err != nil {
			t.Fatalf("Match(%q): %v", target, err)
		}
		if n := testing.AllocsPerRun(100, func() { dst = Rewrite(dst[:0], in, m) }); n != 0 {
			t.Errorf("Rewrite(%q): %v allocations per run, want 0", target, n)
		}
	}
}

package router

import (
	"fmt"
	"testing"
)

// benchTargets returns request-targets that hit routes of a benchTable(n), miss them, or go to the
// default backend.
func benchTargets(n int) [][]byte {
	var targets [][]byte
	for _, i := range []int{n / 3, n - 1, n / 2, 7 % n} {
		targets = append(targets,
			fmt.Appendf(nil, "/svc%d/v1/users/42?x=1", i),
			fmt.Appendf(nil, "/svc%d/v1", i),
			fmt.Appendf(nil, "/svc%d/v2beta/orders/2024-01-01/items?limit=50", i/10*10),
		)
	}
	return append(targets, []byte("/static/app.js"), []byte("/svc12345678/v1/x"), []byte("http://example.com/svc1/v1/a"))
}

func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			tab := benchTable(b, n)
			targets := benchTargets(n)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := tab.Match(targets[i%len(targets)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkRewrite(b *testing.B) {
	tab := benchTable(b, 1000)
	target := []byte("/svc333/v1/users/42?x=1")
	m, err := tab.Match(target)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		dst = Rewrite(dst[:0], target, m)
	}
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		benchTable(b, 10000)
	}
}

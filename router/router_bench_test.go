package router

import (
	"fmt"
	"testing"
)

// benchTargets returns request-targets that hit routes of a benchTable(n), miss them, or go to the
// default backend: in normal form, or (abnormal) spelled otherwise, with a doubled slash, an encoded
// unreserved character or a lower-case escape.
func benchTargets(n int, abnormal bool) [][]byte {
	formats := []string{"/svc%d/v1/users/42?x=1", "/svc%d/v1", "/svc%d/v2beta/orders/2024-01-01/items?limit=50"}
	others := []string{"/static/app.js", "/svc12345678/v1/x", "http://example.com/svc1/v1/a"}
	if abnormal {
		formats = []string{"//svc%d/v1/users/42?x=1", "/%%73vc%d/v1", "/svc%d/v2beta/orders/2024%%2d01%%2d01/items%%2fall?limit=50"}
		others = []string{"//static/app.js", "/svc12345678/%761/x", "http://example.com//svc1/v1/a"}
	}
	var targets [][]byte
	for _, i := range []int{n / 3, n - 1, n / 2, 7 % n} {
		targets = append(targets,
			fmt.Appendf(nil, formats[0], i),
			fmt.Appendf(nil, formats[1], i),
			fmt.Appendf(nil, formats[2], i/10*10),
		)
	}
	for _, other := range others {
		targets = append(targets, []byte(other))
	}
	return targets
}

func BenchmarkMatch(b *testing.B) {
	for _, form := range []string{"normal", "abnormal"} {
		for _, n := range []int{10, 1000, 10000} {
			b.Run(fmt.Sprintf("%s/routes=%d", form, n), func(b *testing.B) {
				tab := benchTable(b, n)
				targets := benchTargets(n, form == "abnormal")
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
}

func BenchmarkRewrite(b *testing.B) {
	tab := benchTable(b, 1000)
	for _, tt := range []struct{ name, target string }{
		{"normal", "/svc333/v1/users/42?x=1"},
		{"abnormal", "//%73vc333/v1/users/42?x=1"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			in := []byte(tt.target)
			m, err := tab.Match(in)
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]byte, 0, 256)
			b.ReportAllocs()
			for b.Loop() {
				if dst, err = Rewrite(dst[:0], in, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		benchTable(b, 10000)
	}
}

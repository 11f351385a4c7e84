package fuzz

import "iter"

// properPrefixes yields lengths of proper prefixes of an n-byte input, in increasing order: every
// length from 0 to n-1 when n <= limit, else about limit evenly spread lengths and always n-1, the
// prefix missing only the last byte.
func properPrefixes(n, limit int) iter.Seq[int] {
	step := max(1, n/limit)
	return func(yield func(int) bool) {
		k := 0
		for ; k < n; k += step {
			if !yield(k) {
				return
			}
		}
		if last := n - 1; last >= 0 && k-step != last {
			yield(last)
		}
	}
}

package upstream

import "testing"

func TestMayRetry(t *testing.T) {
	reused, fresh := &Conn{Reused: true}, &Conn{}
	for _, tc := range []struct {
		method          string
		hasBody         bool
		c               *Conn
		responseStarted bool
		want            bool
	}{
		{"GET", false, reused, false, true},
		{"HEAD", false, reused, false, true},
		{"OPTIONS", false, reused, false, true},
		{"GET", false, fresh, false, false},
		{"GET", true, reused, false, false},
		{"GET", false, reused, true, false},
		{"POST", false, reused, false, false},
		{"DELETE", false, reused, false, false},
		{"get", false, reused, false, false},
	} {
		if got := MayRetry(tc.method, tc.hasBody, tc.c, tc.responseStarted); got != tc.want {
			t.Errorf("MayRetry(%q, body %v, reused %v, response started %v) = %v, want %v", tc.method, tc.hasBody, tc.c.Reused, tc.responseStarted, got, tc.want)
		}
	}
}

package h2test

import (
	"testing"
	"time"
)

// Eventually waits, polling, until cond holds, and fails the test when it does not within limit.
func Eventually(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(5 * time.Millisecond) // a poll of a bounded wait, not a synchronisation
	}
}

// Receive returns the next value of ch, and fails the test when none comes within limit.
func Receive[T any](t testing.TB, limit time.Duration, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(limit):
		t.Fatalf("%s: not within %v", what, limit)
		panic("unreachable")
	}
}

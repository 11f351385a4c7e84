// Package ring makes socket calls through an io_uring(7) instance: many receives and sends are
// submitted, and their completions run, in one io_uring_enter(2), where each would otherwise be a
// system call of its own. It covers what an event loop of a proxy needs: a wait for readability,
// receive, sendmsg, cancellation, and waiting for completions in the Go runtime's poller (Waiter).
//
// It exists on Linux only: elsewhere the package is empty.
package ring

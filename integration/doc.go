// Package integration holds the end-to-end tests of proxyd: they build the real proxyd binary,
// run it as a subprocess on a loopback port, and drive it against backends that run as
// containers (package testcontainers-go) built locally FROM scratch from the backend program in
// ./backend. See README.md for what is covered and how to run it.
package integration

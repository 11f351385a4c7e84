package h2

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// backendKind starts a backend of one protocol for tests that run against each.
type backendKind struct {
	name  string
	start func(testing.TB, http.Handler) *httptest.Server
}

// backendKinds are an HTTP/1.1-only backend and an h2c one.
var backendKinds = [...]backendKind{{"HTTP/1.1", startH1}, {"h2c", startH2C}}

package h2test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// NewClient returns an HTTP/2 client with prior knowledge (h2c), as curl --http2-prior-knowledge,
// whose requests time out after timeout and whose connections are closed when the test ends.
func NewClient(t testing.TB, timeout time.Duration) *http.Client {
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: dialPlain}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: timeout}
}

// dialPlain is the h2c transport's "TLS" dial: plain TCP.
func dialPlain(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

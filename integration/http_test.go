package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"proxyd.dev/integration/backend/api"
)

// requestTimeout bounds one HTTP exchange of a test, body included (60 s; a 64 MiB body through
// the proxy takes well under a second here).
const requestTimeout = 60 * time.Second

// newClient returns an HTTP/1.1 client of its own (no connections shared with other tests) whose
// idle connections are closed when the test ends.
func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: requestTimeout}
}

// get sends a GET for url and returns the response with its whole body read.
func get(t *testing.T, c *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	resp := send(t, t.Context(), c, url)
	return resp, readBody(t, resp)
}

// send sends a GET for url, bounded by ctx, and returns the response with its body unread; the
// caller closes the body.
func send(t *testing.T, ctx context.Context, c *http.Client, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("request for %s: %v", url, err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp
}

// do sends req and returns the response with its whole body read.
func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return resp, readBody(t, resp)
}

// readBody reads and closes the body of resp.
func readBody(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body after %d bytes: %v", resp.Request.Method, resp.Request.URL, len(body), err)
	}
	return body
}

// getEcho sends a GET for url, expects 200 and returns the backend's description of the request.
func getEcho(t *testing.T, c *http.Client, url string) api.Echo {
	t.Helper()
	resp, body := get(t, c, url)
	return decodeEcho(t, resp, body)
}

// decodeEcho checks for 200 and decodes an api.Echo body.
func decodeEcho(t *testing.T, resp *http.Response, body []byte) api.Echo {
	t.Helper()
	var echo api.Echo
	decodeJSON(t, resp, body, &echo)
	return echo
}

// decodeJSON checks for 200 and decodes the JSON body into v.
func decodeJSON(t *testing.T, resp *http.Response, body []byte, v any) {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: status %d, want 200; body %q", resp.Request.Method, resp.Request.URL, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s %s: body %q is not a %T: %v", resp.Request.Method, resp.Request.URL, body, v, err)
	}
}

// cmpEchoRoute compares only where a request went and what it looked like on arrival, not the
// Host, the other headers and the address it came from.
var cmpEchoRoute = cmpopts.IgnoreFields(api.Echo{}, "Host", "Headers", "Path", "RemoteAddr")

// cmpEchoHeaders compares everything of an echo but the headers (which the client chooses) and
// the address it came from.
var cmpEchoHeaders = cmpopts.IgnoreFields(api.Echo{}, "Headers", "RemoteAddr")

// readResponse reads from r the response to a request for target, body included.
func readResponse(t *testing.T, r *bufio.Reader, method, target string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.ReadResponse(r, &http.Request{Method: method, URL: &url.URL{Opaque: target}})
	if err != nil {
		t.Fatalf("reading the response head to %s %s: %v", method, target, err)
	}
	return resp, readBody(t, resp)
}

// checkProxyError checks a response the proxy answered itself: the status, a short non-empty
// text body and a Content-Length that matches it.
func checkProxyError(t *testing.T, resp *http.Response, body []byte, wantStatus int) {
	t.Helper()
	if resp.StatusCode != wantStatus {
		t.Errorf("status %d, want %d; body %q", resp.StatusCode, wantStatus, body)
	}
	if len(body) == 0 {
		t.Errorf("status %d came with an empty body, want a short text", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(len(body)) {
		t.Errorf("Content-Length %q for a body of %d bytes %q", got, len(body), body)
	}
}

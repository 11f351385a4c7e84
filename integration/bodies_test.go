package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/integration/backend/api"
)

// largeBodySize is the size of the bodies sent both ways through proxyd (64 MiB).
const largeBodySize = 64 << 20

// streamChunks is how many chunks the chunked-stream checks ask for.
const streamChunks = 3

// TestBodies sends large bodies both ways and a chunked stream through proxyd, and checks every
// byte by its checksum.
func TestBodies(t *testing.T) {
	t.Parallel()
	b := startBackend(t, api.ModeHTTP1, "bodies")
	proxy := startProxy(t, b.addr)
	c := newClient(t)
	checkBodies(t, c, "http://"+proxy, largeBodySize)
}

// checkBodies checks a download, an upload with Content-Length, a chunked upload, all of size
// bytes, and a chunked stream, against base (a backend or proxyd in front of one).
func checkBodies(t *testing.T, c *http.Client, base string, size int64) {
	t.Run("download", func(t *testing.T) {
		checkDownload(t, c, base+api.PathDownload+"?"+api.QuerySize+"="+strconv.FormatInt(size, 10), size)
	})
	t.Run("upload with Content-Length", func(t *testing.T) {
		checkUpload(t, c, base+api.PathUpload, size, false)
	})
	t.Run("chunked upload", func(t *testing.T) {
		checkUpload(t, c, base+api.PathUpload, size, true)
	})
	t.Run("chunked stream", func(t *testing.T) {
		checkStream(t, c, base+api.PathStream+"?"+api.QueryChunks+"="+strconv.Itoa(streamChunks))
	})
}

// checkDownload downloads size bytes of api.Payload from url and checks their checksum.
func checkDownload(t *testing.T, c *http.Client, url string, size int64) {
	resp := send(t, t.Context(), c, url)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200", url, resp.StatusCode)
	}
	sum := sha256.New()
	n, err := io.Copy(sum, resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body cut off after %d of %d bytes: %v", url, n, size, err)
	}
	got := api.Upload{Bytes: n, SHA256: hex.EncodeToString(sum.Sum(nil))}
	want := api.Upload{Bytes: size, SHA256: payloadSHA256(t, size)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET %s: downloaded body differs (-want +got):\n%s", url, diff)
	}
	if h := resp.Header.Get(api.HeaderSHA256); h != want.SHA256 {
		t.Errorf("GET %s: %s %q, want %q", url, api.HeaderSHA256, h, want.SHA256)
	}
}

// checkUpload posts size bytes of api.Payload to url, with Content-Length or chunked, and checks
// the size and checksum the backend received.
func checkUpload(t *testing.T, c *http.Client, url string, size int64, chunked bool) {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, api.Payload(size))
	if err != nil {
		t.Fatalf("request for %s: %v", url, err)
	}
	req.ContentLength = size
	if chunked {
		req.ContentLength = -1
	}
	resp, body := do(t, c, req)
	var got api.Upload
	decodeJSON(t, resp, body, &got)
	want := api.Upload{Bytes: size, SHA256: payloadSHA256(t, size)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("POST %s (chunked %v): the backend received another body (-want +got):\n%s", url, chunked, diff)
	}
}

// checkStream reads a stream of streamChunks chunks from url: chunked over HTTP/1.1 (HTTP/2 has
// no transfer codings).
func checkStream(t *testing.T, c *http.Client, url string) {
	resp, body := get(t, c, url)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200; body %q", url, resp.StatusCode, body)
	}
	if resp.ProtoMajor == 1 && !slices.Equal(resp.TransferEncoding, []string{"chunked"}) {
		t.Errorf("GET %s: Transfer-Encoding %q, want chunked", url, resp.TransferEncoding)
	}
	if want := streamLines("chunk", streamChunks); string(body) != want {
		t.Errorf("GET %s: body %q, want %q", url, body, want)
	}
}

// streamLines returns the lines "<word> 0" to "<word> n-1" that the backend streams.
func streamLines(word string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%s %d\n", word, i)
	}
	return b.String()
}

// payloadSHA256 returns the hex SHA-256 of the first size bytes of api.Payload.
func payloadSHA256(t *testing.T, size int64) string {
	sum := sha256.New()
	if _, err := io.Copy(sum, api.Payload(size)); err != nil {
		t.Fatalf("hashing the payload: %v", err)
	}
	return hex.EncodeToString(sum.Sum(nil))
}

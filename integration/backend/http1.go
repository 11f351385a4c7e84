package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"

	"proxyd.dev/integration/backend/api"
)

// maxDownloadSize bounds api.QuerySize (1 GiB).
const maxDownloadSize = 1 << 30

// maxStreamChunks bounds api.QueryChunks (10,000).
const maxStreamChunks = 10_000

// newHTTPMux returns the handler of api.ModeHTTP1: the endpoints of package api, and an echo of
// the request on every other path.
func newHTTPMux(name string) *pathMux {
	return &pathMux{
		endpoints: map[string]http.HandlerFunc{
			api.PathDownload: serveDownload,
			api.PathUpload:   serveUpload,
			api.PathStream:   serveStream,
			api.PathHang:     serveHang,
		},
		fallback: echoHandler(name),
	}
}

// echoHandler answers every request with an api.Echo describing it.
func echoHandler(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		headers := make(map[string]string, len(r.Header))
		for k, v := range r.Header {
			headers[k] = strings.Join(v, ", ")
		}
		writeJSON(w, api.Echo{
			Backend:    name,
			Method:     r.Method,
			Target:     r.RequestURI,
			Path:       r.URL.Path,
			Proto:      r.Proto,
			Host:       r.Host,
			Headers:    headers,
			RemoteAddr: r.RemoteAddr,
		})
	}
}

// serveDownload sends api.QuerySize bytes of api.Payload with their checksum in a header.
func serveDownload(w http.ResponseWriter, r *http.Request) {
	size, err := queryInt(r, api.QuerySize, maxDownloadSize)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sum := sha256.New()
	if _, err := io.Copy(sum, api.Payload(size)); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set(api.HeaderSHA256, hex.EncodeToString(sum.Sum(nil)))
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("Content-Type", "application/octet-stream")
	if _, err := io.Copy(w, api.Payload(size)); err != nil {
		log.Printf("download of %d bytes cut off: %v", size, err)
	}
}

// serveUpload reads the request body and answers with its size and checksum.
func serveUpload(w http.ResponseWriter, r *http.Request) {
	sum := sha256.New()
	n, err := io.Copy(sum, r.Body)
	if err != nil {
		http.Error(w, fmt.Sprintf("reading the upload after %d bytes: %v", n, err), http.StatusBadRequest)
		return
	}
	writeJSON(w, api.Upload{Bytes: n, SHA256: hex.EncodeToString(sum.Sum(nil))})
}

// serveStream sends api.QueryChunks chunks, flushing each, then ends the response or, with
// api.QueryHold=1, holds it open until the client goes away.
func serveStream(w http.ResponseWriter, r *http.Request) {
	chunks, err := queryInt(r, api.QueryChunks, maxStreamChunks)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	if err := writeFlushed(w, chunks, "chunk"); err != nil {
		log.Printf("stream cut off: %v", err)
		return
	}
	if r.URL.Query().Get(api.QueryHold) == "1" {
		<-r.Context().Done()
	}
}

// writeFlushed writes n lines "<word> <i>\n", flushing after each one.
func writeFlushed(w http.ResponseWriter, n int64, word string) error {
	rc := http.NewResponseController(w)
	for i := range n {
		if _, err := fmt.Fprintf(w, "%s %d\n", word, i); err != nil {
			return err
		}
		if err := rc.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// serveHang never answers; it returns when the client goes away.
func serveHang(_ http.ResponseWriter, r *http.Request) {
	<-r.Context().Done()
}

// queryInt parses the query parameter key as an integer in [0, limit]; a missing one is 0.
func queryInt(r *http.Request, key string, limit int64) (int64, error) {
	raw := r.URL.Query().Get(key)
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 || n > limit {
		return 0, fmt.Errorf("query parameter %s=%q: want an integer from 0 to %d", key, raw, limit)
	}
	return n, nil
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

package main

import (
	"log"
	"net/http"

	"proxyd.dev/integration/backend/api"
)

// newH2CMux returns the handler of api.ModeH2C: everything of api.ModeHTTP1 plus api.PathTrailers.
func newH2CMux(name string) *pathMux {
	mux := newHTTPMux(name)
	mux.endpoints[api.PathTrailers] = serveTrailers
	return mux
}

// h2cProtocols serves HTTP/1.1 and HTTP/2 with prior knowledge on the same cleartext port.
func h2cProtocols() *http.Protocols {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return &p
}

// serveTrailers streams api.QueryChunks flushed lines, then ends with gRPC-style trailers.
func serveTrailers(w http.ResponseWriter, r *http.Request) {
	lines, err := queryInt(r, api.QueryChunks, maxStreamChunks)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Trailer", api.TrailerStatus+", "+api.TrailerMessage)
	w.Header().Set("Content-Type", "text/plain")
	if err := writeFlushed(w, lines, "message"); err != nil {
		log.Printf("trailers stream cut off: %v", err)
		return
	}
	w.Header().Set(api.TrailerStatus, "0")
	w.Header().Set(api.TrailerMessage, "ok")
}

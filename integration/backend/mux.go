package main

import "net/http"

// pathMux sends a request whose path is exactly one of its endpoints there and every other
// request to its fallback. Unlike http.ServeMux it never cleans or redirects a path, so the
// fallback sees every request-target exactly as it arrived.
type pathMux struct {
	endpoints map[string]http.HandlerFunc
	fallback  http.Handler
}

// ServeHTTP dispatches r on its exact path.
func (m *pathMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := m.endpoints[r.URL.Path]; ok {
		h(w, r)
		return
	}
	m.fallback.ServeHTTP(w, r)
}

package upstream

// MayRetry reports whether a request that failed on c may be sent once more, on a new
// connection: only a GET, HEAD or OPTIONS without a body, only when c had served earlier requests
// (the backend may have closed it while it was idle) and only when no byte of a response came
// (responseStarted is false, also for an interim response). No other request is ever sent twice.
// The caller also rules out failures that a timeout or the client caused.
func MayRetry(method string, hasBody bool, c *Conn, responseStarted bool) bool {
	return !hasBody && idempotent(method) && c.Reused && !responseStarted
}

// idempotent reports whether a body-less request with this method may be sent again after its
// first attempt failed on a reused connection before any response byte.
func idempotent(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS":
		return true
	}
	return false
}

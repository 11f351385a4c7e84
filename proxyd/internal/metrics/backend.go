package metrics

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Cause is why an exchange failed at the backend; each cause has the status proxyd answers it with.
type Cause uint8

// The causes of backend failures.
const (
	// DialFailed is a backend that refused or could not be reached (502).
	DialFailed Cause = iota
	// DialTimeout is a dial that did not complete within --dial-timeout (504).
	DialTimeout
	// Closed is a backend that closed or reset the connection before a complete response head (502).
	Closed
	// InvalidResponse is a malformed or unacceptable response head (502).
	InvalidResponse
	// ResponseTimeout is a response head that did not come within --response-header-timeout (504).
	ResponseTimeout
	// Stalled is a backend that stopped taking the request body (504).
	Stalled
	// BodyFailed is a backend that failed in the middle of the response body (502).
	BodyFailed
	causes // number of causes
)

// causeNames are the label values of the causes.
var causeNames = [causes]string{
	DialFailed:      "dial_failed",
	DialTimeout:     "dial_timeout",
	Closed:          "closed",
	InvalidResponse: "invalid_response",
	ResponseTimeout: "response_timeout",
	Stalled:         "stalled",
	BodyFailed:      "body_failed",
}

// String returns the cause's label value, such as "dial_timeout".
func (c Cause) String() string {
	if c >= causes {
		return fmt.Sprintf("Cause(%d)", uint8(c))
	}
	return causeNames[c]
}

// Code returns the status proxyd answers a failure of this cause with: 502 Bad Gateway, or 504
// Gateway Timeout for the causes that are timeouts.
func (c Cause) Code() int {
	switch c {
	case DialTimeout, ResponseTimeout, Stalled:
		return 504
	}
	return 502
}

// causeCodes are the code label values of the causes: their Code as a decimal string.
var causeCodes = func() (codes [causes]string) {
	for c := range causes {
		codes[c] = strconv.Itoa(c.Code())
	}
	return codes
}()

// Backend accounts the connections to one backend. Its methods are safe for concurrent use and do
// nothing on a nil *Backend.
type Backend struct {
	dials    prometheus.Counter
	failures [causes]prometheus.Counter
}

// Backend returns the accounting of the backend at addr ("host:port"), with its series resolved:
// every cause of failure is exposed from the start, at zero. Build one per backend when the route
// table is built; backends with the same address share their series, and the *Backend itself: it
// is resolved on the first call for addr and cached in m (series are never deleted), so that later
// calls, on every route reload and pool, are a map lookup.
func (m *Metrics) Backend(addr string) *Backend {
	if m == nil {
		return nil
	}
	if b, ok := m.backends.Load(addr); ok {
		return b.(*Backend)
	}
	b := &Backend{dials: m.dials.WithLabelValues(addr)}
	for c := range causes {
		b.failures[c] = m.failures.WithLabelValues(addr, causeCodes[c], causeNames[c])
	}
	// A concurrent first call for addr resolved the same series; keep whichever was stored first.
	stored, _ := m.backends.LoadOrStore(addr, b)
	return stored.(*Backend)
}

// Dialed counts a dial to the backend, whether or not it connected.
func (b *Backend) Dialed() {
	if b == nil {
		return
	}
	b.dials.Inc()
}

// Failed counts an exchange that failed at the backend for cause c, one of the Cause constants.
func (b *Backend) Failed(c Cause) {
	if b == nil {
		return
	}
	b.failures[c].Inc()
}

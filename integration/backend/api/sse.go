package api

// Endpoints of ModeSSE. Every other path opens an event stream that sends one event for each
// PathNext request.
const (
	// PathNext hands the event in QueryData to one open stream and answers 200 only after that
	// stream has written and flushed it (so "sent" means "on the wire"). It waits for a stream
	// while none is open, until the request is cancelled.
	PathNext = "/next"
	// PathStatus answers with an SSEStatus document. With QueryOpened=N or QueryClosed=N it first
	// waits until at least N streams have been opened or closed (until the request is cancelled).
	PathStatus = "/status"
)

// Query parameters of the ModeSSE endpoints.
const (
	// QueryData is the data of the event PathNext sends.
	QueryData = "data"
	// QueryOpened makes PathStatus wait for this many opened streams.
	QueryOpened = "opened"
	// QueryClosed makes PathStatus wait for this many streams closed by their client.
	QueryClosed = "closed"
)

// SSEStatus counts the event streams of a ModeSSE backend.
type SSEStatus struct {
	// Opened counts streams whose handler started.
	Opened int `json:"opened"`
	// Closed counts streams that ended because the client went away.
	Closed int `json:"closed"`
}

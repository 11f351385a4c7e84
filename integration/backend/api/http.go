package api

// Endpoints of ModeHTTP1 and ModeH2C. Every other path answers with an Echo document.
const (
	// PathDownload answers with QuerySize bytes of Payload, with Content-Length and the
	// payload's SHA-256 in HeaderSHA256.
	PathDownload = "/download"
	// PathUpload reads the whole request body and answers with an Upload document.
	PathUpload = "/upload"
	// PathStream answers with QueryChunks chunks (Transfer-Encoding: chunked), each flushed at
	// once; with QueryHold=1 it then keeps the response open until the client goes away.
	PathStream = "/stream"
	// PathHang never answers: it waits until the client goes away.
	PathHang = "/hang"
	// PathTrailers (ModeH2C only) streams QueryChunks flushed lines, then sends the trailers
	// Grpc-Status: 0 and Grpc-Message: ok, as a gRPC server ends a call.
	PathTrailers = "/trailers"
)

// Query parameters of the endpoints above.
const (
	// QuerySize is the download size in bytes.
	QuerySize = "size"
	// QueryChunks is the number of chunks or lines streamed.
	QueryChunks = "chunks"
	// QueryHold, set to 1, keeps a stream open after its chunks.
	QueryHold = "hold"
)

// HeaderSHA256 carries the hex SHA-256 of a download's body.
const HeaderSHA256 = "X-Body-Sha256"

// Trailers sent by PathTrailers.
const (
	// TrailerStatus is the gRPC-style status trailer; PathTrailers sets it to "0".
	TrailerStatus = "Grpc-Status"
	// TrailerMessage is the gRPC-style message trailer; PathTrailers sets it to "ok".
	TrailerMessage = "Grpc-Message"
)

// Echo describes the request a backend received; it is the body of every request to a path that
// is not an endpoint.
type Echo struct {
	// Backend is the backend's -name.
	Backend string `json:"backend"`
	// Method is the request method.
	Method string `json:"method"`
	// Target is the raw request-target as received (for HTTP/2, the :path).
	Target string `json:"target"`
	// Path is the path as the backend's HTTP library decodes it (Go's URL.Path): what a handler
	// would route on.
	Path string `json:"path"`
	// Proto is the protocol the request arrived over, e.g. "HTTP/1.1" or "HTTP/2.0".
	Proto string `json:"proto"`
	// Host is the Host header (or :authority).
	Host string `json:"host"`
	// Headers holds every other request header, values of repeated fields joined by ", ".
	Headers map[string]string `json:"headers"`
	// RemoteAddr is the client's address as the backend sees it: the connection's peer, or with
	// -proxy-protocol the client its PROXY header names.
	RemoteAddr string `json:"remote_addr"`
}

// Upload is the answer of PathUpload.
type Upload struct {
	// Bytes is the number of body bytes received.
	Bytes int64 `json:"bytes"`
	// SHA256 is the hex SHA-256 of the body received.
	SHA256 string `json:"sha256"`
}

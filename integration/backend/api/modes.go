package api

// ReadyLine is the text every backend logs (on stderr) once its listener accepts connections;
// tests wait for it with a log-line wait strategy.
const ReadyLine = "backend ready"

// Backend modes, chosen with the backend's -mode flag.
const (
	// ModeHTTP1 serves HTTP/1.1: the echo, download, upload, stream and hang endpoints.
	ModeHTTP1 = "http1"
	// ModeH2C serves everything ModeHTTP1 does, on one port over both HTTP/1.1 and HTTP/2
	// cleartext (prior knowledge), plus the trailers endpoint.
	ModeH2C = "h2c"
	// ModeWS accepts a WebSocket on every path and echoes each message back.
	ModeWS = "ws"
	// ModeSSE serves a text/event-stream on every path except PathNext and PathStatus.
	ModeSSE = "sse"
	// ModeGRPC serves the gRPC service GRPCService over HTTP/2 cleartext (prior knowledge),
	// through net/http's HTTP/2 server (grpc.Server.ServeHTTP).
	ModeGRPC = "grpc"
	// ModeGRPCNative serves the same service with grpc-go's own HTTP/2 server (grpc.Server.Serve),
	// which answers a call that fails at once with a trailers-only response: one HEADERS frame that
	// carries grpc-status and ends the stream.
	ModeGRPCNative = "grpc-native"
)

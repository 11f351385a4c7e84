package fuzz

import "testing"

// addResponseSeeds adds to f response heads sent by real servers and the framing edge cases of
// RFC 9112 §6.3, each as one []byte argument. FuzzResponseHead and FuzzResponseHeadDifferential
// share them.
func addResponseSeeds(f *testing.F) {
	for _, s := range []string{
		// nginx serving a small file: Content-Length framing, keep-alive.
		"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 25 Nov 2025 19:04:00 GMT\r\n" +
			"Content-Type: text/html\r\nContent-Length: 615\r\nLast-Modified: Mon, 24 Nov 2025 10:00:00 GMT\r\n" +
			"Connection: keep-alive\r\nETag: \"6743b2c0-267\"\r\nAccept-Ranges: bytes\r\n\r\n",
		// Go's net/http streaming a body of unknown length: chunked framing.
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: Tue, 25 Nov 2025 19:04:00 GMT\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		// A server-sent event stream (SSE), chunked.
		"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n",
		// A gRPC-style response over HTTP/1.1 announcing trailers.
		"HTTP/1.1 200 OK\r\nContent-Type: application/grpc\r\nTrailer: grpc-status, grpc-message\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n",
		// WebSocket handshake answer: 101 has no body.
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
		// Interim 100 Continue, no reason phrase variants, and 103 Early Hints with a field.
		"HTTP/1.1 100 Continue\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n",
		"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
		// 204 and 304 never have a body, whatever they say.
		"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nTransfer-Encoding: chunked\r\n\r\n",
		// HTTP/1.0 close-delimited body, and HTTP/1.0 keep-alive with a length.
		"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the server closes",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc",
		// HTTP/1.0 with Transfer-Encoding: framing is faulty, the connection closes (RFC 9112 §6.1).
		"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		// A final coding other than chunked: read until close. Chunked not last, and a coding list.
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n",
		// Response splitting shapes: CL with TE, differing CLs, a malformed CL.
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		// Obs-fold and a bare LF in a response head.
		"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
		// Malformed status codes and an unsupported version.
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 099 Low\r\n\r\n",
		"HTTP/1.1 200OK\r\n\r\n",
		"HTTP/2.0 200 OK\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
}

package fuzz

import "testing"

// addRequestSeeds adds to f request heads sent by real clients and the request-smuggling shapes of
// RFC 9112 §11.2 (as the README lists them), each as one []byte argument. FuzzRequestHead and FuzzRequestHeadDifferential share them.
func addRequestSeeds(f *testing.F) {
	for _, s := range []string{
		// Chrome 131 navigating to a page: many fields, quoted sec-ch-ua lists, a query.
		"GET /api/users?page=2 HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive\r\n" +
			"sec-ch-ua: \"Google Chrome\";v=\"131\", \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"\r\n" +
			"sec-ch-ua-mobile: ?0\r\nsec-ch-ua-platform: \"Linux\"\r\nUpgrade-Insecure-Requests: 1\r\n" +
			"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
			"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n" +
			"Sec-Fetch-Site: none\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-User: ?1\r\nSec-Fetch-Dest: document\r\n" +
			"Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n" +
			"Cookie: session=4f2a9c; theme=dark\r\n\r\n",
		// Firefox 133 posting a form: Content-Length framing, Origin and Referer.
		"POST /login HTTP/1.1\r\nHost: example.com\r\n" +
			"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0\r\n" +
			"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
			"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n" +
			"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 29\r\n" +
			"Origin: http://example.com\r\nConnection: keep-alive\r\nReferer: http://example.com/login\r\n" +
			"Upgrade-Insecure-Requests: 1\r\nSec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\n" +
			"Sec-Fetch-Site: same-origin\r\nSec-Fetch-User: ?1\r\nPriority: u=0, i\r\n\r\n" +
			"username=alice&password=s3cr3",
		// curl 7.88 with its three fields, host with a port.
		"GET / HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
		// curl --data with Expect: 100-continue on a large upload.
		"PUT /upload/big.bin HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n" +
			"Content-Length: 1048576\r\nContent-Type: application/octet-stream\r\nExpect: 100-continue\r\n\r\n",
		// A gRPC client over HTTP/1.1: upgrade-less POST, chunked body, "te: trailers" (not Transfer-Encoding).
		"POST /helloworld.Greeter/SayHello HTTP/1.1\r\nHost: 127.0.0.1:50051\r\n" +
			"content-type: application/grpc\r\nte: trailers\r\nuser-agent: grpc-go/1.68.0\r\n" +
			"grpc-timeout: 10S\r\ntransfer-encoding: chunked\r\n\r\n" +
			"c\r\n\x00\x00\x00\x00\x07\n\x05world\r\n0\r\n\r\n",
		// A WebSocket handshake (RFC 6455 §1.2): Upgrade with Connection: Upgrade.
		"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n" +
			"Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n",
		// An h2c upgrade, which the proxy strips (see the README).
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n" +
			"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
		// HTTP/1.0 without Host, closing by default.
		"GET /index.html HTTP/1.0\r\n\r\n",
		// HTTP/1.0 asking for keep-alive.
		"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		// Absolute-form target as sent to a forward proxy.
		"GET http://example.com:8080/a/b?q=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
		// Asterisk-form and authority-form targets.
		"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		// Two pipelined requests: only the first head is parsed.
		"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n",
		// An incomplete head: a valid beginning.
		"GET /a HTTP/1.1\r\nHost: a\r\nContent-Len",
		// Smuggling: both Content-Length and Transfer-Encoding (CL.TE / TE.CL).
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
		// Smuggling: whitespace before the colon of Transfer-Encoding.
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
		// Smuggling: HTAB after the colon (valid OWS) and HTAB before it (invalid).
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t: chunked\r\n\r\n",
		// Smuggling: spellings of chunked that backends read differently.
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
		// Smuggling: a vertical tab or a NUL around chunked.
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\x0bchunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\x00\r\n\r\n",
		// Smuggling: Transfer-Encoding in HTTP/1.0, which net/http ignores.
		"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
		// Smuggling: malformed Content-Length values (hex, sign, inner space).
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +10\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  10 10\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
		// Smuggling: duplicate Content-Length fields, agreeing and differing, and a list.
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
		// Smuggling: obs-fold continuing a Transfer-Encoding line.
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n",
		// Smuggling: bare LF and bare CR as line ends.
		"GET / HTTP/1.1\nHost: a\n\n",
		"GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n",
		// Two Host fields, and none in HTTP/1.1.
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
		// An unsupported version and a malformed one.
		"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1x\r\nHost: a\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
}

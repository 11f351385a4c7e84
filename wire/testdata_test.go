package wire

import "bytes"

// Heads shared by tests and benchmarks.
const (
	// chromeRequest is a typical browser navigation request (Chrome 120): 18 fields.
	chromeRequest = "GET /products/shoes/running?color=blue&size=42 HTTP/1.1\r\n" +
		"Host: shop.example.com\r\n" +
		"Connection: keep-alive\r\n" +
		"sec-ch-ua: \"Not_A Brand\";v=\"8\", \"Chromium\";v=\"120\", \"Google Chrome\";v=\"120\"\r\n" +
		"sec-ch-ua-mobile: ?0\r\n" +
		"sec-ch-ua-platform: \"Linux\"\r\n" +
		"Upgrade-Insecure-Requests: 1\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n" +
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n" +
		"Sec-Fetch-Site: same-origin\r\n" +
		"Sec-Fetch-Mode: navigate\r\n" +
		"Sec-Fetch-User: ?1\r\n" +
		"Sec-Fetch-Dest: document\r\n" +
		"Referer: https://shop.example.com/products/shoes\r\n" +
		"Accept-Encoding: gzip, deflate, br\r\n" +
		"Accept-Language: en-GB,en-US;q=0.9,en;q=0.8\r\n" +
		"Cookie: session=3f9a1c0e7b2d4e8f; theme=dark\r\n" +
		"\r\n"

	// curlRequest is what curl sends for a plain GET.
	curlRequest = "GET /api/v1/items HTTP/1.1\r\n" +
		"Host: localhost:8080\r\n" +
		"User-Agent: curl/7.88.1\r\n" +
		"Accept: */*\r\n" +
		"\r\n"

	// typicalResponse is a small JSON API response head.
	typicalResponse = "HTTP/1.1 200 OK\r\n" +
		"Content-Type: application/json; charset=utf-8\r\n" +
		"Content-Length: 1234\r\n" +
		"Date: Mon, 27 Nov 2023 10:00:00 GMT\r\n" +
		"Cache-Control: no-cache, no-store, must-revalidate\r\n" +
		"Vary: Accept-Encoding\r\n" +
		"X-Request-Id: 7f3c2a10-9b1e-4c55-8d2a-0e6f1b2c3d4e\r\n" +
		"\r\n"
)

// drippedHeadSize and drippedHeadLines shape the head that a slow client drips line by line: 64 KiB
// in 16,000 field lines of 4 bytes.
const (
	drippedHeadSize  = 64 << 10
	drippedHeadLines = 16000
)

// drippedHead returns a request head of exactly drippedHeadSize bytes with drippedHeadLines field
// lines "x:" after the Host field, the last one padded with a value to reach the size.
func drippedHead() []byte {
	const start, line, last = "GET / HTTP/1.1\r\nHost: a\r\n", "x:\r\n", "x:"
	head := []byte(start)
	for range drippedHeadLines - 1 {
		head = append(head, line...)
	}
	head = append(head, last...)
	pad := drippedHeadSize - len(head) - len("\r\n\r\n")
	head = append(head, bytes.Repeat([]byte("v"), pad)...)
	return append(head, "\r\n\r\n"...)
}

// lineEnds returns the offset after each LF in head: the lengths of head dripped one line at a time.
func lineEnds(head []byte) []int {
	var ends []int
	for i, c := range head {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	return ends
}

// byteEnds returns 1, 2, ..., n: the lengths of an n-byte head dripped one byte at a time.
func byteEnds(n int) []int {
	ends := make([]int, n)
	for i := range ends {
		ends[i] = i + 1
	}
	return ends
}

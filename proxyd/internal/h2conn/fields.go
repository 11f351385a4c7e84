package h2conn

import (
	"strconv"

	"golang.org/x/net/http2/hpack"
)

// ConnectionSpecific returns the name of the first connection-specific field among fields, which
// make an HTTP/2 message malformed (RFC 9113 §8.2.2), or "".
func ConnectionSpecific(fields []hpack.HeaderField) string {
	for _, f := range fields {
		switch f.Name {
		case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
			return f.Name
		}
	}
	return ""
}

// ContentLength returns the length the Content-Length values give (-1 without one); false when
// they are invalid or differ.
func ContentLength(values []string) (int64, bool) {
	if len(values) == 0 {
		return -1, true
	}
	var n int64 = -1
	for _, v := range values {
		m, err := strconv.ParseInt(v, 10, 64)
		if err != nil || m < 0 || v[0] == '+' || n >= 0 && m != n {
			return 0, false
		}
		n = m
	}
	return n, true
}

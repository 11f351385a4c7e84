package h2conn

import (
	"strconv"
	"strings"

	"golang.org/x/net/http2/hpack"
)

// IsConnectionField reports whether name, in any case, is a connection-specific field of RFC 9113
// §8.2.2: Connection, Proxy-Connection, Keep-Alive, Transfer-Encoding or Upgrade. Meaningless, and
// malformed, in HTTP/2, hop-by-hop in HTTP/1.1: none is forwarded either way.
func IsConnectionField(name string) bool {
	switch len(name) {
	case len("Connection"):
		return strings.EqualFold(name, "Connection") || strings.EqualFold(name, "Keep-Alive")
	case len("Proxy-Connection"):
		return strings.EqualFold(name, "Proxy-Connection")
	case len("Transfer-Encoding"):
		return strings.EqualFold(name, "Transfer-Encoding")
	case len("Upgrade"):
		return strings.EqualFold(name, "Upgrade")
	}
	return false
}

// ConnectionSpecific returns the name of the first connection-specific field among fields, which
// make an HTTP/2 message malformed (RFC 9113 §8.2.2), or "".
func ConnectionSpecific(fields []hpack.HeaderField) string {
	for _, f := range fields {
		if IsConnectionField(f.Name) {
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

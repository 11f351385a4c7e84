package router

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
)

// Host name limits (RFC 1035).
const (
	// maxHostLen is the longest host name accepted, without its optional trailing dot (253).
	maxHostLen = 253
	// maxLabelLen is the longest label of a host name accepted (63).
	maxLabelLen = 63
	// maxPort is the highest TCP port (65535); the lowest accepted is 1.
	maxPort = 65535
)

// ParseBackend validates a backend address "host:port" and returns it in canonical form, as
// net.JoinHostPort writes it. The host is an IPv4 address, a DNS name or an IPv6 address in brackets;
// the port is a decimal number from 1 to 65535. IP addresses are written in their canonical form
// ("[2001:DB8:0::1]" becomes "[2001:db8::1]"), host names in lower case, and leading zeros of the port
// are dropped. The error names the input and what is wrong with it.
func ParseBackend(s string) (string, error) {
	host, port, reason := splitBackend(s)
	if reason == "" {
		host, reason = canonicalHost(host, s[0] == '[')
	}
	var p int
	if reason == "" {
		p, reason = parsePort(port)
	}
	if reason != "" {
		return "", fmt.Errorf("backend %q: %s", s, reason)
	}
	return net.JoinHostPort(host, strconv.Itoa(p)), nil
}

// splitBackend splits s into host (without brackets) and port, or returns why it cannot.
func splitBackend(s string) (host, port, reason string) {
	switch {
	case s == "":
		return "", "", "empty address (want host:port)"
	case strings.IndexFunc(s, isSpaceOrControl) >= 0:
		return "", "", "contains whitespace or a control character"
	case strings.Contains(s, "://"):
		return "", "", "a backend is host:port, without a scheme"
	case s[0] == '[':
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", `missing "]" after the IPv6 address`
		}
		rest := s[end+1:]
		if rest == "" {
			return "", "", "missing port (want [ipv6]:port)"
		}
		if rest[0] != ':' {
			return "", "", fmt.Sprintf("unexpected %q after the IPv6 address", rest)
		}
		return s[1:end], rest[1:], ""
	}
	colon := strings.LastIndexByte(s, ':')
	switch {
	case colon < 0:
		return "", "", "missing port (want host:port)"
	case strings.IndexByte(s[:colon], ':') >= 0:
		return "", "", "an IPv6 address must be in brackets, like [::1]:8080"
	case strings.ContainsAny(s, "[]"):
		return "", "", `misplaced "[" or "]"`
	}
	return s[:colon], s[colon+1:], ""
}

// canonicalHost checks host and returns its canonical spelling. bracketed says the host was written
// in brackets, which is only valid for an IPv6 address.
func canonicalHost(host string, bracketed bool) (string, string) {
	if host == "" {
		return "", "empty host"
	}
	addr, err := netip.ParseAddr(host)
	switch {
	case bracketed && (err != nil || !addr.Is6()):
		return "", fmt.Sprintf("%q in brackets is not an IPv6 address", host)
	case err == nil:
		return addr.String(), ""
	}
	if reason := checkHostName(host); reason != "" {
		return "", reason
	}
	return strings.ToLower(host), ""
}

// checkHostName reports why name is not a valid DNS host name, or "" when it is one. Letters, digits,
// "-" and "_" are allowed; a trailing dot is kept. A name whose last label is all digits is neither a
// valid IPv4 address nor a host name ("1.2.3", "127.000.0.1").
func checkHostName(name string) string {
	trimmed := strings.TrimSuffix(name, ".")
	if len(trimmed) > maxHostLen {
		return fmt.Sprintf("host name longer than %d bytes", maxHostLen)
	}
	labels := strings.Split(trimmed, ".")
	for _, label := range labels {
		if reason := checkLabel(label); reason != "" {
			return fmt.Sprintf("host %q: %s", name, reason)
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Sprintf("host %q is not a valid IPv4 address", name)
	}
	return ""
}

// checkLabel reports why label is not a valid host name label, or "" when it is one.
func checkLabel(label string) string {
	switch {
	case label == "":
		return "empty label"
	case len(label) > maxLabelLen:
		return fmt.Sprintf("label longer than %d bytes", maxLabelLen)
	case label[0] == '-' || label[len(label)-1] == '-':
		return `label starts or ends with "-"`
	}
	for i := 0; i < len(label); i++ {
		if !isHostNameByte(label[i]) {
			return fmt.Sprintf("invalid character %q", label[i])
		}
	}
	return ""
}

// isHostNameByte reports whether c may appear in a host name label.
func isHostNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// parsePort parses a decimal port from 1 to maxPort, or returns why it cannot.
func parsePort(port string) (int, string) {
	if port == "" {
		return 0, "empty port"
	}
	n := 0
	for i := 0; i < len(port); i++ {
		c := port[i]
		if c < '0' || c > '9' {
			return 0, fmt.Sprintf("port %q is not a number", port)
		}
		if n <= maxPort {
			n = n*10 + int(c-'0')
		}
	}
	if n < 1 || n > maxPort {
		return 0, fmt.Sprintf("port %s out of range 1-%d", port, maxPort)
	}
	return n, ""
}

// isSpaceOrControl reports whether r is whitespace or a control character.
func isSpaceOrControl(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r)
}

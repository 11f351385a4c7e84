package router

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseBackendAccepts(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"127.0.0.1:8080", "127.0.0.1:8080"},
		{"localhost:1", "localhost:1"},
		{"api.internal:65535", "api.internal:65535"},
		{"Backend.Example.COM:80", "backend.example.com:80"},
		{"my_service-2:80", "my_service-2:80"},
		{"example.com.:443", "example.com.:443"},
		{"[::1]:8080", "[::1]:8080"},
		{"[2001:DB8:0:0::1]:80", "[2001:db8::1]:80"},
		{"[::ffff:1.2.3.4]:80", "[::ffff:1.2.3.4]:80"},
		{"[fe80::1%eth0]:80", "[fe80::1%eth0]:80"},
		{"10.0.0.1:080", "10.0.0.1:80"},
		{"x" + strings.Repeat(".abc", 60) + ":80", "x" + strings.Repeat(".abc", 60) + ":80"},
	}
	for _, tt := range tests {
		got, err := ParseBackend(tt.in)
		if err != nil {
			t.Errorf("ParseBackend(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseBackend(%q) = %q, want %q", tt.in, got, tt.want)
		}
		again, err := ParseBackend(got)
		if err != nil || again != got {
			t.Errorf("ParseBackend(%q) = %q, %v; canonical form must parse to itself", got, again, err)
		}
	}
}

func TestParseBackendRejects(t *testing.T) {
	tests := []struct {
		in     string
		reason string // part of the error after the quoted input
	}{
		{"", "empty address"},
		{"localhost", "missing port"},
		{":8080", "empty host"},
		{"localhost:", "empty port"},
		{"localhost:0", "port 0 out of range"},
		{"localhost:65536", "port 65536 out of range"},
		{"localhost:99999999999999999999", "out of range"},
		{"localhost:x", `port "x" is not a number`},
		{"localhost:+80", "not a number"},
		{"localhost:-1", "not a number"},
		{"localhost:80x", "not a number"},
		{"::1:8080", "must be in brackets"},
		{"fe80::1", "must be in brackets"},
		{"[::1]", "missing port"},
		{"[::1]8080", `unexpected "8080"`},
		{"[::1:8080", `missing "]"`},
		{"[]:80", "empty host"},
		{"[127.0.0.1]:80", "not an IPv6 address"},
		{"[localhost]:80", "not an IPv6 address"},
		{"local]host:80", "misplaced"},
		{"local host:80", "whitespace"},
		{" localhost:80", "whitespace"},
		{"localhost:80\n", "whitespace"},
		{"local\x00host:80", "control"},
		{"localhost:8\u00a00", "whitespace"},
		{"bad!host:80", `invalid character '!'`},
		{"a..b:80", "empty label"},
		{".a:80", "empty label"},
		{"-a.b:80", `starts or ends with "-"`},
		{"a-.b:80", `starts or ends with "-"`},
		{strings.Repeat("a", 64) + ".b:80", "label longer than 63"},
		{strings.Repeat("abc.", 64) + "b:80", "host name longer than 253"},
		{"1.2.3:80", "not a valid IPv4 address"},
		{"256.1.1.1:80", "not a valid IPv4 address"},
		{"127.000.0.1:80", "not a valid IPv4 address"},
		{"http://h:80", "without a scheme"},
	}
	for _, tt := range tests {
		got, err := ParseBackend(tt.in)
		if err == nil {
			t.Errorf("ParseBackend(%q) = %q, want an error", tt.in, got)
			continue
		}
		if !strings.Contains(err.Error(), strconv.Quote(tt.in)) || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("ParseBackend(%q) error %q: want it to name the input and say %q", tt.in, err, tt.reason)
		}
	}
}

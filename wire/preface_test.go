package wire

import "testing"

func TestMatchH2Preface(t *testing.T) {
	tests := []struct {
		buf         string
		match, more bool
	}{
		{"", false, true},
		{"P", false, true},
		{"PRI * HTTP/2.0\r\n", false, true},
		{H2Preface[:len(H2Preface)-1], false, true},
		{H2Preface, true, false},
		{H2Preface + "\x00\x00\x12\x04", true, false},
		{"G", false, false},
		{"PRI * HTTP/1.1\r\n", false, false},
		{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r", false, false},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", false, false},
	}
	for _, tc := range tests {
		if match, more := MatchH2Preface([]byte(tc.buf)); match != tc.match || more != tc.more {
			t.Errorf("MatchH2Preface(%q) = %v, %v; want %v, %v", tc.buf, match, more, tc.match, tc.more)
		}
	}
}

func TestInvalidH2Preface(t *testing.T) {
	tests := []struct {
		buf  string
		want bool
	}{
		{"", false},
		{"PRI * HTTP/2.0\r", false},
		{"PRI * HTTP/2.0\r\n", true},
		{"PRI * HTTP/2.0\r\n\r\nSM", true},
		{"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", true},
		{"PRI * HTTP/2.0\r\nHost: a\r\n\r\n", true},
		{H2Preface, false},
		{H2Preface + "\x00\x00\x12\x04", false},
		{"PRI * HTTP/1.1\r\n\r\n", false},
		{"PRI * HTTP/2.0 \r\n", false},
		{"INVALID CONNECTION PREFACE\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	}
	for _, tc := range tests {
		if got := InvalidH2Preface([]byte(tc.buf)); got != tc.want {
			t.Errorf("InvalidH2Preface(%q) = %v, want %v", tc.buf, got, tc.want)
		}
	}
}

func TestForeignRequestLine(t *testing.T) {
	for buf, want := range map[string]bool{
		"INVALID CONNECTION PREFACE\r\n\r\n": true,
		"GET / FOO\r\nHost: a\r\n\r\n":       true,
		"INVALID CONNECTION PREFACE":         false, // not a complete line yet
		"GET / HTTP/1.1\r\n":                 false,
		"GET / http/1.1\r\n":                 false, // a malformed version: answered 400
		"GET / HTTP/1.x\r\n":                 false,
		"GET /\r\n":                          false, // a missing version: answered 400
		"GET  / HTTP/1.1\r\n":                false,
		"GET / \r\n":                         false,
		"PRI * HTTP/2.0\r\n":                 false,
		"":                                   false,
	} {
		if got := ForeignRequestLine([]byte(buf)); got != want {
			t.Errorf("ForeignRequestLine(%q) = %v, want %v", buf, got, want)
		}
	}
}

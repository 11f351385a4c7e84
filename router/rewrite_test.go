package router

import (
	"testing"
)

func TestRewrite(t *testing.T) {
	tests := []struct {
		route  string // the only route of the table
		target string
		want   string
	}{
		{"/api", "/api/users", "/users"},
		{"/api", "/api", "/"},
		{"/api", "/api?x=1", "/?x=1"},
		{"/api", "/api/?x=1", "/?x=1"},
		{"/api", "/api//x", "//x"},
		{"/api", "/api/a%2Fb?q=/api", "/a%2Fb?q=/api"},
		{"/api", "/other", "/other"},
		{"/api", "*", "*"},
		{"/api", "h:443", "h:443"},
		{"/api*", "/apiary", "/ary"},
		{"/api*", "/api", "/"},
		{"/api*", "/api/x", "/x"},
		{"/api*", "/api.json?v", "/.json?v"},
		{"/api/", "/api/users", "/users"},
		{"/api/", "/api/", "/"},
		{"/api/", "/api/?x", "/?x"},
		{"/api/", "/api", "/api"},
		{"/api/*", "/api/x", "/x"},
		{"/", "/x/y?z", "/x/y?z"},
		{"/", "//x", "//x"},
		{"/*", "/x", "/x"},
		{"/api", "http://h:8080/api/x?q", "http://h:8080/x?q"},
		{"/api", "HTTPS://h/api", "HTTPS://h/"},
		{"/api", "http://h/api?q", "http://h/?q"},
		{"/", "http://h", "http://h/"},
		{"/", "http://h?q", "http://h/?q"},
		{"/a%2Fb", "/a%2Fb/c", "/c"},
	}
	for _, tt := range tests {
		tab := mustTable(t, "d:1", tt.route+"=r:1")
		m, err := tab.Match([]byte(tt.target))
		if err != nil {
			t.Fatalf("Match(%q): %v", tt.target, err)
		}
		prefix := []byte("GET ")
		got := Rewrite(prefix, []byte(tt.target), m)
		if string(got) != "GET "+tt.want {
			t.Errorf("route %q: Rewrite(%q) = %q, want %q", tt.route, tt.target, got[len(prefix):], tt.want)
		}
	}
}

func TestRewriteClampsStrip(t *testing.T) {
	tests := []struct {
		target string
		m      Match
		want   string
	}{
		{"/ab?q", Match{Route: 0, Strip: 99}, "/?q"},
		{"/ab", Match{Route: 0, Strip: -5}, "/ab"},
		{"http://h", Match{Route: 0, Strip: 3}, "http://h/"},
		{"/ab", Match{Route: -1, Strip: 2}, "/ab"},
		{"*", Match{Route: 0, Strip: 1}, "*"},
	}
	for _, tt := range tests {
		if got := Rewrite(nil, []byte(tt.target), tt.m); string(got) != tt.want {
			t.Errorf("Rewrite(%q, %+v) = %q, want %q", tt.target, tt.m, got, tt.want)
		}
	}
}

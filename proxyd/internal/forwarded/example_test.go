package forwarded_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"proxyd.dev/proxyd/internal/forwarded"
)

// proxyd behind a load balancer at 10.0.0.5 (--forwarded --trust-forwarded 10.0.0.0/8): the
// load balancer's word about its client counts, a client's that connects directly does not.
func ExamplePolicy_AppendHead() {
	trusted, err := forwarded.ParseTrusted([]string{"10.0.0.0/8"})
	if err != nil {
		fmt.Println(err)
		return
	}
	p := forwarded.New(trusted)
	head := []byte("GET / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\n\r\n")
	for _, client := range []string{"10.0.0.5", "198.51.100.4"} {
		out, err := p.AppendHead(nil, head, netip.MustParseAddr(client))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("from %s:\n%s", client, strings.ReplaceAll(string(out), "\r\n", "\n"))
	}
	// Output:
	// from 10.0.0.5:
	// GET / HTTP/1.1
	// Host: example.com
	// X-Forwarded-Proto: https
	// X-Forwarded-For: 203.0.113.9, 10.0.0.5
	// Forwarded: for=10.0.0.5;proto=http
	//
	// from 198.51.100.4:
	// GET / HTTP/1.1
	// Host: example.com
	// X-Forwarded-For: 198.51.100.4
	// X-Forwarded-Proto: http
	// Forwarded: for=198.51.100.4;proto=http
}

// An HTTP/2 request's fields from an IPv6 client that no policy trusts.
func ExamplePolicy_EditHeader() {
	h := http.Header{"Accept": {"*/*"}, "X-Real-Ip": {"1.2.3.4"}}
	forwarded.New(nil).EditHeader(h, netip.MustParseAddr("2001:db8::7"))
	for _, name := range []string{"Accept", "X-Real-Ip", "X-Forwarded-For", "X-Forwarded-Proto", "Forwarded"} {
		fmt.Printf("%s: %q\n", name, h[name])
	}
	// Output:
	// Accept: ["*/*"]
	// X-Real-Ip: []
	// X-Forwarded-For: ["2001:db8::7"]
	// X-Forwarded-Proto: ["http"]
	// Forwarded: ["for=\"[2001:db8::7]\";proto=http"]
}

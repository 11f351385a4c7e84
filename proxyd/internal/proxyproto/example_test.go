package proxyproto_test

import (
	"fmt"
	"net/netip"

	"proxyd.dev/proxyd/internal/proxyproto"
)

// A client at 203.0.113.50 connected to proxyd's listener at 10.0.0.1:8080: the header proxyd
// writes first on the backend connection, in each version.
func ExampleAppendHeader() {
	client, listener := netip.MustParseAddrPort("203.0.113.50:51234"), netip.MustParseAddrPort("10.0.0.1:8080")
	for _, name := range []string{"v1", "v2"} {
		v, err := proxyproto.ParseVersion(name) // --proxy-protocol
		if err != nil {
			fmt.Println(err)
			return
		}
		header := proxyproto.AppendHeader(make([]byte, 0, 108), v, client, listener)
		if v == proxyproto.V1 {
			fmt.Printf("%v: %q\n", v, header)
		} else {
			fmt.Printf("%v: % x\n", v, header)
		}
	}
	// Output:
	// v1: "PROXY TCP4 203.0.113.50 10.0.0.1 51234 8080\r\n"
	// v2: 0d 0a 0d 0a 00 0d 0a 51 55 49 54 0a 21 11 00 0c cb 00 71 32 0a 00 00 01 c8 22 1f 90
}

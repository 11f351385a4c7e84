// Package proxyproto writes the header of HAProxy's PROXY protocol (versions 1 and 2,
// https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt), which proxyd sends first on a
// backend connection to tell the backend the addresses of the client connection it relays.
package proxyproto

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
)

// Version is a version of the PROXY protocol header.
type Version int

// The versions of the header: V1 is a line of text, V2 binary.
const (
	V1 Version = 1
	V2 Version = 2
)

// ParseVersion parses the name of a version: "v1" or "v2".
func ParseVersion(s string) (Version, error) {
	for _, v := range [...]Version{V1, V2} {
		if s == v.String() {
			return v, nil
		}
	}
	return 0, fmt.Errorf("PROXY protocol version %q: want v1 or v2", s)
}

// String returns the name ParseVersion takes for v, or "Version(N)" for an unknown value.
func (v Version) String() string {
	switch v {
	case V1:
		return "v1"
	case V2:
		return "v2"
	}
	return "Version(" + strconv.Itoa(int(v)) + ")"
}

// MaxHeaderLen is the length of the longest header AppendHeader writes: a version 1 header for
// two IPv6 addresses (a version 2 one has at most 52 bytes).
const MaxHeaderLen = 104

// signature starts every version 2 header (proxy-protocol.txt §2.2).
const signature = "\r\n\r\n\x00\r\nQUIT\n"

// The 13th byte of a version 2 header: the version (2) in the high nibble, the command in the low
// one.
const (
	cmdLocal = 0x20 // the connection is the proxy's own: the receiver uses its real endpoints
	cmdProxy = 0x21 // the connection is relayed for the addresses that follow
)

// The 14th byte of a version 2 header: the address family in the high nibble, the transport
// protocol in the low one.
const (
	famUnspec = 0x00
	famTCP4   = 0x11 // TCP over IPv4
	famTCP6   = 0x21 // TCP over IPv6
)

// AppendHeader appends to b the PROXY protocol header of version v for a TCP connection from src
// (the client) to dst (the address the client connected to).
//
// When both are IPv4 (IPv4-mapped IPv6 counts as IPv4) it is "PROXY TCP4 src dst srcport
// dstport\r\n" in version 1 and the family TCP over IPv4 (0x11) in version 2. When either is IPv6
// it is "PROXY TCP6 ..." and TCP over IPv6 (0x21), and an IPv4 address of the other is written as
// IPv4-mapped IPv6 (::ffff:192.0.2.1), as HAProxy does: the header has one family for both
// addresses. Zones are not written. When either has no address (an invalid AddrPort), the header
// says the addresses are unknown: "PROXY UNKNOWN\r\n" in version 1, and in version 2 the LOCAL
// command with no address, as HAProxy sends it; the backend then takes the connection's own
// endpoints.
//
// AppendHeader allocates only to grow b: a header has at most MaxHeaderLen bytes. It panics if v is neither V1 nor V2.
func AppendHeader(b []byte, v Version, src, dst netip.AddrPort) []byte {
	s, d := src.Addr().Unmap().WithZone(""), dst.Addr().Unmap().WithZone("")
	known := src.IsValid() && dst.IsValid()
	if known && s.Is4() != d.Is4() {
		s, d = netip.AddrFrom16(s.As16()), netip.AddrFrom16(d.As16())
	}
	switch v {
	case V1:
		if !known {
			return append(b, "PROXY UNKNOWN\r\n"...)
		}
		if s.Is4() {
			b = append(b, "PROXY TCP4 "...)
		} else {
			b = append(b, "PROXY TCP6 "...)
		}
		b = append(s.AppendTo(b), ' ')
		b = append(d.AppendTo(b), ' ')
		b = append(strconv.AppendUint(b, uint64(src.Port()), 10), ' ')
		b = strconv.AppendUint(b, uint64(dst.Port()), 10)
		return append(b, "\r\n"...)
	case V2:
		b = append(b, signature...)
		switch {
		case !known:
			return append(b, cmdLocal, famUnspec, 0, 0)
		case s.Is4():
			b = append(b, cmdProxy, famTCP4, 0, 2*4+2*2)
		default:
			b = append(b, cmdProxy, famTCP6, 0, 2*16+2*2)
		}
		b = appendAddr(appendAddr(b, s), d)
		b = binary.BigEndian.AppendUint16(b, src.Port())
		return binary.BigEndian.AppendUint16(b, dst.Port())
	}
	panic("proxyproto: " + v.String() + " is not a PROXY protocol version")
}

// appendAddr appends the bytes of a in network order: 4 for IPv4, 16 for IPv6.
func appendAddr(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		a4 := a.As4()
		return append(b, a4[:]...)
	}
	a16 := a.As16()
	return append(b, a16[:]...)
}

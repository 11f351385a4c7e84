package proxyproto

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fromHex returns the bytes of hex digits written in groups separated by spaces and newlines.
func fromHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The expected headers below are written by hand from the specification
// (https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt): §2.1 for the line of version 1,
// §2.2 for the binary version 2: the 12-byte signature 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A, the
// version and command (0x21: version 2, PROXY; 0x20: LOCAL), the family and transport (0x11: TCP
// over IPv4, 0x21: TCP over IPv6, 0x00: unspecified), the length of the address block (big-endian),
// then source address, destination address, source port, destination port, in network order.
func TestAppendHeader(t *testing.T) {
	const sig = "0d0a0d0a 000d0a51 5549540a"
	tests := []struct {
		name     string
		src, dst string // an empty one has no address
		v1, v2   string // v2 in hex
	}{
		{"IPv4, the specification's example", "192.168.0.1:56324", "192.168.0.11:443",
			"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
			sig + "21 11 000c  c0a80001  c0a8000b  dc04 01bb"},
		{"IPv6", "[2001:db8::1]:56324", "[2001:db8::2]:443",
			"PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\r\n",
			sig + "21 21 0024" +
				" 20010db8 00000000 00000000 00000001" +
				" 20010db8 00000000 00000000 00000002" +
				" dc04 01bb"},
		{"IPv6 at full length, largest ports", "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535", "[fe80::1%eth0]:65534",
			"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe fe80::1 65535 65534\r\n",
			sig + "21 21 0024" +
				" ffffffff ffffffff ffffffff fffffffe" +
				" fe800000 00000000 00000000 00000001" +
				" ffff fffe"},
		{"IPv4 client of an IPv6 listener", "192.0.2.1:1234", "[2001:db8::2]:80",
			"PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 1234 80\r\n",
			sig + "21 21 0024" +
				" 00000000 00000000 0000ffff c0000201" +
				" 20010db8 00000000 00000000 00000002" +
				" 04d2 0050"},
		{"IPv6 client of an IPv4 listener", "[2001:db8::1]:1234", "10.0.0.1:80",
			"PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 1234 80\r\n",
			sig + "21 21 0024" +
				" 20010db8 00000000 00000000 00000001" +
				" 00000000 00000000 0000ffff 0a000001" +
				" 04d2 0050"},
		{"IPv4-mapped addresses of a dual-stack listener are IPv4", "[::ffff:192.0.2.1]:1234", "[::ffff:10.0.0.1]:80",
			"PROXY TCP4 192.0.2.1 10.0.0.1 1234 80\r\n",
			sig + "21 11 000c  c0000201  0a000001  04d2 0050"},
		{"port zero", "127.0.0.1:0", "127.0.0.1:0",
			"PROXY TCP4 127.0.0.1 127.0.0.1 0 0\r\n",
			sig + "21 11 000c  7f000001  7f000001  0000 0000"},
		{"no source address", "", "10.0.0.1:80", "PROXY UNKNOWN\r\n", sig + "20 00 0000"},
		{"no destination address", "[2001:db8::1]:1234", "", "PROXY UNKNOWN\r\n", sig + "20 00 0000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := addrPort(tc.src), addrPort(tc.dst)
			for _, want := range []struct {
				v     Version
				bytes []byte
			}{{V1, []byte(tc.v1)}, {V2, fromHex(t, tc.v2)}} {
				got := AppendHeader([]byte("prefix"), want.v, src, dst)
				if diff := cmp.Diff(append([]byte("prefix"), want.bytes...), got); diff != "" {
					t.Errorf("AppendHeader(%v, %s, %s) mismatch (-want +got):\n%s", want.v, tc.src, tc.dst, diff)
				}
			}
		})
	}
}

func TestAppendHeaderPanicsOnUnknownVersion(t *testing.T) {
	defer func() {
		if r := recover(); r != "proxyproto: Version(3) is not a PROXY protocol version" {
			t.Errorf("recovered %v", r)
		}
	}()
	AppendHeader(nil, 3, addrPort("10.0.0.1:1"), addrPort("10.0.0.2:2"))
}

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Version
		err  string
	}{
		{"v1", V1, ""},
		{"v2", V2, ""},
		{"V1", 0, `PROXY protocol version "V1": want v1 or v2`},
		{"1", 0, `PROXY protocol version "1": want v1 or v2`},
		{"", 0, `PROXY protocol version "": want v1 or v2`},
	} {
		got, err := ParseVersion(tc.in)
		if errText := fmt.Sprint(err); got != tc.want || err != nil && errText != tc.err || err == nil && tc.err != "" {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v, %q", tc.in, got, err, tc.want, tc.err)
		}
		if err == nil && got.String() != tc.in {
			t.Errorf("%q parses to %v, whose String is %q", tc.in, got, got.String())
		}
	}
}

// header is what a receiver learns from a PROXY protocol header.
type header struct {
	Version  Version
	Command  string // "PROXY", "LOCAL" (version 2) or "UNKNOWN" (version 1)
	Src, Dst netip.AddrPort
	Len      int // bytes of the header
}

// parseHeader parses the PROXY protocol header at the start of b as a receiver does, written from
// the specification independently of AppendHeader.
func parseHeader(b []byte) (header, error) {
	switch {
	case bytes.HasPrefix(b, []byte("PROXY ")):
		return parseV1(b)
	case bytes.HasPrefix(b, []byte("\r\n\r\n\x00\r\nQUIT\n")):
		return parseV2(b)
	}
	return header{}, errors.New("no PROXY protocol signature")
}

// parseV1 parses a version 1 line (§2.1): at most 107 bytes with its CRLF, single spaces, TCP4
// with two IPv4 addresses, TCP6 with two IPv6 ones, ports in decimal 0 to 65535 without leading
// zeros, or UNKNOWN and anything up to the CRLF.
func parseV1(b []byte) (header, error) {
	end := bytes.Index(b[:min(len(b), 107)], []byte("\r\n"))
	if end < 0 {
		return header{}, errors.New("v1: no CRLF in the first 107 bytes")
	}
	h := header{Version: V1, Len: end + 2}
	fields := strings.Split(string(b[len("PROXY "):end]), " ")
	if fields[0] == "UNKNOWN" {
		h.Command = "UNKNOWN"
		return h, nil
	}
	if len(fields) != 5 || fields[0] != "TCP4" && fields[0] != "TCP6" {
		return header{}, fmt.Errorf("v1: malformed line %q", b[:end])
	}
	h.Command = "PROXY"
	var addrs [2]netip.Addr
	var ports [2]uint16
	for i := range 2 {
		a, err := netip.ParseAddr(fields[1+i])
		if err != nil || a.Is4() != (fields[0] == "TCP4") || a.Zone() != "" {
			return header{}, fmt.Errorf("v1: bad %s address %q", fields[0], fields[1+i])
		}
		port := fields[3+i]
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil || len(port) > 1 && port[0] == '0' {
			return header{}, fmt.Errorf("v1: bad port %q", port)
		}
		addrs[i], ports[i] = a, uint16(p)
	}
	h.Src, h.Dst = netip.AddrPortFrom(addrs[0], ports[0]), netip.AddrPortFrom(addrs[1], ports[1])
	return h, nil
}

// parseV2 parses a version 2 header (§2.2): version 2, command LOCAL or PROXY, and for PROXY the
// family TCP over IPv4 or IPv6 with an address block at least as long as the family needs.
func parseV2(b []byte) (header, error) {
	if len(b) < 16 {
		return header{}, errors.New("v2: shorter than 16 bytes")
	}
	verCmd, fam, n := b[12], b[13], int(binary.BigEndian.Uint16(b[14:16]))
	if len(b) < 16+n {
		return header{}, fmt.Errorf("v2: %d bytes of address block, want %d", len(b)-16, n)
	}
	h := header{Version: V2, Len: 16 + n}
	switch verCmd {
	case 0x20:
		h.Command = "LOCAL"
		return h, nil
	case 0x21:
		h.Command = "PROXY"
	default:
		return header{}, fmt.Errorf("v2: version and command byte %#x", verCmd)
	}
	block := b[16 : 16+n]
	switch {
	case fam == 0x11 && n >= 12:
		h.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(block[0:4])), binary.BigEndian.Uint16(block[8:10]))
		h.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(block[4:8])), binary.BigEndian.Uint16(block[10:12]))
	case fam == 0x21 && n >= 36:
		h.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(block[0:16])), binary.BigEndian.Uint16(block[32:34]))
		h.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(block[16:32])), binary.BigEndian.Uint16(block[34:36]))
	default:
		return header{}, fmt.Errorf("v2: family %#x with %d bytes of addresses", fam, n)
	}
	return h, nil
}

func TestParseHeaderRefusesMalformed(t *testing.T) {
	for _, b := range []string{
		"GET / HTTP/1.1\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 1 2",                     // no CRLF
		"PROXY TCP4 2001:db8::1 192.0.2.2 1 2\r\n",               // family mismatch
		"PROXY TCP4 192.0.2.1 192.0.2.2 01 2\r\n",                // leading zero
		"PROXY TCP4 192.0.2.1 192.0.2.2 65536 2\r\n",             // port too large
		"PROXY TCP4 192.0.2.1  192.0.2.2 1 2\r\n",                // two spaces
		"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c\xc0\x00",         // short address block
		"\r\n\r\n\x00\r\nQUIT\n\x11\x11\x00\x00",                 // version 1 in a binary header
		"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x04\x00\x00\x00\x00", // block too short for IPv4
	} {
		if h, err := parseHeader([]byte(b)); err == nil {
			t.Errorf("parseHeader(%q) = %+v, want an error", b, h)
		}
	}
}

// TestRoundTrip checks that a receiver reads back from each header the addresses it was written
// for, and where the header ends: the bytes after it are the client's.
func TestRoundTrip(t *testing.T) {
	addrs := []string{"192.0.2.1:1", "10.0.0.1:65535", "[::ffff:198.51.100.7]:8080", "[2001:db8::1]:443",
		"[::1]:0", "[fe80::1%eth0]:22", "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", ""}
	const after = "GET / HTTP/1.1\r\n"
	for _, v := range []Version{V1, V2} {
		for _, s := range addrs {
			for _, d := range addrs {
				src, dst := addrPort(s), addrPort(d)
				b := AppendHeader(nil, v, src, dst)
				got, err := parseHeader(append(b, after...))
				if err != nil {
					t.Errorf("%v %s -> %s: %q does not parse: %v", v, s, d, b, err)
					continue
				}
				if diff := cmp.Diff(expectedHeader(v, src, dst, len(b)), got, cmpopts.EquateComparable(netip.AddrPort{})); diff != "" {
					t.Errorf("%v %s -> %s: %q mismatch (-want +got):\n%s", v, s, d, b, diff)
				}
			}
		}
	}
}

// expectedHeader is what a receiver must read from the header of n bytes that AppendHeader wrote
// for src and dst: unknown addresses when either has none; otherwise IPv4 addresses when both are
// IPv4, possibly IPv4-mapped, and IPv6 ones, the IPv4 one mapped, when they differ; no zones.
func expectedHeader(v Version, src, dst netip.AddrPort, n int) header {
	h := header{Version: v, Len: n}
	if !src.IsValid() || !dst.IsValid() {
		h.Command = map[Version]string{V1: "UNKNOWN", V2: "LOCAL"}[v]
		return h
	}
	s, d := src.Addr().Unmap().WithZone(""), dst.Addr().Unmap().WithZone("")
	if s.Is4() != d.Is4() {
		s, d = netip.AddrFrom16(s.As16()), netip.AddrFrom16(d.As16())
	}
	h.Command = "PROXY"
	h.Src, h.Dst = netip.AddrPortFrom(s, src.Port()), netip.AddrPortFrom(d, dst.Port())
	return h
}

// addrPort parses s, or returns the zero AddrPort for "".
func addrPort(s string) netip.AddrPort {
	if s == "" {
		return netip.AddrPort{}
	}
	return netip.MustParseAddrPort(s)
}

func TestAppendHeaderDoesNotAllocate(t *testing.T) {
	// The longest headers: two IPv6 addresses of 39 characters and two 5-digit ports.
	longSrc, longDst := addrPort("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535"), addrPort("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535")
	for _, tc := range []struct {
		v   Version
		max int
	}{{V1, 104}, {V2, 52}} {
		b := make([]byte, 0, tc.max)
		if n := len(AppendHeader(b, tc.v, longSrc, longDst)); n != tc.max {
			t.Errorf("%v: longest header %d bytes, want %d", tc.v, n, tc.max)
		}
		for _, addrs := range [][2]string{
			{"[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535", "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"},
			{"255.255.255.255:65535", "255.255.255.254:65534"},
			{"[2001:db8::1]:443", "192.0.2.1:80"},
			{"", "192.0.2.1:80"},
		} {
			src, dst := addrPort(addrs[0]), addrPort(addrs[1])
			if allocs := testing.AllocsPerRun(100, func() { b = AppendHeader(b[:0], tc.v, src, dst) }); allocs != 0 {
				t.Errorf("%v %s -> %s: %v allocations, want 0", tc.v, src, dst, allocs)
			}
		}
	}
}

func BenchmarkAppendHeader(b *testing.B) {
	for _, v := range []Version{V1, V2} {
		for _, bc := range []struct{ name, src, dst string }{
			{"IPv4", "203.0.113.50:51234", "10.0.0.1:8080"},
			{"IPv6", "[2001:db8:85a3::8a2e:370:7334]:51234", "[2001:db8::1]:8080"},
		} {
			b.Run(v.String()+"/"+bc.name, func(b *testing.B) {
				src, dst := addrPort(bc.src), addrPort(bc.dst)
				buf := make([]byte, 0, 108)
				b.ReportAllocs()
				for b.Loop() {
					buf = AppendHeader(buf[:0], v, src, dst)
				}
			})
		}
	}
}

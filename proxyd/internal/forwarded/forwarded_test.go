package forwarded

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseTrusted(t *testing.T) {
	tests := []struct {
		name  string
		specs []string
		want  []string
	}{
		{"none", nil, []string{}},
		{"prefixes and addresses",
			[]string{"10.0.0.0/8", "192.0.2.1", "2001:db8::/32", "::1", "0.0.0.0/0"},
			[]string{"10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32", "::1/128", "0.0.0.0/0"}},
		{"host bits kept as written", []string{"10.1.2.3/8"}, []string{"10.1.2.3/8"}},
		{"IPv4-mapped", []string{"::ffff:10.0.0.1"}, []string{"::ffff:10.0.0.1/128"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTrusted(tc.specs)
			if err != nil {
				t.Fatalf("ParseTrusted(%q) = %v", tc.specs, err)
			}
			if diff := cmp.Diff(tc.want, prefixStrings(got)); diff != "" {
				t.Errorf("ParseTrusted(%q) mismatch (-want +got):\n%s", tc.specs, diff)
			}
		})
	}
}

func TestParseTrustedErrors(t *testing.T) {
	tests := []struct {
		specs []string
		want  string // the error text
	}{
		{[]string{"10.0.0.0/8", "10.0.0.0/33"}, `trusted address "10.0.0.0/33": netip.ParsePrefix("10.0.0.0/33"): prefix length out of range`},
		{[]string{"example.com"}, `trusted address "example.com": ParseAddr("example.com"): unexpected character (at "example.com")`},
		{[]string{""}, `trusted address "": ParseAddr(""): unable to parse IP`},
		{[]string{"10.0.0.0/"}, `trusted address "10.0.0.0/": netip.ParsePrefix("10.0.0.0/"): bad bits after slash: ""`},
		{[]string{"10.0.0"}, `trusted address "10.0.0": ParseAddr("10.0.0"): IPv4 address too short`},
		{[]string{"fe80::1%eth0"}, `trusted address "fe80::1%eth0": an IPv6 zone is not allowed`},
		{[]string{"fe80::1%eth0/64"}, `trusted address "fe80::1%eth0/64": netip.ParsePrefix("fe80::1%eth0/64"): IPv6 zones cannot be present in a prefix`},
	}
	for _, tc := range tests {
		got, err := ParseTrusted(tc.specs)
		if err == nil {
			t.Errorf("ParseTrusted(%q) = %v, want an error", tc.specs, got)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("ParseTrusted(%q) error\n%s\nwant\n%s", tc.specs, err, tc.want)
		}
	}
}

func TestTrusts(t *testing.T) {
	tests := []struct {
		trusted string // specs separated by spaces
		addr    string
		want    bool
	}{
		{"", "127.0.0.1", false},
		{"10.0.0.0/8", "10.200.0.1", true},
		{"10.0.0.0/8", "11.0.0.1", false},
		{"10.1.2.3/8", "10.200.0.1", true}, // host bits ignored
		{"192.0.2.1", "192.0.2.1", true},
		{"192.0.2.1", "192.0.2.2", false},
		{"10.0.0.0/8", "::ffff:10.0.0.1", true}, // a dual-stack listener's IPv4 client
		{"::ffff:10.0.0.0/104", "10.0.0.1", true},
		{"::ffff:10.0.0.0/104", "::ffff:10.0.0.1", true},
		{"::ffff:10.0.0.0/104", "11.0.0.1", false},
		{"::/0", "10.0.0.1", false}, // IPv6 prefixes hold no IPv4 client
		{"0.0.0.0/0", "::1", false},
		{"2001:db8::/32", "2001:db8:1::5", true},
		{"2001:db8::/32", "2001:db9::5", false},
		{"fe80::/10", "fe80::1%eth0", true}, // the zone is ignored
		{"10.0.0.0/8 2001:db8::/32", "2001:db8::1", true},
		{"10.0.0.0/8", "", false}, // no address
	}
	for _, tc := range tests {
		prefixes, err := ParseTrusted(strings.Fields(tc.trusted))
		if err != nil {
			t.Fatal(err)
		}
		var addr netip.Addr
		if tc.addr != "" {
			addr = netip.MustParseAddr(tc.addr)
		}
		if got := New(prefixes).Trusts(addr); got != tc.want {
			t.Errorf("trusting %q: Trusts(%s) = %v, want %v", tc.trusted, tc.addr, got, tc.want)
		}
	}
}

// prefixStrings returns the prefixes as text.
func prefixStrings(prefixes []netip.Prefix) []string {
	s := make([]string, 0, len(prefixes))
	for _, p := range prefixes {
		s = append(s, p.String())
	}
	return s
}

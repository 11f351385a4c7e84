// Package forwarded tells backends which client a request came from: proxyd appends the client's
// address to X-Forwarded-For, sets X-Forwarded-Proto and appends an element to Forwarded
// (RFC 7239), and removes what a client sent in those fields, and in X-Forwarded-Host and
// X-Real-IP, unless the client is a trusted proxy whose word about its own clients counts.
package forwarded

import (
	"fmt"
	"net/netip"
	"strings"
)

// Policy decides whose client-address fields are forwarded: those of a client inside one of its
// trusted prefixes (a proxy or load balancer in front of proxyd) are kept and extended, everyone
// else's are removed, since a backend that reads them would believe whatever a client wrote. A
// Policy is safe for concurrent use.
type Policy struct {
	trusted []netip.Prefix // masked; IPv4-mapped IPv6 ones as IPv4
}

// New returns a Policy that trusts the clients inside the trusted prefixes; with none it trusts no
// client. Host bits set in a prefix are ignored (10.1.2.3/8 is 10.0.0.0/8), and an IPv4-mapped
// IPv6 prefix of at least 96 bits is the IPv4 prefix it maps (::ffff:10.0.0.0/104 is 10.0.0.0/8),
// as client addresses are compared in their IPv4 form.
func New(trusted []netip.Prefix) *Policy {
	p := &Policy{trusted: make([]netip.Prefix, 0, len(trusted))}
	for _, t := range trusted {
		if t.Addr().Is4In6() && t.Bits() >= 96 {
			t = netip.PrefixFrom(t.Addr().Unmap(), t.Bits()-96)
		}
		p.trusted = append(p.trusted, t.Masked())
	}
	return p
}

// ParseTrusted parses the --trust-forwarded specs: CIDR prefixes (10.0.0.0/8, 2001:db8::/32) and
// bare IP addresses (192.0.2.1, one address). The error names the first spec that is neither; an
// address with a zone (fe80::1%eth0) is refused, since a prefix cannot hold one.
func ParseTrusted(specs []string) ([]netip.Prefix, error) {
	prefixes := make([]netip.Prefix, 0, len(specs))
	for _, spec := range specs {
		if strings.Contains(spec, "/") {
			p, err := netip.ParsePrefix(spec)
			if err != nil {
				return nil, fmt.Errorf("trusted address %q: %w", spec, err)
			}
			prefixes = append(prefixes, p)
			continue
		}
		addr, err := netip.ParseAddr(spec)
		switch {
		case err != nil:
			return nil, fmt.Errorf("trusted address %q: %w", spec, err)
		case addr.Zone() != "":
			return nil, fmt.Errorf("trusted address %q: an IPv6 zone is not allowed", spec)
		}
		prefixes = append(prefixes, netip.PrefixFrom(addr, addr.BitLen()))
	}
	return prefixes, nil
}

// Trusts reports whether the client at addr is inside one of p's trusted prefixes. An
// IPv4-mapped IPv6 address (::ffff:192.0.2.1, as a dual-stack listener reports IPv4 clients) is
// taken as the IPv4 address it maps, and a zone is ignored.
func (p *Policy) Trusts(addr netip.Addr) bool {
	return p.trusts(addr.Unmap().WithZone(""))
}

// trusts reports whether addr, without IPv4 mapping or zone, is inside one of p's trusted prefixes.
func (p *Policy) trusts(addr netip.Addr) bool {
	for _, t := range p.trusted {
		if t.Contains(addr) {
			return true
		}
	}
	return false
}

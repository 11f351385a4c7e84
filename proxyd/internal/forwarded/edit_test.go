package forwarded

import (
	"bufio"
	"bytes"
	"net/http"
	"net/netip"
	"net/textproto"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/wire"
)

// editCase is a request's fields from a client and the fields proxyd forwards for it. The fields
// come after requestLine; trusted holds --trust-forwarded specs separated by spaces; an empty client
// is a client without an address.
type editCase struct {
	name    string
	trusted string
	client  string
	fields  string
	want    string
}

// requestLine starts the heads of editCases.
const requestLine = "GET /x HTTP/1.1\r\nHost: example.com\r\n"

func editCases() []editCase {
	const spoofed = "X-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n" +
		"X-Real-IP: 1.2.3.4\r\nForwarded: for=1.2.3.4;proto=https\r\n"
	const added = "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\nForwarded: for=192.0.2.7;proto=http\r\n"
	return []editCase{
		{"untrusted IPv4, no fields", "", "192.0.2.7", "", added},
		{"other fields kept in place", "", "192.0.2.7",
			"Accept: */*\r\nX-Forwarded-Fo: x\r\nForwarded-For: y\r\n",
			"Accept: */*\r\nX-Forwarded-Fo: x\r\nForwarded-For: y\r\n" + added},
		{"untrusted: client fields removed", "10.0.0.0/8", "192.0.2.7",
			"Accept: */*\r\n" + spoofed + "User-Agent: x\r\n", "Accept: */*\r\nUser-Agent: x\r\n" + added},
		{"untrusted: any case, every occurrence", "", "192.0.2.7",
			"x-forwarded-for: 1.2.3.4\r\nX-FORWARDED-FOR: 5.6.7.8\r\nx-real-ip: 1.2.3.4\r\nFORWARDED: for=x\r\n", added},
		{"untrusted: underscore spellings removed", "", "192.0.2.7",
			"X_Forwarded_For: 1.2.3.4\r\nx_forwarded-proto: https\r\nX_Real_IP: 1.2.3.4\r\nX_Forwarded_Host: e\r\n", added},
		{"untrusted IPv6", "", "2001:db8::7", "X-Forwarded-For: 1.2.3.4\r\n",
			"X-Forwarded-For: 2001:db8::7\r\nX-Forwarded-Proto: http\r\nForwarded: for=\"[2001:db8::7]\";proto=http\r\n"},
		{"IPv4-mapped client written as IPv4", "", "::ffff:192.0.2.7", "", added},
		{"zone dropped", "", "fe80::1%eth0", "",
			"X-Forwarded-For: fe80::1\r\nX-Forwarded-Proto: http\r\nForwarded: for=\"[fe80::1]\";proto=http\r\n"},
		{"client without an address", "", "", "X-Real-IP: 1.2.3.4\r\n",
			"X-Forwarded-For: unknown\r\nX-Forwarded-Proto: http\r\nForwarded: for=unknown;proto=http\r\n"},
		{"trusted: lists extended, others kept", "192.0.2.0/24", "192.0.2.7",
			"X-Forwarded-For: 203.0.113.1, 10.0.0.1\r\nAccept: */*\r\nx-forwarded-for: 10.0.0.2\r\n" +
				"X-Forwarded-Proto: https\r\nX-Forwarded-Host: www.example\r\nX-Real-IP: 203.0.113.1\r\n" +
				"Forwarded: for=203.0.113.1;proto=https\r\nFORWARDED: for=\"[2001:db8::1]\", for=10.0.0.1\r\n",
			"Accept: */*\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: www.example\r\nX-Real-IP: 203.0.113.1\r\n" +
				"X-Forwarded-For: 203.0.113.1, 10.0.0.1, 10.0.0.2, 192.0.2.7\r\n" +
				"Forwarded: for=203.0.113.1;proto=https, for=\"[2001:db8::1]\", for=10.0.0.1, for=192.0.2.7;proto=http\r\n"},
		{"trusted without fields", "192.0.2.7", "192.0.2.7", "", added},
		{"trusted: empty values skipped", "192.0.2.7", "192.0.2.7", "X-Forwarded-For:\r\nForwarded: \r\n", added},
		{"trusted: empty proto kept as sent", "192.0.2.7", "192.0.2.7", "X-Forwarded-Proto:\r\n",
			"X-Forwarded-Proto:\r\nX-Forwarded-For: 192.0.2.7\r\nForwarded: for=192.0.2.7;proto=http\r\n"},
		{"trusted: underscore spellings kept", "192.0.2.7", "192.0.2.7", "X_Forwarded_For: 1.2.3.4\r\n",
			"X_Forwarded_For: 1.2.3.4\r\n" + added},
		{"trusted IPv6 via mapped prefix", "::ffff:192.0.2.0/120", "192.0.2.7",
			"X-Forwarded-For: 2001:db8::1\r\n",
			"X-Forwarded-For: 2001:db8::1, 192.0.2.7\r\nX-Forwarded-Proto: http\r\nForwarded: for=192.0.2.7;proto=http\r\n"},
	}
}

// policy returns the Policy of tc and its client.
func (tc editCase) policy(t *testing.T) (*Policy, netip.Addr) {
	t.Helper()
	prefixes, err := ParseTrusted(strings.Fields(tc.trusted))
	if err != nil {
		t.Fatal(err)
	}
	var client netip.Addr
	if tc.client != "" {
		client = netip.MustParseAddr(tc.client)
	}
	return New(prefixes), client
}

// connectionCases are editCases with Connection options naming client fields, which AppendHead
// removes; EditHeader edits the fields of HTTP/2 requests, which have no Connection field.
func connectionCases() []editCase {
	const added = "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\nForwarded: for=192.0.2.7;proto=http\r\n"
	return []editCase{
		{"untrusted: options naming client fields removed", "", "192.0.2.7",
			"Connection: keep-alive, X-Forwarded-For\r\nX-Forwarded-For: 1.2.3.4\r\nAccept: */*\r\n",
			"Connection: keep-alive\r\nAccept: */*\r\n" + added},
		{"untrusted: a Connection field left empty dropped", "", "192.0.2.7",
			"Connection: Forwarded , x-real-ip,X_Forwarded_Proto\r\n", added},
		{"trusted: options removed, fields kept", "192.0.2.7", "192.0.2.7",
			"Connection: x-forwarded-proto, Upgrade, X-Forwarded-Host\r\nUpgrade: websocket\r\n" +
				"X-Forwarded-Proto: https\r\nX-Forwarded-Host: www.example\r\n",
			"Connection: Upgrade\r\nUpgrade: websocket\r\nX-Forwarded-Proto: https\r\n" +
				"X-Forwarded-Host: www.example\r\nX-Forwarded-For: 192.0.2.7\r\nForwarded: for=192.0.2.7;proto=http\r\n"},
		{"other options kept", "", "192.0.2.7",
			"Connection: Upgrade, X-Forwarded-Fo\r\nUpgrade: websocket\r\n",
			"Connection: Upgrade, X-Forwarded-Fo\r\nUpgrade: websocket\r\n" + added},
	}
}

func TestAppendHead(t *testing.T) {
	for _, tc := range append(editCases(), connectionCases()...) {
		t.Run(tc.name, func(t *testing.T) {
			p, client := tc.policy(t)
			head := requestLine + tc.fields + "\r\n"
			const prefix = "prefix:"
			got, err := p.AppendHead([]byte(prefix), []byte(head), client)
			if err != nil {
				t.Fatalf("AppendHead(%q) = %v", head, err)
			}
			if diff := cmp.Diff(prefix+requestLine+tc.want+"\r\n", string(got)); diff != "" {
				t.Errorf("AppendHead(%q) mismatch (-want +got):\n%s", head, diff)
			}
			var h wire.RequestHead
			if err := wire.ParseRequestHead(got[len(prefix):], &h); err != nil || h.Len != len(got)-len(prefix) {
				t.Errorf("result does not parse as one head: %v, Len %d of %d", err, h.Len, len(got)-len(prefix))
			}
		})
	}
}

func TestAppendHeadKeepsTheStartLine(t *testing.T) {
	p := New(nil)
	client := netip.MustParseAddr("192.0.2.7")
	for _, head := range []string{
		"GET / HTTP/1.0\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /caf\xc3\xa9?a=b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n",
	} {
		got, err := p.AppendHead(nil, []byte(head), client)
		if err != nil {
			t.Fatalf("AppendHead(%q) = %v", head, err)
		}
		added := "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\nForwarded: for=192.0.2.7;proto=http\r\n"
		want := head[:len(head)-2] + added + "\r\n"
		if diff := cmp.Diff(want, string(got)); diff != "" {
			t.Errorf("AppendHead(%q) mismatch (-want +got):\n%s", head, diff)
		}
	}
}

func TestAppendHeadRefusesIncompleteHeads(t *testing.T) {
	p := New(nil)
	client := netip.MustParseAddr("192.0.2.7")
	for _, head := range []string{"", "GET / HTTP/1.1\r\nHost: a\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\nbody"} {
		got, err := p.AppendHead([]byte("dst"), []byte(head), client)
		if err == nil || !strings.Contains(err.Error(), "does not end with an empty line") {
			t.Errorf("AppendHead(%q) error = %v, want one about the missing empty line", head, err)
		}
		if string(got) != "dst" {
			t.Errorf("AppendHead(%q) changed dst to %q", head, got)
		}
	}
}

func TestEditHeader(t *testing.T) {
	for _, tc := range editCases() {
		t.Run(tc.name, func(t *testing.T) {
			p, client := tc.policy(t)
			h := header(t, requestLine[strings.Index(requestLine, "\r\n")+2:]+tc.fields)
			p.EditHeader(h, client)
			want := header(t, requestLine[strings.Index(requestLine, "\r\n")+2:]+tc.want)
			if diff := cmp.Diff(want, h); diff != "" {
				t.Errorf("EditHeader of %q mismatch (-want +got):\n%s", tc.fields, diff)
			}
		})
	}
}

// header parses field lines into an http.Header as net/http's and x/net/http2's servers build it,
// with canonical keys.
func header(t *testing.T, fields string) http.Header {
	t.Helper()
	h, err := textproto.NewReader(bufio.NewReader(strings.NewReader(fields + "\r\n"))).ReadMIMEHeader()
	if err != nil {
		t.Fatalf("fields %q: %v", fields, err)
	}
	return http.Header(h)
}

// benchHead is a browser request that came through a trusted load balancer.
const benchHead = "GET /products/shoes/running?color=blue&size=42 HTTP/1.1\r\n" +
	"Host: shop.example.com\r\n" +
	"Connection: keep-alive\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n" +
	"X-Forwarded-For: 203.0.113.50\r\n" +
	"X-Forwarded-Proto: https\r\n" +
	"Referer: https://shop.example.com/products/shoes\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Accept-Language: en-GB,en-US;q=0.9,en;q=0.8\r\n" +
	"Cookie: session=3f9a1c0e7b2d4e8f; theme=dark\r\n" +
	"\r\n"

// benchPolicies are the policies AppendHead is measured with: one that trusts the client and
// extends its fields, one that does not and removes them.
var benchPolicies = []struct {
	name    string
	trusted []netip.Prefix
}{
	{"trusted", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
	{"untrusted", nil},
}

func TestAppendHeadDoesNotAllocate(t *testing.T) {
	head := []byte(benchHead)
	dst := make([]byte, 0, 2*len(head))
	for _, client := range []string{"10.1.2.3", "2001:db8::1"} {
		for _, bp := range benchPolicies {
			p, addr := New(bp.trusted), netip.MustParseAddr(client)
			allocs := testing.AllocsPerRun(100, func() {
				var err error
				if dst, err = p.AppendHead(dst[:0], head, addr); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%s, client %s: %v allocations, want 0", bp.name, client, allocs)
			}
		}
	}
}

// BenchmarkAppendHead edits benchHead, which has client fields, and a browser's head without them
// (the common case), for each policy.
func BenchmarkAppendHead(b *testing.B) {
	client := netip.MustParseAddr("10.1.2.3")
	browser := strings.Replace(strings.Replace(benchHead, "X-Forwarded-For: 203.0.113.50\r\n", "", 1), "X-Forwarded-Proto: https\r\n", "", 1)
	for _, bc := range []struct{ name, head string }{{"fields", benchHead}, {"no-fields", browser}} {
		for _, bp := range benchPolicies {
			b.Run(bc.name+"/"+bp.name, func(b *testing.B) { benchAppendHead(b, New(bp.trusted), []byte(bc.head), client) })
		}
	}
}

func benchAppendHead(b *testing.B, p *Policy, head []byte, client netip.Addr) {
	dst := make([]byte, 0, 2*len(head))
	b.SetBytes(int64(len(head)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = p.AppendHead(dst[:0], head, client); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzAppendHead checks AppendHead on every head the request parser accepts, from a client that is
// trusted and from one that is not: the result is one head with the same start line, the fields
// that name no client kept in order (Connection fields aside), no Connection option that names a
// client field, and the client's address last in its X-Forwarded-For.
func FuzzAppendHead(f *testing.F) {
	for _, tc := range append(editCases(), connectionCases()...) {
		f.Add(requestLine + tc.fields + "\r\n")
	}
	client := netip.MustParseAddr("192.0.2.7")
	f.Fuzz(func(t *testing.T, buf string) {
		var orig wire.RequestHead
		if wire.ParseRequestHead([]byte(buf), &orig) != nil {
			return
		}
		head := []byte(buf[:orig.Len])
		others := otherFields(head)
		for _, trusted := range []bool{false, true} {
			p := New(nil)
			if trusted {
				p = New([]netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")})
			}
			got, err := p.AppendHead(nil, head, client)
			if err != nil {
				t.Fatalf("AppendHead(%q) = %v", head, err)
			}
			var h wire.RequestHead
			if err := wire.ParseRequestHead(got, &h); err != nil || h.Len != len(got) || !bytes.Equal(got[:orig.TargetStart+len(orig.Target)], head[:orig.TargetStart+len(orig.Target)]) {
				t.Fatalf("AppendHead(%q) = %q: not one head with the same start line (%v)", head, got, err)
			}
			if diff := cmp.Diff(others, otherFields(got)); diff != "" {
				t.Errorf("AppendHead(%q), trusted %v: other fields changed (-want +got):\n%s", head, trusted, diff)
			}
			if again := wire.AppendWithoutOptions(nil, got, func([]byte) bool { return false }, isClientField[[]byte]); !bytes.Equal(again, got) {
				t.Errorf("AppendHead(%q), trusted %v = %q: a Connection option naming a client field left", head, trusted, got)
			}
			var xff []string
			for it := wire.Fields(got); it.Next(); {
				if wire.FieldNameEqual(it.Name(), "x-forwarded-for") {
					xff = append(xff, string(it.Value()))
				}
			}
			if len(xff) != 1 || !strings.HasSuffix(xff[0], "192.0.2.7") || !trusted && xff[0] != "192.0.2.7" {
				t.Errorf("AppendHead(%q), trusted %v: X-Forwarded-For %q", head, trusted, xff)
			}
		}
	})
}

// otherFields returns the field lines of head that do not name a client (nor look like they do),
// Connection fields aside, as name: value.
func otherFields(head []byte) []string {
	var fields []string
	for it := wire.Fields(head); it.Next(); {
		if !isClientField(it.Name()) && !wire.FieldNameEqual(it.Name(), "connection") {
			fields = append(fields, string(it.Name())+": "+string(it.Value()))
		}
	}
	return fields
}

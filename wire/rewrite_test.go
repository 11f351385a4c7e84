package wire

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStripH2CUpgrade(t *testing.T) {
	const line = "GET /x HTTP/1.1\r\nHost: a\r\n"
	tests := []rewriteCase{
		{"curl h2c upgrade",
			line + "User-Agent: curl/7.88.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n",
			line + "User-Agent: curl/7.88.1\r\n\r\n"},
		{"other connection options kept",
			line + "Connection: keep-alive,  Upgrade ,HTTP2-Settings, X-Hop \r\nUpgrade: H2C\r\nhttp2-settings: AA\r\nX: y\r\n\r\n",
			line + "Connection: keep-alive, X-Hop \r\nX: y\r\n\r\n"},
		{"another protocol remains",
			line + "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c, websocket\r\nHTTP2-Settings: AA\r\n\r\n",
			line + "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"},
		{"another protocol in a second field",
			line + "Upgrade: h2c\r\nConnection: upgrade\r\nUpgrade: foo/2\r\n\r\n",
			line + "Connection: upgrade\r\nUpgrade: foo/2\r\n\r\n"},
		{"several connection fields",
			line + "Connection: HTTP2-Settings\r\nConnection: close\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n",
			line + "Connection: close\r\n\r\n"},
		{"nothing to strip",
			line + "Connection: keep-alive\r\nAccept: */*\r\n\r\n",
			line + "Connection: keep-alive\r\nAccept: */*\r\n\r\n"},
		{"bytes after the head are kept",
			line + "Upgrade: h2c\r\n\r\nBODY",
			line + "\r\nBODY"},
	}
	checkRewrite(t, StripH2CUpgrade, tests, func(got []byte) error {
		var h RequestHead
		if err := ParseRequestHead(got, &h); err != nil || h.H2C {
			return fmt.Errorf("does not parse as a head without h2c: %v, H2C %v", err, h.H2C)
		}
		return nil
	})
}

func TestAppendCloseHead(t *testing.T) {
	tests := []rewriteCase{
		{"no connection field",
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"},
		{"keep-alive replaced",
			"HTTP/1.1 200 OK\r\nconnection: Keep-Alive\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 2\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"},
		{"several connection fields",
			"HTTP/1.0 404 Not Found\r\nConnection: close\r\nX: y\r\nCONNECTION: x-hop\r\n\r\n",
			"HTTP/1.0 404 Not Found\r\nX: y\r\nConnection: close\r\n\r\n"},
		{"no fields", "HTTP/1.1 204\r\n\r\n", "HTTP/1.1 204\r\nConnection: close\r\n\r\n"},
		{"similar names kept",
			"HTTP/1.1 200 OK\r\nConnection-Id: 1\r\nKeep-Alives: 2\r\n\r\n",
			"HTTP/1.1 200 OK\r\nConnection-Id: 1\r\nKeep-Alives: 2\r\nConnection: close\r\n\r\n"},
	}
	checkRewrite(t, AppendCloseHead, tests, func(got []byte) error {
		var h ResponseHead
		if err := ParseResponseHead(got, &h); err != nil || !h.Close {
			return fmt.Errorf("does not parse as a closing head: %v, Close %v", err, h.Close)
		}
		return nil
	})
}

func TestAppendWithoutOptions(t *testing.T) {
	const line = "GET /x HTTP/1.1\r\nHost: a\r\n"
	tests := []rewriteCase{
		{"a field and the option naming it",
			line + "Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nAccept: */*\r\n\r\n",
			line + "Connection: keep-alive\r\nAccept: */*\r\n\r\n"},
		{"any case",
			line + "Connection: x-keep, X-HOP\r\nx-HOP: 1\r\n\r\n",
			line + "Connection: x-keep\r\n\r\n"},
		{"a Connection field left empty dropped, others kept",
			line + "Connection: x-hop\r\nConnection: close\r\n\r\n",
			line + "Connection: close\r\n\r\n"},
		{"empty list elements dropped with the list rewritten",
			line + "Connection: ,x-hop, , upgrade\r\nUpgrade: websocket\r\n\r\n",
			line + "Connection: upgrade\r\nUpgrade: websocket\r\n\r\n"},
		{"nothing to drop",
			line + "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
			line + "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"},
		{"similar names kept",
			line + "Connection-Id: x-hop\r\nX-Hops: 2\r\n\r\n",
			line + "Connection-Id: x-hop\r\nX-Hops: 2\r\n\r\n"},
		{"bytes after the head are kept",
			line + "Connection: x-hop\r\n\r\nBODY",
			line + "\r\nBODY"},
	}
	isHop := func(b []byte) bool { return FieldNameEqual(b, "x-hop") }
	parses := func(got []byte) error {
		var h RequestHead
		return ParseRequestHead(got, &h)
	}
	checkRewrite(t, func(dst, head []byte) []byte { return AppendWithoutOptions(dst, head, isHop, isHop) }, tests, parses)
	// The options alone: the fields they name stay.
	never := func([]byte) bool { return false }
	checkRewrite(t, func(dst, head []byte) []byte { return AppendWithoutOptions(dst, head, never, isHop) }, []rewriteCase{
		{"field kept", line + "Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\n\r\n", line + "Connection: keep-alive\r\nX-Hop: 1\r\n\r\n"},
	}, parses)
}

func TestStripConnectionClose(t *testing.T) {
	tests := []rewriteCase{
		{"close dropped with its field",
			"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX: y\r\n\r\n",
			"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n"},
		{"other options kept",
			"GET / HTTP/1.1\r\nHost: a\r\nConnection: Close, x-hop\r\nx-hop: 1\r\n\r\n",
			"GET / HTTP/1.1\r\nHost: a\r\nConnection: x-hop\r\nx-hop: 1\r\n\r\n"},
		{"no close: unchanged",
			"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
			"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n"},
		{"similar names kept",
			"GET / HTTP/1.1\r\nHost: a\r\nConnection-Id: close\r\nconnection: CLOSE\r\n\r\n",
			"GET / HTTP/1.1\r\nHost: a\r\nConnection-Id: close\r\n\r\n"},
		{"several fields",
			"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nConnection: Upgrade, CLOSE\r\nUpgrade: websocket\r\n\r\n",
			"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"},
	}
	checkRewrite(t, StripConnectionClose, tests, func(got []byte) error {
		var h RequestHead
		if err := ParseRequestHead(got, &h); err != nil || h.Close {
			return fmt.Errorf("does not parse as a keep-alive head: %v, Close %v", err, h.Close)
		}
		return nil
	})
}

// rewriteCase is a head and what a rewrite must make of it.
type rewriteCase struct{ name, head, want string }

// checkRewrite runs each case through rewrite, appending to a non-empty dst, and checks the result
// with valid.
func checkRewrite(t *testing.T, rewrite func(dst, head []byte) []byte, cases []rewriteCase, valid func([]byte) error) {
	t.Helper()
	const prefix = "prefix:"
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := rewrite([]byte(prefix), []byte(tc.head))
			if diff := cmp.Diff(prefix+tc.want, string(got)); diff != "" {
				t.Errorf("rewrite of %q mismatch (-want +got):\n%s", tc.head, diff)
			}
			if err := valid(got[len(prefix):]); err != nil {
				t.Errorf("rewrite of %q: result %v", tc.head, err)
			}
		})
	}
}

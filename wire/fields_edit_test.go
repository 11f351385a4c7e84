package wire

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// field is a name and value as FieldIter reports them.
type field struct{ Name, Value string }

// fieldsOf collects what a FieldIter over head yields.
func fieldsOf(head []byte) []field {
	var got []field
	for it := Fields(head); it.Next(); {
		got = append(got, field{string(it.Name()), string(it.Value())})
	}
	return got
}

func TestFields(t *testing.T) {
	tests := []struct {
		name string
		head string
		want []field
	}{
		{"request", "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 192.0.2.1, 198.51.100.2\r\n\r\n",
			[]field{{"Host", "a"}, {"X-Forwarded-For", "192.0.2.1, 198.51.100.2"}}},
		{"whitespace around values trimmed, inside kept",
			"GET / HTTP/1.1\r\nHost:a\r\nX-Tab:\t a\tb \t\r\nX-Empty:\r\nX-Spaces:   \r\n\r\n",
			[]field{{"Host", "a"}, {"X-Tab", "a\tb"}, {"X-Empty", ""}, {"X-Spaces", ""}}},
		{"names as sent, obs-text values", "GET / HTTP/1.1\r\nHOST: a\r\nx-name: caf\xc3\xa9\xff\r\n\r\n",
			[]field{{"HOST", "a"}, {"x-name", "caf\xc3\xa9\xff"}}},
		{"repeated fields in order", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\nx: 3\r\n\r\n",
			[]field{{"Host", "a"}, {"X", "1"}, {"Y", "2"}, {"x", "3"}}},
		{"no fields", "GET / HTTP/1.0\r\n\r\n", nil},
		{"response", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", []field{{"Content-Length", "2"}}},
		{"bytes after the head not read", "GET / HTTP/1.0\r\n\r\nX: y\r\n\r\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, fieldsOf([]byte(tc.head))); diff != "" {
				t.Errorf("Fields(%q) mismatch (-want +got):\n%s", tc.head, diff)
			}
		})
	}
	var zero FieldIter
	if zero.Next() {
		t.Error("the zero FieldIter has a field")
	}
	it := Fields([]byte("GET / HTTP/1.0\r\n\r\n"))
	if it.Next() || it.Next() {
		t.Error("Next after the end reports a field")
	}
}

func TestFieldNameEqual(t *testing.T) {
	tests := []struct {
		name, want string
		equal      bool
	}{
		{"X-Forwarded-For", "X-Forwarded-For", true},
		{"x-forwarded-for", "X-Forwarded-For", true},
		{"X-FORWARDED-FOR", "x-forwarded-for", true},
		{"X-Forwarded-Fo", "X-Forwarded-For", false},
		{"X-Forwarded-For2", "X-Forwarded-For", false},
		{"X_Forwarded_For", "X-Forwarded-For", false},
		{"", "", true},
		// Only ASCII letters fold: 0xC0 is not 0xE0, '@' (0x40) is not '`' (0x60).
		{"\xc0", "\xe0", false},
		{"@", "`", false},
	}
	for _, tc := range tests {
		if got := FieldNameEqual([]byte(tc.name), tc.want); got != tc.equal {
			t.Errorf("FieldNameEqual(%q, %q) = %v, want %v", tc.name, tc.want, got, tc.equal)
		}
	}
}

// dropNamed returns a drop function for AppendWithoutFields that drops the fields with any of these
// names, ignoring case.
func dropNamed(names ...string) func([]byte) bool {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[strings.ToLower(n)] = true
	}
	return func(name []byte) bool { return set[strings.ToLower(string(name))] }
}

func TestAppendWithoutFields(t *testing.T) {
	const line = "GET /x HTTP/1.1\r\nHost: a\r\n"
	tests := []rewriteCase{
		{"client-address fields dropped",
			line + "X-Forwarded-For: 192.0.2.1\r\nAccept: */*\r\nForwarded: for=192.0.2.1\r\n\r\n",
			line + "Accept: */*\r\n\r\n"},
		{"any case, every occurrence",
			line + "x-forwarded-for: 1\r\nX-FORWARDED-FOR: 2\r\nX: y\r\nforwarded:\r\n\r\n",
			line + "X: y\r\n\r\n"},
		{"similar names kept",
			line + "X-Forwarded-For-Real: 1\r\nX-Forwarded-Fo: 2\r\nForwarded2: 3\r\n\r\n",
			line + "X-Forwarded-For-Real: 1\r\nX-Forwarded-Fo: 2\r\nForwarded2: 3\r\n\r\n"},
		{"kept lines byte for byte",
			line + "X:\t a \t\r\nForwarded:  x\r\nY:caf\xc3\xa9\r\n\r\n",
			line + "X:\t a \t\r\nY:caf\xc3\xa9\r\n\r\n"},
		{"nothing to drop", line + "\r\n", line + "\r\n"},
		{"bytes after the head are kept",
			line + "Forwarded: x\r\n\r\nForwarded: body",
			line + "\r\nForwarded: body"},
	}
	drop := dropNamed("x-forwarded-for", "forwarded")
	checkRewrite(t, func(dst, head []byte) []byte { return AppendWithoutFields(dst, head, drop) }, tests,
		func(got []byte) error {
			var h RequestHead
			return ParseRequestHead(got, &h)
		})
}

// withoutLines is the reference AppendWithoutFields is checked against: head split at each CRLF,
// without the field lines whose name (what precedes the first colon) drop reports.
func withoutLines(head string, drop func([]byte) bool) string {
	lines := strings.SplitAfter(head, "\r\n")
	var out strings.Builder
	out.WriteString(lines[0])
	for _, l := range lines[1:] {
		if name, _, ok := strings.Cut(l, ":"); ok && drop([]byte(name)) {
			continue
		}
		out.WriteString(l)
	}
	return out.String()
}

// maxSingleDrops bounds how many names checkWithoutFields drops one at a time, so that a fuzzed
// head of thousands of fields costs linear work.
const maxSingleDrops = 20

// checkWithoutFields checks AppendWithoutFields on head, a head ParseRequestHead accepts whole,
// dropping each name it has in turn (the first maxSingleDrops), all of them, and none: the result
// is the reference's, and it parses to the same facts (its own length aside), or, without its Host
// field, fails for that.
func checkWithoutFields(t *testing.T, head string) {
	t.Helper()
	var orig RequestHead
	if err := ParseRequestHead([]byte(head), &orig); err != nil {
		t.Fatalf("test head %q: %v", head, err)
	}
	var names []string
	for _, f := range fieldsOf([]byte(head)) {
		names = append(names, f.Name)
	}
	drops := [][]string{nil, names}
	for _, n := range names[:min(len(names), maxSingleDrops)] {
		drops = append(drops, []string{n})
	}
	for _, d := range drops {
		drop := dropNamed(d...)
		got := AppendWithoutFields(nil, []byte(head), drop)
		if diff := cmp.Diff(withoutLines(head, drop), string(got)); diff != "" {
			t.Errorf("AppendWithoutFields(%q) dropping %q mismatch (-want +got):\n%s", head, d, diff)
			continue
		}
		if err := reparse(got, orig, drop([]byte("host"))); err != nil {
			t.Errorf("AppendWithoutFields(%q) dropping %q: %v", head, d, err)
		}
	}
}

// reparse checks that the edited head got parses to the facts of orig, with framing and connection
// facts recomputed from what got kept, or, when its Host field was dropped from an HTTP/1.1 head, is
// refused for that.
func reparse(got []byte, orig RequestHead, hostDropped bool) error {
	var h RequestHead
	err := ParseRequestHead(got, &h)
	if hostDropped && orig.Version == HTTP11 {
		if err == nil {
			return fmt.Errorf("parses without a Host field")
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("does not parse: %v", err)
	}
	want := orig
	want.Len = len(got)
	// What the dropped fields decided is not compared: this checks the bytes of the start line
	// and of the fields kept, not the meaning of the ones dropped.
	want.Body, want.Close, want.Upgrade, want.H2C, want.ExpectContinue = h.Body, h.Close, h.Upgrade, h.H2C, h.ExpectContinue
	if diff := cmp.Diff(want, h); diff != "" {
		return fmt.Errorf("parses differently (-want +got):\n%s", diff)
	}
	return nil
}

func TestAppendWithoutFieldsValidHeads(t *testing.T) {
	for _, tc := range validRequests() {
		t.Run(tc.name, func(t *testing.T) { checkWithoutFields(t, tc.head) })
	}
	t.Run("chrome", func(t *testing.T) { checkWithoutFields(t, chromeRequest) })
	t.Run("curl", func(t *testing.T) { checkWithoutFields(t, curlRequest) })
}

// FuzzAppendWithoutFields checks AppendWithoutFields on every head the request parser accepts.
func FuzzAppendWithoutFields(f *testing.F) {
	for _, tc := range validRequests() {
		f.Add(tc.head)
	}
	f.Add(chromeRequest)
	f.Add(curlRequest)
	f.Fuzz(func(t *testing.T, buf string) {
		var h RequestHead
		if ParseRequestHead([]byte(buf), &h) != nil {
			return
		}
		checkWithoutFields(t, buf[:h.Len])
	})
}

// FuzzAppendWithoutOptions checks AppendWithoutOptions on every head the request parser accepts,
// dropping each Connection option it has in turn (the first maxSingleDrops, with the field of that
// name) and none: the fields other than Connection are those of the head less the dropped ones, in
// order; the Connection options are the head's less the dropped one, in order; and the result is
// one head with the same start line.
func FuzzAppendWithoutOptions(f *testing.F) {
	for _, tc := range validRequests() {
		f.Add(tc.head)
	}
	f.Add("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Hop ,,x-other\r\nX-Hop: 1\r\nConnection: x-hop\r\n\r\n")
	f.Fuzz(func(t *testing.T, buf string) {
		var h RequestHead
		if ParseRequestHead([]byte(buf), &h) != nil {
			return
		}
		head := []byte(buf[:h.Len])
		fields, options := splitConnection(head)
		drops := []string{"\x00none"}
		for _, o := range options[:min(len(options), maxSingleDrops)] {
			drops = append(drops, o)
		}
		for _, d := range drops {
			drop := dropNamed(d)
			got := AppendWithoutOptions(nil, head, drop, drop)
			var again RequestHead
			if err := ParseRequestHead(got, &again); err != nil && !drop([]byte("host")) {
				t.Fatalf("AppendWithoutOptions(%q) dropping %q = %q: %v", head, d, got, err)
			}
			if !bytes.HasPrefix(got, head[:h.TargetStart+len(h.Target)]) {
				t.Fatalf("AppendWithoutOptions(%q) dropping %q = %q: another start line", head, d, got)
			}
			gotFields, gotOptions := splitConnection(got)
			var wantFields []field
			for _, f := range fields {
				if !drop([]byte(f.Name)) {
					wantFields = append(wantFields, f)
				}
			}
			var wantOptions []string
			for _, o := range options {
				if !drop([]byte(o)) {
					wantOptions = append(wantOptions, o)
				}
			}
			if diff := cmp.Diff(wantFields, gotFields); diff != "" {
				t.Errorf("AppendWithoutOptions(%q) dropping %q: fields (-want +got):\n%s", head, d, diff)
			}
			if diff := cmp.Diff(wantOptions, gotOptions); diff != "" {
				t.Errorf("AppendWithoutOptions(%q) dropping %q: Connection options (-want +got):\n%s", head, d, diff)
			}
		}
	})
}

// splitConnection returns the fields of head other than Connection, and the options of its
// Connection fields, in order.
func splitConnection(head []byte) (fields []field, options []string) {
	for _, f := range fieldsOf(head) {
		if !FieldNameEqual([]byte(f.Name), "connection") {
			fields = append(fields, f)
			continue
		}
		it := listIter{rest: []byte(f.Value)}
		for o, ok := it.next(); ok; o, ok = it.next() {
			options = append(options, string(o))
		}
	}
	return fields, options
}

func TestFieldEditsDoNotAllocate(t *testing.T) {
	head := []byte(chromeRequest)
	dst := make([]byte, 0, len(head))
	drop := func(name []byte) bool { return FieldNameEqual(name, "cookie") }
	if allocs := testing.AllocsPerRun(100, func() { dst = AppendWithoutFields(dst[:0], head, drop) }); allocs != 0 {
		t.Errorf("AppendWithoutFields: %v allocations, want 0", allocs)
	}
	n := 0
	if allocs := testing.AllocsPerRun(100, func() {
		for it := Fields(head); it.Next(); {
			if FieldNameEqual(it.Name(), "cookie") {
				n += len(it.Value())
			}
		}
	}); allocs != 0 {
		t.Errorf("Fields: %v allocations, want 0", allocs)
	}
	if n == 0 {
		t.Error("Fields found no Cookie field")
	}
}

func BenchmarkAppendWithoutFields(b *testing.B) {
	head := []byte(chromeRequest)
	dst := make([]byte, 0, len(head))
	drop := func(name []byte) bool { return FieldNameEqual(name, "cookie") || FieldNameEqual(name, "referer") }
	b.SetBytes(int64(len(head)))
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendWithoutFields(dst[:0], head, drop)
	}
}

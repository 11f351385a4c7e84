package cli

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// routeStrings lists a table's routes in match order, as written.
func routeStrings(t *testing.T, a *Args) ([]string, error) {
	t.Helper()
	table, err := a.Table()
	if err != nil {
		return nil, err
	}
	var got []string
	for _, r := range table.Routes() {
		got = append(got, r.String())
	}
	return got, nil
}

// argsWithFile parses args plus --routes-file naming a file that holds content.
func argsWithFile(t *testing.T, content string, args ...string) *Args {
	t.Helper()
	path := filepath.Join(t.TempDir(), "routes")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := Parse(append(args, "--routes-file", path), io.Discard, io.Discard, func(code int) { t.Fatalf("exit(%d)", code) })
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestRoutesFile(t *testing.T) {
	a := argsWithFile(t, "# the API\n/api=127.0.0.1:4000   # v1\n\n  /api/v2=[::1]:4002\r\n/static*=cdn.internal:80\n",
		":8080", "127.0.0.1:3000", "-r", "/webhook=127.0.0.1:7000")
	got, err := routeStrings(t, a)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/webhook=127.0.0.1:7000", "/api/v2=[::1]:4002", "/static*=cdn.internal:80", "/api=127.0.0.1:4000"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
}

// TestRoutesFileErrors reports every bad line with its line number, and a route given twice with
// both places.
func TestRoutesFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		args    []string
		want    []string // one per error, each a substring of its line
	}{
		{"bad lines", "/ok=127.0.0.1:1\napi=127.0.0.1:2\n/x=127.0.0.1:0\n/y\n", nil,
			[]string{`routes:2: route path "api"`, `routes:3: backend "127.0.0.1:0"`, `routes:4: route "/y"`}},
		{"duplicate in the file", "/a=127.0.0.1:1\n# gap\n/a=127.0.0.1:2\n", nil,
			[]string{`routes:3: duplicate route "/a" (first given at `, "routes:1)"}},
		{"duplicate with --route", "/a*=127.0.0.1:1\n", []string{"-r", "/a*=127.0.0.1:2"},
			[]string{`routes:1: duplicate route "/a*" (first given at --route "/a*=127.0.0.1:2")`}},
		{"same normal form", "/%61=127.0.0.1:1\n/a=127.0.0.1:2\n", nil, []string{"/a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := argsWithFile(t, tc.content, append([]string{":8080", "127.0.0.1:3000"}, tc.args...)...)
			_, err := routeStrings(t, a)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
		})
	}
}

func TestRoutesFileMissing(t *testing.T) {
	a, err := Parse([]string{":8080", "127.0.0.1:3000", "--routes-file", filepath.Join(t.TempDir(), "none")}, io.Discard, io.Discard, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Table(); err == nil || !strings.Contains(err.Error(), "--routes-file") {
		t.Errorf("Table() error = %v, want one naming --routes-file", err)
	}
}

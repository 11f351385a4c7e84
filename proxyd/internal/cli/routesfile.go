package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"proxyd.dev/router"
)

// maxRoutesFileLine bounds one line of a routes file.
const maxRoutesFileLine = 64 << 10

// sourcedRoute is a route with where it was written, for error messages.
type sourcedRoute struct {
	route  router.Route
	source string // `--route "/a=b:1"` or "routes.txt:3"
}

// readRoutesFile reads the routes file at path (see parseRoutes).
func readRoutesFile(path string) ([]sourcedRoute, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--routes-file: %w", err)
	}
	defer f.Close()
	return parseRoutes(path, f)
}

// parseRoutes reads routes, one PATH=BACKEND per line in the syntax of --route. Blank lines are
// skipped, and "#" starts a comment that runs to the end of the line (a request path cannot hold
// a raw "#"). Every bad line is reported, each error prefixed with name and its line number; the
// errors are joined.
func parseRoutes(name string, r io.Reader) ([]sourcedRoute, error) {
	var routes []sourcedRoute
	var errs []error
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, maxRoutesFileLine)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		source := fmt.Sprintf("%s:%d", name, n)
		rt, err := router.ParseRoute(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", source, err))
			continue
		}
		routes = append(routes, sourcedRoute{route: rt, source: source})
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	return routes, errors.Join(errs...)
}

// checkDuplicates reports every route whose path was already given, naming both places.
func checkDuplicates(routes []sourcedRoute) error {
	first := make(map[string]string, len(routes))
	var errs []error
	for _, r := range routes {
		key := r.route.Pattern() // as written, with its "*"
		if prev, dup := first[key]; dup {
			errs = append(errs, fmt.Errorf("%s: duplicate route %q (first given at %s)", r.source, key, prev))
			continue
		}
		first[key] = r.source
	}
	return errors.Join(errs...)
}

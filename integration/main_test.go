package integration

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// buildTimeout bounds building the binaries and the backend image in TestMain (5 minutes).
const buildTimeout = 5 * time.Minute

// built holds what TestMain builds once for the whole run. TestMain sets it before any test runs;
// tests only read it.
var built artifacts

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests builds the artifacts, runs the tests and removes the artifacts again.
func runTests(m *testing.M) int {
	// The reaper container would have to be pulled from a registry, which these machines cannot
	// reach; every test terminates its own containers in t.Cleanup instead.
	if err := os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true"); err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "proxyd-integration-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	a, err := buildArtifacts(ctx, dir)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
		return 1
	}
	defer a.remove()
	built = a
	return m.Run()
}

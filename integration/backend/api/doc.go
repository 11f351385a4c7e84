// Package api is the contract between the integration test backends (the program in the parent
// directory) and the tests that drive them: mode names, endpoint paths, header names, the
// readiness log line and the JSON documents the backends answer with.
package api

// Package fuzz holds the native Go fuzz targets of proxyd: the request-head and response-head
// parsers of proxyd.dev/wire (each on its own and against net/http's parser on framing decisions),
// its chunked relay, and the route table of proxyd.dev/router against a brute-force reference.
//
// The package has no API; its targets live in the test files. "go test" runs every target's seed
// corpus (the f.Add seeds and the files under testdata/fuzz, listed in testdata/SEEDS.md); a
// bounded fuzzing run of every target is scripts/fuzz.sh.
package fuzz

// Package fuzz holds the native Go fuzz targets of proxyd: the request-head and response-head
// parsers of proxyd.dev/wire (each on its own and against net/http's parser on framing decisions),
// its chunked relay, and the route table of proxyd.dev/router against a brute-force reference.
//
// Its targets live in the test files. Its one API is the framing mutations (RequestMutations and
// the others, after the families of the public desync lists), which TestFramingMutations checks
// against net/http and scripts/desync sends through proxyd to servers of other stacks. "go test"
// runs every target's seed corpus (the f.Add seeds and the files under testdata/fuzz, listed in
// testdata/SEEDS.md) and the mutations; a bounded fuzzing run of every target is scripts/fuzz.sh.
package fuzz

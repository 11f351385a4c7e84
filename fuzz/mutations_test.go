package fuzz

import "testing"

// TestFramingMutations runs the framing mutations (RequestMutations, ResponseMutations,
// ChunkedMutations) through the checks of the differential and chunked fuzz targets: what wire
// accepts of them must be framed as net/http frames it, and chunked bodies as the plain decoder of
// the grammar reads them. They are a test rather than seeds so that the fuzzing runs of
// scripts/fuzz.sh do not spend their time on them as a baseline.
func TestFramingMutations(t *testing.T) {
	t.Run("requests", func(t *testing.T) {
		for _, head := range RequestMutations() {
			checkRequestHeadDifferential(t, []byte(head))
		}
	})
	t.Run("responses", func(t *testing.T) {
		for _, head := range ResponseMutations() {
			checkResponseHeadDifferential(t, []byte(head))
		}
	})
	t.Run("chunked", func(t *testing.T) {
		const wholeLines = 4096 // a buffer that holds every line
		for _, body := range ChunkedMutations() {
			checkChunked(t, []byte(body), wholeLines)
			checkChunkedReader(t, []byte(body), wholeLines, 16<<10)
			checkChunkedReader(t, []byte(body), wholeLines, 0) // one byte at a time
		}
	})
}

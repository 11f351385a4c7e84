package api

import (
	"io"
	"math/rand/v2"
)

// payloadSeed makes Payload deterministic, so either side can produce the same bytes.
const payloadSeed = "proxyd integration test payload!"

// Payload returns a reader of size pseudo-random bytes, the same bytes on every call.
func Payload(size int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte([]byte(payloadSeed))), size)
}

package h2upstream

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// backendSeeds are backend byte streams after its SETTINGS frame: a response, one with trailers,
// and malformed ones.
func backendSeeds() [][]byte {
	frames := func(write func(fr *http2.Framer, block func(fields ...string) []byte)) []byte {
		var out, b bytes.Buffer
		fr := http2.NewFramer(&out, nil)
		enc := hpack.NewEncoder(&b)
		write(fr, func(fields ...string) []byte {
			b.Reset()
			for i := 0; i+1 < len(fields); i += 2 {
				enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
			}
			return bytes.Clone(b.Bytes())
		})
		return out.Bytes()
	}
	return [][]byte{
		frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteSettingsAck()
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":status", "200", "content-length", "2"), EndHeaders: true})
			fr.WriteData(1, true, []byte("ok"))
		}),
		frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":status", "103"), EndHeaders: true})
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":status", "200"), EndHeaders: true})
			fr.WriteDataPadded(1, false, []byte("x"), []byte{0, 0})
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block("grpc-status", "0"), EndStream: true, EndHeaders: true})
		}),
		frames(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 0}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1})
			fr.WriteWindowUpdate(1, 1<<31-1)
			fr.WritePing(false, [8]byte{})
			fr.WriteRSTStream(1, http2.ErrCodeRefusedStream)
			fr.WriteGoAway(0, http2.ErrCodeProtocol, []byte("bye"))
		}),
	}
}

// FuzzBackendFrames sends a POST through the transport to a backend that answers with its SETTINGS
// and then the fuzzer's bytes: whatever they are, RoundTrip and the body's reading must end (the
// backend closes the connection after them) without a panic or a hang.
func FuzzBackendFrames(f *testing.F) {
	for _, seed := range backendSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tr := &Transport{Dial: func(context.Context) (net.Conn, error) {
			client, backend := net.Pipe()
			go func() {
				go io.Copy(io.Discard, backend)
				fr := http2.NewFramer(backend, nil)
				fr.WriteSettings()
				backend.Write(in)
				backend.Close()
			}()
			return client, nil
		}}
		defer tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://backend/x", bytes.NewReader([]byte("body")))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := tr.RoundTrip(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if ctx.Err() != nil {
			t.Fatalf("the exchange lasted %v: %v", waitLimit, err)
		}
	})
}

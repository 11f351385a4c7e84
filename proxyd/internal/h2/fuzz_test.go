package h2

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"proxyd.dev/proxyd/internal/loopback"
	"proxyd.dev/proxyd/internal/routetest"
)

// fuzzSeeds are client byte streams after the preface: well-formed exchanges (WebSocket over
// HTTP/2 among them), and the malformed ones the conformance tests and h2spec send.
func fuzzSeeds() [][]byte {
	var seeds [][]byte
	frames := func(write func(fr *http2.Framer, enc *hpack.Encoder, block *bytes.Buffer)) []byte {
		var out, block bytes.Buffer
		fr := http2.NewFramer(&out, nil)
		enc := hpack.NewEncoder(&block)
		fr.WriteSettings()
		write(fr, enc, &block)
		return out.Bytes()
	}
	request := func(enc *hpack.Encoder, block *bytes.Buffer, fields ...string) []byte {
		block.Reset()
		for i := 0; i+1 < len(fields); i += 2 {
			enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
		}
		return bytes.Clone(block.Bytes())
	}
	get := []string{":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/x"}
	seeds = append(seeds,
		frames(func(fr *http2.Framer, enc *hpack.Encoder, b *bytes.Buffer) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: request(enc, b, get...), EndStream: true, EndHeaders: true})
		}),
		frames(func(fr *http2.Framer, enc *hpack.Encoder, b *bytes.Buffer) {
			post := []string{":method", "POST", ":scheme", "http", ":path", "/p", "content-length", "3", "trailer", "x-t"}
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: request(enc, b, post...), EndHeaders: true})
			fr.WriteData(1, false, []byte("abc"))
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: request(enc, b, "x-t", "1"), EndStream: true, EndHeaders: true})
		}),
		frames(func(fr *http2.Framer, enc *hpack.Encoder, b *bytes.Buffer) {
			block := request(enc, b, append(get, "connection", "close")...)
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:3]})
			fr.WriteContinuation(1, false, block[3:5])
			fr.WriteContinuation(1, true, block[5:])
			fr.WriteRSTStream(1, http2.ErrCodeCancel)
		}),
		frames(func(fr *http2.Framer, enc *hpack.Encoder, b *bytes.Buffer) {
			ws := []string{":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":authority", "a", ":path", "/ws", "sec-websocket-version", "13"}
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: request(enc, b, ws...), EndHeaders: true})
			fr.WriteData(1, true, []byte("\x81\x85\x00\x00\x00\x00hello"))
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: request(enc, b, ":method", "CONNECT", ":protocol", "connect-udp", ":scheme", "http", ":authority", "a", ":path", "/u"), EndStream: true, EndHeaders: true})
		}),
		frames(func(fr *http2.Framer, enc *hpack.Encoder, b *bytes.Buffer) {
			fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31})
			fr.WriteWindowUpdate(0, 1<<31-1)
			fr.WriteWindowUpdate(3, 1)
			fr.WritePing(false, [8]byte{1})
			fr.WritePriority(1, http2.PriorityParam{StreamDep: 1})
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 2, BlockFragment: request(enc, b, get...), EndHeaders: true})
			fr.WriteData(5, true, []byte("x"))
			fr.WriteGoAway(0, http2.ErrCodeNo, nil)
		}),
	)
	return seeds
}

// FuzzClientFrames serves a connection whose client sends the preface and then the fuzzer's bytes,
// and reads all that proxyd answers: whatever the bytes, the connection must end (once the client
// closes it) without a panic, a hang, or a goroutine left behind (see TestMain).
func FuzzClientFrames(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	cfg := testConfig(f, routetest.Table(f, loopback.ClosedAddr(f)))
	cfg.AccessLog = false
	cfg.Logger = slog.New(slog.DiscardHandler)
	withPools(f, &cfg, testIdleConns)
	srv := New(cfg)
	f.Cleanup(func() { srv.Wait(context.Background()) }) // ends its handlers' idle goroutines
	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		served := make(chan struct{})
		go func() {
			defer close(served)
			srv.ServeConn(server, nil, nil, nil)
			server.Close()
		}()
		read := make(chan struct{})
		go func() {
			defer close(read)
			io.Copy(io.Discard, client)
		}()
		client.SetWriteDeadline(time.Now().Add(waitLimit))
		client.Write([]byte(http2.ClientPreface))
		client.Write(in)
		client.Close()
		select {
		case <-served:
		case <-time.After(waitLimit):
			t.Fatalf("the connection was still served %v after the client closed it", waitLimit)
		}
		<-read
	})
}

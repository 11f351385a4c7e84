//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The h2held scenario's loads and the memory it lets proxyd hold for them, above its resident
// memory before.
const (
	// nameH2C is the h2c backend's name, and its route is "/" + nameH2C.
	nameH2C = "h2c"
	// h2UploadBytes is the size of the upload, h2UploadPace the backend's pause after each 32 KiB
	// it reads, in microseconds: it takes the body at 32 MB/s at most, more slowly than the client
	// sends it.
	h2UploadBytes = 256 << 20
	h2UploadPace  = 1000
	// h2HeldUpload bounds proxyd's growth during the upload: the body waits in proxyd only up to
	// its stream's and its connection's windows (1 MiB each).
	h2HeldUpload = 32 << 20
	// h2HeldStreams is how many answers the unread client leaves unread, each of h2UnreadBytes.
	h2HeldStreams = 250
	h2UnreadBytes = 1 << 30
	// h2HeldUnread bounds proxyd's growth while they wait: each holds at most the window proxyd
	// gives the backend's stream (128 KiB, more only with credit from the 4 MiB its client
	// connection's streams share), 35 MiB in all, and the streams' state.
	h2HeldUnread = 64 << 20
	// h2QuietFor is how long the backend's writes of the unread answers must stop growing before
	// proxyd's memory is taken as held at its most.
	h2QuietFor = 2 * time.Second
)

// runH2Held checks that bodies which wait in proxyd over HTTP/2 hold memory only for what waits.
// An h2c backend that gives small windows takes a 256 MiB upload more slowly than the client sends
// it; then one client connection announces a zero window, asks for 250 answers of 1 GiB and reads
// none of them, until the backend's writes stop. proxyd's peak memory in each must stay within its
// bound, its descriptors must come back once the clients are gone, and its memory must settle.
func runH2Held(ctx context.Context, e *env) *result {
	r := newResult("h2held")
	be, err := startNamedBackend(nameH2C, true)
	if !r.check(err == nil, "h2c backend: %v", err) {
		return r
	}
	e.atEnd(be.close)
	s, before := begin(ctx, e, r, 0, "-r", "/"+nameH2C+"="+be.addr)
	if s == nil {
		return r
	}
	p := s.proxyd

	peak := startPeakSampler(p.pid, 100*time.Millisecond)
	start := time.Now()
	err = h2Upload(ctx, p.addr)
	took := time.Since(start)
	up := peak.finish()
	r.check(err == nil, "upload: %v", err)
	upGrowth := up.rssKiB - before.rssKiB
	e.logf("upload of %d MiB in %.1fs; proxyd peak %s", h2UploadBytes>>20, took.Seconds(), up)
	r.check(upGrowth <= h2HeldUpload>>10, "proxyd grew %.1f MiB during the upload, more than %d MiB", mib(upGrowth), h2HeldUpload>>20)

	peak = startPeakSampler(p.pid, 100*time.Millisecond)
	written, err := holdUnread(ctx, p.addr, be)
	held := peak.finish()
	r.check(err == nil, "unread answers: %v", err)
	heldGrowth := held.rssKiB - before.rssKiB
	e.logf("%d answers unread, %.1f MiB of them written by the backend; proxyd peak %s", h2HeldStreams, mib(written>>10), held)
	r.check(heldGrowth <= h2HeldUnread>>10, "proxyd grew %.1f MiB with the answers unread, more than %d MiB", mib(heldGrowth), h2HeldUnread>>20)

	r.figure("upload=%dMiB/%.1fs +%.1fMiB unread=%d answers, %.1fMiB sent +%.1fMiB", h2UploadBytes>>20, took.Seconds(), mib(upGrowth), h2HeldStreams, mib(written>>10), mib(heldGrowth))
	r.figure("fd-return=%s", afterClients(ctx, e, r, p, before, up.max(held)))
	e.finish(r, p)
	return r
}

// h2Upload sends the upload over HTTP/2 with prior knowledge and checks its answer.
func h2Upload(ctx context.Context, addr string) error {
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, _ string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	defer tr.CloseIdleConnections()
	target := fmt.Sprintf("/%s/up?%s=%d", nameH2C, paramPace, h2UploadPace)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+target, io.LimitReader(fillerReader{}, h2UploadBytes))
	if err != nil {
		return err
	}
	req.ContentLength = h2UploadBytes
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	if want := target + " " + strconv.Itoa(h2UploadBytes); resp.StatusCode != http.StatusOK || string(got) != want {
		return fmt.Errorf("answer %d %q, want 200 %q", resp.StatusCode, got, want)
	}
	return nil
}

// fillerReader reads as an endless run of filler's bytes.
type fillerReader struct{}

func (fillerReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], filler)
	}
	return n, nil
}

// holdUnread opens one HTTP/2 connection to addr whose SETTINGS give every stream a zero window,
// asks on h2HeldStreams streams for an answer of h2UnreadBytes from be and reads only frames
// without body, until be's writes of those answers have not grown for h2QuietFor (at most a
// minute); then it closes the connection and waits, at most 10 s, until proxyd has ended the
// streams to be (its handlers have returned). It returns how many bytes of them be wrote.
func holdUnread(ctx context.Context, addr string, be *namedBackend) (int64, error) {
	written, err := readNoBodies(ctx, addr, be)
	if _, ended := pollUntil(ctx, 10*time.Second, func() bool { return be.bigActive.Load() == 0 }); !ended && err == nil {
		err = fmt.Errorf("%d answers still being written 10 s after the client left", be.bigActive.Load())
	}
	return written, err
}

// readNoBodies is holdUnread's client, up to the close of its connection.
func readNoBodies(ctx context.Context, addr string, be *namedBackend) (int64, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	fr := http2.NewFramer(nc, nc)
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		nc.Close()
		return 0, err
	}
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	path := fmt.Sprintf("/%s/unread?%s=%d", nameH2C, paramBig, int64(h2UnreadBytes))
	for i := range h2HeldStreams {
		block.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "soak"}, {":path", path}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		err = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
		if err != nil {
			nc.Close()
			return 0, err
		}
	}
	var reader sync.WaitGroup
	reader.Go(func() { discardFrames(fr) })
	defer reader.Wait()
	defer nc.Close()
	last, since := int64(-1), time.Now()
	_, quiet := pollUntil(ctx, time.Minute, func() bool {
		if n := be.bigWritten.Load(); n != last {
			last, since = n, time.Now()
		}
		return last > 0 && time.Since(since) >= h2QuietFor
	})
	if !quiet {
		return last, fmt.Errorf("the backend's writes did not stop growing within a minute (%d bytes)", last)
	}
	return last, nil
}

// discardFrames reads frames from fr until the connection ends, acknowledging SETTINGS: it is the
// connection's only writer once it runs.
func discardFrames(fr *http2.Framer) {
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
			fr.WriteSettingsAck()
		}
	}
}

package h2

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/net/http2"
)

// probeHalfCloseAfter is how long a probe waits for an answer before it half-closes the probe
// connection. An HTTP/2 server sends its SETTINGS frame as soon as it accepts a connection (or
// once it has read the preface), well within it on a local network; an HTTP/1.1 server whose
// handler reads the body of "PRI *" waits for the end of the stream, which the half-close gives it.
const probeHalfCloseAfter = 100 * time.Millisecond

// probeH2C finds out whether the backend at addr speaks HTTP/2 with prior knowledge: it connects
// with dial (within timeout), sends the client preface and an empty SETTINGS frame (RFC 9113
// §3.4), and reports true when the first frame header that comes back within the same timeout is
// that of the server's SETTINGS frame. After probeHalfCloseAfter without an answer it half-closes:
// an HTTP/1.1 server reads the preface as a request "PRI * HTTP/2.0" whose body lasts to the end of
// the stream, and then answers (400, 505, or what its handler says to "PRI *") or closes. All of
// that, and silence, is false. The error is the dial's: the backend could not be reached.
func probeH2C(ctx context.Context, dial func(context.Context) (net.Conn, error), timeout time.Duration) (bool, error) {
	conn, err := dial(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	deadline := time.Now().Add(timeout)
	conn.SetDeadline(deadline)
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		return false, nil
	}
	if err := http2.NewFramer(conn, nil).WriteSettings(); err != nil {
		return false, nil
	}
	var hdr [9]byte // a frame header (RFC 9113 §4.1)
	conn.SetReadDeadline(time.Now().Add(min(timeout, probeHalfCloseAfter)))
	n, err := io.ReadFull(conn, hdr[:])
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if hc, ok := conn.(interface{ CloseWrite() error }); ok {
			hc.CloseWrite()
		}
		conn.SetReadDeadline(deadline)
		_, err = io.ReadFull(conn, hdr[n:])
	}
	if err != nil {
		return false, nil
	}
	fh, err := http2.ReadFrameHeader(bytes.NewReader(hdr[:]))
	return err == nil && fh.Type == http2.FrameSettings && fh.StreamID == 0 && !fh.Flags.Has(http2.FlagSettingsAck), nil
}

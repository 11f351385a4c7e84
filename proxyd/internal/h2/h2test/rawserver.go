package h2test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// RawServer is an HTTP/2 server with prior knowledge scripted frame by frame on http2.Framer, for
// what a Go server never sends and for looking at the frames a client sends. Every
// connection it accepts is handshaken (the client preface read, the server's SETTINGS sent) and
// then handed to serve on a goroutine of its own; cleanup closes the listener and the connections
// and waits for those goroutines.
type RawServer struct {
	*Listener
	settings []http2.Setting
	serve    func(*RawServerConn)
}

// StartRawServer starts a raw server whose connections, after the handshake (its SETTINGS are
// settings), serve serves.
func StartRawServer(t testing.TB, serve func(*RawServerConn), settings ...http2.Setting) *RawServer {
	t.Helper()
	s := &RawServer{settings: settings, serve: serve}
	s.Listener = Listen(t, s.serveConn)
	return s
}

// URL returns "http://" and the server's address.
func (s *RawServer) URL() string { return "http://" + s.Addr() }

// serveConn serves one accepted connection: the handshake, then serve.
func (s *RawServer) serveConn(nc net.Conn, index int) {
	c := newRawServerConn(nc, index)
	if c.handshake(s.settings) == nil {
		s.serve(c)
	}
}

// RawServerConn is one connection of a raw server. Its methods are called from one goroutine.
type RawServerConn struct {
	nc    net.Conn
	index int // 1 for the first connection accepted, and so on
	fr    *http2.Framer
	enc   *hpack.Encoder
	buf   bytes.Buffer // enc's output
}

func newRawServerConn(nc net.Conn, index int) *RawServerConn {
	c := &RawServerConn{nc: nc, index: index, fr: http2.NewFramer(nc, nc)}
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = 1 << 20
	c.enc = hpack.NewEncoder(&c.buf)
	return c
}

// handshake reads the client's connection preface and sends the server's SETTINGS. The client's
// SETTINGS frame is acknowledged by next, as any other.
func (c *RawServerConn) handshake(settings []http2.Setting) error {
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c.nc, preface); err != nil {
		return err
	}
	if string(preface) != http2.ClientPreface {
		return fmt.Errorf("client preface %q", preface)
	}
	return c.fr.WriteSettings(settings...)
}

// Next returns the next frame that is not connection housekeeping: SETTINGS are acknowledged,
// PINGs answered, WINDOW_UPDATEs and SETTINGS acknowledgements dropped. A MetaHeadersFrame is
// returned for a HEADERS frame and its CONTINUATIONs.
func (c *RawServerConn) Next() (http2.Frame, error) {
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return nil, err
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := c.fr.WriteSettingsAck(); err != nil {
					return nil, err
				}
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				if err := c.fr.WritePing(true, f.Data); err != nil {
					return nil, err
				}
			}
		case *http2.WindowUpdateFrame:
		default:
			return f, nil
		}
	}
}

// Ping sends a PING and reads frames, answering the housekeeping ones and dropping any other,
// until the client acknowledges it: the client has then read every frame written before it.
func (c *RawServerConn) Ping() error {
	data := [8]byte{'p', 'i', 'n', 'g'}
	if err := c.fr.WritePing(false, data); err != nil {
		return err
	}
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return err
		}
		switch f := f.(type) {
		case *http2.PingFrame:
			if f.IsAck() && f.Data == data {
				return nil
			}
			if !f.IsAck() {
				if err := c.fr.WritePing(true, f.Data); err != nil {
					return err
				}
			}
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := c.fr.WriteSettingsAck(); err != nil {
					return err
				}
			}
		}
	}
}

// Request returns the next HEADERS frame (the head of a request, or its trailers), skipping any
// other frame.
func (c *RawServerConn) Request() (*http2.MetaHeadersFrame, error) {
	for {
		f, err := c.Next()
		if err != nil {
			return nil, err
		}
		if h, ok := f.(*http2.MetaHeadersFrame); ok {
			return h, nil
		}
	}
}

// Reset returns the error code of the next RST_STREAM frame for stream id, skipping any other
// frame; a GOAWAY ends the wait with its code and ok false.
func (c *RawServerConn) Reset(id uint32) (code http2.ErrCode, ok bool, err error) {
	for {
		f, err := c.Next()
		if err != nil {
			return 0, false, err
		}
		switch f := f.(type) {
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				return f.ErrCode, true, nil
			}
		case *http2.GoAwayFrame:
			return f.ErrCode, false, nil
		}
	}
}

// Drain reads frames, answering the housekeeping ones, until the connection ends.
func (c *RawServerConn) Drain() {
	for {
		if _, err := c.Next(); err != nil {
			return
		}
	}
}

// WriteHeaders hpack-encodes fields and sends them as a HEADERS frame on stream id, followed by
// CONTINUATION frames when the block does not fit in one frame of the default maximum size.
func (c *RawServerConn) WriteHeaders(id uint32, endStream bool, fields ...hpack.HeaderField) error {
	c.buf.Reset()
	for _, f := range fields {
		if err := c.enc.WriteField(f); err != nil {
			return err
		}
	}
	return c.WriteBlock(id, endStream, c.buf.Bytes())
}

// WriteBlock sends block, a header block already encoded, as HEADERS and CONTINUATION frames.
func (c *RawServerConn) WriteBlock(id uint32, endStream bool, block []byte) error {
	const maxFrame = 16384
	first := block[:min(len(block), maxFrame)]
	rest := block[len(first):]
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{
		StreamID: id, BlockFragment: first, EndStream: endStream, EndHeaders: len(rest) == 0,
	}); err != nil {
		return err
	}
	for len(rest) > 0 {
		chunk := rest[:min(len(rest), maxFrame)]
		rest = rest[len(chunk):]
		if err := c.fr.WriteContinuation(id, len(rest) == 0, chunk); err != nil {
			return err
		}
	}
	return nil
}

// Respond sends a 200 response with body on stream id, ending the stream.
func (c *RawServerConn) Respond(id uint32, body string) error {
	if err := c.WriteHeaders(id, false, hpack.HeaderField{Name: ":status", Value: "200"}, hpack.HeaderField{Name: "content-length", Value: fmt.Sprint(len(body))}); err != nil {
		return err
	}
	return c.fr.WriteData(id, true, []byte(body))
}

// RespondAtOnce sends a 200 response with body on stream id, ending the stream, as Respond does,
// but in one write to the socket: the client reads it whole, in one read.
func (c *RawServerConn) RespondAtOnce(id uint32, body string) error {
	var out bytes.Buffer
	fr := http2.NewFramer(&out, nil)
	c.buf.Reset()
	c.enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	c.enc.WriteField(hpack.HeaderField{Name: "content-length", Value: fmt.Sprint(len(body))})
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.buf.Bytes(), EndHeaders: true})
	fr.WriteData(id, true, []byte(body))
	_, err := c.nc.Write(out.Bytes())
	return err
}

// Framer returns the connection's framer, for frames the methods do not write.
func (c *RawServerConn) Framer() *http2.Framer { return c.fr }

// Conn returns the connection.
func (c *RawServerConn) Conn() net.Conn { return c.nc }

// Index returns 1 for the first connection the server accepted, 2 for the next, and so on.
func (c *RawServerConn) Index() int { return c.index }

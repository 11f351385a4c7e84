package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Request is one mutated HTTP/2 request: its header fields, pseudo-header fields first, in the
// order sent, and the data of its body (none when nil).
type h2Request struct {
	fields [][2]string
	data   []byte
}

// h2Verdict is what became of one mutated HTTP/2 request and the request after it.
type h2Verdict int

const (
	h2Answered h2Verdict = iota // the mutated request answered below 400, the follow-up answered
	h2Refused                   // the mutated request reset or answered 400 or above, the follow-up answered
	h2Closed                    // the connection ended (GOAWAY, or closed) before the follow-up's answer
	h2Split                     // the follow-up's answer is another request's, or never came
)

// h2Mutations returns the HTTP/2 requests of the downgrade families, which proxyd turns into
// HTTP/1.1 requests for a backend that speaks only that: every byte value in a field's name and
// value and in the :method, :path and :authority pseudo-header fields (a CR or LF there would start
// a field or a request of its own once written as HTTP/1.1), and bodies whose content-length or
// transfer-encoding disagrees with their data (H2.CL, H2.TE).
func h2Mutations() []h2Request {
	base := func(method, path, authority string, extra ...[2]string) [][2]string {
		return append([][2]string{{":method", method}, {":scheme", "http"}, {":path", path}, {":authority", authority}}, extra...)
	}
	var reqs []h2Request
	for c := range 256 {
		b := string([]byte{byte(c)})
		reqs = append(reqs,
			h2Request{fields: base("GET", "/", "a", [2]string{"x-a", "a" + b + "b"})},
			h2Request{fields: base("GET", "/", "a", [2]string{"x-a", b + "a"})},
			h2Request{fields: base("GET", "/", "a", [2]string{"x" + b + "a", "a"})},
			h2Request{fields: base("GE"+b+"T", "/", "a")},
			h2Request{fields: base("GET", "/a"+b+"b", "a")},
			h2Request{fields: base("GET", "/", "a"+b+"b")},
		)
	}
	smuggled := []byte("0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n")
	for _, f := range [][2]string{
		{"content-length", "5"}, {"content-length", "3"}, {"content-length", "0"}, {"content-length", "50"},
		{"content-length", "+5"}, {"content-length", " 5"}, {"content-length", "5, 5"}, {"content-length", "0x5"},
		{"transfer-encoding", "chunked"}, {"transfer-encoding", "identity"},
	} {
		reqs = append(reqs,
			h2Request{fields: base("POST", "/", "a", f), data: []byte("hello")},
			h2Request{fields: base("POST", "/", "a", f), data: smuggled},
		)
	}
	return reqs
}

// h2Client is a bare HTTP/2 client connection with prior knowledge: it writes any bytes as field
// names and values, which a conforming client never sends.
type h2Client struct {
	conn net.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	buf  bytes.Buffer
	dec  *hpack.Decoder
}

// dialH2 opens an HTTP/2 connection to addr with the preface and an empty SETTINGS frame; every
// read and write on it must be done by deadline.
func dialH2(addr string, deadline time.Time) (*h2Client, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Until(deadline))
	if err != nil {
		return nil, fmt.Errorf("connecting to proxyd at %s: %w", addr, err)
	}
	c := &h2Client{conn: conn, fr: http2.NewFramer(conn, conn), dec: hpack.NewDecoder(4096, nil)}
	c.enc = hpack.NewEncoder(&c.buf)
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, err
	}
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		conn.Close()
		return nil, fmt.Errorf("sending the preface to proxyd: %w", err)
	}
	if err := c.fr.WriteSettings(); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// send opens stream id with fields and, when data is not nil, a body of data.
func (c *h2Client) send(id uint32, fields [][2]string, data []byte) error {
	c.buf.Reset()
	for _, f := range fields {
		if err := c.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]}); err != nil {
			return err
		}
	}
	err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.buf.Bytes(), EndStream: data == nil, EndHeaders: true})
	if err == nil && data != nil {
		err = c.fr.WriteData(id, true, data)
	}
	return err
}

// errGoAway says the connection ended with a GOAWAY frame.
var errGoAway = errors.New("GOAWAY")

// await reads frames until stream id ends and returns its status (0 when it was reset) and body.
func (c *h2Client) await(id uint32) (status int, body []byte, err error) {
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return 0, nil, err
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				err = c.fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				err = c.fr.WritePing(true, f.Data)
			}
		case *http2.GoAwayFrame:
			return 0, nil, errGoAway
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				return 0, nil, nil
			}
		case *http2.HeadersFrame:
			if f.StreamID != id {
				continue
			}
			fields, derr := c.dec.DecodeFull(f.HeaderBlockFragment())
			if derr != nil {
				return 0, nil, derr
			}
			for _, hf := range fields {
				if hf.Name == ":status" {
					fmt.Sscan(hf.Value, &status)
				}
			}
			if f.StreamEnded() {
				return status, body, nil
			}
		case *http2.DataFrame:
			if f.StreamID != id {
				continue
			}
			body = append(body, f.Data()...)
			if n := uint32(len(f.Data())); n > 0 {
				err = errors.Join(c.fr.WriteWindowUpdate(0, n), c.fr.WriteWindowUpdate(id, n))
			}
			if f.StreamEnded() {
				return status, body, nil
			}
		}
		if err != nil {
			return 0, nil, err
		}
	}
}

// checkH2 sends req on stream 1 of a new connection to proxy and, once it ended, a GET of
// FollowUp on stream 3, and returns the verdict, with a description of a split one.
func checkH2(proxy string, wait time.Duration, req h2Request) (h2Verdict, string, error) {
	c, err := dialH2(proxy, time.Now().Add(wait))
	if err != nil {
		return 0, "", err
	}
	defer c.conn.Close()
	if err := c.send(1, req.fields, req.data); err != nil {
		return 0, "", fmt.Errorf("sending to proxyd: %w", err)
	}
	status, _, err := c.await(1)
	if err != nil {
		return h2ClosedOrSplit(err)
	}
	follow := [][2]string{{":method", "GET"}, {":scheme", "http"}, {":path", FollowUp}, {":authority", "a"}}
	if err := c.send(3, follow, nil); err != nil {
		return h2Closed, "", nil
	}
	followStatus, body, err := c.await(3)
	switch {
	case err != nil:
		return h2ClosedOrSplit(err)
	case !answersFollowUp(body):
		return h2Split, fmt.Sprintf("the follow-up answered %d %q", followStatus, body), nil
	case status == 0 || status >= 400:
		return h2Refused, "", nil
	}
	return h2Answered, "", nil
}

// h2ClosedOrSplit is the verdict of a connection that ended with err before the answers came: a
// GOAWAY or a close ends it, a wait that ran out is a split.
func h2ClosedOrSplit(err error) (h2Verdict, string, error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return h2Split, "no answer: " + err.Error(), nil
	}
	if errors.Is(err, errGoAway) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
		return h2Closed, "", nil
	}
	return h2Split, err.Error(), nil
}

// Package h2conn holds what both of proxyd's HTTP/2 roles, the server of client connections and
// the h2c client of backends, do alike on a connection, on golang.org/x/net/http2's Framer and
// hpack: a write side shared by many goroutines, where the writes of a burst share one flush and
// one write deadline; header blocks encoded and split into HEADERS and CONTINUATION frames; field
// names in either case; and the receive buffer of a stream's body with its flow-control credit.
package h2conn

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// FrameSize is the largest frame proxyd reads: the initial SETTINGS_MAX_FRAME_SIZE of RFC 9113
// §4.2, which proxyd never raises.
const FrameSize = 16 << 10

// HeaderTableSize is the size of proxyd's HPACK decoders' dynamic table
// (SETTINGS_HEADER_TABLE_SIZE, RFC 9113 §6.5.2, the initial value).
const HeaderTableSize = 4096

// maxCachedNames bounds each cache of field names.
const maxCachedNames = 256

// Conn is one HTTP/2 connection's framer and write side. Frames are read by one goroutine, the
// connection's reader, with Framer; they are written by any goroutine between Lock and Unlock.
type Conn struct {
	// Framer reads and writes the frames; its write methods only between Lock and Unlock.
	Framer *http2.Framer

	nc      net.Conn
	timeout time.Duration
	// writers counts the goroutines holding or waiting for mu: the last one flushes.
	writers atomic.Int32
	mu      sync.Mutex
	bw      *bufio.Writer
	enc     *hpack.Encoder
	block   bytes.Buffer // the header block being encoded
	lower   nameCache    // canonical field names in lower case
	armed   time.Time    // when the write deadline was last set
	err     error        // the first write error
	// canonical holds lower-case field names in canonical form; the reader's own.
	canonical nameCache
}

// New returns the framer and write side of nc, reading header blocks of at most maxHeaderList
// bytes (RFC 9113 §6.5.2) and frames of at most FrameSize. A write that makes no progress for
// writeTimeout fails (0: no bound).
func New(nc net.Conn, maxHeaderList uint32, writeTimeout time.Duration) *Conn {
	c := &Conn{
		nc:        nc,
		timeout:   writeTimeout,
		bw:        bufio.NewWriterSize(nc, 2*FrameSize),
		lower:     make(nameCache),
		canonical: make(nameCache),
	}
	c.Framer = http2.NewFramer(c.bw, bufio.NewReaderSize(nc, FrameSize))
	c.Framer.SetMaxReadFrameSize(FrameSize)
	c.Framer.SetReuseFrames()
	c.Framer.MaxHeaderListSize = maxHeaderList
	c.Framer.ReadMetaHeaders = hpack.NewDecoder(HeaderTableSize, nil)
	c.enc = hpack.NewEncoder(&c.block)
	return c
}

// Lock takes the write side, and pushes the write deadline on when a quarter of the timeout has
// passed since it was last set: a write that makes no progress fails between the timeout and 1.25
// times it.
func (c *Conn) Lock() {
	c.writers.Add(1)
	c.mu.Lock()
	if d := c.timeout; d > 0 {
		if now := time.Now(); now.Sub(c.armed) >= d/4 {
			c.nc.SetWriteDeadline(now.Add(d + d/4))
			c.armed = now
		}
	}
}

// Unlock releases the write side, flushing what is buffered unless another writer waits for it:
// that one flushes, so that the frames of concurrent writers share one write to the socket. It
// returns the connection's first write error, if any: the connection is broken.
func (c *Conn) Unlock() error {
	if c.writers.Add(-1) == 0 && c.err == nil {
		c.err = c.bw.Flush()
	}
	err := c.err
	c.mu.Unlock()
	return err
}

// WriteString writes s as it is (the client preface). Under Lock.
func (c *Conn) WriteString(s string) { c.bw.WriteString(s) }

// SetEncoderTableSize applies the peer's SETTINGS_HEADER_TABLE_SIZE to the encoder. Under Lock.
func (c *Conn) SetEncoderTableSize(v uint32) { c.enc.SetMaxDynamicTableSizeLimit(v) }

// StartBlock starts a new header block. Under Lock.
func (c *Conn) StartBlock() { c.block.Reset() }

// Field adds one field, its name in lower case, to the block. Under Lock.
func (c *Conn) Field(name, value string) {
	c.enc.WriteField(hpack.HeaderField{Name: name, Value: value})
}

// Fields adds the fields of h for which keep is true to the block, their names in lower case.
// Under Lock.
func (c *Conn) Fields(h http.Header, keep func(name string, values []string) bool) {
	for name, values := range h {
		if !keep(name, values) {
			continue
		}
		lower := c.lower.get(name, strings.ToLower)
		for _, v := range values {
			c.Field(lower, v)
		}
	}
}

// LowerName returns name in lower case, as HTTP/2 writes it (RFC 9113 §8.2.1). Under Lock.
func (c *Conn) LowerName(name string) string { return c.lower.get(name, strings.ToLower) }

// WriteBlock writes the block on stream id as a HEADERS frame and as many CONTINUATION frames as
// frames of at most maxFrame bytes take. Under Lock.
func (c *Conn) WriteBlock(id uint32, endStream bool, maxFrame uint32) {
	block := c.block.Bytes()
	first := true
	for first || len(block) > 0 {
		frag := block[:min(len(block), int(maxFrame))]
		block = block[len(frag):]
		if first {
			c.Framer.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: frag, EndStream: endStream, EndHeaders: len(block) == 0})
			first = false
		} else {
			c.Framer.WriteContinuation(id, len(block) == 0, frag)
		}
	}
}

// Header returns fields as an http.Header with canonical names. The reader's own.
func (c *Conn) Header(fields []hpack.HeaderField) http.Header {
	h := make(http.Header, len(fields))
	for _, f := range fields {
		name := c.canonical.get(f.Name, http.CanonicalHeaderKey)
		h[name] = append(h[name], f.Value)
	}
	return h
}

// nameCache keeps field names in their other case, up to maxCachedNames of them.
type nameCache map[string]string

// get returns convert(name), from the cache when it is there.
func (m nameCache) get(name string, convert func(string) string) string {
	if v, ok := m[name]; ok {
		return v
	}
	v := convert(name)
	if len(m) < maxCachedNames {
		m[name] = v
	}
	return v
}

// WriteWindowUpdates gives the peer back inc bytes of stream id's window and connInc of the
// connection's, each only when not 0. Under Lock.
func (c *Conn) WriteWindowUpdates(id, inc, connInc uint32) {
	if inc > 0 {
		c.Framer.WriteWindowUpdate(id, inc)
	}
	if connInc > 0 {
		c.Framer.WriteWindowUpdate(0, connInc)
	}
}

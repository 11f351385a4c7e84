package h2conn

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Errors of a header block's fields, the cause of a stream error PROTOCOL_ERROR (RFC 9113 §8.2.1,
// §8.3).
var (
	errPseudoAfterRegular = errors.New("pseudo-header field after a regular field")
	errMixedPseudo        = errors.New("request and response pseudo-header fields in one header block")
)

// blockReader decodes header blocks, a HEADERS frame and the CONTINUATION frames that follow it,
// into one MetaHeadersFrame and one field slice that it reuses from block to block, with the rules
// of x/net/http2's Framer.ReadMetaHeaders (RFC 9113 §4.3, §6.5.2, §8.2, §8.3): a field whose name
// or value is invalid, or a pseudo-header field out of place, is a stream error; a block over the
// header list limit is decoded but its fields dropped (Truncated), and one far over it is a
// connection error, as is a fragment after an invalid field, so that a CONTINUATION flood costs
// no decoding. One rule differs, for values that start or end with whitespace, which x/net/http2
// takes as they are (see edgeSpace). The reader's own.
type blockReader struct {
	dec     *hpack.Decoder
	maxList uint32 // the header list limit
	meta    http2.MetaHeadersFrame

	// The state of the block being decoded, for emit.
	headersLeft  uint32 // what the header list limit leaves for fields
	trailersLeft uint32 // ... and for the names listed in Trailer fields
	sawRegular   bool   // a regular field came: no pseudo-header field may follow
	invalid      error  // the first invalid field
	spaced       error  // the first pseudo-header field, valid otherwise, with whitespace at an end
}

// init readies r for header lists of at most maxList bytes, strings included.
func (r *blockReader) init(maxList uint32) {
	r.maxList = maxList
	r.dec = hpack.NewDecoder(HeaderTableSize, r.emit)
	r.dec.SetMaxStringLength(int(min(maxList, 1<<31-1)))
}

// read decodes the block that hf starts, reading its CONTINUATION frames from fr. The frame it
// returns, and its fields, are valid until the next read.
func (r *blockReader) read(fr *http2.Framer, hf *http2.HeadersFrame) (*http2.MetaHeadersFrame, error) {
	r.meta = http2.MetaHeadersFrame{HeadersFrame: hf, Fields: r.meta.Fields[:0]}
	r.headersLeft, r.trailersLeft = r.maxList, r.maxList
	r.sawRegular, r.invalid, r.spaced = false, nil, nil
	r.dec.SetEmitEnabled(true)
	var frag interface {
		HeaderBlockFragment() []byte
		HeadersEnded() bool
	} = hf
	for {
		b := frag.HeaderBlockFragment()
		if int64(len(b)) > 2*int64(r.headersLeft+r.trailersLeft) || r.invalid != nil {
			return nil, http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if _, err := r.dec.Write(b); err != nil {
			return nil, http2.ConnectionError(http2.ErrCodeCompression)
		}
		if frag.HeadersEnded() {
			break
		}
		f, err := fr.ReadFrame()
		if err != nil {
			return nil, err
		}
		frag = f.(*http2.ContinuationFrame) // the Framer checks that one follows
	}
	if err := r.dec.Close(); err != nil {
		return nil, http2.ConnectionError(http2.ErrCodeCompression)
	}
	if r.invalid == nil {
		r.invalid = checkPseudo(r.meta.PseudoFields())
	}
	if r.invalid == nil {
		r.invalid = r.spaced
	}
	if r.invalid != nil {
		return nil, http2.StreamError{StreamID: hf.StreamID, Code: http2.ErrCodeProtocol, Cause: r.invalid}
	}
	return &r.meta, nil
}

// emit takes one decoded field.
func (r *blockReader) emit(f hpack.HeaderField) {
	switch {
	case !httpguts.ValidHeaderFieldValue(f.Value):
		r.invalid = fmt.Errorf("invalid value of header field %q", f.Name) // the value may be secret
	case f.IsPseudo():
		if r.sawRegular {
			r.invalid = errPseudoAfterRegular
		}
	case !validName(f.Name):
		r.invalid = fmt.Errorf("invalid header field name %q", f.Name)
	default:
		r.sawRegular = true
	}
	if r.invalid != nil {
		r.dec.SetEmitEnabled(false)
		return
	}
	left, size := &r.headersLeft, f.Size()
	if f.Name == "trailer" {
		// The names it lists count as fields of their own (as x/net/http2 counts them).
		n := uint32(strings.Count(f.Value, ",") + 1)
		left, size = &r.trailersLeft, uint32(len(f.Value))-n+1+n*hpack.HeaderField{}.Size()
	}
	if size > *left {
		r.dec.SetEmitEnabled(false)
		r.meta.Truncated = true
		r.headersLeft, r.trailersLeft = 0, 0
		return
	}
	*left -= size
	if edgeSpace(f.Value) {
		if f.IsPseudo() && r.spaced == nil {
			r.spaced = fmt.Errorf("value of pseudo-header field %q starts or ends with whitespace", f.Name)
		}
		f.Value = strings.Trim(f.Value, " \t")
	}
	r.meta.Fields = append(r.meta.Fields, f)
}

// edgeSpace reports whether value starts or ends with whitespace (SP or HTAB). RFC 9113 §8.2.1
// makes such a field malformed, yet clients send it in regular fields (cookies among them), and
// servers in trailers (a gRPC status message that ends with a space); an HTTP/1.1 recipient strips
// it as optional whitespace (RFC 9112 §5.1), and an HTTP/2 one may refuse the message or drop the
// field. So a regular field's value is taken without that whitespace, the value RFC 9110 §5.5
// defines, and forwarded so, which every recipient reads alike; a pseudo-header field with it,
// which no client or server has a reason to send, makes the message malformed.
func edgeSpace(value string) bool {
	n := len(value)
	return n > 0 && (isSpace(value[0]) || isSpace(value[n-1]))
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// validName reports whether name is a valid field name as HTTP/2 sends it: a token in lower case
// (RFC 9113 §8.2.1).
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !httpguts.IsTokenRune(rune(c)) || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// checkPseudo checks a block's pseudo-header fields: each known, none twice, and not those of a
// request and a response together (RFC 9113 §8.3).
func checkPseudo(fields []hpack.HeaderField) error {
	var request, response bool
	for i, f := range fields {
		switch f.Name {
		case ":method", ":path", ":scheme", ":authority", ":protocol":
			request = true
		case ":status":
			response = true
		default:
			return fmt.Errorf("invalid pseudo-header field %q", f.Name)
		}
		for _, g := range fields[:i] {
			if g.Name == f.Name {
				return fmt.Errorf("pseudo-header field %q repeated", f.Name)
			}
		}
	}
	if request && response {
		return errMixedPseudo
	}
	return nil
}

package wire_test

import (
	"errors"
	"fmt"
	"strings"
	"testing/iotest"

	"proxyd.dev/wire"
)

func ExampleParseRequestHead() {
	buf := []byte("POST /api/items HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello")
	var h wire.RequestHead
	if err := wire.ParseRequestHead(buf[:20], &h); err == wire.ErrIncomplete {
		fmt.Println("incomplete: read more")
	}
	if err := wire.ParseRequestHead(buf, &h); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %s %v, head %d bytes, body %v of %d bytes\n", h.Method, h.Target, h.Version, h.Len, h.Body.Kind, h.Body.Length)

	err := wire.ParseRequestHead([]byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n"), &h)
	var e *wire.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Reason)
	}
	// Output:
	// incomplete: read more
	// POST /api/items HTTP/1.1, head 66 bytes, body length of 5 bytes
	// 400 whitespace before colon in header name
}

func ExampleCopyChunked() {
	body := "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nDigest: x\r\n\r\n"
	r := wire.NewReader(strings.NewReader(body + "GET /next HTTP/1.1\r\n"))
	r.Attach(make([]byte, 4096))
	var dst strings.Builder // a connection in a proxy
	n, err := wire.CopyChunked(&dst, r)
	fmt.Printf("%d bytes, %v: %q\n", n, err, dst.String())
	fmt.Printf("next message starts %q\n", r.Buffered()[:3])
	// Output:
	// 43 bytes, <nil>: "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nDigest: x\r\n\r\n"
	// next message starts "GET"
}

func ExampleMatchH2Preface() {
	for _, first := range []string{"PRI * HTTP/2.0\r\n", wire.H2Preface, "GET / HTTP/1.1\r\n"} {
		match, more := wire.MatchH2Preface([]byte(first))
		fmt.Printf("%q: HTTP/2 %v, need more %v\n", first, match, more)
	}
	// Output:
	// "PRI * HTTP/2.0\r\n": HTTP/2 false, need more true
	// "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n": HTTP/2 true, need more false
	// "GET / HTTP/1.1\r\n": HTTP/2 false, need more false
}

func ExampleStripH2CUpgrade() {
	head := "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n"
	fmt.Printf("%q\n", wire.StripH2CUpgrade(nil, []byte(head)))
	// Output:
	// "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
}

// A connection's Reader holds a buffer only while a message is being read: an idle connection
// gives it back.
func ExampleReader() {
	r := wire.NewReader(strings.NewReader("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	r.Attach(make([]byte, 4096)) // e.g. from a pool, once the connection is readable
	var p wire.RequestParser
	var h wire.RequestHead
	for {
		err := p.Parse(r.Buffered(), &h)
		if err != wire.ErrIncomplete {
			break
		}
		if _, err := r.Fill(); err != nil {
			fmt.Println(err)
			return
		}
	}
	r.Discard(h.Len)
	buf := r.Detach() // back to the pool while idle
	fmt.Println(string(h.Method), len(buf))
	// Output:
	// GET 4096
}

// The Readers of a proxy's connections share one PipeBudget, which bounds how far the splices of
// their relays grow their pipes, all together: here by 15 MiB, sixteen pipes of 1 MiB. A body read
// from anything but a TCP connection is copied, and takes nothing from it.
func ExamplePipeBudget() {
	pipes := wire.NewPipeBudget(15 << 20)
	r := wire.NewReader(strings.NewReader("hello"))
	r.SetPipeBudget(pipes)
	r.Attach(make([]byte, 4096))
	var body strings.Builder
	n, err := wire.CopyLength(&body, r, 5)
	fmt.Println(n, err, body.String(), pipes.Used())
	// Output:
	// 5 <nil> hello 0
}

// A head that arrives in small pieces, here one byte per read, is parsed with a RequestParser,
// which resumes where its previous call stopped: the work stays linear in the size of the head
// however it is cut, while a malformed byte is still reported as soon as it arrives.
func ExampleRequestParser() {
	client := iotest.OneByteReader(strings.NewReader("GET /a HTTP/1.1\r\nHost: example.com\r\nX: \x01"))
	r := wire.NewReader(client)
	r.Attach(make([]byte, 4096))
	var p wire.RequestParser // one per connection; it starts over after each head
	var h wire.RequestHead
	for {
		err := p.Parse(r.Buffered(), &h)
		if err != wire.ErrIncomplete {
			fmt.Printf("%v after %d bytes\n", err, len(r.Buffered()))
			return
		}
		if _, err := r.Fill(); err != nil {
			fmt.Println(err)
			return
		}
	}
	// Output:
	// wire: 400: control byte at byte 39: "example.com\r\nX: \x01" after 40 bytes
}

// A proxy that writes its own X-Forwarded-For removes the one a client sent, in any case, and reads
// the fields of a head without building a map.
func ExampleAppendWithoutFields() {
	head := []byte("GET / HTTP/1.1\r\nHost: a\r\nx-forwarded-for: 1.2.3.4\r\nAccept: */*\r\n\r\n")
	out := wire.AppendWithoutFields(nil, head, func(name []byte) bool {
		return wire.FieldNameEqual(name, "X-Forwarded-For")
	})
	fmt.Printf("%q\n", out)
	for it := wire.Fields(out); it.Next(); {
		fmt.Printf("%s = %s\n", it.Name(), it.Value())
	}
	// Output:
	// "GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n"
	// Host = a
	// Accept = */*
}

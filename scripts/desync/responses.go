package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"proxyd.dev/fuzz"
	"proxyd.dev/wire"
)

// responsePrefix starts the path of a request for a mutated response: /r/N asks for the Nth of
// fuzz.ResponseMutations.
const responsePrefix = "/r/"

// responseRequests returns a GET request head for each mutated response.
func responseRequests() []string {
	n := len(fuzz.ResponseMutations())
	reqs := make([]string, n)
	for i := range n {
		reqs[i] = "GET " + responsePrefix + strconv.Itoa(i) + " HTTP/1.1\r\nHost: a\r\n\r\n"
	}
	return reqs
}

// serveResponses serves on addr as a backend that answers GET /r/N with the Nth of
// fuzz.ResponseMutations, with the body proxyd's parser frames for it (as many bytes as a
// Content-Length says, one chunk of five bytes when chunked, five bytes and the close when the
// body ends with the connection), or as it is, and the close, when proxyd's parser refuses it; any
// other path it answers with the path. It reads requests without a body, and returns only on an
// error of its listener.
func serveResponses(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mutations := fuzz.ResponseMutations()
	for {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer conn.Close()
			br := bufio.NewReader(conn)
			for {
				path, err := readRequestPath(br)
				if err != nil {
					return
				}
				answer, keep := echoAnswer(path), true
				if i, err := strconv.Atoi(strings.TrimPrefix(path, responsePrefix)); err == nil && strings.HasPrefix(path, responsePrefix) && i < len(mutations) {
					answer, keep = mutatedAnswer(mutations[i])
				}
				if _, err := io.WriteString(conn, answer); err != nil || !keep {
					return
				}
			}
		}()
	}
}

// readRequestPath reads one request head from br and returns its request-target.
func readRequestPath(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	fields := strings.Fields(line)
	if len(fields) != 3 {
		return "", fmt.Errorf("malformed request line %q", line)
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		if l == "\r\n" {
			return fields[1], nil
		}
	}
}

// echoAnswer is the answer to a request for path: the path, with a Content-Length.
func echoAnswer(path string) string {
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(path), path)
}

// mutatedAnswer returns the answer made of the mutated response m, and whether the connection
// stays open after it.
func mutatedAnswer(m string) (answer string, keep bool) {
	var h wire.ResponseHead
	if wire.ParseResponseHead([]byte(m), &h) != nil {
		return m, false
	}
	f := h.Framing([]byte("GET"))
	return m[:h.Len] + body(f), f.Kind != wire.BodyUntilClose
}

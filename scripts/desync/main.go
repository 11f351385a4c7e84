// Command desync sends the framing mutations of proxyd.dev/fuzz (every byte value at each place of
// a Transfer-Encoding, Content-Length or request line, and of a chunked body's framing, after the
// families of the public desync lists), and HTTP/2 requests with such bytes in their fields and
// bodies at odds with their content-length, through proxyd to one backend, and reports whether
// the backend read each request where proxyd did. scripts/desync.sh runs it against servers of
// other stacks (Go's net/http, Node.js, nginx, Tomcat).
//
//	desync -proxy 127.0.0.1:18900 -name node
//	desync -serve 127.0.0.1:18901            (a net/http backend: path and body length)
//	desync -serve-responses 127.0.0.1:18902  (a backend of mutated responses)
//	desync -proxy 127.0.0.1:18900 -responses (proxyd in front of that backend)
//
// Each mutated request goes on a connection of its own, with the body proxyd's parser frames for
// it (as many bytes as a Content-Length says, or one chunk of five bytes when chunked; a mutated
// chunked body is the body itself, sent only when it is complete as proxyd's parser reads it),
// followed at once by a GET of FollowUp. A request is:
//
//   - closed when the connection ends after at most one answer: proxyd refused the head or the
//     body (its own 4xx answer), or the backend did, or the backend answered before the body had
//     come and proxyd, unable to keep the connection, closed it after that answer, or the client
//     (net/http's parser) could not read an answer and ends the connection itself;
//   - agreed when two answers come and the second is the backend's to FollowUp: the backend ended
//     the request where proxyd did;
//   - split otherwise (answers that stop coming, a second answer to another request): the backend
//     took part of the body for a request of its own, or the follow-up for part of the body, and
//     proxyd and the backend no longer agree on the connection.
//
// Then the HTTP/2 requests of h2Mutations, which proxyd forwards to the backend over HTTP/1.1: each
// on stream 1 of a connection of its own, and once it ended, a GET of FollowUp on stream 3. One is
// answered or refused (reset, or answered 400 or above) when the follow-up's answer is the
// backend's to FollowUp, closed when the connection ends first, and split otherwise.
//
// With -responses it asks instead for each of the mutated responses of fuzz.ResponseMutations, each
// followed by the follow-up on the same connection, from a backend -serve-responses runs; the
// verdicts are the same, from what net/http's client reads.
//
// The backend must name the path of a request it answers in the answer's body, as an echo or in
// an error page ("&#47;" for "/" counts). The exit status is 1 when any request was split.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"proxyd.dev/fuzz"
	"proxyd.dev/wire"
)

// FollowUp is the path of the request sent after each mutated one; its name is what the backend's
// answer to it must carry.
const FollowUp = "/desync-follow-up"

// chunkedHead is the head each mutated chunked body follows.
const chunkedHead = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"

// verdict is what became of one mutated request.
type verdict int

const (
	closed verdict = iota
	agreed
	split
)

func main() {
	proxy := flag.String("proxy", "", "proxyd's address, host:port")
	name := flag.String("name", "backend", "the backend's name in the report")
	wait := flag.Duration("wait", 2*time.Second, "how long to wait for the answers to one request")
	responses := flag.Bool("responses", false, "ask for the mutated responses of -serve-responses instead")
	serve := flag.String("serve", "", "serve as a net/http backend on this address instead")
	serveResp := flag.String("serve-responses", "", "serve the mutated responses on this address instead")
	flag.Parse()
	switch {
	case flag.NArg() > 0:
	case *serve != "":
		fmt.Fprintln(os.Stderr, echo(*serve))
		os.Exit(1)
	case *serveResp != "":
		fmt.Fprintln(os.Stderr, serveResponses(*serveResp))
		os.Exit(1)
	case *proxy != "":
		c := checker{proxy: *proxy, wait: *wait, name: *name}
		if *responses {
			c.family("mutated responses", responseRequests())
		} else {
			c.requestFamilies()
		}
		for _, s := range c.splits {
			fmt.Printf("  split: %q: %s\n", s.request, s.answers)
		}
		if len(c.splits) > 0 {
			os.Exit(1)
		}
		return
	}
	fmt.Fprintln(os.Stderr, "usage: desync -proxy host:port [-name NAME] [-wait DURATION] [-responses]\n"+
		"       desync -serve host:port | -serve-responses host:port")
	os.Exit(2)
}

// requestFamilies sends the mutated request heads, the mutated chunked bodies and the mutated
// HTTP/2 requests, and prints what became of each family.
func (c *checker) requestFamilies() {
	var heads, bodies []string
	for _, h := range fuzz.RequestMutations() {
		heads = append(heads, withBody(h))
	}
	for _, b := range fuzz.ChunkedMutations() {
		if complete(b) {
			bodies = append(bodies, chunkedHead+b)
		}
	}
	c.family("request heads", heads)
	c.family("chunked bodies", bodies)
	var count [4]int
	reqs := h2Mutations()
	for _, req := range reqs {
		v, how, err := checkH2(c.proxy, c.wait, req)
		if err != nil {
			fail(err)
		}
		count[v]++
		if v == h2Split {
			c.splits = append(c.splits, splitRequest{fmt.Sprintf("HTTP/2 %q with %d bytes of data", req.fields, len(req.data)), how})
		}
	}
	fmt.Printf("%s, HTTP/2 requests: %d sent, %d answered, %d refused, %d closed, %d split\n", c.name,
		len(reqs), count[h2Answered], count[h2Refused], count[h2Closed], count[h2Split])
}

// family sends the HTTP/1.1 requests of one family and prints what became of them.
func (c *checker) family(what string, requests []string) {
	var count [3]int
	for _, req := range requests {
		v, err := c.check(req)
		if err != nil {
			fail(err)
		}
		count[v]++
	}
	fmt.Printf("%s, %s: %d sent, %d closed, %d agreed, %d split\n",
		c.name, what, len(requests), count[closed], count[agreed], count[split])
}

// fail reports err, an error reaching proxyd, and exits with status 2.
func fail(err error) {
	fmt.Fprintf(os.Stderr, "desync: %v\n", err)
	os.Exit(2)
}

// withBody returns the request head h (with what follows its end in h dropped) and the body
// proxyd's parser frames for it; a head the parser refuses is returned alone, which proxyd answers
// itself.
func withBody(h string) string {
	var head wire.RequestHead
	if wire.ParseRequestHead([]byte(h), &head) != nil {
		return h
	}
	return h[:head.Len] + body(head.Body)
}

// body returns a body framed by f: as many bytes as a length says, one chunk of five bytes when
// chunked, five bytes when it ends with the connection, none without a body.
func body(f wire.Framing) string {
	switch f.Kind {
	case wire.BodyLength:
		return strings.Repeat("x", int(f.Length))
	case wire.BodyChunked:
		return "5\r\nhello\r\n0\r\n\r\n"
	case wire.BodyUntilClose:
		return "hello"
	}
	return ""
}

// complete reports whether proxyd's parser reads the chunked body b to its end, or fails on it, as
// opposed to waiting for more: a mutated size can make the chunk longer than what follows.
func complete(b string) bool {
	r := wire.NewReader(strings.NewReader(b))
	r.Attach(make([]byte, 2*wire.MaxChunkLineSize))
	_, err := wire.CopyChunked(io.Discard, r)
	var unfinished *wire.ReadError
	return !errors.As(err, &unfinished)
}

// checker sends mutated requests through proxyd and keeps the split ones.
type checker struct {
	proxy  string
	wait   time.Duration
	name   string // the backend's, in the report
	splits []splitRequest
}

// splitRequest is a request the backend read otherwise than proxyd, with the answers that came.
type splitRequest struct {
	request string
	answers string
}

// check sends req and the follow-up on a new connection and returns the verdict; the error is
// for a connection to proxyd that could not be made.
func (c *checker) check(req string) (verdict, error) {
	conn, err := net.Dial("tcp", c.proxy)
	if err != nil {
		return 0, fmt.Errorf("connecting to proxyd at %s: %w", c.proxy, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(c.wait)); err != nil {
		return 0, err
	}
	if _, err := io.WriteString(conn, req+"GET "+FollowUp+" HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		return 0, fmt.Errorf("sending to proxyd: %w", err)
	}
	br := bufio.NewReader(conn)
	var statuses []int
	var second []byte
	var readErr error
	for len(statuses) < 2 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			readErr = err
			break
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			readErr = err
			break
		}
		statuses = append(statuses, resp.StatusCode)
		second = body
	}
	var ne net.Error
	switch {
	case len(statuses) < 2 && readErr != nil && !(errors.As(readErr, &ne) && ne.Timeout()):
		// The connection ended, or the client could not read an answer and ends it.
		return closed, nil
	case len(statuses) == 2 && answersFollowUp(second):
		return agreed, nil
	}
	c.splits = append(c.splits, splitRequest{req, fmt.Sprintf("answers %v, then %v", statuses, readErr)})
	return split, nil
}

// answersFollowUp reports whether body, an answer's body, names FollowUp's path, as it is or with
// its slash escaped as an HTML entity (as Tomcat's error pages write it).
func answersFollowUp(body []byte) bool {
	return bytes.Contains(body, []byte(FollowUp)) ||
		bytes.Contains(body, []byte(strings.ReplaceAll(FollowUp, "/", "&#47;")))
}

// echo serves HTTP on addr with net/http, answering each request with its path and the length of
// its body, which it reads to the end; it returns only on an error.
func echo(addr string) error {
	return http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, `{"path":%q,"length":%d}`, r.URL.Path, n)
	}))
}

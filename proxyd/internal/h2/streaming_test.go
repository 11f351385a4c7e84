package h2

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"proxyd.dev/proxyd/internal/h2/h2test"
	"proxyd.dev/proxyd/internal/routetest"
)

// streamTurns is how many request lines a bidirectional test sends, each only after the answer to
// the previous one arrived.
const streamTurns = 5

// upperEcho answers each line of the request body with its upper-case form as soon as it arrives,
// flushed: a response that can only complete if both bodies stream.
func upperEcho(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	rc.EnableFullDuplex() // HTTP/1.1 servers otherwise read no body once the response started
	w.WriteHeader(http.StatusOK)
	rc.Flush()
	sc := bufio.NewScanner(r.Body)
	for sc.Scan() {
		fmt.Fprintln(w, strings.ToUpper(sc.Text()))
		rc.Flush()
	}
}

// TestBidirectionalStreaming sends a request body line by line and reads each answer line before
// sending the next, through both kinds of backend.
func TestBidirectionalStreaming(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind.name, func(t *testing.T) {
			be := kind.start(t, http.HandlerFunc(upperEcho))
			p := startProxy(t, testConfig(t, routetest.Table(t, addr(be))))
			resp, pw := openPost(t, "http://"+p.addr+"/upper")
			lines := bufio.NewReader(resp.Body)
			for i := range streamTurns {
				fmt.Fprintf(pw, "line %d\n", i)
				got, err := lines.ReadString('\n')
				if want := fmt.Sprintf("LINE %d\n", i); got != want || err != nil {
					t.Fatalf("turn %d: read %q, %v; want %q", i, got, err, want)
				}
			}
			pw.Close()
			if rest, err := io.ReadAll(lines); len(rest) > 0 || err != nil {
				t.Errorf("after the last turn: %q, %v; want the end of the body", rest, err)
			}
		})
	}
}

// trailing streams two lines and ends with gRPC-style trailers.
func trailing(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Trailer", "Grpc-Status")
	io.WriteString(w, "one\n")
	http.NewResponseController(w).Flush()
	io.WriteString(w, "two\n")
	w.Header().Set("Grpc-Status", "0")
	w.Header().Set(http.TrailerPrefix+"Grpc-Message", "ok")
}

// TestTrailersPass relays the backend's trailers, declared and undeclared, after the body.
func TestTrailersPass(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind.name, func(t *testing.T) {
			be := kind.start(t, http.HandlerFunc(trailing))
			p := startProxy(t, testConfig(t, routetest.Table(t, addr(be))))
			resp, body := get(t, newClient(t), p, "/trailers")
			if body != "one\ntwo\n" {
				t.Errorf("body %q", body)
			}
			want := http.Header{"Grpc-Status": {"0"}, "Grpc-Message": {"ok"}}
			if diff := cmp.Diff(want, resp.Trailer); diff != "" {
				t.Errorf("trailers (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRequestTrailersPass forwards the client's trailers to an h2c backend.
func TestRequestTrailersPass(t *testing.T) {
	got := make(chan http.Header, 1)
	be := startH2C(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got <- r.Trailer
	}))
	p := startProxy(t, testConfig(t, routetest.Table(t, addr(be))))
	req, err := http.NewRequest(http.MethodPost, "http://"+p.addr+"/up", io.NopCloser(strings.NewReader("body")))
	if err != nil {
		t.Fatal(err)
	}
	req.Trailer = http.Header{"X-Checksum": {"abc"}}
	do(t, newClient(t), req)
	if diff := cmp.Diff(http.Header{"X-Checksum": {"abc"}}, <-got); diff != "" {
		t.Errorf("request trailers at the backend (-want +got):\n%s", diff)
	}
}

// TestKnownLengthResponseFrames checks that a response of known length leaves as its HEADERS and
// one DATA frame that ends the stream, over either upstream protocol: the head is not flushed on
// its own, and no empty DATA frame follows to end the stream.
func TestKnownLengthResponseFrames(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind.name, func(t *testing.T) {
			be := kind.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "hello")
			}))
			c := dialReady(t, startProxy(t, testConfig(t, routetest.Table(t, addr(be)))).addr)
			c.Get(1, "/x")
			got := streamFrames(c, "")
			want := []string{"HEADERS 200 end=false", `DATA "hello" end=true`}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("frames (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHeadOnlyResponseFrames checks that a response whose head ends the backend's stream and
// says no length, as gRPC's trailers-only answers do (grpc-status in the head), reaches the client
// as one HEADERS frame with END_STREAM: a gRPC client reads a status only from a head that ends
// the stream, or from trailers.
func TestHeadOnlyResponseFrames(t *testing.T) {
	be := startTrailersOnly(t)
	c := dialReady(t, startProxy(t, testConfig(t, routetest.Table(t, be))).addr)
	c.Get(1, "/x")
	got := streamFrames(c, "grpc-status")
	if diff := cmp.Diff([]string{"HEADERS 200 grpc-status=5 end=true"}, got); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
}

// startTrailersOnly starts an h2c backend that answers every request as a gRPC server answers a
// call that fails at once: one HEADERS frame with :status 200, grpc-status 5 and END_STREAM, and
// no Content-Length. It returns its address.
func startTrailersOnly(t *testing.T) string {
	t.Helper()
	return h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
		for {
			h, err := c.Request()
			if err != nil {
				return
			}
			c.WriteHeaders(h.StreamID, true,
				hpack.HeaderField{Name: ":status", Value: "200"},
				hpack.HeaderField{Name: "content-type", Value: "application/grpc"},
				hpack.HeaderField{Name: "grpc-status", Value: "5"})
		}
	}).Addr()
}

// streamFrames reads the frames of the stream opened last up to its end and describes each: a
// HEADERS frame by its :status (and the value of field, when field is not ""), a DATA frame by its
// data, both by whether they end the stream.
func streamFrames(c *h2test.RawClient, field string) []string {
	var got []string
	for ended := false; !ended; {
		switch f := c.Next().(type) {
		case *http2.MetaHeadersFrame:
			desc := "HEADERS " + f.PseudoValue("status")
			if field != "" {
				desc += " " + field + "=" + headerValue(f, field)
			}
			got = append(got, fmt.Sprintf("%s end=%v", desc, f.StreamEnded()))
			ended = f.StreamEnded()
		case *http2.DataFrame:
			got = append(got, fmt.Sprintf("DATA %q end=%v", f.Data(), f.StreamEnded()))
			ended = f.StreamEnded()
		}
	}
	return got
}

// headerValue returns the value of the field name in f, or "".
func headerValue(f *http2.MetaHeadersFrame, name string) string {
	for _, hf := range f.RegularFields() {
		if hf.Name == name {
			return hf.Value
		}
	}
	return ""
}

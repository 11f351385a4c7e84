// Command h2cbackend is the tiny backend scripts/test.sh runs h2spec through proxyd against: it
// serves HTTP/1.1 and HTTP/2 with prior knowledge (h2c) on one loopback port, answers every request
// with 200 and a short body once it has read the request body, and prints "listening ADDR" once it
// accepts connections. It runs until killed.
//
//	go run ./cmd/h2cbackend -addr 127.0.0.1:0
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("h2cbackend: listen on -addr %q: %v", *addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(answer), Protocols: new(http.Protocols)}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	fmt.Fprintf(os.Stdout, "listening %s\n", ln.Addr())
	log.Fatal(srv.Serve(ln))
}

// answer reads the request body and answers 200 with a short text.
func answer(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "h2cbackend\n")
}

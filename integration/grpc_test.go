package integration

import (
	"context"
	"errors"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"proxyd.dev/integration/backend/api"
)

// grpcDeadline is the deadline of the call that TestGRPCThroughProxy lets expire (200 ms).
const grpcDeadline = 200 * time.Millisecond

// TestGRPCThroughProxy runs a gRPC client through proxyd against the gRPC backend (its own route,
// with --rewrite off, as gRPC paths are service names): unary, server, client and bidirectional
// streaming, status codes, metadata both ways, a deadline and a cancellation that reach the
// backend. The backend is served both by net/http's HTTP/2 server and by grpc-go's own, which
// answers the failing calls of the status codes with trailers-only responses.
func TestGRPCThroughProxy(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{api.ModeGRPC, api.ModeGRPCNative} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			testGRPCThroughProxy(t, mode)
		})
	}
}

// testGRPCThroughProxy is TestGRPCThroughProxy against the backend served in mode.
func testGRPCThroughProxy(t *testing.T, mode string) {
	g := startBackend(t, mode, "grpc")
	def := startBackend(t, api.ModeHTTP1, "default")
	proxy := startProxy(t, def.addr, "-r", "/"+api.GRPCService+"/="+g.addr)
	conn, err := grpc.NewClient(proxy,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(api.RawCodec{})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })

	t.Run("unary with metadata", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(callContext(t), api.GRPCEchoPrefix+"id", "42")
		var header, trailer metadata.MD
		got := call(t, ctx, conn, api.GRPCUnary, "hello", grpc.Header(&header), grpc.Trailer(&trailer))
		if got != "hello" {
			t.Errorf("answer %q, want %q", got, "hello")
		}
		want := []string{"42", "42"}
		if diff := cmp.Diff(want, append(header.Get(api.GRPCEchoPrefix+"id"), trailer.Get(api.GRPCEchoPrefix+"id-trailer")...)); diff != "" {
			t.Errorf("metadata echoed in header and trailer (-want +got):\n%s", diff)
		}
	})
	t.Run("status codes", func(t *testing.T) {
		for _, code := range []codes.Code{codes.NotFound, codes.PermissionDenied, codes.Internal} {
			err := conn.Invoke(callContext(t), api.GRPCMethod(api.GRPCUnary), bytesOf("status:"+strconv.Itoa(int(code))), new([]byte))
			if s := status.Convert(err); s.Code() != code || s.Message() != "asked for "+strconv.Itoa(int(code)) {
				t.Errorf("status %v %q, want %v %q", s.Code(), s.Message(), code, "asked for "+strconv.Itoa(int(code)))
			}
		}
	})
	t.Run("server streaming", func(t *testing.T) {
		s := openStream(t, conn, api.GRPCServerStream, &grpc.StreamDesc{ServerStreams: true})
		sendMsg(t, s, "5")
		if err := s.CloseSend(); err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			var msg []byte
			if err := s.RecvMsg(&msg); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("after %d messages: %v", len(got), err)
			}
			got = append(got, string(msg))
		}
		if diff := cmp.Diff([]string{"0", "1", "2", "3", "4"}, got); diff != "" {
			t.Errorf("messages (-want +got):\n%s", diff)
		}
	})
	t.Run("client streaming", func(t *testing.T) {
		s := openStream(t, conn, api.GRPCClientStream, &grpc.StreamDesc{ClientStreams: true})
		for _, m := range []string{"a", "b", "c"} {
			sendMsg(t, s, m)
		}
		if err := s.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if got := recvMsg(t, s); got != "3:a,b,c" {
			t.Errorf("answer %q, want %q", got, "3:a,b,c")
		}
	})
	t.Run("bidirectional streaming", func(t *testing.T) {
		s := openStream(t, conn, api.GRPCBidi, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true})
		for i := range 5 {
			m := "turn " + strconv.Itoa(i)
			sendMsg(t, s, m)
			if got := recvMsg(t, s); got != m { // the answer comes before the next message is sent
				t.Fatalf("turn %d: answer %q, want %q", i, got, m)
			}
		}
		if err := s.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if err := s.RecvMsg(new([]byte)); !errors.Is(err, io.EOF) {
			t.Errorf("after the half-close: %v, want EOF", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), grpcDeadline)
		defer cancel()
		err := conn.Invoke(ctx, api.GRPCMethod(api.GRPCUnary), bytesOf("sleep"), new([]byte))
		if code := status.Code(err); code != codes.DeadlineExceeded {
			t.Errorf("status %v, want %v", code, codes.DeadlineExceeded)
		}
		waitCancelled(t, conn, 1)
	})
	t.Run("cancellation reaches the backend", func(t *testing.T) {
		ctx, cancel := context.WithCancel(callContext(t))
		s, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, api.GRPCMethod(api.GRPCBidi))
		if err != nil {
			t.Fatal(err)
		}
		sendMsg(t, s, "before the cancel")
		recvMsg(t, s) // the call is open at the backend
		cancel()
		waitCancelled(t, conn, 2)
	})
}

// callContext bounds one call by the request timeout.
func callContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
	t.Cleanup(cancel)
	return ctx
}

// bytesOf returns a message of the raw codec.
func bytesOf(s string) *[]byte {
	b := []byte(s)
	return &b
}

// call calls the unary method name with msg and returns the answer.
func call(t *testing.T, ctx context.Context, conn *grpc.ClientConn, name, msg string, opts ...grpc.CallOption) string {
	t.Helper()
	var out []byte
	if err := conn.Invoke(ctx, api.GRPCMethod(name), bytesOf(msg), &out, opts...); err != nil {
		t.Fatalf("%s(%q): %v", name, msg, err)
	}
	return string(out)
}

// openStream opens a streaming call of the method name.
func openStream(t *testing.T, conn *grpc.ClientConn, name string, desc *grpc.StreamDesc) grpc.ClientStream {
	t.Helper()
	s, err := conn.NewStream(callContext(t), desc, api.GRPCMethod(name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

// sendMsg sends one message on s.
func sendMsg(t *testing.T, s grpc.ClientStream, msg string) {
	t.Helper()
	if err := s.SendMsg(bytesOf(msg)); err != nil {
		t.Fatalf("sending %q: %v", msg, err)
	}
}

// recvMsg receives one message from s.
func recvMsg(t *testing.T, s grpc.ClientStream) string {
	t.Helper()
	var msg []byte
	if err := s.RecvMsg(&msg); err != nil {
		t.Fatalf("receiving: %v", err)
	}
	return string(msg)
}

// waitCancelled waits until the backend has seen n calls end by cancellation or deadline.
func waitCancelled(t *testing.T, conn *grpc.ClientConn, n int) {
	t.Helper()
	if got := call(t, callContext(t), conn, api.GRPCCancelled, strconv.Itoa(n)); got != strconv.Itoa(n) {
		t.Errorf("the backend saw %s calls cancelled, want %d", got, n)
	}
}

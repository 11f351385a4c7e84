package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"proxyd.dev/integration/backend/api"
)

// maxServerStream bounds the count api.GRPCServerStream can be asked for (10,000).
const maxServerStream = 10_000

// newGRPCServer returns a gRPC server with api.GRPCService: the handler of api.ModeGRPC, served by
// net/http's HTTP/2 (grpc.Server.ServeHTTP), or the server of api.ModeGRPCNative.
func newGRPCServer() *grpc.Server {
	e := &grpcEcho{changed: make(chan struct{})}
	srv := grpc.NewServer(grpc.ForceServerCodec(api.RawCodec{}))
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: api.GRPCService,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			{MethodName: api.GRPCUnary, Handler: e.unary},
			{MethodName: api.GRPCCancelled, Handler: e.cancelledCount},
		},
		Streams: []grpc.StreamDesc{
			{StreamName: api.GRPCServerStream, Handler: e.serverStream, ServerStreams: true},
			{StreamName: api.GRPCClientStream, Handler: e.clientStream, ClientStreams: true},
			{StreamName: api.GRPCBidi, Handler: e.bidi, ServerStreams: true, ClientStreams: true},
		},
	}, e)
	return srv
}

// grpcEcho implements api.GRPCService and counts the calls that ended by cancellation.
type grpcEcho struct {
	mu        sync.Mutex
	cancelled int           // guarded by mu
	changed   chan struct{} // closed and replaced when cancelled changes; guarded by mu
}

// noteEnd counts a call whose context ended by cancellation or deadline.
func (e *grpcEcho) noteEnd(ctx context.Context) {
	if ctx.Err() == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cancelled++
	close(e.changed)
	e.changed = make(chan struct{})
}

// snapshot returns the count and the channel closed on its next change.
func (e *grpcEcho) snapshot() (int, <-chan struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cancelled, e.changed
}

// unary is api.GRPCUnary.
func (e *grpcEcho) unary(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	var msg []byte
	if err := dec(&msg); err != nil {
		return nil, err
	}
	md, _ := metadata.FromIncomingContext(ctx)
	header, trailer := metadata.MD{}, metadata.MD{}
	for k, v := range md {
		if strings.HasPrefix(k, api.GRPCEchoPrefix) {
			header[k] = v
			trailer[k+"-trailer"] = v
		}
	}
	grpc.SetHeader(ctx, header)
	grpc.SetTrailer(ctx, trailer)
	switch text := string(msg); {
	case strings.HasPrefix(text, "status:"):
		code, err := strconv.Atoi(strings.TrimPrefix(text, "status:"))
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "bad status request %q", text)
		}
		return nil, status.Errorf(codes.Code(code), "asked for %d", code)
	case text == "sleep":
		<-ctx.Done()
		e.noteEnd(ctx)
		return nil, ctx.Err()
	}
	return &msg, nil
}

// cancelledCount is api.GRPCCancelled.
func (e *grpcEcho) cancelledCount(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	var msg []byte
	if err := dec(&msg); err != nil {
		return nil, err
	}
	want, err := strconv.Atoi(string(msg))
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "bad count %q", msg)
	}
	for {
		n, changed := e.snapshot()
		if n >= want {
			out := []byte(strconv.Itoa(n))
			return &out, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// serverStream is api.GRPCServerStream.
func (e *grpcEcho) serverStream(_ any, stream grpc.ServerStream) error {
	var msg []byte
	if err := stream.RecvMsg(&msg); err != nil {
		return err
	}
	n, err := strconv.Atoi(string(msg))
	if err != nil || n < 0 || n > maxServerStream {
		return status.Errorf(codes.InvalidArgument, "count %q: want 0 to %d", msg, maxServerStream)
	}
	for i := range n {
		out := []byte(strconv.Itoa(i))
		if err := stream.SendMsg(&out); err != nil {
			return err
		}
	}
	return nil
}

// clientStream is api.GRPCClientStream.
func (e *grpcEcho) clientStream(_ any, stream grpc.ServerStream) error {
	var parts []string
	for {
		var msg []byte
		err := stream.RecvMsg(&msg)
		if err != nil {
			if isEOF(err) {
				break
			}
			e.noteEnd(stream.Context())
			return err
		}
		parts = append(parts, string(msg))
	}
	out := fmt.Appendf(nil, "%d:%s", len(parts), strings.Join(parts, ","))
	return stream.SendMsg(&out)
}

// bidi is api.GRPCBidi.
func (e *grpcEcho) bidi(_ any, stream grpc.ServerStream) error {
	for {
		var msg []byte
		if err := stream.RecvMsg(&msg); err != nil {
			if isEOF(err) {
				return nil
			}
			e.noteEnd(stream.Context())
			return err
		}
		if err := stream.SendMsg(&msg); err != nil {
			e.noteEnd(stream.Context())
			return err
		}
	}
}

// isEOF reports whether a RecvMsg error is the client's half-close.
func isEOF(err error) bool { return errors.Is(err, io.EOF) }

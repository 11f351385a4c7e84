package api

import "fmt"

// The gRPC service of ModeGRPC, written without protoc: its messages are raw bytes carried by
// RawCodec, and its service descriptor is written by hand in the backend.
const (
	// GRPCService is the full name of the service.
	GRPCService = "proxyd.integration.Echo"
	// GRPCUnary answers a request with the same bytes. A request "status:N" (N a gRPC code) is
	// answered with that status and the message "asked for N"; "sleep" waits until the call ends
	// (deadline or cancellation). Every request metadata key with the prefix GRPCEchoPrefix comes
	// back in the response header, and in the trailer with "-trailer" added to its key.
	GRPCUnary = "Unary"
	// GRPCServerStream answers a request "N" with the N messages "0" … "N-1".
	GRPCServerStream = "ServerStream"
	// GRPCClientStream answers the messages of a call, once it is half-closed, with their count and
	// their bytes joined by ",": "3:a,b,c".
	GRPCClientStream = "ClientStream"
	// GRPCBidi answers each message with the same bytes at once, until the client half-closes.
	GRPCBidi = "Bidi"
	// GRPCCancelled answers a request "N" once N calls have ended by cancellation or deadline at
	// the backend, with that count; it waits until then or until its own call ends.
	GRPCCancelled = "Cancelled"
)

// GRPCEchoPrefix marks the metadata keys GRPCUnary sends back.
const GRPCEchoPrefix = "x-echo-"

// GRPCMethod returns the full method name of one of the methods above.
func GRPCMethod(name string) string { return "/" + GRPCService + "/" + name }

// RawCodec is the gRPC codec of the service: a message is a *[]byte, marshalled as its bytes.
type RawCodec struct{}

// Marshal returns the bytes v points to.
func (RawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("raw codec: cannot marshal %T, want *[]byte", v)
	}
	return *b, nil
}

// Unmarshal stores a copy of data where v points.
func (RawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: cannot unmarshal into %T, want *[]byte", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

// Name is the codec's content-subtype: "application/grpc+raw".
func (RawCodec) Name() string { return "raw" }

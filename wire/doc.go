// Package wire reads and relays HTTP/1.x messages on the wire for a reverse proxy that forwards
// heads and bodies byte for byte.
//
// The parsers ([ParseRequestHead], [ParseResponseHead]) do not build header maps: they extract the
// few facts a proxy needs (method, request-target, version, body framing, connection handling) and
// reject every head a strict backend could read differently, so that what the proxy forwards raw is
// framed the same way on both sides (no request smuggling). They do not allocate. A head that
// arrives in pieces is parsed with a [RequestParser] or [ResponseParser], which resumes where its
// previous call stopped: a head dripped line by line, or byte by byte, costs work linear in its
// size; [ReadHead] reads a head into such a parser from a [Reader], under a size limit.
//
// A [Reader] buffers a connection with a buffer the caller attaches and takes back while the
// connection is idle. The body relays ([CopyLength], [CopyChunked], [CopyUntilEOF], [CopyBody])
// write what they read at once and move large bodies between TCP connections with splice(2) on
// Linux, through pipes grown as far as a [PipeBudget] shared by the Readers allows. A relay that
// counts in a [Progress] lets a fast source's bytes of a known-length body queue, up to 128 KiB,
// before it splices them; whoever watches the Progress calls [Progress.Hurry] when the relay stops
// moving. Their errors tell a failing source ([ReadError]) from a failing destination
// ([WriteError]). A [ChunkedReader] decodes a chunked body, trailers included, for a client that
// needs the data rather than the framing.
//
// [MatchH2Preface] recognises a connection that starts with the HTTP/2 client preface, and
// [InvalidH2Preface] and [ForeignRequestLine] first bytes that are neither HTTP/2 nor HTTP/1.x.
// [StripH2CUpgrade], [StripConnectionClose] and [AppendCloseHead] rewrite heads on the rare paths
// that need it; [Fields] walks the fields of a head, [AppendWithoutFields] drops some and
// [AppendWithoutOptions] drops Connection options too.
package wire

package wire

import "bytes"

// StripH2CUpgrade appends to dst the request head `head` without its h2c upgrade (RFC 9113 §3.2
// was removed from HTTP/2, and a tunnelled HTTP/2 connection would bypass per-request routing):
// "h2c" is removed from Upgrade (the field is dropped when nothing remains), HTTP2-Settings fields
// are dropped, and the Connection options "HTTP2-Settings" and, if no Upgrade field remains,
// "upgrade" are removed (the field is dropped when empty). Every other byte is unchanged; a
// changed list is written with ", " between its remaining elements.
//
// head is a complete head accepted by ParseRequestHead. StripH2CUpgrade allocates only to grow dst.
func StripH2CUpgrade(dst, head []byte) []byte {
	keepUpgrade := false
	forEachField(head, fieldsStart(head), func(f fieldLine) {
		if equalFold(head[f.start:f.colon], "upgrade") {
			it := listIter{rest: head[f.valueStart:f.valueEnd]}
			for e, ok := it.next(); ok; e, ok = it.next() {
				keepUpgrade = keepUpgrade || !equalFold(e, "h2c")
			}
		}
	})
	return rewriteFields(dst, head, "", func(dst []byte, f fieldLine) []byte {
		name := head[f.start:f.colon]
		switch {
		case equalFold(name, "upgrade"):
			return appendListField(dst, head, f, func(e []byte) bool { return equalFold(e, "h2c") })
		case equalFold(name, "http2-settings"):
			return dst
		case equalFold(name, "connection"):
			return appendListField(dst, head, f, func(e []byte) bool {
				return equalFold(e, "http2-settings") || !keepUpgrade && equalFold(e, "upgrade")
			})
		}
		return append(dst, head[f.start:f.next]...)
	})
}

// closeField is the field AppendCloseHead puts in place of Connection and Keep-Alive.
const closeField = "Connection: close\r\n"

// AppendCloseHead appends to dst the response head `head` with its Connection and Keep-Alive
// fields replaced by a single "Connection: close" (placed last), for a response after which the
// proxy closes the client connection. Every other byte is unchanged.
//
// head is a complete head accepted by ParseResponseHead. AppendCloseHead allocates only to grow
// dst.
func AppendCloseHead(dst, head []byte) []byte {
	return rewriteFields(dst, head, closeField, func(dst []byte, f fieldLine) []byte {
		if name := head[f.start:f.colon]; equalFold(name, "connection") || equalFold(name, "keep-alive") {
			return dst
		}
		return append(dst, head[f.start:f.next]...)
	})
}

// fieldsStart returns the offset of the first field line of head: the one after the start line.
func fieldsStart(head []byte) int {
	i := bytes.Index(head, []byte("\r\n"))
	if i < 0 {
		return len(head)
	}
	return i + 2
}

// forEachField calls fn for each field line of head from offset i on, and returns the offset of
// the empty line that ends the fields (or of the first malformed line).
func forEachField(head []byte, i int, fn func(fieldLine)) int {
	it := FieldIter{head: head, next: i}
	for it.Next() {
		fn(it.line)
	}
	return it.next
}

// rewriteFields appends head to dst with each field line replaced by what edit appends for it, and
// extra before the empty line that ends the fields.
func rewriteFields(dst, head []byte, extra string, edit func(dst []byte, f fieldLine) []byte) []byte {
	i := fieldsStart(head)
	dst = append(dst, head[:i]...)
	end := forEachField(head, i, func(f fieldLine) { dst = edit(dst, f) })
	dst = append(dst, extra...)
	return append(dst, head[end:]...)
}

// appendListField appends the field line f of head with the list elements for which drop is true
// removed: unchanged when none is, not at all when all are.
func appendListField(dst, head []byte, f fieldLine, drop func([]byte) bool) []byte {
	value := head[f.valueStart:f.valueEnd]
	kept, dropped := 0, 0
	it := listIter{rest: value}
	for e, ok := it.next(); ok; e, ok = it.next() {
		if drop(e) {
			dropped++
		} else {
			kept++
		}
	}
	switch {
	case dropped == 0:
		return append(dst, head[f.start:f.next]...)
	case kept == 0:
		return dst
	}
	dst = append(dst, head[f.start:f.valueStart]...)
	it = listIter{rest: value}
	sep := ""
	for e, ok := it.next(); ok; e, ok = it.next() {
		if !drop(e) {
			dst = append(append(dst, sep...), e...)
			sep = ", "
		}
	}
	return append(dst, head[f.valueEnd:f.next]...)
}

// StripConnectionClose appends to dst the request head `head` without the "close" option of its
// Connection fields (a field left empty is dropped). A proxy honours a client's "Connection: close"
// itself, on the client connection, and keeps its backend connection open for other requests.
// Every other byte is unchanged.
//
// head is a complete head accepted by ParseRequestHead. StripConnectionClose allocates only to
// grow dst.
func StripConnectionClose(dst, head []byte) []byte {
	return AppendWithoutOptions(dst, head, dropNone, func(option []byte) bool { return equalFold(option, "close") })
}

package wire

// Fields returns a FieldIter over the field lines of head, a complete head accepted by
// ParseRequestHead or ParseResponseHead. It does not allocate.
func Fields(head []byte) FieldIter {
	return FieldIter{head: head, next: fieldsStart(head)}
}

// FieldIter walks the field lines of a head in order, without allocating:
//
//	for it := wire.Fields(head); it.Next(); {
//		use(it.Name(), it.Value())
//	}
//
// Name and Value point into the head. The zero FieldIter has no fields.
type FieldIter struct {
	head []byte
	line fieldLine // the current line
	// next is the offset of the line after it; once Next reports false, of the empty line that
	// ends the fields or of the malformed line it stopped at.
	next int
}

// Next moves to the next field line and reports whether there is one: false at the empty line
// that ends the fields (and at a malformed line, which no head accepted by the parsers has), and
// from then on.
func (it *FieldIter) Next() bool {
	if it.next >= len(it.head) || it.head[it.next] == '\r' {
		return false
	}
	if scanField(it.head, it.next, 0, &it.line) != nil {
		return false // it.next stays at the malformed line, where the next call stops again
	}
	it.next = it.line.next
	return true
}

// Name returns the name of the current field as sent, in the case the sender chose.
func (it *FieldIter) Name() []byte { return it.head[it.line.start:it.line.colon] }

// Value returns the value of the current field without the whitespace around it.
func (it *FieldIter) Value() []byte { return it.head[it.line.valueStart:it.line.valueEnd] }

// FieldNameEqual reports whether the field name `name` is `want`, ignoring ASCII case: field names
// are case-insensitive (RFC 9110 §5.1), "x-forwarded-for" and "X-Forwarded-For" are one field.
func FieldNameEqual(name []byte, want string) bool {
	if len(name) != len(want) {
		return false
	}
	for i, c := range name {
		if toLower[c] != toLower[want[i]] {
			return false
		}
	}
	return true
}

// AppendWithoutFields appends to dst the head `head` without the field lines whose name drop
// reports true for (drop is given the name as sent, in its case; see FieldNameEqual). Every other
// byte is unchanged: the start line, the field lines kept, the empty line that ends the head and
// any bytes after it.
//
// head is a complete head accepted by ParseRequestHead or ParseResponseHead. AppendWithoutFields
// allocates only to grow dst.
func AppendWithoutFields(dst, head []byte, drop func(name []byte) bool) []byte {
	return AppendWithoutOptions(dst, head, drop, dropNone)
}

// AppendWithoutOptions appends to dst the head `head` without the field lines whose name dropField
// reports true for, and without the options of its Connection fields (RFC 9110 §7.6.1) that
// dropOption reports true for: a Connection field left without options is dropped, one that lost
// some is written with ", " between those left. Both are given names and options as sent, in
// their case (see FieldNameEqual). Every other byte is unchanged.
//
// A proxy that writes a field of its own drops the options that name it: an intermediary after it
// would otherwise remove the field as the client asked, before the field reaches the server.
//
// head is a complete head accepted by ParseRequestHead or ParseResponseHead. AppendWithoutOptions
// allocates only to grow dst.
func AppendWithoutOptions(dst, head []byte, dropField, dropOption func([]byte) bool) []byte {
	return rewriteFields(dst, head, "", func(dst []byte, f fieldLine) []byte {
		name := head[f.start:f.colon]
		switch {
		case dropField(name):
			return dst
		case equalFold(name, "connection"):
			return appendListField(dst, head, f, dropOption)
		}
		return append(dst, head[f.start:f.next]...)
	})
}

// dropNone is the drop function of AppendWithoutOptions that drops no field or option.
func dropNone([]byte) bool { return false }

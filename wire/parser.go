package wire

// headScanner is the state that RequestParser and ResponseParser share: how far the head was
// accepted and validated, and what its header fields said so far. It holds offsets only, never
// slices, since the buffer may move between calls.
//
// A head is accepted line by line: the lines before next are complete and valid, and their facts
// are recorded; the line at next is incomplete and valid up to line.checked. A call resumes there,
// so the work over all calls is linear in the size of the head however it arrives.
type headScanner struct {
	facts    headFacts
	start    startLine
	next     int      // offset of the first line not yet accepted; 0 while the start line is not
	line     lineScan // progress in the line at next; line.scanned counts the work of the current call
	finished bool     // the last call returned nil or an *Error: the next call starts a new head
}

// startLine holds what the start line of a head says, as far as it was parsed.
type startLine struct {
	methodEnd int // request line: offset of the SP after the method; 0 until seen
	targetEnd int // request line: offset of the SP after the request-target; 0 until seen
	status    int // status line: the status code, once the line is accepted
}

// parse runs one call of a head parser for this side on buf. After a call that ended a head it
// starts a new one. Until the start line is accepted it parses it (requestLine or statusLine);
// then it parses the fields and returns the length of the head. It panics if buf is shorter than
// the bytes already validated.
func (s *headScanner) parse(buf []byte, side side) (n int, err error) {
	if s.finished {
		*s = headScanner{}
	}
	if len(buf) < s.line.checked {
		panic("wire: head parser given fewer bytes than before")
	}
	s.line.scanned = 0
	if s.next == 0 {
		if side == sideRequest {
			n, err = s.requestLine(buf)
		} else {
			n, err = s.statusLine(buf)
		}
		if err == nil {
			s.accept(n)
		}
	}
	if err == nil {
		n, err = s.fields(buf)
	}
	s.finished = err != ErrIncomplete
	return n, err
}

// accept records that the line before offset next is complete and valid.
func (s *headScanner) accept(next int) {
	s.next = next
	s.line.checked, s.line.colon = next, 0
}

// fields parses the header fields from s.next up to and including the empty line that ends the
// head (RFC 9112 §2.1) and returns the length of the whole head. Only the first line can be one
// that an earlier call found incomplete: it is validated from where that call stopped, and scanned
// whole once it can be decided. The facts of a line are recorded once, when it is complete.
func (s *headScanner) fields(buf []byte) (int, error) {
	status := s.facts.side.status()
	i := s.next
	if s.line.checked != i && s.line.resume(buf, i) {
		return 0, ErrIncomplete
	}
	from := i
	for i < len(buf) && buf[i] != '\r' {
		var f fieldLine
		if err := scanField(buf, i, status, &f); err != nil {
			if err == ErrIncomplete {
				s.stop(buf, i, f.colon, from)
			}
			return 0, err
		}
		if kind := classifyField(buf[f.start:f.colon]); kind != fieldOther {
			if err := s.facts.add(kind, buf, f); err != nil {
				return 0, err
			}
		}
		i = f.next
	}
	s.line.scanned += i - from
	s.accept(i)
	if i == len(buf) {
		return 0, ErrIncomplete
	}
	if err := crlfAt(buf, i, status); err != nil {
		return 0, err
	}
	return i + 2, nil
}

// stop records that the field line at offset i is incomplete, as scanField found it: every byte was
// validated but a CR ending buf, and colon is the colon's offset or 0. from is where this call's
// scanning started.
func (s *headScanner) stop(buf []byte, i, colon, from int) {
	end := len(buf)
	if buf[end-1] == '\r' {
		end--
	}
	s.next = i
	s.line.checked, s.line.colon = end, colon
	s.line.scanned += end - from
}

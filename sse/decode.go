package sse

import (
	"bytes"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// Default limits, used for the zero Limits. Eight megabytes per event lets
// large documents through while bounding what a hostile server can make a
// client hold; a line may be as long, so that an event's data can be one
// line (browsers set no line limit of their own: a 1 MiB one-line event,
// "data: " included, must pass).
const (
	DefaultMaxLine  = 8 << 20
	DefaultMaxEvent = 8 << 20
)

// Limits bound the memory a Decoder uses, whatever the stream sends.
type Limits struct {
	// MaxLine is the longest line accepted, in bytes as received, without
	// its line end. Zero or less means DefaultMaxLine.
	MaxLine int
	// MaxEvent is the most bytes held for one event: its data, its type
	// and the last event ID buffer, after UTF-8 decoding. Zero or less
	// means DefaultMaxEvent.
	MaxEvent int
}

// LimitError is returned when a stream exceeds one of its Limits.
type LimitError struct {
	What  string // "line" or "event"
	Limit int    // the limit exceeded, in bytes
}

// Error says which limit was exceeded, such as
// "sse: line longer than 1048576 bytes".
func (e *LimitError) Error() string {
	return "sse: " + e.What + " longer than " + strconv.Itoa(e.Limit) + " bytes"
}

const bom = "\xEF\xBB\xBF"

// keepCap is the largest buffer kept for the next line or event; a larger
// one, left by an exceptional event, is dropped so that a long-lived
// connection does not hold on to it.
const keepCap = 256 << 10

// handOff is the size of data from which dispatch gives the event the data
// buffer itself rather than a copy: the copy of a big event costs more than
// allocating the next buffer, which is sized for an event as big (see
// growData).
const handOff = 4 << 10

// What the line in progress, split between chunks, is known to be.
const (
	partNone = iota // no line in progress
	partLine        // a line whose field is not known yet, or is not data: it is in line
	partData        // a data field: its value is appended to data from dataAt on
)

// A Decoder interprets an event stream pushed to it in chunks of any size,
// as the WHATWG HTML standard's event stream interpretation does: it strips
// a leading byte order mark, accepts CR, LF and CRLF line ends (also when a
// CRLF is split between two chunks), decodes the stream as UTF-8 whatever its
// charset, dispatches an event at each blank line that ends an event with
// data, ignores comments and unknown fields, and keeps the last event ID
// across events. An event still incomplete when the stream ends is never
// dispatched: stop writing and it is dropped.
//
// Lines that arrive whole within a chunk are processed in place. A data
// line split between chunks is appended to the event's data as it arrives;
// any other line is copied until it ends. Create
// a Decoder with NewDecoder. It is not safe for concurrent use, and its
// callbacks must not call its methods.
type Decoder struct {
	onEvent  func(Event)
	onData   func(typ, id string, data []byte) bool // SetEventFunc's, in place of onEvent
	onRetry  func(int)
	maxLine  int
	maxEvent int
	raw      bool // SetRawData: data is not decoded
	err      error

	// cr and lf hold the next CR and LF at or after the position in the
	// chunk being decoded, found with IndexByte and searched again only once
	// that position has passed them, so that each byte is scanned at most
	// twice whatever the line ends; -1 means none left, -2 not searched yet.
	// They outlive one call to write for the Reader, which decodes its
	// buffer one event at a time.
	cr, lf int

	bomDone bool // the start of the stream is past
	bomN    int  // bytes of a byte order mark seen so far, split across chunks
	skipLF  bool // the last chunk ended with CR, so an LF first in this one is part of its CRLF

	part    int    // partNone, partLine or partData
	partLen int    // bytes of the line in progress so far, for MaxLine
	dataAt  int    // partData: where the line's value starts in data
	hint    int    // the size of the data buffer last handed off, for the next one
	spare   []byte // a buffer for the next event's data, given back with Reuse
	line    []byte // partLine: the line so far
	data    []byte // the data buffer, decoded; each line ends with LF
	typ     []byte // the event type buffer, decoded

	id       string // the last event ID buffer
	lastID   string // the last event ID string, which events carry
	lastType string // the previous event's type, reused to save an allocation
}

// NewDecoder returns a Decoder with the given limits that calls onEvent for
// each event dispatched and onRetry for each valid retry field, when they are
// not nil. A retry value above 2147483647 is reported as 2147483647.
func NewDecoder(lim Limits, onEvent func(Event), onRetry func(ms int)) *Decoder {
	d := new(Decoder)
	d.init(lim, onEvent, onRetry)
	return d
}

func (d *Decoder) init(lim Limits, onEvent func(Event), onRetry func(ms int)) {
	d.onEvent, d.onRetry = onEvent, onRetry
	d.maxLine, d.maxEvent = lim.MaxLine, lim.MaxEvent
	if d.maxLine <= 0 {
		d.maxLine = DefaultMaxLine
	}
	if d.maxEvent <= 0 {
		d.maxEvent = DefaultMaxEvent
	}
}

// SetRawData sets whether the data of events is handed over as received,
// without being decoded as UTF-8: an ill-formed sequence then stays in
// Event.Data as it came, where by default it is replaced with U+FFFD. Event
// types and IDs are decoded either way.
//
// It is for a caller that decodes the data itself with a decoder that
// replaces ill-formed sequences as the WHATWG Encoding standard's UTF-8
// decoder does (a browser's TextDecoder, say), which then gives exactly the
// standard's result: every line end in the data is an LF, which ends an
// ill-formed sequence before it as it would in the whole stream. The
// Decoder then spares the stream's data a pass that would only repeat that
// decoder's work. MaxEvent then counts data bytes as received.
func (d *Decoder) SetRawData(raw bool) { d.raw = raw }

// SetEventFunc makes the Decoder call f for each event it dispatches, in
// place of the onEvent given to NewDecoder, with the event's type, ID and
// data. The data is the Decoder's own buffer, not a copy: f may keep it
// only by returning true, and the Decoder then takes a new buffer for the
// next event; otherwise it is valid only until f returns. It is for a
// caller that copies the data of most events elsewhere anyway (the
// WebAssembly engine, into one batch for the page's script), which a
// string for each would only add an allocation and a copy to.
func (d *Decoder) SetEventFunc(f func(typ, id string, data []byte) (keep bool)) { d.onData = f }

// Reuse gives the Decoder back buf, the data of an event that the function
// set with SetEventFunc kept, once nothing uses it any more: the Decoder
// takes it for the data of an event to come, so that a stream of big
// events needs no new buffer for each. It keeps one such buffer at most,
// and none once an event's data is small again.
func (d *Decoder) Reuse(buf []byte) {
	if cap(buf) > cap(d.spare) {
		d.spare = buf[:0]
	}
}

// Write decodes p, calling the callbacks for what it completes, and keeps
// what is left of an unfinished line for the next Write. It fails with a
// *LimitError when a line or an event exceeds the limits; the Decoder then
// returns that error from every Write until Reset.
func (d *Decoder) Write(p []byte) (int, error) {
	d.cr, d.lf = -2, -2
	n, _, err := d.write(p, 0, false)
	return n, err
}

// LastEventID returns the last event ID string: the id that the latest
// dispatch (including a blank line ending an event without data) made
// current. It is what a client resuming the stream sends as Last-Event-ID.
func (d *Decoder) LastEventID() string { return d.lastID }

// SetLastEventID sets the last event ID string and buffer, for a client that
// resumes a stream with a fresh Decoder.
func (d *Decoder) SetLastEventID(id string) { d.id, d.lastID = id, id }

// Reset prepares d for a new connection: it forgets a partial line and
// event, the state of the byte order mark and a limit error, and keeps the
// last event ID string. An id field of the event it forgets is forgotten
// too, as it was never dispatched; the stream that follows starts from the
// last event ID string, which is what the server was asked to resume from.
func (d *Decoder) Reset() {
	d.err = nil
	d.bomDone, d.bomN, d.skipLF = false, 0, false
	d.part, d.partLen = partNone, 0
	d.line = release(d.line)
	d.data = release(d.data)
	d.spare = nil
	d.typ = d.typ[:0]
	d.id = d.lastID
}

func release(b []byte) []byte {
	if cap(b) > keepCap {
		return nil
	}
	return b[:0]
}

// fail is not inlined, for the size of the WebAssembly engine (see grow).
//
//go:noinline
func (d *Decoder) fail(what string, limit int) error {
	d.err = &LimitError{What: what, Limit: limit}
	return d.err
}

// write decodes p from pos on, with d.cr and d.lf valid for p. When one is
// set it stops right after the first event it dispatches, so that a Reader
// hands out events one at a time. It returns the position in p where it
// stopped and whether it stopped for an event.
func (d *Decoder) write(p []byte, pos int, one bool) (int, bool, error) {
	if d.err != nil {
		return pos, false, d.err
	}
	if !d.bomDone {
		i := 0
		for d.bomN+i < len(bom) && pos+i < len(p) && p[pos+i] == bom[d.bomN+i] {
			i++
		}
		switch {
		case d.bomN+i == len(bom):
			d.bomDone = true
			pos += i
		case pos+i == len(p):
			d.bomN += i
			return len(p), false, nil
		default:
			// Not a byte order mark after all: what was held back of it
			// starts the first line.
			d.bomDone = true
			if d.bomN > d.maxLine {
				return pos, false, d.fail("line", d.maxLine)
			}
			d.line = append(grow(d.line, d.bomN, d.maxLine), bom[:d.bomN]...)
			d.part, d.partLen = partLine, d.bomN
			d.bomN = 0
		}
	}
	for pos < len(p) {
		if d.skipLF {
			d.skipLF = false
			if p[pos] == '\n' {
				pos++
				continue
			}
		}
		eol := d.lineEnd(p, pos)
		if eol < 0 {
			// The line goes on in the next chunk.
			if err := d.piece(p[pos:]); err != nil {
				return pos, false, err
			}
			return len(p), false, nil
		}
		var dispatched bool
		var err error
		if d.part == partNone {
			line := p[pos:eol]
			if len(line) > d.maxLine {
				return pos, false, d.fail("line", d.maxLine)
			}
			pos = d.next(p, eol)
			dispatched, err = d.processLine(line)
		} else {
			if err := d.piece(p[pos:eol]); err != nil {
				return pos, false, err
			}
			pos = d.next(p, eol)
			dispatched, err = d.endPiece()
		}
		if err != nil {
			return pos, false, err
		}
		if dispatched && one {
			return pos, true, nil
		}
	}
	return len(p), false, nil
}

// next returns the position after the line end at eol in p, noting a CR
// that may be the first half of a CRLF split between chunks.
func (d *Decoder) next(p []byte, eol int) int {
	pos := eol + 1
	if p[eol] == '\r' {
		if pos == len(p) {
			d.skipLF = true
		} else if p[pos] == '\n' {
			pos++
		}
	}
	return pos
}

// piece takes b, the start or a further piece of a line split between
// chunks. As soon as the line's first bytes show a data field (its name,
// colon and the byte after, which may be the space that is not part of the
// value), the value is appended to the data buffer as it arrives, so that
// a long line is copied once; any other line is kept in d.line until it
// ends.
func (d *Decoder) piece(b []byte) error {
	if d.partLen+len(b) > d.maxLine {
		return d.fail("line", d.maxLine)
	}
	d.partLen += len(b)
	if d.part == partNone {
		d.part = partLine
	}
	if d.part == partLine && len(d.line) < len("data: ") {
		k := min(len("data: ")-len(d.line), len(b))
		d.line = append(grow(d.line, k, d.maxLine), b[:k]...)
		b = b[k:]
		if len(d.line) == len("data: ") && string(d.line[:5]) == "data:" {
			d.part, d.dataAt = partData, len(d.data)
			if d.line[5] != ' ' {
				d.appendPiece(d.line[5:])
			}
			d.line = d.line[:0]
		}
	}
	if d.part == partData {
		d.appendPiece(b)
	} else {
		d.line = append(grow(d.line, len(b), d.maxLine), b...)
	}
	return nil
}

// appendPiece appends a piece of the value of a data line split between
// chunks to the data buffer. Whether the event stays within MaxEvent is
// known at the line's end, as for a line within a chunk: until then the
// piece counts in MaxLine, as the line it is part of.
func (d *Decoder) appendPiece(b []byte) {
	if cap(d.data)-len(d.data) < len(b) {
		d.growData(len(b), d.maxEvent+d.maxLine)
	}
	d.data = append(d.data, b...)
}

// growData makes room for n more bytes in the data buffer, up to limit. A
// buffer handed off to an event (see dispatch) is replaced by one given
// back with Reuse, or by a new one as big as the event had, which a stream
// of events of one size then fills without growing it piece by piece, a
// copy each time.
func (d *Decoder) growData(n, limit int) {
	if cap(d.data) == 0 {
		need := max(n, d.hint)
		spare := d.spare
		d.spare = nil
		if cap(spare) >= need && cap(spare) <= limit {
			d.data = spare
			return
		}
		if d.hint > n {
			d.data = make([]byte, 0, min(d.hint, limit))
			return
		}
	}
	d.data = grow(d.data, n, limit)
}

// endPiece interprets the line split between chunks that has just ended.
func (d *Decoder) endPiece() (bool, error) {
	part := d.part
	d.part, d.partLen = partNone, 0
	if part == partData {
		return false, d.endData()
	}
	dispatched, err := d.processLine(d.line)
	d.line = release(d.line)
	return dispatched, err
}

// endData ends a data line split between chunks, whose value is in the
// data buffer from d.dataAt on: it is decoded, checked against MaxEvent and
// ended with LF, as appendData does with a line within a chunk.
func (d *Decoder) endData() error {
	value := d.data[d.dataAt:]
	if !d.raw && !utf8.Valid(value) {
		// Rare: decoded from a copy, as a line within a chunk is.
		value = bytes.Clone(value)
		d.data = d.data[:d.dataAt]
		return d.appendData(value)
	}
	if len(d.data)+1+len(d.typ)+len(d.id) > d.maxEvent {
		d.data = d.data[:d.dataAt] // the event is not held beyond the limit
		return d.fail("event", d.maxEvent)
	}
	if cap(d.data) == len(d.data) {
		d.data = grow(d.data, 1, d.maxEvent)
	}
	d.data = append(d.data, '\n')
	return nil
}

// processLine interprets one line, without its line end, and reports
// whether it dispatched an event.
func (d *Decoder) processLine(line []byte) (bool, error) {
	if len(line) == 0 {
		return d.dispatch(), nil
	}
	// Most lines of most streams are data lines: they go first.
	if len(line) >= 5 && string(line[:5]) == "data:" {
		value := line[5:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		return false, d.appendData(value)
	}
	if line[0] == ':' {
		return false, nil
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	// Field names are compared as received: an ill-formed byte decodes to
	// U+FFFD, which no field name contains.
	switch string(name) {
	case "data":
		return false, d.appendData(value)
	case "event":
		d.typ = d.typ[:0]
		valid := utf8.Valid(value)
		n := len(value)
		if !valid {
			n = decodedLen(value)
		}
		if len(d.data)+n+len(d.id) > d.maxEvent {
			return false, d.fail("event", d.maxEvent)
		}
		d.typ = grow(d.typ, n, d.maxEvent)
		if valid {
			d.typ = append(d.typ, value...)
		} else {
			d.typ = appendUTF8(d.typ, value)
		}
	case "id":
		if bytes.IndexByte(value, 0) >= 0 || string(value) == d.id {
			return false, nil
		}
		if len(d.data)+len(d.typ)+decodedLen(value) > d.maxEvent {
			return false, d.fail("event", d.maxEvent)
		}
		d.id = decodeString(value)
	case "retry":
		if ms, ok := parseRetryField(value); ok && d.onRetry != nil {
			d.onRetry(ms)
		}
	}
	return false, nil
}

// appendData appends a data field's value and a LF to the data buffer.
// The buffer is only assigned when it grows: an assignment of a pointer is
// a write barrier while the garbage collector marks, and under WebAssembly
// marking lasts long.
func (d *Decoder) appendData(value []byte) error {
	valid := d.raw || utf8.Valid(value)
	n := len(value)
	if !valid {
		n = decodedLen(value)
	}
	if len(d.data)+n+1+len(d.typ)+len(d.id) > d.maxEvent {
		return d.fail("event", d.maxEvent)
	}
	if cap(d.data)-len(d.data) < n+1 {
		d.growData(n+1, d.maxEvent)
	}
	if valid {
		d.data = append(d.data, value...)
	} else {
		d.data = appendUTF8(d.data, value)
	}
	d.data = append(d.data, '\n')
	return nil
}

// parseRetryField parses a retry field's value: ASCII digits only, at least
// one, with values too large for a timer clamped rather than refused, since
// the server's intent (wait very long) is clear.
func parseRetryField(v []byte) (int, bool) {
	if len(v) == 0 {
		return 0, false
	}
	n, saturated := 0, false
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		// Checked before multiplying so that it cannot overflow a 32-bit int.
		if d := int(c - '0'); saturated || n > (maxRetry-d)/10 {
			saturated = true
		} else {
			n = n*10 + d
		}
	}
	if saturated {
		n = maxRetry
	}
	return n, true
}

// dispatch ends the event at a blank line and reports whether it had data
// and so was dispatched.
func (d *Decoder) dispatch() bool {
	d.lastID = d.id
	if len(d.data) == 0 {
		d.typ = d.typ[:0]
		return false
	}
	typ := "message"
	if len(d.typ) > 0 {
		if string(d.typ) != d.lastType {
			d.lastType = string(d.typ)
		}
		typ = d.lastType
	}
	d.typ = d.typ[:0]
	data := d.data[:len(d.data)-1]
	keep := false
	if d.onData != nil {
		keep = d.onData(typ, d.lastID, data)
	} else if d.onEvent != nil {
		// Big data is handed off, when the buffer is not much bigger: the
		// event's string is the buffer, which the Decoder forgets.
		ev := Event{ID: d.lastID, Type: typ}
		keep = len(data) >= handOff && cap(d.data)-len(d.data) <= len(d.data)/4
		if keep {
			ev.Data = unsafe.String(unsafe.SliceData(data), len(data))
		} else {
			ev.Data = string(data)
		}
		d.onEvent(ev)
	}
	if keep {
		d.hint = len(d.data)
		d.data = nil
	} else {
		d.hint, d.spare = 0, nil
		d.data = release(d.data)
	}
	return true
}

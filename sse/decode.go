package sse

import (
	"bytes"
	"strconv"
	"unicode/utf8"
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

// A Decoder interprets an event stream pushed to it in chunks of any size,
// as the WHATWG HTML standard's event stream interpretation does: it strips
// a leading byte order mark, accepts CR, LF and CRLF line ends (also when a
// CRLF is split between two chunks), decodes the stream as UTF-8 whatever its
// charset, dispatches an event at each blank line that ends an event with
// data, ignores comments and unknown fields, and keeps the last event ID
// across events. An event still incomplete when the stream ends is never
// dispatched: stop writing and it is dropped.
//
// Lines that arrive whole within a chunk are processed in place; only a
// line split between chunks is copied. Create a Decoder with NewDecoder. It
// is not safe for concurrent use, and its callbacks must not call its
// methods.
type Decoder struct {
	onEvent  func(Event)
	onRetry  func(int)
	maxLine  int
	maxEvent int
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

	line []byte // a line split across chunks, so far
	data []byte // the data buffer, decoded; each line ends with LF
	typ  []byte // the event type buffer, decoded

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
	d.line = release(d.line)
	d.data = release(d.data)
	d.typ = d.typ[:0]
	d.id = d.lastID
}

func release(b []byte) []byte {
	if cap(b) > keepCap {
		return nil
	}
	return b[:0]
}

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
		eol, ascii := d.lineEnd(p, pos)
		if eol < 0 {
			rest := p[pos:]
			if len(d.line)+len(rest) > d.maxLine {
				return pos, false, d.fail("line", d.maxLine)
			}
			d.line = append(grow(d.line, len(rest), d.maxLine), rest...)
			return len(p), false, nil
		}
		line := p[pos:eol]
		if len(d.line) > 0 {
			if len(d.line)+len(line) > d.maxLine {
				return pos, false, d.fail("line", d.maxLine)
			}
			d.line = append(grow(d.line, len(line), d.maxLine), line...)
			line = d.line
			ascii = false // of the part in this chunk only
		} else if len(line) > d.maxLine {
			return pos, false, d.fail("line", d.maxLine)
		}
		pos = eol + 1
		if p[eol] == '\r' {
			if pos == len(p) {
				d.skipLF = true
			} else if p[pos] == '\n' {
				pos++
			}
		}
		dispatched, err := d.processLine(line, ascii)
		if len(d.line) > 0 {
			d.line = release(d.line)
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

// processLine interprets one line, without its line end, and reports
// whether it dispatched an event. ascii tells that the line is known to be
// ASCII, and so valid UTF-8.
func (d *Decoder) processLine(line []byte, ascii bool) (bool, error) {
	if len(line) == 0 {
		return d.dispatch(), nil
	}
	// Most lines of most streams are data lines: they go first.
	if len(line) >= 5 && string(line[:5]) == "data:" {
		value := line[5:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		return false, d.appendData(value, ascii)
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
		return false, d.appendData(value, false)
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
func (d *Decoder) appendData(value []byte, ascii bool) error {
	valid := ascii || utf8.Valid(value)
	n := len(value)
	if !valid {
		n = decodedLen(value)
	}
	if len(d.data)+n+1+len(d.typ)+len(d.id) > d.maxEvent {
		return d.fail("event", d.maxEvent)
	}
	if cap(d.data)-len(d.data) < n+1 {
		d.data = grow(d.data, n+1, d.maxEvent)
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
	ev := Event{ID: d.lastID, Type: typ, Data: string(d.data[:len(d.data)-1])}
	if cap(d.data) > keepCap {
		d.data = nil
	} else {
		d.data = d.data[:0]
	}
	d.typ = d.typ[:0]
	if d.onEvent != nil {
		d.onEvent(ev)
	}
	return true
}

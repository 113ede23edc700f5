package sse

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Errors for values the encoder refuses to write. The errors returned by
// ValidateID, ValidateType, ParseRetry and AppendEvent wrap one of them and
// say what is wrong, so match them with errors.Is.
var (
	ErrInvalidID    = errors.New("sse: invalid event id")
	ErrInvalidType  = errors.New("sse: invalid event type")
	ErrInvalidRetry = errors.New("sse: invalid retry")
)

// maxRetry bounds retry values so that they fit an int32 on every platform
// and in JavaScript timers, whose delays overflow above it.
const maxRetry = 1<<31 - 1

// valueError explains why a value was refused while still matching its
// sentinel through errors.Is.
type valueError struct {
	kind   error
	reason string
	at     int // byte offset of the offending byte, or -1
}

func (e *valueError) Error() string {
	s := e.kind.Error() + ": " + e.reason
	if e.at >= 0 {
		s += " at byte " + strconv.Itoa(e.at)
	}
	return s
}

func (e *valueError) Unwrap() error { return e.kind }

// ValidateID reports whether id can be written as an id field. It refuses CR
// and LF, which would end the field and let the rest of the value become a
// field of its own, and NUL, which makes receivers ignore the whole field.
func ValidateID(id string) error { return validateField(id, ErrInvalidID) }

// ValidateType reports whether t can be written as an event field. It
// refuses CR, LF and NUL for the same reasons as ValidateID.
func ValidateType(t string) error { return validateField(t, ErrInvalidType) }

func validateField(s string, kind error) error {
	// Ids and types are short, so a byte loop with one comparison for the
	// common case beats several IndexByte calls.
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > '\r' {
			continue
		}
		switch c {
		case '\n':
			return &valueError{kind, "contains a line feed (LF)", i}
		case '\r':
			return &valueError{kind, "contains a carriage return (CR)", i}
		case 0:
			return &valueError{kind, "contains a NUL byte", i}
		}
	}
	// A browser decodes the stream as UTF-8: an id with invalid bytes would
	// come back as U+FFFD, a cursor no log holds, and a type would never
	// match a listener's name.
	if !utf8.ValidString(s) {
		for i := 0; ; {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return &valueError{kind, "is not valid UTF-8", i}
			}
			i += n
		}
	}
	return nil
}

// ParseRetry parses a reconnection time in milliseconds as it appears in a
// retry field or a publish request: one or more ASCII digits, nothing else
// (no sign, no space), and at most 2147483647.
func ParseRetry(s string) (int, error) {
	if s == "" {
		return 0, &valueError{ErrInvalidRetry, "empty value", -1}
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, &valueError{ErrInvalidRetry, "contains a byte that is not an ASCII digit", i}
		}
		d := int(c - '0')
		// Checked before multiplying so that it cannot overflow a 32-bit int.
		if n > (maxRetry-d)/10 {
			return 0, &valueError{ErrInvalidRetry, "greater than " + strconv.Itoa(maxRetry) + " ms", -1}
		}
		n = n*10 + d
	}
	return n, nil
}

// AppendEvent appends ev as one complete event to dst: an id field when
// ev.ID is not empty, an event field when ev.Type is not empty, a retry
// field when ev.Retry is positive, one data field per line of ev.Data, and
// the blank line that dispatches it.
//
// Every CR, LF and CRLF in ev.Data starts a new data field, so whatever the
// data, the frame is exactly one event and holds no other field; receivers
// see each line break as LF. Empty data still gets a data field, so that the
// event is dispatched. Each field has a space after its colon, so a value
// that starts with a space keeps it.
//
// AppendEvent returns dst unchanged and an error wrapping ErrInvalidID or
// ErrInvalidType when ev.ID or ev.Type is refused by ValidateID or
// ValidateType, and one wrapping ErrInvalidRetry when ev.Retry is above
// what ParseRetry accepts. Bytes that are not valid UTF-8 are written as
// they are; receivers decode them as U+FFFD.
func AppendEvent(dst []byte, ev *Event) ([]byte, error) {
	if err := ValidateID(ev.ID); err != nil {
		return dst, err
	}
	if err := ValidateType(ev.Type); err != nil {
		return dst, err
	}
	if ev.Retry > maxRetry {
		return dst, &valueError{ErrInvalidRetry, "greater than " + strconv.Itoa(maxRetry) + " ms", -1}
	}
	// Room for every field of a one-line event, so that the common case
	// grows dst at most once.
	dst = grow(dst, len(ev.ID)+len(ev.Type)+len(ev.Data)+len("id: \nevent: \nretry: 2147483647\ndata: \n\n"), maxInt)
	if ev.ID != "" {
		dst = append(dst, "id: "...)
		dst = append(dst, ev.ID...)
		dst = append(dst, '\n')
	}
	if ev.Type != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, ev.Type...)
		dst = append(dst, '\n')
	}
	if ev.Retry > 0 {
		dst = append(dst, "retry: "...)
		dst = strconv.AppendInt(dst, int64(ev.Retry), 10)
		dst = append(dst, '\n')
	}
	dst = appendLines(dst, "data: ", ev.Data)
	return append(dst, '\n'), nil
}

// AppendComment appends text as comment lines, one per line of text (CR, LF
// and CRLF all break lines), each ": " and the line. Receivers ignore
// comments; they serve as heartbeats and as padding. Empty text gives one
// empty comment line. No blank line is added: comments need none and do not
// disturb an event around them.
func AppendComment(dst []byte, text string) []byte {
	return appendLines(dst, ": ", text)
}

// AppendRetry appends a retry field for ms milliseconds followed by a blank
// line. The blank line makes the frame self-delimiting: written between
// events it dispatches nothing (there is no data) and it keeps a receiver's
// state as it was, so a retry frame can be sent at any event boundary, on its
// own, or as the last frame of a response. ms is clamped to the range
// ParseRetry accepts, zero to 2147483647.
func AppendRetry(dst []byte, ms int) []byte {
	ms = max(0, min(ms, maxRetry))
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, int64(ms), 10)
	return append(dst, "\n\n"...)
}

// appendLines appends one field prefix+line+"\n" per line of s, with CR, LF
// and CRLF as line breaks, and always at least one.
func appendLines(dst []byte, prefix, s string) []byte {
	// cr and lf hold the next CR and LF at or after pos, found with IndexByte
	// and searched again only once pos has passed them, so that each byte is
	// scanned at most twice however the breaks are mixed; -1 means none left.
	cr, lf := -2, -2
	pos := 0
	for {
		if cr != -1 && cr < pos {
			cr = indexFrom(s, pos, '\r')
		}
		if lf != -1 && lf < pos {
			lf = indexFrom(s, pos, '\n')
		}
		end, next := len(s), -1
		switch {
		case cr >= 0 && (lf < 0 || cr < lf):
			end, next = cr, cr+1
			if lf == next {
				next++
			}
		case lf >= 0:
			end, next = lf, lf+1
		}
		dst = append(dst, prefix...)
		dst = append(dst, s[pos:end]...)
		dst = append(dst, '\n')
		if next < 0 {
			return dst
		}
		pos = next
	}
}

func indexFrom(s string, from int, c byte) int {
	i := strings.IndexByte(s[from:], c)
	if i >= 0 {
		i += from
	}
	return i
}

const maxInt = int(^uint(0) >> 1)

// grow returns b with room for n more bytes. A new array has at most limit
// bytes of capacity, so that buffers bounded by a limit stay within it; the
// caller makes sure len(b)+n <= limit. It is not inlined: a copy of it in
// each caller made the WebAssembly engine bigger, for a path that is rarely
// taken.
//
//go:noinline
func grow(b []byte, n, limit int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	c := 2 * cap(b)
	if c < len(b)+n {
		c = len(b) + n
	}
	if c > limit {
		c = limit
	}
	nb := make([]byte, len(b), c)
	copy(nb, b)
	return nb
}

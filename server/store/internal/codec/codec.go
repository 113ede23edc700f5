// Package codec holds what the replay logs that store updates as bytes
// (server/store/boltstore, server/store/redisstore) share of their entry
// formats: the body every entry ends with (topics, event type, data and
// retry) and the length-prefixed fields it is made of. Each log frames the
// body with a header of its own (version, flags, and what its key does not
// already say); the bytes are unchanged from when each log had a copy.
package codec

import (
	"encoding/binary"
	"errors"

	"github.com/polysse/polysse/server/store"
)

// ErrCorrupt reports an entry that is not one this package wrote.
var ErrCorrupt = errors.New("corrupt entry")

// FlagPrivate is the flag bit, in a log's flags byte, of a private update.
const FlagPrivate = 1 << 0

// BodyCap returns a capacity that holds u's body: the room a log adds to
// its header's size when it sizes an entry's buffer.
func BodyCap(u *store.Update) int {
	n := binary.MaxVarintLen64*(4+len(u.Topics)) + len(u.Event.Type) + len(u.Event.Data)
	for _, t := range u.Topics {
		n += len(t)
	}
	return n
}

// AppendBody appends u's body: the topic count as a uvarint, each topic,
// the event type and the event data (each as a uvarint length and bytes),
// and last the event retry as a varint.
func AppendBody(b []byte, u *store.Update) []byte {
	b = binary.AppendUvarint(b, uint64(len(u.Topics)))
	for _, t := range u.Topics {
		b = AppendString(b, t)
	}
	b = AppendString(b, u.Event.Type)
	b = AppendString(b, u.Event.Data)
	return binary.AppendVarint(b, int64(u.Event.Retry))
}

// AppendString appends s as a uvarint length and its bytes.
func AppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Decoder reads the length-prefixed fields of an entry held in B, from
// Off; the first error sticks in Err and later reads return zero values.
// B is a string when the fields are to share its memory, a byte slice when
// only their bounds are wanted.
type Decoder[T ~string | ~[]byte] struct {
	B   T
	Off int
	Err error
}

// Uvarint reads the next uvarint, as binary.Uvarint does.
func (d *Decoder[T]) Uvarint() uint64 {
	if d.Err != nil {
		return 0
	}
	var x uint64
	var shift uint
	for i := 0; ; i++ {
		if d.Off >= len(d.B) || i == binary.MaxVarintLen64 {
			d.Err = ErrCorrupt
			return 0
		}
		c := d.B[d.Off]
		d.Off++
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				d.Err = ErrCorrupt // overflows 64 bits
				return 0
			}
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
}

// Span returns the bounds of the next length-prefixed field.
func (d *Decoder[T]) Span() (lo, hi int) {
	n := d.Uvarint()
	if d.Err != nil {
		return 0, 0
	}
	if n > uint64(len(d.B)-d.Off) {
		d.Err = ErrCorrupt
		return 0, 0
	}
	lo = d.Off
	d.Off += int(n)
	return lo, d.Off
}

// Body sets u's Topics, Event.Type, Event.Data and Event.Retry from the
// body that ends s, read from off. The topics go at the end of arena (when
// it has room), so that a reader of many entries need not allocate a slice
// for each; Body returns arena with them. Every string shares s's memory.
func Body(u *store.Update, s string, off int, arena []string) ([]string, error) {
	d := Decoder[string]{B: s, Off: off}
	nt := d.Uvarint()
	// Each topic takes at least a byte: a count beyond what is left is
	// corrupt, and must not size an allocation.
	if d.Err != nil || nt > uint64(len(s)-d.Off) {
		return arena, ErrCorrupt
	}
	if nt > 0 {
		start := len(arena)
		for range nt {
			arena = append(arena, d.str())
		}
		// Capped, so that appending to one update's Topics never writes
		// over the next one's.
		u.Topics = arena[start:len(arena):len(arena)]
	}
	u.Event.Type = d.str()
	u.Event.Data = d.str()
	var rb [binary.MaxVarintLen64]byte
	retry, n := binary.Varint(rb[:copy(rb[:], s[min(d.Off, len(s)):])])
	if d.Err != nil || n <= 0 || d.Off+n != len(s) || int64(int(retry)) != retry {
		return arena, ErrCorrupt
	}
	u.Event.Retry = int(retry)
	return arena, nil
}

// str returns the next field as a substring of d.B.
func (d *Decoder[T]) str() string {
	lo, hi := d.Span()
	return string(d.B[lo:hi])
}

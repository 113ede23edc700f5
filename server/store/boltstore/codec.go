package boltstore

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/polysse/polysse/server/store"
)

// An entry's value is, in order: the format version (1 byte); Time as big-
// endian unix nanoseconds (8 bytes), first so that trimming by age reads no
// further; flags (1 byte); then, each as a uvarint length and bytes, the
// event id (before the rest so that trimming finds it cheaply), the topics
// (preceded by their count), the event type and data; last the event retry
// as a varint. Pos is the key, so it is not stored again.
const (
	entryVersion = 1
	headerLen    = 1 + 8 + 1
	flagPrivate  = 1 << 0
)

var errCorrupt = errors.New("corrupt entry")

func encode(u *store.Update) []byte {
	n := headerLen + binary.MaxVarintLen64*(5+len(u.Topics)) +
		len(u.Event.ID) + len(u.Event.Type) + len(u.Event.Data)
	for _, t := range u.Topics {
		n += len(t)
	}
	b := make([]byte, headerLen, n)
	b[0] = entryVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(u.Time.UnixNano()))
	if u.Private {
		b[9] |= flagPrivate
	}
	b = appendString(b, u.Event.ID)
	b = binary.AppendUvarint(b, uint64(len(u.Topics)))
	for _, t := range u.Topics {
		b = appendString(b, t)
	}
	b = appendString(b, u.Event.Type)
	b = appendString(b, u.Event.Data)
	b = binary.AppendVarint(b, int64(u.Event.Retry))
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// entryTime returns the unix nanoseconds at which the entry v was stored.
func entryTime(v []byte) (int64, error) {
	if len(v) < headerLen || v[0] != entryVersion || v[9]&^flagPrivate != 0 {
		return 0, errCorrupt
	}
	return int64(binary.BigEndian.Uint64(v[1:9])), nil
}

// entryID returns the event id of the entry v, as a slice of v.
func entryID(v []byte) ([]byte, error) {
	if _, err := entryTime(v); err != nil {
		return nil, err
	}
	d := decoder{b: v, off: headerLen}
	lo, hi := d.span()
	if d.err != nil {
		return nil, d.err
	}
	return v[lo:hi], nil
}

// decode returns the update stored as v, in memory of its own: v belongs to
// a bbolt transaction.
func decode(v []byte) (*store.Update, error) {
	u := new(store.Update)
	_, err := decodeInto(u, v, nil)
	return u, err
}

// decodeInto sets u to the update stored as v, in memory of its own. The
// topics go at the end of arena (when it has room) so that a reader of many
// entries need not allocate a slice for each; decodeInto returns arena with
// them.
func decodeInto(u *store.Update, v []byte, arena []string) ([]string, error) {
	ns, err := entryTime(v)
	if err != nil {
		return arena, err
	}
	// One string holds every string field: one allocation per entry.
	s := string(v)
	d := decoder{b: v, off: headerLen}
	*u = store.Update{
		Private: v[9]&flagPrivate != 0,
		Time:    time.Unix(0, ns),
	}
	u.Event.ID = d.str(s)
	nt := d.uvarint()
	if nt > uint64(len(v)) { // each topic takes at least one byte
		return arena, errCorrupt
	}
	if nt > 0 {
		start := len(arena)
		for range nt {
			arena = append(arena, d.str(s))
		}
		// Capped, so that appending to one update's Topics never writes
		// over the next one's.
		u.Topics = arena[start:len(arena):len(arena)]
	}
	u.Event.Type = d.str(s)
	u.Event.Data = d.str(s)
	retry, n := binary.Varint(v[min(d.off, len(v)):])
	if d.err != nil || n <= 0 || d.off+n != len(v) {
		return arena, errCorrupt
	}
	u.Event.Retry = int(retry)
	return arena, nil
}

// decoder reads the length-prefixed fields of an entry; the first error
// sticks and later reads return zero values.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.off += n
	return x
}

// span returns the bounds of the next length-prefixed field.
func (d *decoder) span() (lo, hi int) {
	n := d.uvarint()
	if d.err != nil {
		return 0, 0
	}
	if n > uint64(len(d.b)-d.off) {
		d.err = errCorrupt
		return 0, 0
	}
	lo = d.off
	d.off += int(n)
	return lo, d.off
}

// str returns the next field as a substring of s, which holds d.b.
func (d *decoder) str(s string) string {
	lo, hi := d.span()
	return s[lo:hi]
}

// entrySize returns the store.Size of the update stored as v.
func entrySize(v []byte) (int64, error) {
	u, err := decode(v)
	if err != nil {
		return 0, err
	}
	return store.Size(u), nil
}

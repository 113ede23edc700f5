package boltstore

import (
	"encoding/binary"
	"time"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/internal/codec"
)

// An entry's value is, in order: the format version (1 byte); Time as big-
// endian unix nanoseconds (8 bytes), first so that trimming by age reads no
// further; flags (1 byte); the event id as a uvarint length and bytes
// (before the rest so that trimming finds it cheaply); then the body that
// every store's entry ends with (see codec.AppendBody). Pos is the key, so
// it is not stored again.
const (
	entryVersion = 1
	headerLen    = 1 + 8 + 1
	flagPrivate  = codec.FlagPrivate
)

var errCorrupt = codec.ErrCorrupt

func encode(u *store.Update) []byte {
	n := headerLen + binary.MaxVarintLen64 + len(u.Event.ID) + codec.BodyCap(u)
	b := make([]byte, headerLen, n)
	b[0] = entryVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(u.Time.UnixNano()))
	if u.Private {
		b[9] |= flagPrivate
	}
	b = codec.AppendString(b, u.Event.ID)
	return codec.AppendBody(b, u)
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
	d := codec.Decoder[[]byte]{B: v, Off: headerLen}
	lo, hi := d.Span()
	if d.Err != nil {
		return nil, d.Err
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
	d := codec.Decoder[string]{B: s, Off: headerLen}
	*u = store.Update{
		Private: v[9]&flagPrivate != 0,
		Time:    time.Unix(0, ns),
	}
	lo, hi := d.Span()
	if d.Err != nil {
		return arena, d.Err
	}
	u.Event.ID = s[lo:hi]
	return codec.Body(u, s, d.Off, arena)
}

// entrySize returns the store.Size of the update stored as v.
func entrySize(v []byte) (int64, error) {
	u, err := decode(v)
	if err != nil {
		return 0, err
	}
	return store.Size(u), nil
}

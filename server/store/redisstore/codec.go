package redisstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/polysse/polysse/server/store"
)

// Stream entry fields. An entry has the payload field, and the id field
// only when the publisher gave the event id: an entry without it has its
// stream entry id as event id, which keeps the common entry one field long
// and lets the scripts tell a generated id from a publisher's.
const (
	fieldPayload = "u"
	fieldID      = "i"
)

// The payload is, in order: the format version (1 byte), flags (1 byte),
// then the topic count as a uvarint, each topic, the event type and the
// event data (each as a uvarint length and bytes), and last the event retry
// as a varint. Binary rather than one stream field per property: it keeps
// entries small in Redis (a stream stores field names per entry unless they
// match its node's first entry) and decodes without a map lookup per field.
const (
	payloadVersion = 1
	flagPrivate    = 1 << 0
)

var errCorrupt = errors.New("corrupt entry")

func encodePayload(u *store.Update) []byte {
	n := 2 + binary.MaxVarintLen64*(4+len(u.Topics)) + len(u.Event.Type) + len(u.Event.Data)
	for _, t := range u.Topics {
		n += len(t)
	}
	b := make([]byte, 2, n)
	b[0] = payloadVersion
	if u.Private {
		b[1] |= flagPrivate
	}
	b = binary.AppendUvarint(b, uint64(len(u.Topics)))
	for _, t := range u.Topics {
		b = appendString(b, t)
	}
	b = appendString(b, u.Event.Type)
	b = appendString(b, u.Event.Data)
	return binary.AppendVarint(b, int64(u.Event.Retry))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodePayload fills u's Topics, Private, Event.Type, Event.Data and
// Event.Retry from p.
func decodePayload(u *store.Update, p string) error {
	if len(p) < 2 || p[0] != payloadVersion || p[1]&^flagPrivate != 0 {
		return errCorrupt
	}
	d := decoder{s: p, off: 2}
	u.Private = p[1]&flagPrivate != 0
	n := d.uvarint()
	// Each topic takes at least a byte: a count beyond what is left is
	// corrupt, and must not size an allocation.
	if d.err != nil || n > uint64(len(p)-d.off) {
		return errCorrupt
	}
	u.Topics = make([]string, n)
	for i := range u.Topics {
		u.Topics[i] = d.str()
	}
	u.Event.Type = d.str()
	u.Event.Data = d.str()
	retry, m := binary.Varint([]byte(p[d.off:min(len(p), d.off+binary.MaxVarintLen64)]))
	if d.err != nil || m <= 0 || d.off+m != len(p) || retry < 0 || int64(int(retry)) != retry {
		return errCorrupt
	}
	u.Event.Retry = int(retry)
	return nil
}

type decoder struct {
	s   string
	off int
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var x uint64
	var shift uint
	for i := 0; ; i++ {
		if d.off >= len(d.s) || i == binary.MaxVarintLen64 {
			d.err = errCorrupt
			return 0
		}
		c := d.s[d.off]
		d.off++
		if c < 0x80 {
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
}

// str returns the next length-prefixed string, sharing p's memory.
func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)-d.off) {
		d.err = errCorrupt
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

// parseEntryID parses a stream entry id, "ms-seq", into a Pos.
func parseEntryID(id string) (store.Pos, bool) {
	ms, seq, ok := strings.Cut(id, "-")
	if !ok {
		return store.Pos{}, false
	}
	hi, err := strconv.ParseUint(ms, 10, 64)
	if err != nil {
		return store.Pos{}, false
	}
	lo, err := strconv.ParseUint(seq, 10, 64)
	if err != nil {
		return store.Pos{}, false
	}
	return store.Pos{Hi: hi, Lo: lo}, true
}

// entryTime is when Redis stored the entry at p: the millisecond part of
// its id, which every node reads the same.
func entryTime(p store.Pos) time.Time { return time.UnixMilli(int64(p.Hi)) }

// decodeEntry turns a stream entry into an update.
func decodeEntry(id string, values map[string]any) (*store.Update, error) {
	pos, ok := parseEntryID(id)
	if !ok {
		return nil, fmt.Errorf("entry %q: bad entry id", id)
	}
	u := &store.Update{Pos: pos, Time: entryTime(pos)}
	p, _ := values[fieldPayload].(string)
	if err := decodePayload(u, p); err != nil {
		return nil, fmt.Errorf("entry %s: %w", id, err)
	}
	u.Event.ID = id
	if given, ok := values[fieldID].(string); ok {
		u.Event.ID = given
	}
	return u, nil
}

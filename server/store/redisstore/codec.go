package redisstore

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/internal/codec"
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
// then the body that every store's entry ends with (see codec.AppendBody).
// Binary rather than one stream field per property: it keeps entries small
// in Redis (a stream stores field names per entry unless they match its
// node's first entry) and decodes without a map lookup per field.
const (
	payloadVersion = 1
	flagPrivate    = codec.FlagPrivate
)

var errCorrupt = codec.ErrCorrupt

func encodePayload(u *store.Update) []byte {
	b := make([]byte, 2, 2+codec.BodyCap(u))
	b[0] = payloadVersion
	if u.Private {
		b[1] |= flagPrivate
	}
	return codec.AppendBody(b, u)
}

// decodePayload fills u's Topics, Private, Event.Type, Event.Data and
// Event.Retry from p, sharing p's memory.
func decodePayload(u *store.Update, p string) error {
	if len(p) < 2 || p[0] != payloadVersion || p[1]&^flagPrivate != 0 {
		return errCorrupt
	}
	u.Private = p[1]&flagPrivate != 0
	if _, err := codec.Body(u, p, 2, nil); err != nil {
		return err
	}
	if u.Event.Retry < 0 {
		return errCorrupt
	}
	return nil
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

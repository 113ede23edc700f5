package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/sse"
)

// reply writes one subscription's response from its handler goroutine:
// the whole response on the handler path, the start of it (retry, cursor,
// replay) on the hijacked path.
type reply struct {
	h  *Hub
	s  *subscriber
	tr transport
	// out writes p to the client, bounded by the write timeout, and
	// flushes it.
	out func(p []byte) error
	buf []byte
	// after is the position up to which the log has been replayed: live
	// deliveries at or before it were already sent (or filtered out).
	after store.Pos
	// probe asks resume to end with the probe event (see ProbeEventType).
	probe bool
}

// appendProbe writes the probe event when it was asked for.
func (rp *reply) appendProbe() {
	if rp.probe {
		rp.buf = append(rp.buf, "event: "+ProbeEventType+"\ndata: \n\n"...)
	}
}

func (rp *reply) flush() error {
	if len(rp.buf) == 0 {
		return nil
	}
	err := rp.out(rp.buf)
	rp.buf = rp.buf[:0]
	return err
}

// ProbeEventType is the type of the event a stream starts with when its
// URL asks with _probe=1. A native EventSource shows a page no bytes but
// events, so the polyfill's supervisor asks for this one: when it does not
// arrive soon after the stream opens, a proxy is buffering the response and
// the supervisor falls back to long-poll. Named, it reaches no onmessage.
const ProbeEventType = "polysse-probe"

// begin appends what every stream starts with: the padding legacy XHR
// needs when asked for, the reconnection time, and the probe event when
// asked for.
func (rp *reply) begin(padding, probe bool) {
	if padding {
		rp.buf = append(rp.buf, ':')
		rp.buf = append(rp.buf, bytes.Repeat([]byte{' '}, DefaultPadding)...)
		rp.buf = append(rp.buf, '\n', '\n')
	}
	rp.buf = sse.AppendRetry(rp.buf, int(rp.h.cfg.Retry/time.Millisecond))
	// The probe goes out after the cursor or replay (resume writes it), so
	// that its lastEventId is the cursor a restarted stream resumes from.
	rp.probe = probe && rp.tr == transportStream
}

// resume replays what the client missed after lastID and gives it a cursor
// to come back with. It reports how many events it sent.
func (rp *reply) resume(ctx context.Context, lastID string, start *cursor) (int, error) {
	if lastID == "" {
		// A fresh subscription: nothing to replay, but the client gets the
		// hub's cursor so that a drop before its first event loses nothing.
		// When the newest update's id is not for this client, the newest
		// public one before it serves, at the cost of replaying what lies
		// between (filtered as ever); when there is none, no cursor.
		c := store.Earliest
		if start != nil {
			rp.after = start.pos
			switch {
			case start.known && rp.s.mayKnow(start.private, start.topics):
				c = start.id
			case start.public != nil:
				c = start.public.id
			default:
				c = ""
			}
		}
		if c != "" {
			rp.buf = appendCursor(rp.buf, c)
		}
		rp.appendProbe()
		return 0, rp.flush()
	}
	sent, scannedID, sentID := 0, "", ""
	replay := func(u *store.Update) error {
		rp.after = u.Pos
		if rp.s.mayKnow(u.Private, u.Topics) {
			scannedID = u.Event.ID
		}
		if !rp.s.wants(u, 0) {
			return nil
		}
		var err error
		if rp.buf, err = sse.AppendEvent(rp.buf, &u.Event); err != nil {
			return nil // an update no subscriber can receive; see fanout
		}
		sent, sentID = sent+1, u.Event.ID
		if len(rp.buf) >= 32<<10 {
			return rp.flush()
		}
		return nil
	}
	err := rp.h.log.Replay(ctx, lastID, replay)
	if err == nil {
		rp.h.counters.replayHits.Add(1)
	}
	if errors.Is(err, store.ErrUnknownID) {
		// Nothing is replayed: the client is told, and carries on from
		// the hub's cursor as a fresh subscription would.
		rp.h.counters.replayMiss.Add(1)
		// encoding/json, not strconv.Quote: Go's escapes (\x01, \a) are
		// not JSON, and the id comes from the client.
		data, _ := json.Marshal(struct {
			LastEventID string `json:"lastEventId"`
		}{lastID})
		missed := sse.Event{Type: MissedEventType, Data: string(data)}
		rp.buf, _ = sse.AppendEvent(rp.buf, &missed)
		c := store.Earliest
		if start != nil {
			c = start.id
			rp.after = start.pos
		}
		rp.buf = appendCursor(rp.buf, c)
		rp.appendProbe()
		return 0, rp.flush()
	}
	if err != nil {
		return sent, err
	}
	rp.h.counters.delivered.Add(uint64(sent))
	if scannedID != sentID && scannedID != "" {
		// The last update scanned whose id the client may know was not
		// for it; its id still moves the client's cursor past what was
		// filtered out.
		rp.buf = appendCursor(rp.buf, scannedID)
	}
	rp.appendProbe()
	return sent, rp.flush()
}

// appendCursor writes an id field alone: it sets the client's last event
// id without dispatching an event.
func appendCursor(dst []byte, id string) []byte {
	if strings.ContainsAny(id, "\r\n\x00") {
		return dst
	}
	dst = append(dst, "id: "...)
	dst = append(dst, id...)
	return append(dst, '\n', '\n')
}

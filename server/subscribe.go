package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/sse"
)

// MissedEventType is the type of the in-band event a subscriber receives
// when the last event id it resumed from is not in the log (trimmed away,
// or never issued by it). As Mercure says, the hub then replays nothing
// (the response's Last-Event-ID or Mercure-Last-Event-ID header says
// "earliest") and the stream goes on from now; this event, sent first,
// tells the client it may have missed updates, since EventSource cannot
// read response headers. Its data is a JSON object: {"lastEventId": the id
// the client sent}.
const MissedEventType = "polysse-missed"

// delivery is one encoded event queued for a subscriber. frame is shared
// by every subscriber that receives it and must not be modified.
type delivery struct {
	pos   store.Pos
	frame []byte
}

// subscriber is one open subscription. The fan-out pushes into queue; what
// drains it depends on the path the stream took: the subscription's own
// handler goroutine (woken through signal), or, for a hijacked HTTP/1.1
// stream, the hub's writer pool (woken through hs; see hijack.go).
type subscriber struct {
	h *Hub
	// selectors and claims are compiled once, when the subscription opens
	// (see selectors.go). claims are the mercure.subscribe selectors of the
	// subscriber's token; nil for an anonymous subscriber, who never
	// receives private updates. Both are nil for a draft-08 subscription.
	selectors, claims []*sharedSelector
	maxQueue          int
	// keys are the client keys the subscription counts against (see
	// clientKeys).
	keys []string
	// lastID is the last event id the subscriber resumes after; "" for a
	// fresh subscription.
	lastID string
	// d8 is set for a Mercure draft-08 subscription (see draft08.go): its
	// matchers and grants take the place of selectors and claims.
	d8 *sub08
	// active are the subscriptions announced for this connection, when
	// the hub tracks them (see subscriptions.go).
	active []Subscription

	mu     sync.Mutex
	queue  []delivery
	queued int
	cut    bool          // cut off (see cutOff): the subscriber must resume from the log
	signal chan struct{} // the handler path's wake-up; nil on the hijacked path
	hs     *hstream      // the hijacked path's stream, once handed to the writers
	// interrupt ends a write in progress on the handler path, which would
	// see the cut only once the write ends: for a client reading slowly
	// through megabytes of socket buffers, most of the write timeout.
	interrupt func()
}

// wants reports whether s may receive u. epoch is the fan-out's (see
// sharedSelector.matches), or zero elsewhere.
func (s *subscriber) wants(u *store.Update, epoch uint64) bool {
	if s.d8 != nil {
		return s.d8.wants(u)
	}
	if !matchAny(s.selectors, u.Topics, epoch) {
		return false
	}
	return !u.Private || matchAny(s.claims, u.Topics, epoch)
}

// mayKnow reports whether s may learn the id of an update of topics: any
// public one (it could subscribe to it), a private one only when its
// claims match. An id is the publisher's, and may say what the update is.
func (s *subscriber) mayKnow(private bool, topics []string) bool {
	if !private {
		return true
	}
	if s.d8 != nil {
		return s.d8.grants.allowsAny(auth.ActionSubscribe, topics)
	}
	return matchAny(s.claims, topics, 0)
}

func matchAny(sels []*sharedSelector, topics []string, epoch uint64) bool {
	for _, sel := range sels {
		if sel.matches(topics, epoch) {
			return true
		}
	}
	return false
}

// push queues d without blocking: the fan-out must never wait on one slow
// client, so a subscriber whose queue is full is cut off instead.
func (s *subscriber) push(d delivery) {
	s.mu.Lock()
	if s.cut {
		s.mu.Unlock()
		return
	}
	overflow := s.queued+len(d.frame) > s.maxQueue
	if overflow {
		s.cut, s.queue, s.queued = true, nil, 0
	} else {
		s.queue = append(s.queue, d)
		s.queued += len(d.frame)
	}
	hs, signal, interrupt := s.hs, s.signal, s.interrupt
	// A hijacked stream that a writer holds is closed, for the reason
	// interrupt has: the writer may be in, or about to start, a blocking
	// write to a full socket, which would keep the stream for up to the
	// write timeout. The writer gives up on the error. An idle stream is
	// woken instead, to end the response with its last chunk.
	blocked := overflow && hs != nil && hs.state != stateIdle
	wake := hs != nil && hs.wakeLocked()
	s.mu.Unlock()
	if overflow {
		s.h.cutOff("its queue overflowed")
		if interrupt != nil {
			interrupt()
		}
	}
	if blocked {
		_ = hs.conn.Close()
		return
	}
	if wake {
		hs.w.enqueue(hs)
		return
	}
	if signal != nil {
		select {
		case signal <- struct{}{}:
		default:
		}
	}
}

// take hands the handler what is queued, reusing spare as the next queue.
func (s *subscriber) take(spare []delivery) (batch []delivery, cut bool) {
	s.mu.Lock()
	batch, cut = s.queue, s.cut
	s.queue, s.queued = spare[:0], 0
	s.mu.Unlock()
	return batch, cut
}

// transport is how a subscription is answered.
type transport int

const (
	transportStream transport = iota
	transportPoll
)

func (t transport) String() string {
	if t == transportPoll {
		return "poll"
	}
	return "stream"
}

// lastEventID reads the resume cursor: the Last-Event-ID header, which
// native EventSource sends, else the query parameters that clients use when
// a header would cost a CORS preflight (Mercure's lastEventID, and the
// lastEventId of the widespread polyfills).
func lastEventID(r *http.Request) string {
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		return id
	}
	q := r.URL.Query()
	if id := q.Get("lastEventID"); id != "" {
		return id
	}
	return q.Get("lastEventId")
}

func (h *Hub) subscribe(w http.ResponseWriter, r *http.Request) {
	select {
	case <-h.drain:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "hub shutting down", http.StatusServiceUnavailable)
		return
	default:
	}
	if isDraft08Subscribe(r) {
		h.subscribe08(w, r)
		return
	}
	// Authentication first: nothing costly is parsed for a client that
	// may not subscribe.
	claimTexts, subject, expires, err := h.subscriberClaims(r)
	if err != nil {
		h.unauthorized(w, err)
		return
	}
	q := r.URL.Query()
	texts := q["topic"]
	if len(texts) == 0 {
		http.Error(w, "missing topic parameter", http.StatusBadRequest)
		return
	}
	if len(texts) > h.cfg.MaxTopics {
		http.Error(w, "too many topic parameters: the limit is "+strconv.Itoa(h.cfg.MaxTopics), http.StatusBadRequest)
		return
	}
	if err := h.checkBudget(texts); err != nil {
		http.Error(w, "subscription too costly: "+err.Error(), http.StatusBadRequest)
		return
	}
	for i, sel := range texts {
		// Copied: the parsed query points into the request line, which a
		// long-lived stream would otherwise keep whole.
		texts[i] = strings.Clone(sel)
	}
	selectors, err := h.sels.acquire(texts, true)
	if err != nil {
		http.Error(w, "invalid topic selector: "+err.Error(), http.StatusBadRequest)
		return
	}
	var claims []*sharedSelector
	if claimTexts != nil {
		claims, _ = h.sels.acquire(claimTexts, false)
	}
	s := &subscriber{
		h:         h,
		selectors: selectors,
		claims:    claims,
		maxQueue:  h.cfg.MaxQueueBytes,
		keys:      clientKeys(r, subject),
		lastID:    lastEventID(r),
	}
	h.serveSubscription(w, r, q, s, expires)
}

// serveSubscription registers s and serves its stream; q holds the
// request's parameters (for draft-08, from the query and the body).
func (h *Hub) serveSubscription(w http.ResponseWriter, r *http.Request, q url.Values, s *subscriber, expires time.Time) {
	tr := transportStream
	if q.Get("transport") == "poll" {
		tr = transportPoll
	}
	padding := q.Get("padding") == "true" || q.Get("padding") == "1"
	probe := q.Get("_probe") == "1"
	hijack := h.hijackable(w, r, tr)
	if !hijack {
		s.signal = make(chan struct{}, 1)
	}
	start, err := h.register(s)
	if err != nil {
		h.sels.release(s.selectors)
		h.sels.release(s.claims)
		h.refuseStream(w, err)
		return
	}
	if tr == transportStream {
		h.startSubscriptions(r, s)
	}
	h.streams.Add(1)
	open := &h.counters.streams[tr][engineIndex(q.Get("_engine"))]
	open.Add(1)
	// release undoes the registration and the two counts above, once: when the handler returns
	// on the ordinary path, when the connection closes on the hijacked one.
	release := func() { h.release(s, open) }

	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	h.setResumeHeader(r.Context(), hdr, s)
	if hijack {
		if h.serveHijacked(w, r, s, start, expires, padding, probe, open) {
			return
		}
		// Hijack refused after all: the ordinary path serves the stream.
		s.mu.Lock()
		s.signal = make(chan struct{}, 1)
		pending := len(s.queue) > 0 || s.cut
		s.mu.Unlock()
		if pending {
			s.signal <- struct{}{}
		}
	}
	defer release()

	rc := http.NewResponseController(w)
	s.mu.Lock()
	s.interrupt = func() { _ = rc.SetWriteDeadline(time.Now()) }
	s.mu.Unlock()
	st := &stream{h: h, s: s, tr: tr, out: func(p []byte) error {
		// A deadline cuts off a client that stopped reading without
		// holding this goroutine forever; not every ResponseWriter
		// supports one.
		_ = rc.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
		_, err := w.Write(p)
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			s.writeFailed(err)
		}
		return err
	}}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	st.begin(padding, probe)
	if err := st.flush(); err != nil {
		return
	}
	ctx := r.Context()
	sent, err := st.resume(ctx, s.lastID, start)
	if err != nil {
		h.logger.Debug("replay ended the stream", "err", err)
		return
	}
	st.serve(ctx, sent, expires)
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
func (st *stream) begin(padding, probe bool) {
	if padding {
		st.buf = append(st.buf, ':')
		st.buf = append(st.buf, bytes.Repeat([]byte{' '}, DefaultPadding)...)
		st.buf = append(st.buf, '\n', '\n')
	}
	st.buf = sse.AppendRetry(st.buf, int(st.h.cfg.Retry/time.Millisecond))
	// The probe goes out after the cursor or replay (resume writes it), so
	// that its lastEventId is the cursor a restarted stream resumes from.
	st.probe = probe && st.tr == transportStream
}

// release ends a subscription's registration: it undoes what subscribe
// did before serving it.
func (h *Hub) release(s *subscriber, open *atomic.Int64) {
	h.unregister(s)
	h.endSubscriptions(s)
	h.sels.release(s.selectors)
	h.sels.release(s.claims)
	open.Add(-1)
	h.streams.Done()
}

// subscriberClaims authenticates a subscriber: it returns the token's
// subscribe selectors (nil when anonymous), its subject and its expiry.
func (h *Hub) subscriberClaims(r *http.Request) ([]string, string, time.Time, error) {
	tok, err := auth.FromRequest(r)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	if tok == "" || h.cfg.SubscriberKey == nil {
		if !h.cfg.AllowAnonymous {
			return nil, "", time.Time{}, errors.New("a subscriber token is required")
		}
		return nil, "", time.Time{}, nil
	}
	c, err := h.cfg.SubscriberKey.Verify(tok)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	claims := c.Subscribe
	if claims == nil {
		claims = []string{}
	}
	return claims, c.Subject, c.Expires, nil
}

func (h *Hub) unauthorized(w http.ResponseWriter, err error) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="polysse"`)
	http.Error(w, "unauthorized: "+err.Error(), http.StatusUnauthorized)
}

// stream writes one subscription's response from its handler goroutine:
// the whole response on the ordinary path, the start of it (retry, cursor,
// replay) on the hijacked path.
type stream struct {
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
func (st *stream) appendProbe() {
	if st.probe {
		st.buf = append(st.buf, "event: "+ProbeEventType+"\ndata: \n\n"...)
	}
}

func (st *stream) flush() error {
	if len(st.buf) == 0 {
		return nil
	}
	err := st.out(st.buf)
	st.buf = st.buf[:0]
	return err
}

// resume replays what the client missed after lastID and gives it a cursor
// to come back with. It reports how many events it sent.
func (st *stream) resume(ctx context.Context, lastID string, start *cursor) (int, error) {
	if lastID == "" {
		// A fresh subscription: nothing to replay, but the client gets the
		// hub's cursor so that a drop before its first event loses nothing.
		// When the newest update's id is not for this client, the newest
		// public one before it serves, at the cost of replaying what lies
		// between (filtered as ever); when there is none, no cursor.
		c := store.Earliest
		if start != nil {
			st.after = start.pos
			switch {
			case start.known && st.s.mayKnow(start.private, start.topics):
				c = start.id
			case start.public != nil:
				c = start.public.id
			default:
				c = ""
			}
		}
		if c != "" {
			st.buf = appendCursor(st.buf, c)
		}
		st.appendProbe()
		return 0, st.flush()
	}
	sent, scannedID, sentID := 0, "", ""
	replay := func(u *store.Update) error {
		st.after = u.Pos
		if st.s.mayKnow(u.Private, u.Topics) {
			scannedID = u.Event.ID
		}
		if !st.s.wants(u, 0) {
			return nil
		}
		var err error
		if st.buf, err = sse.AppendEvent(st.buf, &u.Event); err != nil {
			return nil // an update no subscriber can receive; see fanout
		}
		sent, sentID = sent+1, u.Event.ID
		if len(st.buf) >= 32<<10 {
			return st.flush()
		}
		return nil
	}
	err := st.h.log.Replay(ctx, lastID, replay)
	if err == nil {
		st.h.counters.replayHits.Add(1)
	}
	if errors.Is(err, store.ErrUnknownID) {
		// Nothing is replayed: the client is told, and carries on from
		// the hub's cursor as a fresh subscription would.
		st.h.counters.replayMiss.Add(1)
		// encoding/json, not strconv.Quote: Go's escapes (\x01, \a) are
		// not JSON, and the id comes from the client.
		data, _ := json.Marshal(struct {
			LastEventID string `json:"lastEventId"`
		}{lastID})
		missed := sse.Event{Type: MissedEventType, Data: string(data)}
		st.buf, _ = sse.AppendEvent(st.buf, &missed)
		c := store.Earliest
		if start != nil {
			c = start.id
			st.after = start.pos
		}
		st.buf = appendCursor(st.buf, c)
		st.appendProbe()
		return 0, st.flush()
	}
	if err != nil {
		return sent, err
	}
	st.h.counters.delivered.Add(uint64(sent))
	if scannedID != sentID && scannedID != "" {
		// The last update scanned whose id the client may know was not
		// for it; its id still moves the client's cursor past what was
		// filtered out.
		st.buf = appendCursor(st.buf, scannedID)
	}
	st.appendProbe()
	return sent, st.flush()
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

// serve delivers live updates until the client goes, the hub drains, the
// subscriber's token expires or (long-poll) a response is complete.
func (st *stream) serve(ctx context.Context, sent int, expires time.Time) {
	h := st.h
	var heartbeat <-chan time.Time
	var hb *time.Timer
	if h.cfg.Heartbeat > 0 && st.tr == transportStream {
		hb = time.NewTimer(h.cfg.Heartbeat)
		defer hb.Stop()
		heartbeat = hb.C
	}
	var expiry <-chan time.Time
	if !expires.IsZero() {
		t := time.NewTimer(time.Until(expires))
		defer t.Stop()
		expiry = t.C
	}
	var pollEnd <-chan time.Time
	if st.tr == transportPoll {
		if sent > 0 {
			st.endPoll()
			return
		}
		t := time.NewTimer(h.cfg.PollTimeout)
		defer t.Stop()
		pollEnd = t.C
	}
	var spare []delivery
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.drain:
			// Ending the response is what makes clients reconnect, to
			// another node or to this one restarted.
			st.buf = sse.AppendComment(st.buf, "hub restarting: reconnect")
			_ = st.flush()
			return
		case <-expiry:
			st.buf = sse.AppendComment(st.buf, "token expired")
			_ = st.flush()
			return
		case <-pollEnd:
			st.endPoll()
			return
		case <-heartbeat:
			st.buf = append(st.buf, ":\n"...)
			if st.flush() != nil {
				return
			}
			hb.Reset(h.cfg.Heartbeat)
		case <-st.s.signal:
			batch, cut := st.s.take(spare)
			if cut {
				return // counted where it was cut off
			}
			if !expires.IsZero() && !time.Now().Before(expires) {
				// select picks at random among ready cases: the expiry
				// timer may have fired with a delivery waiting.
				st.buf = sse.AppendComment(st.buf, "token expired")
				_ = st.flush()
				return
			}
			n := 0
			for _, d := range batch {
				if !st.after.Less(d.pos) {
					continue // replayed already
				}
				st.buf = append(st.buf, d.frame...)
				n++
			}
			clear(batch) // drop references to shared frames
			spare = batch
			if n == 0 {
				continue
			}
			h.counters.delivered.Add(uint64(n))
			if st.flush() != nil {
				return
			}
			if st.tr == transportPoll {
				st.endPoll()
				return
			}
			if hb != nil {
				hb.Reset(h.cfg.Heartbeat)
			}
		}
	}
}

// endPoll ends a long-poll response with a short reconnection time, so the
// client's next request is the next poll.
func (st *stream) endPoll() {
	st.buf = sse.AppendRetry(st.buf, int(st.h.cfg.PollRetry/time.Millisecond))
	_ = st.flush()
}

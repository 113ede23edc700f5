package server

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/internal/queue"
	"github.com/polysse/polysse/server/store"
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

// subscriber is one open subscription. The fan-out pushes into its queue,
// which wakes whichever way writes the stream (see internal/queue): the
// subscription's own handler goroutine (handler.go), or the hub's writers
// for a hijacked HTTP/1.1 stream (hijacked.go).
type subscriber struct {
	// selectors and claims are compiled once, when the subscription opens
	// (see selectors.go). claims are the mercure.subscribe selectors of the
	// subscriber's token; nil for an anonymous subscriber, who never
	// receives private updates. Both are nil for a draft-08 subscription.
	selectors, claims []*sharedSelector
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

	queue *queue.Queue
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
		selectors: selectors,
		claims:    claims,
		keys:      clientKeys(r, subject),
		lastID:    lastEventID(r),
	}
	h.serveSubscription(w, r, q, s, expires)
}

// opening is what a way that serves a subscription needs besides the
// subscriber: what serveSubscription decided and counted.
type opening struct {
	tr transport
	// start is the hub's cursor when the subscriber registered.
	start *cursor
	// expires is when the subscriber's token expires; zero for never.
	expires        time.Time
	padding, probe bool
	// gauge is the open-subscriptions gauge the subscription counts in.
	gauge *atomic.Int64
}

// serveSubscription registers s and serves its stream; q holds the
// request's parameters (for draft-08, from the query and the body).
func (h *Hub) serveSubscription(w http.ResponseWriter, r *http.Request, q url.Values, s *subscriber, expires time.Time) {
	o := opening{tr: transportStream, expires: expires}
	if q.Get("transport") == "poll" {
		o.tr = transportPoll
	}
	o.padding = q.Get("padding") == "true" || q.Get("padding") == "1"
	o.probe = q.Get("_probe") == "1"
	s.queue = queue.New(h.cfg.MaxQueueBytes, h.cutOff)
	hijack := h.hijackable(w, r, o.tr)
	var hw *handlerWay
	if !hijack {
		// Attached before the subscriber registers, so that no push finds
		// it without a way to wake.
		hw = newHandlerWay(w)
		s.queue.Attach(hw)
	}
	start, err := h.register(s)
	if err != nil {
		h.sels.release(s.selectors)
		h.sels.release(s.claims)
		h.refuseStream(w, err)
		return
	}
	o.start = start
	if o.tr == transportStream {
		h.startSubscriptions(r, s)
	}
	h.serving.Add(1)
	o.gauge = &h.counters.open[o.tr][engineIndex(q.Get("_engine"))]
	o.gauge.Add(1)

	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	h.setResumeHeader(r.Context(), hdr, s)
	if hijack {
		if h.serveHijacked(w, r, s, o) {
			return
		}
		// Hijack refused after all: the handler path serves the stream.
		hw = newHandlerWay(w)
		if s.queue.Attach(hw) {
			hw.Wake()
		}
	}
	defer h.release(s, o.gauge)
	h.serveHandler(w, r, s, o, hw)
}

// release ends a subscription's registration: it undoes what
// serveSubscription did before serving it, once: when the handler returns
// on the handler path, when the connection closes on the hijacked one.
func (h *Hub) release(s *subscriber, gauge *atomic.Int64) {
	h.unregister(s)
	h.endSubscriptions(s)
	h.sels.release(s.selectors)
	h.sels.release(s.claims)
	gauge.Add(-1)
	h.serving.Done()
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

package server

// This file implements Mercure's active subscriptions, for both drafts:
// an update when a subscription starts and when it ends (draft-08
// "Subscription Events"), and the web API listing the active ones
// ("Subscription API"). Each draft sees its own subscriptions in its own
// shapes: draft-08 subscriptions as JSON documents under
// {hub}/subscriptions/{match_type}/{match}/{subscriber}, with the event
// type "mercure"; draft-07 ones as JSON-LD under
// {hub}/subscriptions/{topic}/{subscriber}. The events go through the log,
// so on a shared log every node's subscribers see every node's events;
// the API reads a Registry, which on several nodes is shared (see
// server/cluster).

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/sse"
)

// Subscription is one active subscription: one matcher (draft-08) or
// topic selector (draft-07) of one connection.
type Subscription struct {
	// Draft is 7 or 8.
	Draft int `json:"draft"`
	// HubPath is the path of the hub the subscription was made at, the
	// root of its topic.
	HubPath string `json:"hub"`
	// MatchType is the draft-08 matcher type; empty for draft-07.
	MatchType string `json:"match_type,omitempty"`
	// Match is the matcher (draft-08) or topic selector (draft-07).
	Match string `json:"match"`
	// Subscriber identifies the connection; the hub makes it up.
	Subscriber string `json:"subscriber"`
	// Payload is the JSON object the token attached, or nil.
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Topic returns the subscription's topic, which is also the id of its
// documents and the path of its API resource.
func (s Subscription) Topic() string {
	if s.Draft == 8 {
		return s.HubPath + "/subscriptions/" + expandVar(s.MatchType) + "/" + expandVar(s.Match) + "/" + expandVar(s.Subscriber)
	}
	return s.HubPath + "/subscriptions/" + expandVar(s.Match) + "/" + expandVar(s.Subscriber)
}

// Document returns the JSON document describing s, in its draft's shape.
func (s Subscription) Document(active bool) []byte {
	var doc any
	if s.Draft == 8 {
		doc = struct {
			ID         string          `json:"id"`
			Type       string          `json:"type"`
			MatchType  string          `json:"match_type"`
			Match      string          `json:"match"`
			Subscriber string          `json:"subscriber"`
			Active     bool            `json:"active"`
			Payload    json.RawMessage `json:"payload,omitempty"`
		}{s.Topic(), "subscription", s.MatchType, s.Match, s.Subscriber, active, s.Payload}
	} else {
		doc = struct {
			Context    string          `json:"@context"`
			ID         string          `json:"id"`
			Type       string          `json:"type"`
			Topic      string          `json:"topic"`
			Subscriber string          `json:"subscriber"`
			Active     bool            `json:"active"`
			Payload    json.RawMessage `json:"payload,omitempty"`
		}{"https://mercure.rocks/", s.Topic(), "Subscription", s.Match, s.Subscriber, active, s.Payload}
	}
	b, _ := json.Marshal(doc)
	return b
}

// expandVar percent-encodes v as an RFC 6570 simple expansion does: every
// byte but the unreserved characters, once (a "%" already in v is
// encoded too).
func expandVar(v string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if isUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// Registry keeps the active subscriptions that the subscriptions API
// lists. MemoryRegistry serves one node; a shared one (server/cluster)
// serves several.
type Registry interface {
	// Add records subscriptions that started on this node.
	Add(ctx context.Context, subs []Subscription) error
	// Remove forgets subscriptions that ended on this node.
	Remove(ctx context.Context, subs []Subscription) error
	// List returns the active subscriptions, on every node sharing the
	// registry, at most limit of them.
	List(ctx context.Context, limit int) ([]Subscription, error)
}

// MemoryRegistry is a Registry for one node.
type MemoryRegistry struct {
	mu   sync.Mutex
	subs map[string]Subscription
}

// NewMemoryRegistry returns an empty registry.
func NewMemoryRegistry() *MemoryRegistry {
	return &MemoryRegistry{subs: make(map[string]Subscription)}
}

// Add implements Registry.
func (m *MemoryRegistry) Add(_ context.Context, subs []Subscription) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range subs {
		m.subs[s.Topic()] = s
	}
	return nil
}

// Remove implements Registry.
func (m *MemoryRegistry) Remove(_ context.Context, subs []Subscription) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range subs {
		delete(m.subs, s.Topic())
	}
	return nil
}

// List implements Registry.
func (m *MemoryRegistry) List(_ context.Context, limit int) ([]Subscription, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Subscription, 0, min(len(m.subs), limit))
	for _, s := range m.subs {
		if len(out) == limit {
			break
		}
		out = append(out, s)
	}
	return out, nil
}

// maxListed bounds a collection response of the subscriptions API.
const maxListed = 10_000

// subscriptionUpdate is the update announcing that s started or ended.
func subscriptionUpdate(s Subscription, active bool) *store.Update {
	u := &store.Update{
		Topics:  []string{s.Topic()},
		Private: true,
		Event:   sse.Event{Data: string(s.Document(active))},
	}
	if s.Draft == 8 {
		u.Event.Type = SubscriptionEventType
	}
	return u
}

// Announce publishes the subscription event of each of subs: it started
// (active) or ended. A Registry shared by several nodes calls it for the
// subscriptions of a node that died, once.
func (h *Hub) Announce(ctx context.Context, subs []Subscription, active bool) {
	for _, s := range subs {
		u := subscriptionUpdate(s, active)
		u.Event.ID = h.ids.New()
		if err := h.store(ctx, u); err != nil {
			h.logger.Warn("a subscription event was not stored", "topic", s.Topic(), "active", active, "err", err)
		}
	}
}

// startSubscriptions records and announces s's subscriptions, when the
// hub tracks them. Long-poll requests are not tracked: each is one poll of
// a client that comes back at once, and announcing each would write two
// updates per matcher per poll to the log.
func (h *Hub) startSubscriptions(r *http.Request, s *subscriber) {
	if h.registry == nil || r.Method == http.MethodHead {
		return
	}
	// The path the hub is mounted at, which the subscriptions API is under.
	hubPath := normalizePath(r.URL.EscapedPath())
	id := newSubscriberID()
	if s.d8 != nil {
		id = s.d8.id
		for _, m := range s.d8.matchers {
			s.active = append(s.active, Subscription{Draft: 8, HubPath: hubPath, MatchType: m.Type, Match: m.Match, Subscriber: id, Payload: s.d8.grants.payloadFor(m.Match)})
		}
	} else {
		for _, sel := range s.selectors {
			s.active = append(s.active, Subscription{Draft: 7, HubPath: hubPath, Match: sel.String(), Subscriber: id})
		}
	}
	if err := h.registry.Add(r.Context(), s.active); err != nil {
		h.logger.Warn("subscriptions not recorded", "err", err)
	}
	h.Announce(r.Context(), s.active, true)
}

// endSubscriptions forgets and announces the end of s's subscriptions, in
// the background: it may be called from a writer of hijacked streams,
// which must not wait on the log. The request is gone, so the work has
// its own bounded context; Close waits for it.
func (h *Hub) endSubscriptions(s *subscriber) {
	if h.registry == nil || len(s.active) == 0 {
		return
	}
	subs := s.active
	h.announcing.Add(1)
	go func() {
		defer h.announcing.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.registry.Remove(ctx, subs); err != nil {
			h.logger.Warn("subscriptions not forgotten", "err", err)
		}
		h.Announce(ctx, subs, false)
	}()
}

// payloadFor returns the payload of the first subscribe detail whose
// topics match the subscription's own matcher, read as a topic (draft-08
// "Payloads").
func (g *grants) payloadFor(match string) json.RawMessage {
	if g == nil {
		return nil
	}
	for _, d := range g.details {
		if !d.subscribe {
			continue
		}
		for _, sel := range d.topics {
			if sel.Matches(match) {
				return d.payload
			}
		}
	}
	return nil
}

// subscriptionsAPIPath splits a request path (escaped) at the hub's
// subscriptions API: it returns the hub's path and what follows
// "/subscriptions", and ok false for another path.
func subscriptionsAPIPath(p string) (hubPath, rest string, ok bool) {
	const seg = "/subscriptions"
	for i := 0; ; {
		j := strings.Index(p[i:], seg)
		if j < 0 {
			return "", "", false
		}
		j += i
		end := j + len(seg)
		if end == len(p) || p[end] == '/' {
			return p[:j], p[end:], true
		}
		i = end
	}
}

// serveSubscriptionsAPI serves GET {hub}/subscriptions[/...].
func (h *Hub) serveSubscriptionsAPI(w http.ResponseWriter, r *http.Request, hubPath, rest string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	resource := r.URL.EscapedPath()
	draft, ok := h.authorizeAPI(w, r, resource)
	if !ok {
		return
	}
	var parts []string
	if rest != "" {
		for _, p := range strings.Split(strings.TrimPrefix(rest, "/"), "/") {
			v, err := url.PathUnescape(p)
			if err != nil || v == "" {
				http.Error(w, "malformed subscriptions path", http.StatusBadRequest)
				return
			}
			parts = append(parts, v)
		}
	}
	// Segments: draft-08 {match_type}/{match}/{subscriber}, draft-07
	// {topic}/{subscriber}.
	max := 2
	if draft == 8 {
		max = 3
	}
	if len(parts) > max || (draft == 8 && len(parts) == 1) {
		http.NotFound(w, r)
		return
	}
	all, err := h.registry.List(r.Context(), maxListed)
	if err != nil {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "the subscriptions are unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	var docs []json.RawMessage
	for _, s := range all {
		if s.Draft != draft || s.HubPath != hubPath {
			continue
		}
		fields := []string{s.Match, s.Subscriber}
		if draft == 8 {
			fields = []string{s.MatchType, s.Match, s.Subscriber}
		}
		match := true
		for i, p := range parts {
			if fields[i] != p {
				match = false
			}
		}
		if match {
			docs = append(docs, s.Document(true))
		}
	}
	cursor := store.Earliest
	if c := h.last.Load(); c != nil {
		cursor = c.id
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", "must-revalidate")
	hdr.Set("ETag", `"`+strings.ReplaceAll(cursor, `"`, "")+`"`)
	hdr.Add("Vary", "Authorization")
	hdr.Add("Vary", "Cookie")
	single := len(parts) == max
	var body []byte
	if single && len(docs) == 0 {
		http.NotFound(w, r)
		return
	}
	if draft == 8 {
		hdr.Set("Content-Type", "application/json")
		hdr.Set("Link", "<"+h.hubURL(r)+`>; rel="mercure"; last-event-id="`+strings.ReplaceAll(cursor, `"`, `\"`)+`"; type="mercure"; content-type="application/json"`)
		if single {
			body = docs[0]
		} else {
			body, _ = json.Marshal(struct {
				ID            string            `json:"id"`
				Type          string            `json:"type"`
				Subscriptions []json.RawMessage `json:"subscriptions"`
			}{resource, "subscriptions", nonNil(docs)})
		}
	} else {
		hdr.Set("Content-Type", "application/ld+json")
		hdr.Set("Link", "<"+h.hubURL(r)+`>; rel="mercure"`)
		if single {
			var doc map[string]any
			_ = json.Unmarshal(docs[0], &doc)
			doc["lastEventID"] = cursor
			body, _ = json.Marshal(doc)
		} else {
			body, _ = json.Marshal(struct {
				Context       string            `json:"@context"`
				ID            string            `json:"id"`
				Type          string            `json:"type"`
				LastEventID   string            `json:"lastEventID"`
				Subscriptions []json.RawMessage `json:"subscriptions"`
			}{"https://mercure.rocks/", resource, "Subscriptions", cursor, nonNil(docs)})
		}
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

func nonNil(d []json.RawMessage) []json.RawMessage {
	if d == nil {
		return []json.RawMessage{}
	}
	return d
}

// authorizeAPI checks that r's token may read resource: a draft-08 access
// token granting subscribe on it, or a draft-07 token whose subscribe
// selectors match it. It returns the draft the client speaks.
func (h *Hub) authorizeAPI(w http.ResponseWriter, r *http.Request, resource string) (draft int, ok bool) {
	tok, err := accessToken(r)
	if err == nil && tok == "" {
		tok, err = auth.FromRequest(r)
	}
	if err != nil {
		h.bearerError(w, r, http.StatusBadRequest, "invalid_request", "malformed token presentation")
		return 0, false
	}
	if (tok == "" && h.cfg.AccessTokens != nil) || (tok != "" && auth.IsAccessToken(tok)) {
		g, _, ok := h.authorize08(w, r, true)
		if !ok {
			return 0, false
		}
		if !g.allows(auth.ActionSubscribe, resource) {
			h.bearerError(w, r, http.StatusForbidden, "insufficient_scope", "the token may not read "+resource)
			return 0, false
		}
		return 8, true
	}
	if tok == "" || h.cfg.SubscriberKey == nil {
		h.unauthorized(w, errors.New("a subscriber token is required"))
		return 0, false
	}
	c, err := h.cfg.SubscriberKey.Verify(tok)
	if err != nil {
		h.unauthorized(w, err)
		return 0, false
	}
	if !h.matcher.MatchAny([]string{resource}, c.Subscribe) {
		http.Error(w, "forbidden: the token may not read "+resource, http.StatusForbidden)
		return 0, false
	}
	return 7, true
}

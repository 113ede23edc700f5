package server

// This file serves the Mercure draft-08 side of the endpoint: subscribe
// with match/match_<type> (GET or QUERY), publish with an access token,
// and the RFC 6750 errors. See draft.go for how requests are told apart.

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/topic"
	"github.com/polysse/polysse/sse"
)

// Names under which draft-08 access tokens are looked for.
const (
	// AccessTokenCookie is the cookie draft-08 recommends for browsers.
	AccessTokenCookie = "__Secure-mercure_access_token"
	// SubscriptionEventType is the SSE event type of subscription events,
	// reserved: publishers may not use it.
	SubscriptionEventType = "mercure"
)

// sub08 is what a draft-08 subscription routes and authorizes with.
type sub08 struct {
	matchers []*topic.Matcher08
	// grants are the token's; nil for an anonymous subscriber.
	grants *grants
	// id identifies the subscriber in subscription events.
	id string
}

func (s *sub08) wants(u *store.Update) bool {
	routed := false
	for _, m := range s.matchers {
		if m.MatchesAny(u.Topics) {
			routed = true
			break
		}
	}
	if !routed {
		return false
	}
	return !u.Private || s.grants.allowsAny(auth.ActionSubscribe, u.Topics)
}

// grants are a verified access token's Mercure authorization details,
// compiled.
type grants struct {
	details []grant
}

type grant struct {
	publish, subscribe bool
	topics             []*topic.Matcher08
	payload            []byte
}

// compileGrants compiles c's details against the hub URL base; a matcher
// that does not compile invalidates the token (as Verify's check does).
func compileGrants(sc *topic.Matcher08Cache, c *auth.AccessClaims, base string) (*grants, error) {
	g := &grants{details: make([]grant, 0, len(c.Details))}
	for _, d := range c.Details {
		gd := grant{publish: d.Grants(auth.ActionPublish), subscribe: d.Grants(auth.ActionSubscribe), payload: d.Payload}
		for _, t := range d.Topics {
			sel, err := sc.Compile(t.MatchType, t.Match, base)
			if err != nil {
				return nil, err
			}
			gd.topics = append(gd.topics, sel)
		}
		g.details = append(g.details, gd)
	}
	return g, nil
}

// allows reports whether the grants allow action on topic.
func (g *grants) allows(action, t string) bool {
	if g == nil {
		return false
	}
	for _, d := range g.details {
		if (action == auth.ActionPublish && !d.publish) || (action == auth.ActionSubscribe && !d.subscribe) {
			continue
		}
		for _, sel := range d.topics {
			if sel.Matches(t) {
				return true
			}
		}
	}
	return false
}

// allowsAny reports whether the grants allow action on one of topics.
func (g *grants) allowsAny(action string, topics []string) bool {
	for _, t := range topics {
		if g.allows(action, t) {
			return true
		}
	}
	return false
}

// CheckAccessMatcher validates a topic matcher of an access token, for
// auth.AccessOptions.CheckMatcher: a supported type and a value that
// compiles. Relative URL patterns are checked against a stand-in base,
// since the token is verified before the hub's URL is known.
func CheckAccessMatcher(m auth.TopicMatcher) error {
	_, err := topic.CompileMatcher08(m.MatchType, m.Match, "https://hub.invalid/.well-known/mercure")
	return err
}

// bearerError answers an RFC 6750 error: 401 or 403 with a Bearer
// challenge naming code (none for a request that carried no token), or
// 400 invalid_request. The challenge points at the protected resource
// metadata (RFC 9728).
func (h *Hub) bearerError(w http.ResponseWriter, r *http.Request, status int, code, reason string) {
	ch := `Bearer realm="polysse", resource_metadata="` + h.metadataURL(r) + `"`
	if code != "" {
		ch += `, error="` + code + `"`
	}
	w.Header().Set("WWW-Authenticate", ch)
	http.Error(w, reason, status)
}

// accessToken returns the draft-08 token of r: the Authorization header,
// which wins over any cookie, else the AccessTokenCookie cookie. The
// query parameter is not a way to present a draft-08 token.
func accessToken(r *http.Request) (string, error) {
	if vals := r.Header.Values("Authorization"); len(vals) > 0 {
		if len(vals) > 1 {
			return "", errors.New("more than one Authorization header")
		}
		scheme, tok, ok := strings.Cut(vals[0], " ")
		tok = strings.TrimLeft(tok, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || strings.ContainsAny(tok, " \t,") {
			return "", errors.New("the Authorization header is not Bearer and one token")
		}
		return tok, nil
	}
	if c, err := r.Cookie(AccessTokenCookie); err == nil && c.Value != "" {
		return c.Value, nil
	}
	return "", nil
}

// authorize08 verifies r's access token. On failure it has answered the
// request and returns ok false; with no token it returns nil claims.
func (h *Hub) authorize08(w http.ResponseWriter, r *http.Request, required bool) (g *grants, c *auth.AccessClaims, ok bool) {
	tok, err := accessToken(r)
	if err != nil {
		h.bearerError(w, r, http.StatusBadRequest, "invalid_request", "malformed token presentation: "+err.Error())
		return nil, nil, false
	}
	if tok == "" {
		if required {
			h.bearerError(w, r, http.StatusUnauthorized, "", "an access token is required")
			return nil, nil, false
		}
		return nil, nil, true
	}
	if h.cfg.AccessTokens == nil {
		h.bearerError(w, r, http.StatusUnauthorized, "invalid_token", "this hub accepts no access tokens")
		return nil, nil, false
	}
	c, err = h.cfg.AccessTokens.Verify(r.Context(), tok)
	if err == nil {
		g, err = compileGrants(h.selectors, c, h.hubURL(r))
	}
	if err != nil {
		h.logger.Debug("access token refused", "err", err)
		h.bearerError(w, r, http.StatusUnauthorized, "invalid_token", "invalid access token")
		return nil, nil, false
	}
	return g, c, true
}

// requestParams returns a draft-08 subscription's parameters: the query's,
// and for a QUERY request, the body's (a form) after them. lastEventID is
// the query's last_event_id if any, else the body's.
func (h *Hub) requestParams(r *http.Request) (params []pair, lastEventID string, status int, err error) {
	query := parseFormPairs(r.URL.RawQuery)
	params = query
	if r.Method == MethodQuery {
		if ct := r.Header.Get("Content-Type"); ct != "" {
			mt, _, perr := mime.ParseMediaType(ct)
			if perr != nil || mt != "application/x-www-form-urlencoded" {
				return nil, "", http.StatusUnsupportedMediaType, errors.New("a QUERY subscription's body must be application/x-www-form-urlencoded")
			}
		}
		body, rerr := io.ReadAll(io.LimitReader(r.Body, h.cfg.MaxPublishBytes+1))
		if rerr != nil {
			return nil, "", http.StatusBadRequest, fmt.Errorf("reading the body: %w", rerr)
		}
		if int64(len(body)) > h.cfg.MaxPublishBytes {
			return nil, "", http.StatusRequestEntityTooLarge, fmt.Errorf("body larger than %d bytes", h.cfg.MaxPublishBytes)
		}
		params = append(params, parseFormPairs(string(body))...)
	}
	// The first occurrence: the query's when it has one.
	for _, p := range params {
		if p.name == "last_event_id" {
			lastEventID = p.value
			break
		}
	}
	return params, lastEventID, 0, nil
}

// urlPatternWeight is what one match_urlpattern parameter is charged in
// template variables (Config.MaxTemplateVariables): by the default budget,
// four patterns per subscription.
const urlPatternWeight = 16

// subscribe08 serves a draft-08 subscription.
func (h *Hub) subscribe08(w http.ResponseWriter, r *http.Request) {
	params, cursor, status, err := h.requestParams(r)
	if err != nil {
		http.Error(w, err.Error(), status)
		return
	}
	// Authentication first: nothing costly is compiled for a client that
	// may not subscribe.
	g, claims, ok := h.authorize08(w, r, !h.cfg.AllowAnonymous)
	if !ok {
		return
	}
	if g == nil && !h.cfg.AllowAnonymous {
		h.bearerError(w, r, http.StatusUnauthorized, "", "an access token is required")
		return
	}
	base := h.hubURL(r)
	var matchers []*topic.Matcher08
	patterns := 0
	vals := url.Values{}
	for _, p := range params {
		if !topic.HasMatchPrefix(p.name) {
			vals.Add(p.name, p.value)
			continue
		}
		mt := ""
		switch {
		case p.name == "match":
			mt = topic.MatchExact
		case strings.HasPrefix(p.name, "match_") && topic.IsCanonicalType(p.name[len("match_"):]):
			mt = p.name[len("match_"):]
		default:
			http.Error(w, "unsupported matcher parameter "+strconv.Quote(p.name)+": this hub supports match, match_exact and match_urlpattern", http.StatusBadRequest)
			return
		}
		if len(matchers) == h.cfg.MaxTopics {
			http.Error(w, "too many matcher parameters: the limit is "+strconv.Itoa(h.cfg.MaxTopics), http.StatusBadRequest)
			return
		}
		if mt == topic.MatchURLPattern {
			// A URL pattern costs some 17 µs to test against a topic the
			// hub has not seen (topic.Matcher08): it is charged as many
			// template variables, from the draft-07 budget.
			if patterns++; patterns*urlPatternWeight > h.cfg.MaxTemplateVariables {
				http.Error(w, "subscription too costly: more than "+strconv.Itoa(h.cfg.MaxTemplateVariables/urlPatternWeight)+" match_urlpattern parameters", http.StatusBadRequest)
				return
			}
		}
		sel, err := h.selectors.Compile(mt, p.value, base)
		if err != nil {
			http.Error(w, "invalid "+p.name+" value: "+err.Error(), http.StatusBadRequest)
			return
		}
		matchers = append(matchers, sel)
	}
	if len(matchers) == 0 {
		http.Error(w, "missing match parameter", http.StatusBadRequest)
		return
	}
	if cursor != "" || r.Header.Get("Last-Event-ID") != "" {
		if err := topic.CheckText(cursor); err != nil {
			http.Error(w, "invalid last_event_id: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	var expires time.Time
	if claims != nil {
		expires = claims.Expires
	}
	lastID := r.Header.Get("Last-Event-ID")
	if lastID == "" {
		lastID = cursor
	}
	subject := ""
	if claims != nil {
		subject = claims.Subject
	}
	s := &subscriber{
		keys:   clientKeys(r, subject),
		lastID: lastID,
		d8:     &sub08{matchers: matchers, grants: g, id: newSubscriberID()},
	}
	h.serveSubscription(w, r, vals, s, expires)
}

// newSubscriberID returns a random urn:uuid (version 4) for a connection.
func newSubscriberID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 45)
	out = append(out, "urn:uuid:"...)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&0x0f])
	}
	return string(out)
}

// isDraft08Publish reports whether a publish is draft-08: its token is an
// access token, or the hub verifies nothing else.
func (h *Hub) isDraft08Publish(r *http.Request) bool {
	if h.cfg.AccessTokens == nil {
		return false
	}
	if h.cfg.PublisherKey == nil {
		return true
	}
	tok, err := accessToken(r)
	if err == nil && tok == "" {
		tok, err = auth.FromRequest(r)
	}
	// A publish with no token at all gets draft-08's challenge, which
	// points at the metadata and is a valid draft-07 answer too.
	return err == nil && (tok == "" || auth.IsAccessToken(tok))
}

// publish08 serves a draft-08 publish.
func (h *Hub) publish08(w http.ResponseWriter, r *http.Request) {
	g, _, ok := h.authorize08(w, r, true)
	if !ok {
		return
	}
	if !h.readPublishForm(w, r) {
		return
	}
	u, status, err := h.update08(r)
	if err != nil {
		http.Error(w, err.Error(), status)
		return
	}
	if u.Event.ID == "" {
		u.Event.ID = h.ids.New()
	}
	for _, t := range u.Topics {
		if !g.allows(auth.ActionPublish, t) {
			h.bearerError(w, r, http.StatusForbidden, "insufficient_scope", "the token may not publish to topic "+strconv.Quote(t))
			return
		}
	}
	if err := h.store(r.Context(), u); err != nil {
		h.storeFailed(w, r, u, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(u.Event.ID))
}

// update08 reads and checks a draft-08 publish form. The status is 400
// for a field the draft forbids, 413 for one beyond the hub's limits.
func (h *Hub) update08(r *http.Request) (*store.Update, int, error) {
	f := r.PostForm
	bad := func(format string, args ...any) (*store.Update, int, error) {
		return nil, http.StatusBadRequest, fmt.Errorf(format, args...)
	}
	tooLarge := func(format string, args ...any) (*store.Update, int, error) {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf(format, args...)
	}
	topics := f["topic"]
	if len(topics) == 0 {
		return bad("missing topic field")
	}
	if len(topics) > h.cfg.MaxTopics {
		return tooLarge("%d topic fields: the limit is %d", len(topics), h.cfg.MaxTopics)
	}
	for _, t := range topics {
		switch err := topic.CheckText(t); {
		case t == "":
			return bad("empty topic")
		case err != nil:
			return bad("topic %q: %v", t, err)
		case t == topic.Wildcard:
			return bad(`the topic "*" is reserved for the wildcard matcher`)
		case len(t) > topic.MaxLength:
			return tooLarge("topic longer than %d bytes", topic.MaxLength)
		}
	}
	if t := h.reservedTopic(r, topics); t != "" {
		return bad("topic %q is in the hub's reserved namespace", t)
	}
	u := &store.Update{Topics: topics, Event: sse.Event{ID: f.Get("id"), Type: f.Get("type"), Data: f.Get("data")}}
	// Present means private, whatever the value (draft-08, "private").
	_, u.Private = f["private"]
	if id := u.Event.ID; id != "" {
		switch err := topic.CheckText(id); {
		case id == store.Earliest:
			return bad(`the id "earliest" is reserved`)
		case strings.HasPrefix(id, "#"):
			return bad(`an id must not start with "#"`)
		case err != nil:
			return bad("id: %v", err)
		}
	}
	if t := u.Event.Type; t != "" {
		if t == SubscriptionEventType {
			return bad("the type %q is reserved for the hub's subscription events", SubscriptionEventType)
		}
		if err := topic.CheckText(t); err != nil {
			return bad("type: %v", err)
		}
	}
	if !utf8.ValidString(u.Event.Data) {
		return bad("data is not valid UTF-8")
	}
	if v, ok := f["retry"]; ok && len(v) > 0 {
		n, err := sse.ParseRetry(v[0])
		if err != nil {
			return bad("retry: %v", err)
		}
		u.Event.Retry = n
	}
	if err := h.validate(u); err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, http.StatusRequestEntityTooLarge, err
		}
		return nil, http.StatusBadRequest, err
	}
	return u, 0, nil
}

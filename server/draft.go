package server

// This file tells Mercure draft-07 and draft-08 requests apart, and holds
// the rules both drafts share: the resume header, the hub's reserved
// namespace, the hub's URL.
//
// One endpoint serves both drafts at once, decided per request:
//   - a subscription is draft-08 when it uses the QUERY method, names a
//     parameter in the reserved "match" namespace, or carries
//     last_event_id without any draft-07 topic parameter; otherwise it is
//     draft-07 (topic=...);
//   - a publish is draft-08 when its token is a JWT access token (typ
//     at+jwt), or when the hub verifies only access tokens; otherwise it
//     is draft-07 (a token with the "mercure" claim).

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/nlnwa/whatwg-url/url"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/topic"
)

// MethodQuery is the safe method with a body (RFC 10008) that draft-08
// subscribers may use to send matcher lists too long for a URL.
const MethodQuery = "QUERY"

// isDraft08Subscribe reports whether a subscription request speaks
// Mercure draft-08 (see the file comment).
func isDraft08Subscribe(r *http.Request) bool {
	if r.Method == MethodQuery {
		return true
	}
	sawTopic, sawCursor := false, false
	for _, kv := range parseFormPairs(r.URL.RawQuery) {
		switch {
		case topic.HasMatchPrefix(kv.name):
			return true
		case kv.name == "topic":
			sawTopic = true
		case kv.name == "last_event_id":
			sawCursor = true
		}
	}
	return sawCursor && !sawTopic
}

// pair is one name/value of an application/x-www-form-urlencoded string.
type pair struct{ name, value string }

// parseFormPairs parses s as the URL standard's
// application/x-www-form-urlencoded parser does (what URLSearchParams and
// EventSource users produce): "&" separates pairs, the first "=" splits a
// name from its value, "+" is a space and a "%" not followed by two hex
// digits stays as it is. Unlike net/url, it neither refuses ";" nor drops
// pairs with a stray "%". The bytes are returned as decoded, valid UTF-8
// or not: draft-08 wants invalid UTF-8 refused, not replaced.
func parseFormPairs(s string) []pair {
	var out []pair
	for s != "" {
		var seq string
		seq, s, _ = strings.Cut(s, "&")
		if seq == "" {
			continue
		}
		name, value, _ := strings.Cut(seq, "=")
		out = append(out, pair{formDecode(name), formDecode(value)})
	}
	return out
}

func formDecode(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// setResumeHeader sets the header both drafts require when a subscriber
// resumes: Last-Event-ID (draft-07) or Mercure-Last-Event-ID (draft-08),
// whose value is the id of the event preceding the first one sent, or
// "earliest" when there is none: the client asked for earliest, or for an
// id the log does not hold (never issued, or trimmed away), in which case
// nothing is replayed (see MissedEventType).
func (h *Hub) setResumeHeader(ctx context.Context, hdr http.Header, s *subscriber) {
	if s.lastID == "" {
		return
	}
	name := "Last-Event-ID"
	if s.d8 != nil {
		name = "Mercure-Last-Event-ID"
	}
	value := s.lastID
	if value != store.Earliest && !h.holds(ctx, value) {
		value = store.Earliest
	}
	hdr.Set(name, value)
}

// errFound stops the replay that holds uses as a lookup.
var errFound = errors.New("found")

// holds reports whether the log holds the update with id, at the cost of
// one replay step. A failing log answers false: resume will then fail too.
func (h *Hub) holds(ctx context.Context, id string) bool {
	err := h.log.Replay(ctx, id, func(*store.Update) error { return errFound })
	return err == nil || errors.Is(err, errFound)
}

// hubURL returns the hub's URL as draft-08 uses it: the base of relative
// topics and URL patterns, and the path of its reserved namespace. It is
// Config.HubURL when set; else the access tokens' audience when it is an
// http(s) URL, since draft-08 recommends the hub's canonical URL as its
// resource identifier; else the URL the request reached the hub at. The
// request's URL comes last because its Host is the client's to choose:
// a relative URL pattern in a token resolved against a Host of the
// client's choosing could be made to match another site's topics.
func (h *Hub) hubURL(r *http.Request) string {
	if h.cfg.HubURL != "" {
		return h.cfg.HubURL
	}
	if h.cfg.AccessTokens != nil {
		if a := h.cfg.AccessTokens.Audience(); strings.HasPrefix(a, "https://") || strings.HasPrefix(a, "http://") {
			return a
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	p := r.URL.EscapedPath()
	if h.registry != nil {
		// The subscriptions API lives under the hub's path.
		if hubPath, _, ok := subscriptionsAPIPath(p); ok {
			p = hubPath
		}
	}
	return scheme + "://" + r.Host + p
}

// hubPath returns the path of the hub's URL, normalised like topic paths.
func (h *Hub) hubPath(r *http.Request) string {
	u, err := url.Parse(h.hubURL(r))
	if err != nil {
		return r.URL.Path
	}
	return normalizePath(u.Pathname())
}

// reservedTopic returns the first of topics that addresses the hub's own
// namespace, where subscription events live: once resolved against the
// hub's URL (by the URL standard's parser, which removes dot segments),
// with the percent-encoded unreserved characters decoded, its path equals
// the hub's path or continues it with "/", whatever its scheme and host.
// A topic that does not parse as a URL reference names no hub path.
func (h *Hub) reservedTopic(r *http.Request, topics []string) string {
	base := h.hubURL(r)
	// The configured hub path, and the one the request came in at, where
	// this hub's subscription events live.
	paths := []string{h.hubPath(r), normalizePath(r.URL.EscapedPath())}
	for _, t := range topics {
		u, err := url.ParseRef(base, t)
		if err != nil || u.OpaquePath() {
			continue
		}
		p := normalizePath(u.Pathname())
		for _, hubPath := range paths {
			if p == hubPath || strings.HasPrefix(p, hubPath+"/") {
				return t
			}
		}
	}
	return ""
}

// normalizePath decodes the percent-encoded unreserved characters of an
// absolute path (RFC 3986 section 6.2.2.2) and removes the dot segments
// that decoding may have revealed, so that /.well-known/%6Dercure and
// /.well-known/mercure/%2E%2E/mercure compare as the path they mean.
func normalizePath(p string) string {
	if strings.Contains(p, "%") {
		b := make([]byte, 0, len(p))
		for i := 0; i < len(p); i++ {
			if p[i] == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]) {
				c := unhex(p[i+1])<<4 | unhex(p[i+2])
				if isUnreserved(c) {
					b = append(b, c)
					i += 2
					continue
				}
				// Hex digits in upper case, so that %2f and %2F compare equal.
				b = append(b, '%', upperHex(p[i+1]), upperHex(p[i+2]))
				i += 2
				continue
			}
			b = append(b, p[i])
		}
		p = string(b)
	}
	return removeDotSegments(p)
}

func upperHex(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// removeDotSegments is RFC 3986 section 5.2.4 for an absolute path.
func removeDotSegments(p string) string {
	if !strings.Contains(p, ".") {
		return p
	}
	var out []string
	segs := strings.Split(p, "/")
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return strings.Join(out, "/")
}

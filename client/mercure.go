package client

import (
	"net/http"
	"net/url"
	"strings"
)

// This file holds what differs between the two Mercure revisions a hub may
// speak, draft-07 (topic=, the "mercure" token claim) and draft-08
// (match=/match_urlpattern=, OAuth 2.0 access tokens): the subscription
// URL, the resume parameter and header, and the RFC 6750 error code.
// Publishing is one form in both; the token says which revision.

// Query parameters that carry the last event id when a header cannot:
// draft-07's and draft-08's.
const (
	LastEventIDParam07 = "lastEventID"
	LastEventIDParam08 = "last_event_id"
)

// SubscribeURL07 returns a draft-07 subscription URL for the hub: one
// topic parameter per selector (a topic, a URI template or "*").
func SubscribeURL07(hub string, selectors ...string) (string, error) {
	return withParams(hub, "topic", selectors)
}

// Matcher is a draft-08 topic matcher: Type "exact" (the default, when
// empty) or "urlpattern".
type Matcher struct {
	Type, Value string
}

// Exact returns the draft-08 matcher that selects topic byte for byte.
func Exact(topic string) Matcher { return Matcher{Type: "exact", Value: topic} }

// URLPattern returns the draft-08 matcher of a URL pattern (WHATWG URL
// Pattern syntax, e.g. https://example.com/books/:id).
func URLPattern(pattern string) Matcher { return Matcher{Type: "urlpattern", Value: pattern} }

// SubscribeURL08 returns a draft-08 subscription URL for the hub: match
// for exact matchers, match_<type> for the others. Values are encoded as
// URLSearchParams does, as draft-08 asks of clients.
func SubscribeURL08(hub string, matchers ...Matcher) (string, error) {
	u, err := url.Parse(hub)
	if err != nil {
		return "", err
	}
	q := u.RawQuery
	for _, m := range matchers {
		name := "match"
		if m.Type != "" && m.Type != "exact" {
			name = "match_" + m.Type
		}
		if q != "" {
			q += "&"
		}
		q += name + "=" + formEscape(m.Value)
	}
	u.RawQuery = q
	return u.String(), nil
}

func withParams(hub, name string, values []string) (string, error) {
	u, err := url.Parse(hub)
	if err != nil {
		return "", err
	}
	q := u.RawQuery
	for _, v := range values {
		if q != "" {
			q += "&"
		}
		q += name + "=" + formEscape(v)
	}
	u.RawQuery = q
	return u.String(), nil
}

// formEscape encodes v as application/x-www-form-urlencoded serialization
// does (URLSearchParams): only ASCII alphanumerics and *-._ stay as they
// are, a space is "+".
func formEscape(v string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '*', c == '-', c == '.', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// ResumedAfter returns the hub's answer to a resume: the id of the event
// preceding the first one sent, or "earliest" when the hub replayed from
// the start or did not hold the id asked for (draft-08's
// Mercure-Last-Event-ID header, draft-07's Last-Event-ID response header).
// ok is false when the response carries neither (no id was sent). A value
// other than the id sent means updates may have been lost.
func ResumedAfter(resp *http.Response) (id string, ok bool) {
	for _, name := range []string{"Mercure-Last-Event-Id", "Last-Event-Id"} {
		if v, found := resp.Header[name]; found && len(v) > 0 {
			return v[0], true
		}
	}
	return "", false
}

// OAuthError returns the error code of an RFC 6750 Bearer challenge
// (invalid_token, insufficient_scope, invalid_request), or "" when the
// response carried none.
func (e *StatusError) OAuthError() string {
	_, rest, ok := strings.Cut(e.Challenge, `error="`)
	if !ok {
		return ""
	}
	code, _, _ := strings.Cut(rest, `"`)
	return code
}

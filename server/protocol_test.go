package server_test

// The protocol suite: Mercure draft-07 and draft-08 checked from outside,
// over HTTP, against one hub that serves both drafts at once. Each row
// names the rule of the draft it checks.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/sse"
)

// TestDraft08Subscribe: a row per rule of draft-08 "Subscription" and
// "Matcher Types" about which updates a subscriber receives.
func TestDraft08Subscribe(t *testing.T) {
	e := newEnv(t, nil, withDraft08())
	cases := []struct {
		rule, query string
		topics      []string
		receives    bool
	}{
		{"match is exact", "match=https://example.com/a", []string{"https://example.com/a"}, true},
		{"match is byte for byte (case)", "match=https://example.com/A", []string{"https://example.com/a"}, false},
		{"match is byte for byte (no normalisation)", "match=https://example.com/%2561", []string{"https://example.com/a"}, false},
		{"match is not resolved against the hub", "match=a", []string{"https://hub.example/.well-known/a"}, false},
		{"match_exact is the explicit spelling", "match_exact=x", []string{"x"}, true},
		{"match * is every topic", "match=*", []string{"anything"}, true},
		{"match_urlpattern *  is every topic", "match_urlpattern=*", []string{"anything"}, true},
		{"match_urlpattern matches", "match_urlpattern=https://example.com/books/:id", []string{"https://example.com/books/1"}, true},
		{"match_urlpattern does not match", "match_urlpattern=https://example.com/books/:id", []string{"https://example.com/authors/1"}, false},
		{"match_urlpattern is case-sensitive outside the host", "match_urlpattern=https://example.com/Books/:id", []string{"https://example.com/books/1"}, false},
		{"match_urlpattern host is case-insensitive", "match_urlpattern=https://EXAMPLE.com/books/:id", []string{"https://example.com/books/1"}, true},
		{"a relative pattern resolves against the hub URL", "match_urlpattern=" + url.QueryEscape("/books/:id"), []string{"/books/1"}, true},
		{"the * wildcard matches even a topic that is no URL", "match_urlpattern=*", []string{"https://bad host/x"}, true},
		{"a topic that is no URL reference matches no pattern, even a catch-all one", "match_urlpattern=" + url.QueryEscape("*://*/*"), []string{"https://bad host/x"}, false},
		{"several matchers: any matching one", "match=x&match_urlpattern=https://e.com/:a", []string{"https://e.com/b"}, true},
		{"alternate topics route too", "match=alt", []string{"canonical", "alt"}, true},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			e.t = t
			// The second matcher receives the probe that marks the end.
			res, s := e.sub(req{query: c.query + "&match=end-probe"})
			if s == nil {
				t.Fatalf("status %d", res.StatusCode)
			}
			if c.receives {
				e.publish08(url.Values{"topic": c.topics, "data": {"hit"}})
			} else {
				e.publish08(url.Values{"topic": c.topics, "data": {"miss"}})
			}
			e.publish08(url.Values{"topic": {"end-probe"}, "data": {"end"}})
			want := "end"
			if c.receives {
				want = "hit"
			}
			if got := nextData(t, s); got != want {
				t.Fatalf("first event %q, want %q", got, want)
			}
		})
	}
}

// TestDraft08SubscribeRefusals: requests draft-08 says must get 400.
func TestDraft08SubscribeRefusals(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.MaxTopics = 4; c.MaxTemplateVariables = 48 }, withDraft08())
	long := strings.Repeat("a", 3000)
	cases := []struct{ rule, query string }{
		{"an unknown matcher type", "match_regex=a"},
		{"a name in the match namespace, any case", "Match=a"},
		{"the whole match prefix is reserved", "matches=a&match=b"},
		{"matcher type names are case-sensitive", "match_URLPattern=a"},
		{"match_ with no type", "match_=a"},
		{"a C0 control character", "match=a%01b"},
		{"DEL", "match=a%7Fb"},
		{"a C1 control character", "match=a%C2%85b"},
		{"a format character (U+200B)", "match=a%E2%80%8Bb"},
		{"invalid UTF-8", "match=a%FFb"},
		{"a malformed URL pattern", "match_urlpattern=https://e.com/(unclosed"},
		{"a matcher beyond the length limit", "match=" + long},
		{"more matchers than the limit", "match=a&match=b&match=c&match=d&match=e"},
		{"no matcher at all", "match_urlpattern="},
		{"an empty matcher", "match="},
		{"more URL patterns than the cost budget", "match_urlpattern=https://e.com/a/:x&match_urlpattern=https://e.com/b/:x&match_urlpattern=https://e.com/c/:x&match_urlpattern=https://e.com/d/:x"},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			res := e.do(req{query: c.query})
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", res.StatusCode)
			}
		})
	}
}

// TestDraft08QueryMethod: the QUERY method carries the parameters in a
// form body; the hub takes the union with the query, and the query's
// last_event_id wins over the body's.
func TestDraft08QueryMethod(t *testing.T) {
	e := newEnv(t, nil, withDraft08())
	first := e.publish08(url.Values{"topic": {"q1"}, "data": {"one"}})
	second := e.publish08(url.Values{"topic": {"q2"}, "data": {"two"}})
	e.publish08(url.Values{"topic": {"q2"}, "data": {"three"}})
	res, s := e.sub(req{method: "QUERY", query: "match=q1&last_event_id=" + url.QueryEscape(first), body: "match=q2&last_event_id=" + url.QueryEscape(second)})
	if s == nil {
		t.Fatalf("status %d", res.StatusCode)
	}
	if got := res.Header.Get("Mercure-Last-Event-ID"); got != first {
		t.Errorf("Mercure-Last-Event-ID %q, want the query's %q", got, first)
	}
	e.expectOnly(s, "two") // after first: two and three on q2 (body's matcher)
	e.expectOnly(s, "three")
	res = e.do(req{method: "QUERY", body: "match_bogus=a"})
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown matcher in the body: status %d, want 400", res.StatusCode)
	}
}

// TestDraft08Reconnection: a row per rule of draft-08 "Reconnection".
func TestDraft08Reconnection(t *testing.T) {
	e := newEnv(t, nil, withDraft08())
	ids := make([]string, 3)
	for i := range ids {
		ids[i] = e.publish08(url.Values{"topic": {"r"}, "data": {string(rune('a' + i))}})
	}
	cases := []struct {
		rule       string
		query      string
		header     http.Header
		want       []string
		wantHeader string
	}{
		{"last_event_id replays what follows", "match=r&last_event_id=" + url.QueryEscape(ids[0]), nil, []string{"b", "c"}, ids[0]},
		{"the Last-Event-ID header too", "match=r", http.Header{"Last-Event-ID": {ids[1]}}, []string{"c"}, ids[1]},
		{"the header wins over last_event_id", "match=r&last_event_id=" + url.QueryEscape(ids[0]), http.Header{"Last-Event-ID": {ids[1]}}, []string{"c"}, ids[1]},
		{"earliest replays everything kept", "match=r&last_event_id=earliest", nil, []string{"a", "b", "c"}, "earliest"},
		{"an unknown id replays nothing, header earliest", "match=r&last_event_id=unknown", nil, nil, "earliest"},
		{"no id: no header", "match=r", nil, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			e.t = t
			res, s := e.sub(req{query: c.query, header: c.header})
			if s == nil {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got := res.Header.Get("Mercure-Last-Event-ID"); got != c.wantHeader {
				t.Errorf("Mercure-Last-Event-ID %q, want %q", got, c.wantHeader)
			}
			if _, ok := res.Header["Last-Event-Id"]; ok {
				t.Error("a draft-08 response carries the draft-07 Last-Event-ID header")
			}
			for _, w := range c.want {
				e.expectOnly(s, w)
			}
			e.publish08(url.Values{"topic": {"r"}, "data": {"live"}})
			e.expectOnly(s, "live")
		})
	}
}

// TestDraft08Authorization: a row per rule of draft-08 "Authorization"
// about who receives private updates and how tokens are presented.
func TestDraft08Authorization(t *testing.T) {
	e := newEnv(t, nil, withDraft08())
	books1 := e.token08(time.Hour, detail("subscribe", "https://e.com/books/1"))
	users42 := e.token08(time.Hour, detail("subscribe", "urlpattern:https://e.com/users/42/*"))
	cookie := func(name, v string) http.Header { return http.Header{"Cookie": {name + "=" + v}} }
	cases := []struct {
		rule   string
		query  string
		header http.Header
		topics []string
		gets   bool
	}{
		{"anonymous gets no private update", "match=https://e.com/books/1", nil, []string{"https://e.com/books/1"}, false},
		{"a subscribe grant on the topic", "match=https://e.com/books/1", bearer(books1), []string{"https://e.com/books/1"}, true},
		{"routing never widens reading", "match_urlpattern=https://e.com/books/:id", bearer(books1), []string{"https://e.com/books/2"}, false},
		{"a grant on an alternate topic", "match_urlpattern=https://e.com/books/:id", bearer(users42), []string{"https://e.com/books/1", "https://e.com/users/42/books/1"}, true},
		{"a publish grant does not let one read", "match=p", bearer(e.token08(time.Hour, detail("publish", "*"))), []string{"p"}, false},
		{"an unknown action grants nothing", "match=p", bearer(e.token08(time.Hour, detail("read", "*"))), []string{"p"}, false},
		{"the draft-08 cookie", "match=https://e.com/books/1", cookie(server.AccessTokenCookie, books1), []string{"https://e.com/books/1"}, true},
		{"the header wins over the cookie", "match=https://e.com/books/1", http.Header{"Authorization": {"Bearer " + books1}, "Cookie": {server.AccessTokenCookie + "=garbage"}}, []string{"https://e.com/books/1"}, true},
		{"no query-parameter token", "match=https://e.com/books/1&authorization=" + books1 + "&access_token=" + books1, nil, []string{"https://e.com/books/1"}, false},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			e.t = t
			res, s := e.sub(req{query: c.query, header: c.header})
			if s == nil {
				t.Fatalf("status %d", res.StatusCode)
			}
			e.publish08(url.Values{"topic": c.topics, "data": {"secret"}, "private": {"on"}})
			e.publish08(url.Values{"topic": c.topics, "data": {"public"}})
			want := "public"
			if c.gets {
				want = "secret"
			}
			e.expectOnly(s, want)
		})
	}
}

// TestDraft08Errors: RFC 6750 errors, as draft-08 "Error Responses" says.
func TestDraft08Errors(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.AllowAnonymous = false }, withDraft08())
	expired := e.token08(-time.Minute, detail("subscribe", "*"))
	wrongKey, _ := auth.NewAccessSigner("another-secret-another-secret-another")
	forged, _ := wrongKey.Sign(auth.AccessToken{Issuer: pIssuer, Audience: pAudience}, time.Hour)
	cases := []struct {
		rule       string
		r          req
		status     int
		wantError  string // the challenge's error attribute; "" means none
		wantHeader bool
	}{
		{"no token where one is required: 401, no error code", req{query: "match=a"}, 401, "", true},
		{"an expired token: invalid_token", req{query: "match=a", header: bearer(expired)}, 401, "invalid_token", true},
		{"a bad signature: invalid_token", req{query: "match=a", header: bearer(forged)}, 401, "invalid_token", true},
		{"a draft-07 token: invalid_token", req{query: "match=a", header: bearer(e.token(auth.Claims{Subscribe: []string{"*"}}))}, 401, "invalid_token", true},
		{"a malformed Authorization header: 400 invalid_request", req{query: "match=a", header: http.Header{"Authorization": {"Bearer a b"}}}, 400, "invalid_request", true},
		{"publish without a token: 401", req{method: "POST", body: "topic=a"}, 401, "", true},
		{"publish with a subscribe-only token: 403 insufficient_scope", req{method: "POST", body: "topic=a", header: bearer(e.token08(time.Hour, detail("subscribe", "*")))}, 403, "insufficient_scope", true},
		{"publish to a topic not granted: 403", req{method: "POST", body: "topic=a&topic=b", header: bearer(e.token08(time.Hour, detail("publish", "a")))}, 403, "insufficient_scope", true},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			res := e.do(c.r)
			if res.StatusCode != c.status {
				b, _ := io.ReadAll(res.Body)
				t.Fatalf("status %d (%s), want %d", res.StatusCode, b, c.status)
			}
			ch := res.Header.Get("WWW-Authenticate")
			if c.wantHeader && !strings.HasPrefix(ch, "Bearer") {
				t.Fatalf("WWW-Authenticate %q, want a Bearer challenge", ch)
			}
			if c.wantHeader && !strings.Contains(ch, `resource_metadata="http`) {
				t.Errorf("WWW-Authenticate %q has no resource_metadata", ch)
			}
			hasErr := strings.Contains(ch, "error=")
			switch {
			case c.wantError == "" && hasErr:
				t.Errorf("WWW-Authenticate %q has an error code, want none", ch)
			case c.wantError != "" && !strings.Contains(ch, `error="`+c.wantError+`"`):
				t.Errorf("WWW-Authenticate %q, want error=%q", ch, c.wantError)
			}
		})
	}
}

// TestDraft08TokenExpiryClosesStream: the hub closes a subscription no
// later than its token's exp.
func TestDraft08TokenExpiryClosesStream(t *testing.T) {
	e := newEnv(t, nil, withDraft08())
	res, s := e.sub(req{query: "match=a", header: bearer(e.token08(2*time.Second, detail("subscribe", "*")))})
	if s == nil {
		t.Fatalf("status %d", res.StatusCode)
	}
	deadline := time.After(4 * time.Second)
	for {
		select {
		case _, ok := <-s.ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the stream outlived its token by 2s")
		}
	}
}

// TestDraft08ReplayRecheckedAgainstCurrentToken: a private update kept in
// the log is replayed only to a token that may read it now.
func TestDraft08ReplayRecheckedAgainstCurrentToken(t *testing.T) {
	e := newEnv(t, nil, withDraft08())
	e.publish08(url.Values{"topic": {"s/1"}, "data": {"private"}, "private": {"on"}})
	e.publish08(url.Values{"topic": {"s/1"}, "data": {"public"}})
	narrow := e.token08(time.Hour, detail("subscribe", "s/2"))
	_, s := e.sub(req{query: "match=s/1&last_event_id=earliest", header: bearer(narrow)})
	e.expectOnly(s, "public")
	wide := e.token08(time.Hour, detail("subscribe", "s/1"))
	_, s = e.sub(req{query: "match=s/1&last_event_id=earliest", header: bearer(wide)})
	e.expectOnly(s, "private")
	e.expectOnly(s, "public")
}

// TestDraft08Publish: a row per rule of draft-08 "Publication".
func TestDraft08Publish(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.MaxPublishBytes = 4096; c.MaxTopics = 4 }, withDraft08())
	tok := bearer(e.token08(time.Hour, detail("publish", "*")))
	cases := []struct {
		rule   string
		form   url.Values
		status int
	}{
		{"a plain update", url.Values{"topic": {"a"}, "data": {"x"}}, 200},
		{"no topic", url.Values{"data": {"x"}}, 400},
		{"the reserved namespace", url.Values{"topic": {"/.well-known/mercure/subscriptions/x"}}, 400},
		{"the hub path itself", url.Values{"topic": {"/.well-known/mercure"}}, 400},
		{"reserved with another scheme and host", url.Values{"topic": {"ftp://other.example/.well-known/mercure/x"}}, 400},
		{"reserved, percent-encoded unreserved", url.Values{"topic": {"/.well-known/%6Dercure/x"}}, 400},
		{"reserved, dot segments", url.Values{"topic": {"/.well-known/x/../mercure/y"}}, 400},
		{"reserved, relative", url.Values{"topic": {"mercure/x"}}, 400},
		{"reserved as an alternate topic", url.Values{"topic": {"a", "/.well-known/mercure/x"}}, 400},
		{"a sibling path is not reserved", url.Values{"topic": {"/.well-known/mercurex"}}, 200},
		{"the * topic", url.Values{"topic": {"*"}}, 400},
		{"a control character in a topic", url.Values{"topic": {"a\x01"}}, 400},
		{"id earliest", url.Values{"topic": {"a"}, "id": {"earliest"}}, 400},
		{"id starting with #", url.Values{"topic": {"a"}, "id": {"#1"}}, 400},
		{"id with a control character", url.Values{"topic": {"a"}, "id": {"a\x7f"}}, 400},
		{"id with a format character", url.Values{"topic": {"a"}, "id": {"a\u200bb"}}, 400},
		{"type mercure", url.Values{"topic": {"a"}, "type": {"mercure"}}, 400},
		{"type with a C1 character", url.Values{"topic": {"a"}, "type": {"a\u0085"}}, 400},
		{"retry with a sign", url.Values{"topic": {"a"}, "retry": {"+1"}}, 400},
		{"retry not digits", url.Values{"topic": {"a"}, "retry": {"1.5"}}, 400},
		{"retry digits", url.Values{"topic": {"a"}, "retry": {"1500"}}, 200},
		{"data not UTF-8", url.Values{"topic": {"a"}, "data": {"\xff"}}, 400},
		{"unknown fields are ignored", url.Values{"topic": {"a"}, "future": {"x"}}, 200},
		{"a body over the limit", url.Values{"topic": {"a"}, "data": {strings.Repeat("x", 5000)}}, 413},
		{"more topics than the limit", url.Values{"topic": {"a", "b", "c", "d", "e"}}, 413},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			e.t = t
			res, body := e.pub(tok, c.form)
			if res.StatusCode != c.status {
				t.Fatalf("status %d (%s), want %d", res.StatusCode, body, c.status)
			}
			if c.status == 200 {
				if ct := res.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				if body == "" {
					t.Error("no id in the body")
				}
			}
		})
	}
}

// TestDraft08PublishDispatch: what subscribers see of a publish.
func TestDraft08PublishDispatch(t *testing.T) {
	e := newEnv(t, nil, withDraft08())
	reader := bearer(e.token08(time.Hour, detail("subscribe", "*")))
	_, anon := e.sub(req{query: "match=d"})
	_, auth := e.sub(req{query: "match=d", header: reader})
	e.publish08(url.Values{"topic": {"d"}, "data": {"a\rb\r\nc\nd"}})
	for _, s := range []*stream{anon, auth} {
		if ev := s.next(t); ev.Data != "a\nb\nc\nd" {
			t.Errorf("data %q: CR, CRLF and LF each start a data line", ev.Data)
		}
	}
	// Private by presence, whatever the value.
	for _, v := range []string{"", "false", "off", "0"} {
		e.publish08(url.Values{"topic": {"d"}, "data": {"private=" + v}, "private": {v}})
	}
	e.publish08(url.Values{"topic": {"d"}, "data": {"public"}})
	e.expectOnly(anon, "public")
	for _, v := range []string{"", "false", "off", "0"} {
		e.expectOnly(auth, "private="+v)
	}
	// A publish with a custom id keeps it.
	id := e.publish08(url.Values{"topic": {"d"}, "id": {"urn:x:1"}})
	if id != "urn:x:1" {
		t.Errorf("id %q, want the publisher's", id)
	}
	if ev := anon.next(t); ev.ID != "urn:x:1" {
		t.Errorf("the event's id is %q", ev.ID)
	}
	// Refused updates are not dispatched, even for the topics allowed.
	res, _ := e.pub(bearer(e.token08(time.Hour, detail("publish", "d"))), url.Values{"topic": {"d", "e"}, "data": {"partial"}})
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d", res.StatusCode)
	}
	e.publish08(url.Values{"topic": {"d"}, "data": {"after"}})
	e.expectOnly(anon, "after")
}

// TestDraft07Rules: the draft-07 rules polysse once missed.
func TestDraft07Rules(t *testing.T) {
	e := newEnv(t, nil, withDraft08())
	all := e.token(auth.Claims{Publish: []string{"*"}, Subscribe: []string{"*"}})
	_, watcher := e.sub(req{query: "topic=*"})
	t.Run("a publish to the hub's namespace is refused, 403, and not dispatched", func(t *testing.T) {
		for _, tp := range []string{"/.well-known/mercure/subscriptions/x/y", "https://hub.example/.well-known/mercure/subscriptions", "/.well-known/%6dercure/x"} {
			res, body := e.pub(bearer(all), url.Values{"topic": {tp}, "data": {"forged"}})
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("%s: status %d (%s), want 403", tp, res.StatusCode, body)
			}
		}
		res, _ := e.pub(bearer(all), url.Values{"topic": {"ok"}, "data": {"ok"}})
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
		if got := nextData(t, watcher); got != "ok" {
			t.Fatalf("the watcher got %q first", got)
		}
	})
	t.Run("token precedence: header, then query, then cookie", func(t *testing.T) {
		good := e.token(auth.Claims{Subscribe: []string{"*"}})
		cases := []struct {
			name   string
			query  string
			header http.Header
			ok     bool
		}{
			{"header over query", "topic=a&authorization=garbage", bearer(good), true},
			{"query over cookie", "topic=a&authorization=" + good, http.Header{"Cookie": {auth.CookieName + "=garbage"}}, true},
			{"query over cookie (bad query)", "topic=a&authorization=garbage", http.Header{"Cookie": {auth.CookieName + "=" + good}}, false},
			{"cookie alone", "topic=a", http.Header{"Cookie": {auth.CookieName + "=" + good}}, true},
		}
		for _, c := range cases {
			res := e.do(req{query: c.query, header: c.header})
			if (res.StatusCode == 200) != c.ok {
				t.Errorf("%s: status %d", c.name, res.StatusCode)
			}
		}
	})
	t.Run("Last-Event-ID response header; unknown id replays nothing", func(t *testing.T) {
		id := e.publish08(url.Values{"topic": {"h"}, "data": {"kept"}})
		res, _ := e.sub(req{query: "topic=h", header: http.Header{"Last-Event-ID": {id}}})
		if got := res.Header.Get("Last-Event-ID"); got != id {
			t.Errorf("Last-Event-ID %q, want %q", got, id)
		}
		res, s := e.sub(req{query: "topic=h&lastEventID=nope"})
		if got := res.Header.Get("Last-Event-ID"); got != "earliest" {
			t.Errorf("Last-Event-ID %q, want earliest", got)
		}
		if ev := s.next(t); ev.Type != server.MissedEventType {
			t.Errorf("first event %+v, want the polysse-missed notice", ev)
		}
		e.publish08(url.Values{"topic": {"h"}, "data": {"live"}})
		if ev := s.next(t); ev.Data != "live" {
			t.Errorf("got %q, want the live update and no replay", ev.Data)
		}
	})
}

// TestBothDraftsOnOneHub: draft-07 and draft-08 subscribers and
// publishers on one running hub at the same time, each seeing the
// other's updates, private ones included.
func TestBothDraftsOnOneHub(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.AllowAnonymous = false }, withDraft08())
	_, s07 := e.sub(req{query: "topic=" + url.QueryEscape("https://e.com/books/{id}"), header: bearer(e.token(auth.Claims{Subscribe: []string{"https://e.com/books/{id}"}}))})
	_, s08 := e.sub(req{query: "match_urlpattern=" + url.QueryEscape("https://e.com/books/:id"), header: bearer(e.token08(time.Hour, detail("subscribe", "urlpattern:https://e.com/books/:id")))})
	if s07 == nil || s08 == nil {
		t.Fatal("a subscription was refused")
	}
	res, body := e.pub(bearer(e.token(auth.Claims{Publish: []string{"*"}})), url.Values{"topic": {"https://e.com/books/1"}, "data": {"from 07"}, "private": {"on"}})
	if res.StatusCode != 200 {
		t.Fatalf("draft-07 publish: %d %s", res.StatusCode, body)
	}
	res, body = e.pub(bearer(e.token08(time.Hour, detail("publish", "urlpattern:https://e.com/books/:id"))), url.Values{"topic": {"https://e.com/books/2"}, "data": {"from 08"}, "private": {""}})
	if res.StatusCode != 200 {
		t.Fatalf("draft-08 publish: %d %s", res.StatusCode, body)
	}
	for name, s := range map[string]*stream{"draft-07": s07, "draft-08": s08} {
		if a, b := nextData(t, s), nextData(t, s); a != "from 07" || b != "from 08" {
			t.Errorf("%s subscriber got %q, %q", name, a, b)
		}
	}
}

// TestProtectedResourceMetadata: RFC 9728 metadata at its well-known
// address, as draft-08 "Protected Resource Metadata" says.
func TestProtectedResourceMetadata(t *testing.T) {
	e := newEnv(t, nil, withDraft08())
	res := e.do(req{path: "/.well-known/oauth-protected-resource/.well-known/mercure"})
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc["resource"] != pAudience {
		t.Errorf("resource %v, want %q", doc["resource"], pAudience)
	}
	if b, _ := json.Marshal(doc["authorization_details_types_supported"]); string(b) != `["https://mercure.rocks/authorization-detail"]` {
		t.Errorf("authorization_details_types_supported %s", b)
	}
	if b, _ := json.Marshal(doc["bearer_methods_supported"]); string(b) != `["header"]` {
		t.Errorf("bearer_methods_supported %s", b)
	}
	if doc["mercure_cookie"] != server.AccessTokenCookie {
		t.Errorf("mercure_cookie %v", doc["mercure_cookie"])
	}
}

// subscriptionDoc is a subscription document of either draft.
type subscriptionDoc struct {
	Context    string          `json:"@context"`
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	MatchType  string          `json:"match_type"`
	Match      string          `json:"match"`
	Topic      string          `json:"topic"`
	Subscriber string          `json:"subscriber"`
	Active     bool            `json:"active"`
	Payload    json.RawMessage `json:"payload"`
}

// nextSubscriptionEvent returns the next subscription event on s that is
// about match (the watcher's own are skipped).
func nextSubscriptionEvent(t *testing.T, s *stream, match string) (sse.Event, subscriptionDoc) {
	t.Helper()
	for {
		ev := s.next(t)
		var d subscriptionDoc
		if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
			t.Fatalf("event %+v is no JSON document: %v", ev, err)
		}
		if d.Match == match || d.Topic == match {
			return ev, d
		}
	}
}

// TestDraft08ActiveSubscriptions: subscription events and the
// subscriptions API, draft-08 shapes, on one node.
func TestDraft08ActiveSubscriptions(t *testing.T) {
	// A hijacked stream notices its client left at a heartbeat.
	e := newEnv(t, func(c *server.Config) { c.Heartbeat = 50 * time.Millisecond }, withDraft08())
	const ns = "/.well-known/mercure/subscriptions"
	watcherTok := e.token08(time.Hour, detail("subscribe", "urlpattern:"+ns+"/*", ns))
	_, watcher := e.sub(req{query: "match_urlpattern=" + url.QueryEscape(ns+"/*"), header: bearer(watcherTok)})
	if watcher == nil {
		t.Fatal("watcher refused")
	}
	payload := auth.AuthorizationDetail{Actions: []string{"subscribe"}, Topics: []auth.TopicMatcher{{Match: "*", MatchType: "exact"}}, Payload: json.RawMessage(`{"tenant":"t1"}`)}
	ctx, cancel := context.WithCancel(context.Background())
	hr, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+hubPath+"?match="+url.QueryEscape("https://e.com/a b"), nil)
	hr.Header.Set("Authorization", "Bearer "+e.token08(time.Hour, payload))
	res, err := http.DefaultClient.Do(hr)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("subscribe: %v %v", err, res)
	}
	ev, d := nextSubscriptionEvent(t, watcher, "https://e.com/a b")
	if ev.Type != "mercure" {
		t.Errorf("event type %q, want mercure", ev.Type)
	}
	wantID := ns + "/exact/https%3A%2F%2Fe.com%2Fa%20b/" + expandForTest(d.Subscriber)
	if d.ID != wantID || d.Type != "subscription" || d.MatchType != "exact" || !d.Active || string(d.Payload) != `{"tenant":"t1"}` {
		t.Errorf("start document %+v, want id %s", d, wantID)
	}
	if !strings.HasPrefix(d.Subscriber, "urn:uuid:") {
		t.Errorf("subscriber %q is not a urn:uuid", d.Subscriber)
	}

	get := func(path string, h http.Header) (*http.Response, []byte) {
		res := e.do(req{path: path, header: h})
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	res2, body := get(ns, bearer(watcherTok))
	if res2.StatusCode != 200 || res2.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("collection: %d %s %s", res2.StatusCode, res2.Header.Get("Content-Type"), body)
	}
	if l := res2.Header.Get("Link"); !strings.Contains(l, `rel="mercure"`) || !strings.Contains(l, `last-event-id="`) {
		t.Errorf("Link %q lacks the cursor", l)
	}
	var coll struct {
		ID            string            `json:"id"`
		Type          string            `json:"type"`
		Subscriptions []subscriptionDoc `json:"subscriptions"`
	}
	if err := json.Unmarshal(body, &coll); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range coll.Subscriptions {
		found = found || s.ID == d.ID
	}
	if coll.ID != ns || coll.Type != "subscriptions" || !found {
		t.Errorf("collection %s lacks %s", body, d.ID)
	}
	if res, body := get(d.ID, bearer(watcherTok)); res.StatusCode != 200 || !strings.Contains(string(body), `"active":true`) {
		t.Errorf("single: %d %s", res.StatusCode, body)
	}
	perMatcher := ns + "/exact/https%3A%2F%2Fe.com%2Fa%20b"
	if res, body := get(perMatcher, bearer(watcherTok)); res.StatusCode != 200 || !strings.Contains(string(body), d.ID) {
		t.Errorf("per-matcher collection: %d %s", res.StatusCode, body)
	}
	if res, _ := get(ns+"/exact/nope/urn%3Auuid%3Ax", bearer(watcherTok)); res.StatusCode != 404 {
		t.Errorf("an unknown subscription: %d, want 404", res.StatusCode)
	}
	if res, _ := get(ns, nil); res.StatusCode != 401 {
		t.Errorf("no token: %d, want 401", res.StatusCode)
	}
	if res, _ := get(ns, bearer(e.token08(time.Hour, detail("subscribe", "other")))); res.StatusCode != 403 {
		t.Errorf("a token for another topic: %d, want 403", res.StatusCode)
	}
	cancel()
	res.Body.Close()
	_, d = nextSubscriptionEvent(t, watcher, "https://e.com/a b")
	if d.Active {
		t.Errorf("end document %+v, want active false", d)
	}
	if res, _ := get(d.ID, bearer(watcherTok)); res.StatusCode != 404 {
		t.Errorf("an ended subscription: %d, want 404", res.StatusCode)
	}
}

func expandForTest(s string) string {
	return strings.NewReplacer(":", "%3A", "/", "%2F").Replace(s)
}

// TestDraft07ActiveSubscriptions: the same in draft-07's JSON-LD shapes,
// on the same hub.
func TestDraft07ActiveSubscriptions(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.Heartbeat = 50 * time.Millisecond }, withDraft08())
	const tmpl = "/.well-known/mercure/subscriptions{/topic}{/subscriber}"
	watcherTok := e.token(auth.Claims{Subscribe: []string{tmpl}})
	_, watcher := e.sub(req{query: "topic=" + url.QueryEscape(tmpl), header: bearer(watcherTok)})
	ctx, cancel := context.WithCancel(context.Background())
	hr, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+hubPath+"?topic="+url.QueryEscape("https://e.com/{x}"), nil)
	res, err := http.DefaultClient.Do(hr)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("subscribe: %v %v", err, res)
	}
	ev, d := nextSubscriptionEvent(t, watcher, "https://e.com/{x}")
	if ev.Type != "message" || d.Type != "Subscription" || d.Context != "https://mercure.rocks/" || !d.Active ||
		d.ID != "/.well-known/mercure/subscriptions/https%3A%2F%2Fe.com%2F%7Bx%7D/"+expandForTest(d.Subscriber) {
		t.Errorf("start event %+v, document %+v", ev, d)
	}
	r := e.do(req{path: "/.well-known/mercure/subscriptions", header: bearer(watcherTok)})
	body, _ := io.ReadAll(r.Body)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/ld+json" || !strings.Contains(string(body), `"lastEventID"`) || !strings.Contains(string(body), d.ID) {
		t.Errorf("collection: %d %s %s", r.StatusCode, r.Header.Get("Content-Type"), body)
	}
	cancel()
	res.Body.Close()
	if _, d = nextSubscriptionEvent(t, watcher, "https://e.com/{x}"); d.Active {
		t.Errorf("end document %+v", d)
	}
}

// TestDraft08RelativeGrantsIgnoreTheHostHeader: a relative URL pattern in
// a token resolves against the hub's URL (here its resource identifier),
// not against a Host header the client chose, which would let it read
// another site's private topics.
func TestDraft08RelativeGrantsIgnoreTheHostHeader(t *testing.T) {
	e := newEnv(t, nil, withDraft08())
	tok := e.token08(time.Hour, detail("subscribe", "urlpattern:/private/:id"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hr, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+hubPath+"?match=*", nil)
	hr.Host = "victim.example"
	hr.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(hr)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("subscribe: %v %v", err, res)
	}
	s := newStream(res)
	e.publish08(url.Values{"topic": {"http://victim.example/private/1"}, "data": {"leak"}, "private": {"on"}})
	e.publish08(url.Values{"topic": {"https://hub.example/private/2"}, "data": {"granted"}, "private": {"on"}})
	e.expectOnly(s, "granted")
}

// TestDraft08CookiePublishNeedsAllowedOrigin: a draft-08 publish
// authorized by the access-token cookie is held to -publish-origins as the
// draft-07 cookie is (issue 15, item 2), so that a page on another site
// cannot publish as the user; the Authorization header is not.
func TestDraft08CookiePublishNeedsAllowedOrigin(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.PublishOrigins = []string{"https://app.example"} }, withDraft08())
	tok := e.token08(time.Hour, detail("publish", "*"))
	cookie := server.AccessTokenCookie + "=" + tok
	cases := []struct {
		name   string
		header http.Header
		want   int
	}{
		{"cookie, other origin", http.Header{"Cookie": {cookie}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"cookie, no origin", http.Header{"Cookie": {cookie}}, http.StatusForbidden},
		{"cookie, allowed origin", http.Header{"Cookie": {cookie}, "Origin": {"https://app.example"}}, http.StatusOK},
		{"header, other origin", http.Header{"Authorization": {"Bearer " + tok}, "Origin": {"https://evil.example"}}, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.header.Clone()
			h.Set("Content-Type", "application/x-www-form-urlencoded")
			res, body := e.pub(h, url.Values{"topic": {"https://example.com/t"}, "data": {"x"}})
			if res.StatusCode != c.want {
				t.Fatalf("%d %q, want %d", res.StatusCode, body, c.want)
			}
		})
	}
}

// TestDraft08PublishDuplicateIDConflicts: a draft-08 publish with an id
// the log holds is refused with 409 (issue 15, item 3), as a draft-07 one.
func TestDraft08PublishDuplicateIDConflicts(t *testing.T) {
	e := newEnv(t, nil, withDraft08())
	form := url.Values{"topic": {"https://example.com/b"}, "data": {"b1"}, "id": {"urn:uuid:00000000-0000-4000-8000-000000000001"}}
	e.publish08(form)
	res, body := e.pub(bearer(e.token08(time.Hour, detail("publish", "*"))), form)
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("second publish with the id: %d %q, want 409", res.StatusCode, body)
	}
}

package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/memstore"
	"github.com/polysse/polysse/sse"
)

// costlyTemplate is a valid selector with the most variables Validate
// allows, explode modifiers and the ";" operator: the costliest kind to
// compile and to match (issue 15, item 1).
func costlyTemplate(i int) string {
	var b strings.Builder
	b.WriteString("{;")
	for v := range 16 {
		if v > 0 {
			b.WriteByte(',')
		}
		b.WriteString("s" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + "v" + string(rune('a'+v)) + "*")
	}
	b.WriteString("}")
	return b.String()
}

// TestSubscribeAuthenticatesBeforeParsing: a hub that refuses anonymous
// subscribers answers 401 to a request without a token before it looks at
// its selectors, so that the costly ones cost an attacker's request
// nothing; an invalid one gets the same 401.
func TestSubscribeAuthenticatesBeforeParsing(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.AllowAnonymous = false })
	for name, sel := range map[string]string{"costly": costlyTemplate(0), "invalid": "{bad"} {
		s := e.subscribe(url.Values{"topic": {sel}}.Encode(), nil)
		if s.res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s selector without a token: %d, want 401", name, s.res.StatusCode)
		}
	}
}

// TestSubscribeCostBudget: a subscription whose templates add up to more
// than the per-request budget is refused with a 400 that says why, before
// any of them is compiled; one within it is served.
func TestSubscribeCostBudget(t *testing.T) {
	// A costly template has 16 exploded variables: 64 of the budget
	// (topic.Variables).
	e := newEnv(t, func(c *server.Config) { c.MaxTemplateVariables = 128 })
	within := url.Values{"topic": {costlyTemplate(0), costlyTemplate(1), "exact", "*"}}
	if s := e.subscribe(within.Encode(), nil); s.res.StatusCode != http.StatusOK {
		t.Fatalf("a budget of 128 spent: %d, want 200", s.res.StatusCode)
	}
	over := url.Values{"topic": {costlyTemplate(0), costlyTemplate(1), "{x}"}}
	res := e.open(over.Encode())
	body := readAll(t, res)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "template variables") {
		t.Fatalf("a budget of 128 exceeded: %d %q, want 400 naming the template budget", res.StatusCode, body)
	}
	long := url.Values{}
	for i := range 8 {
		long.Add("topic", "https://example.com/"+strings.Repeat("x", 1500)+"/{id"+string(rune('a'+i))+"}")
	}
	res = e.open(long.Encode())
	body = readAll(t, res)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "template bytes") {
		t.Fatalf("12 KB of templates: %d %q, want 400 naming the template budget", res.StatusCode, body)
	}
}

// readAll reads and closes a response body.
func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCookiePublishNeedsAllowedOrigin: a publish authorized by the
// mercureAuthorization cookie is refused unless its Origin (or, without
// one, its Referer) is in PublishOrigins (issue 15, item 2); one with the
// token in the Authorization header is served whatever its Origin.
func TestCookiePublishNeedsAllowedOrigin(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.PublishOrigins = []string{"https://app.example"} })
	tok := e.token(auth.Claims{Publish: []string{"*"}})
	cases := []struct {
		name   string
		header http.Header
		want   int
	}{
		{"cookie, no origin", http.Header{"Cookie": {"mercureAuthorization=" + tok}}, http.StatusForbidden},
		{"cookie, other origin", http.Header{"Cookie": {"mercureAuthorization=" + tok}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"cookie, null origin", http.Header{"Cookie": {"mercureAuthorization=" + tok}, "Origin": {"null"}}, http.StatusForbidden},
		{"cookie, other referer", http.Header{"Cookie": {"mercureAuthorization=" + tok}, "Referer": {"https://evil.example/page"}}, http.StatusForbidden},
		{"cookie, allowed origin", http.Header{"Cookie": {"mercureAuthorization=" + tok}, "Origin": {"https://app.example"}}, http.StatusOK},
		{"cookie, allowed referer", http.Header{"Cookie": {"mercureAuthorization=" + tok}, "Referer": {"https://app.example/admin"}}, http.StatusOK},
		{"header, other origin", http.Header{"Authorization": {"Bearer " + tok}, "Origin": {"https://evil.example"}}, http.StatusOK},
		{"header beside a cookie, other origin", http.Header{"Authorization": {"Bearer " + tok}, "Cookie": {"mercureAuthorization=" + tok}, "Origin": {"https://evil.example"}}, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, body := e.pub(c.header, url.Values{"topic": {"t"}, "data": {"x"}})
			if res.StatusCode != c.want {
				t.Fatalf("%d %q, want %d", res.StatusCode, body, c.want)
			}
			if c.want == http.StatusForbidden && !strings.Contains(body, "rigin") {
				t.Errorf("body %q does not say why", body)
			}
		})
	}
}

// TestPublishDuplicateIDConflicts: a publisher allowed only topic a cannot
// take the id of an update of topic b (issue 15, item 3): 409, and b's
// subscribers resuming from that id get what followed it.
func TestPublishDuplicateIDConflicts(t *testing.T) {
	e := newEnv(t, nil)
	code, bID := e.post(e.token(auth.Claims{Publish: []string{"b"}}), url.Values{"topic": {"b"}, "data": {"b1"}, "id": {"b-1"}})
	if code != http.StatusOK {
		t.Fatalf("publish: %d %s", code, bID)
	}
	code, body := e.post(e.token(auth.Claims{Publish: []string{"a"}}), url.Values{"topic": {"a"}, "data": {"a1"}, "id": {"b-1"}})
	if code != http.StatusConflict || !strings.Contains(body, "b-1") {
		t.Fatalf("publish with a kept id: %d %q, want 409 naming it", code, body)
	}
	e.publish("b2", "b")
	s := e.subscribe("topic=b", http.Header{"Last-Event-ID": {"b-1"}})
	if ev := s.next(t); ev.Data != "b2" {
		t.Fatalf("resume after b-1: %+v, want b2", ev)
	}
}

// TestPrivateByPresence: a private field makes an update private whatever
// its value (issue 15, item 7), as Mercure reads it.
func TestPrivateByPresence(t *testing.T) {
	for _, v := range []string{"on", "true", "off", "false", "0", "no", ""} {
		t.Run("private="+v, func(t *testing.T) {
			e := newEnv(t, nil)
			anon := e.subscribe("topic=s", nil)
			code, body := e.post(e.token(auth.Claims{Publish: []string{"*"}}), url.Values{"topic": {"s"}, "data": {"secret"}, "private": {v}})
			if code != http.StatusOK {
				t.Fatalf("publish: %d %s", code, body)
			}
			e.publish("public", "s")
			if ev := anon.next(t); ev.Data != "public" {
				t.Fatalf("anonymous subscriber got %+v, want only the public update", ev)
			}
		})
	}
}

// TestMissedEventIsJSON: the polysse-missed event's data is JSON that
// parses back to the id the client sent, whatever bytes it holds (issue
// 15, item 11).
func TestMissedEventIsJSON(t *testing.T) {
	e := newEnv(t, nil)
	e.publish("x", "t")
	for _, id := range []string{"plain", "\x01\x07\x1f", `quote" and \ backslash`, "\u2028\u2029", "\x7f", "é\t"} {
		s := e.subscribe(url.Values{"topic": {"t"}, "lastEventID": {id}}.Encode(), nil)
		ev := s.next(t)
		if ev.Type != server.MissedEventType {
			t.Fatalf("first event %+v, want %s", ev, server.MissedEventType)
		}
		var got struct {
			LastEventID *string `json:"lastEventId"`
		}
		if err := json.Unmarshal([]byte(ev.Data), &got); err != nil || got.LastEventID == nil || *got.LastEventID != id {
			t.Errorf("id %q: data %q does not parse back to it (%v)", id, ev.Data, err)
		}
	}
}

// TestCursorDoesNotLeakPrivateIDs: the id a stream starts with (alone, or
// after a replay) is never that of a private update the subscriber may not
// receive (issue 15, item 8); a subscriber authorized for it gets it.
func TestCursorDoesNotLeakPrivateIDs(t *testing.T) {
	e := newEnv(t, nil)
	pub := e.token(auth.Claims{Publish: []string{"*"}})
	post := func(f url.Values) {
		if code, body := e.post(pub, f); code != http.StatusOK {
			t.Fatalf("publish: %d %s", code, body)
		}
	}
	post(url.Values{"topic": {"p"}, "data": {"x"}, "id": {"public-1"}})
	post(url.Values{"topic": {"secret"}, "data": {"x"}, "id": {"secret-merger-plan"}, "private": {""}})
	cursor := func(query string, header http.Header) string {
		s := e.subscribe(query+"&_probe=1", header)
		for {
			ev := s.next(t)
			if ev.Type == server.ProbeEventType {
				return ev.ID
			}
		}
	}
	authorized := http.Header{"Authorization": {"Bearer " + e.token(auth.Claims{Subscribe: []string{"secret"}})}}
	for _, c := range []struct {
		name, query string
		header      http.Header
		want        string
	}{
		{"fresh, anonymous", "topic=*", nil, "public-1"},
		{"fresh, other claims", "topic=p", http.Header{"Authorization": {"Bearer " + e.token(auth.Claims{Subscribe: []string{"other"}})}}, "public-1"},
		{"fresh, authorized", "topic=p", authorized, "secret-merger-plan"},
		// Nothing it may know of after public-1: no id line, the client
		// keeps the one it sent (which this reader does not know of).
		{"after a replay, anonymous", "topic=p&lastEventID=public-1", nil, ""},
		{"after a replay, authorized", "topic=p&lastEventID=public-1", authorized, "secret-merger-plan"},
	} {
		if got := cursor(c.query, c.header); got != c.want {
			t.Errorf("%s: cursor %q, want %q", c.name, got, c.want)
		}
	}
}

// TestNothingDeliveredAfterTokenExpiry: on every path, an update published
// once the subscriber's token has expired never reaches it (issue 15, item
// 9: hijacked HTTP/1.1 streams delivered for up to 139 ms after exp).
// Each update's data is the time its publish started; the stream must
// carry none that started at or after exp.
func TestNothingDeliveredAfterTokenExpiry(t *testing.T) {
	for _, path := range []string{"hijacked", "handler", "http2"} {
		t.Run(path, func(t *testing.T) {
			e := newEnv(t, func(c *server.Config) { c.Heartbeat = 5 * time.Second }, onPath(path))
			tok, err := e.sig.Sign(auth.Claims{Subscribe: []string{"p"}}, 1500*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := auth.NewVerifier(secret)
			c, err := v.Verify(tok)
			if err != nil {
				t.Fatal(err)
			}
			exp := c.Expires
			s := e.subscribe("topic=p", http.Header{"Authorization": {"Bearer " + tok}})
			if s.res.StatusCode != http.StatusOK {
				t.Fatalf("subscribe: %d", s.res.StatusCode)
			}
			pubTok := e.token(auth.Claims{Publish: []string{"*"}})
			for time.Now().Before(exp.Add(300 * time.Millisecond)) {
				started := time.Now()
				code, body := e.post(pubTok, url.Values{"topic": {"p"}, "private": {""}, "data": {strconv.FormatInt(started.UnixNano(), 10)}})
				if code != http.StatusOK {
					t.Fatalf("publish: %d %s", code, body)
				}
				time.Sleep(3 * time.Millisecond)
			}
			got := 0
			for {
				select {
				case ev, ok := <-s.ch:
					if !ok {
						if got == 0 {
							t.Fatal("no update before exp was delivered: the test proves nothing")
						}
						return
					}
					ns, _ := strconv.ParseInt(ev.Data, 10, 64)
					if started := time.Unix(0, ns); !started.Before(exp) {
						t.Fatalf("an update published %v after exp was delivered", started.Sub(exp))
					}
					got++
				case <-time.After(5 * time.Second):
					t.Fatal("the stream did not end after exp")
				}
			}
		})
	}
}

// fromAddr returns a client whose connections come from the loopback
// address ip, so that a test can be several clients.
func fromAddr(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// TestPerClientSubscriptionLimit: one client, a remote address or a token
// subject, holds at most MaxSubscribersPerClient streams and is answered
// 429 beyond, while other clients still get in (issue 15, item 6); the
// streams a status page holds with HoldStream count against the same
// limits and the hub's cap.
func TestPerClientSubscriptionLimit(t *testing.T) {
	e := newEnv(t, func(c *server.Config) {
		c.MaxSubscribers = 5
		c.MaxSubscribersPerClient = 2
		c.AllowAnonymous = true
	})
	var held []func()
	t.Cleanup(func() {
		for _, r := range held {
			r()
		}
	})
	status := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if release, ok := e.hub.HoldStream(w, r); ok {
			held = append(held, release)
		}
	}))
	defer status.Close()
	tok := func(sub string) string { return e.token(auth.Claims{Subject: sub, Subscribe: []string{"t"}}) }
	get := func(ip, url, token string) int {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := fromAddr(ip).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		if res.StatusCode != http.StatusOK && res.Header.Get("Retry-After") == "" {
			t.Errorf("%d without Retry-After", res.StatusCode)
		}
		return res.StatusCode
	}
	sub := e.srv.URL + "?topic=t"
	steps := []struct {
		name, ip, url, token string
		want                 int
	}{
		{"address A, 1", "127.0.0.1", sub, "", 200},
		{"address A, 2", "127.0.0.1", sub, "", 200},
		{"address A, 3", "127.0.0.1", sub, "", http.StatusTooManyRequests},
		{"address A, status stream", "127.0.0.1", status.URL, "", http.StatusTooManyRequests},
		{"alice from B", "127.0.0.2", sub, tok("alice"), 200},
		{"alice from C", "127.0.0.3", sub, tok("alice"), 200},
		{"alice from D, her third", "127.0.0.4", sub, tok("alice"), http.StatusTooManyRequests},
		{"status stream from D", "127.0.0.4", status.URL, "", 200},
		{"bob from D, the hub full", "127.0.0.4", sub, tok("bob"), http.StatusServiceUnavailable},
	}
	for _, s := range steps {
		if got := get(s.ip, s.url, s.token); got != s.want {
			t.Fatalf("%s: %d, want %d", s.name, got, s.want)
		}
	}
}

// TestSubscriberCapFromFileLimit: the default cap leaves room under the
// process's open-file limit for everything that is not a stream.
func TestSubscriberCapFromFileLimit(t *testing.T) {
	for _, c := range []struct {
		limit uint64
		want  int
	}{
		{0, server.DefaultMaxSubscribers},
		{1024, 1024 - 102},
		{20_000, 18_000},
		{100, 36},
		{70, 16},
		{1 << 40, server.DefaultMaxSubscribers},
	} {
		if got := server.CapFromFileLimit(c.limit); got != c.want {
			t.Errorf("cap for an open-file limit of %d: %d, want %d", c.limit, got, c.want)
		}
	}
}

// TestCursorAfterRestartDoesNotLeakPrivateIDs: a hub started on a log
// whose newest update is private reads it whole (store.LastUpdater), so
// that its first cursor does not name it to subscribers who may not see it.
func TestCursorAfterRestartDoesNotLeakPrivateIDs(t *testing.T) {
	log := memstore.New(store.Bounds{})
	if err := log.Append(t.Context(), &store.Update{Topics: []string{"secret"}, Private: true, Event: sse.Event{ID: "secret-merger-plan", Data: "x"}}); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *server.Config) { c.Log = log })
	cursor := func(header http.Header) string {
		s := e.subscribe("topic=*&_probe=1", header)
		for {
			if ev := s.next(t); ev.Type == server.ProbeEventType {
				return ev.ID
			}
		}
	}
	if got := cursor(nil); got != "" {
		t.Errorf("anonymous subscriber's cursor after a restart: %q, want none", got)
	}
	if got := cursor(http.Header{"Authorization": {"Bearer " + e.token(auth.Claims{Subscribe: []string{"secret"}})}}); got != "secret-merger-plan" {
		t.Errorf("authorized subscriber's cursor after a restart: %q, want the private id", got)
	}
}

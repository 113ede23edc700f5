package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/server/auth"
)

func TestTopicsPerSubscriptionLimit(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.MaxTopics = 3 })
	cases := []struct {
		n    int
		want int
	}{{3, 200}, {4, 400}}
	for _, c := range cases {
		q := url.Values{}
		for i := range c.n {
			q.Add("topic", "t"+string(rune('a'+i)))
		}
		s := e.subscribe(q.Encode(), nil)
		if s.res.StatusCode != c.want {
			t.Errorf("%d topics: %d, want %d", c.n, s.res.StatusCode, c.want)
		}
	}
}

// TestCORS: a listed origin gets a grant with credentials, the wildcard
// a grant without them, any other origin none, on preflights and streams.
func TestCORS(t *testing.T) {
	cases := []struct {
		name                          string
		allowed                       []string
		method                        string
		origin, wantOrigin, wantCreds string
	}{
		{"listed, preflight", []string{"https://app.example"}, http.MethodOptions, "https://app.example", "https://app.example", "true"},
		{"unlisted, preflight", []string{"https://app.example"}, http.MethodOptions, "https://evil.example", "", ""},
		{"unlisted, stream", []string{"https://app.example"}, http.MethodGet, "https://evil.example", "", ""},
		{"listed beside the wildcard, stream", []string{"https://app.example", "*"}, http.MethodGet, "https://app.example", "https://app.example", "true"},
		{"wildcard, stream", []string{"https://app.example", "*"}, http.MethodGet, "https://other.example", "*", ""},
		{"wildcard, preflight", []string{"https://app.example", "*"}, http.MethodOptions, "https://other.example", "*", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(cfg *server.Config) { cfg.CORSOrigins = c.allowed })
			req, _ := http.NewRequest(c.method, e.srv.URL+"?topic=t", nil)
			req.Header.Set("Origin", c.origin)
			if c.method == http.MethodOptions {
				req.Header.Set("Access-Control-Request-Method", "GET")
			}
			res, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != c.wantOrigin {
				t.Errorf("allow-origin %q, want %q", got, c.wantOrigin)
			}
			if got := res.Header.Get("Access-Control-Allow-Credentials"); got != c.wantCreds {
				t.Errorf("allow-credentials %q, want %q", got, c.wantCreds)
			}
		})
	}
}

func TestTokenNegatives(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.AllowAnonymous = false })
	expired, _ := e.sig.Sign(auth.Claims{Publish: []string{"*"}, Subscribe: []string{"*"}}, -time.Minute)
	notYet, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"nbf":     jwt.NewNumericDate(time.Now().Add(time.Hour)),
		"mercure": map[string]any{"publish": []string{"*"}, "subscribe": []string{"*"}},
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	// alg none: a header and claims with an empty signature.
	none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJtZXJjdXJlIjp7InB1Ymxpc2giOlsiKiJdLCJzdWJzY3JpYmUiOlsiKiJdfX0."
	cases := []struct{ name, token string }{
		{"expired", expired},
		{"not yet valid", notYet},
		{"alg none", none},
		{"garbage", "not.a.token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := e.post(c.token, url.Values{"topic": {"t"}, "data": {"x"}})
			if code != http.StatusUnauthorized || strings.TrimSpace(body) == "" {
				t.Errorf("publish: %d %q, want 401 with a reason", code, body)
			}
			s := e.subscribe("topic=t", http.Header{"Authorization": {"Bearer " + c.token}})
			if s.res.StatusCode != http.StatusUnauthorized {
				t.Errorf("subscribe: %d, want 401", s.res.StatusCode)
			}
		})
	}
}

func TestMaxSubscribers(t *testing.T) {
	for _, hijack := range []bool{true, false} {
		t.Run(map[bool]string{true: "hijacked", false: "handler"}[hijack], func(t *testing.T) {
			e := newEnv(t, func(c *server.Config) {
				c.MaxSubscribers = 2
				c.DisableHijack = !hijack
				// A hijacked stream's closing is noticed at its next
				// heartbeat: nothing reads the connection in between.
				c.Heartbeat = 50 * time.Millisecond
			})
			a := e.subscribe("topic=t", nil)
			b := e.subscribe("topic=t", nil)
			c := e.subscribe("topic=t", nil)
			if a.res.StatusCode != 200 || b.res.StatusCode != 200 {
				t.Fatalf("first two: %d %d", a.res.StatusCode, b.res.StatusCode)
			}
			if c.res.StatusCode != http.StatusServiceUnavailable || c.res.Header.Get("Retry-After") == "" {
				t.Fatalf("third: %d, Retry-After %q; want 503 with Retry-After", c.res.StatusCode, c.res.Header.Get("Retry-After"))
			}
			// A place frees when a stream ends.
			a.res.Body.Close()
			deadline := time.Now().Add(5 * time.Second)
			for e.hub.Subscribers() > 1 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if d := e.subscribe("topic=t", nil); d.res.StatusCode != 200 {
				t.Fatalf("after one ended: %d", d.res.StatusCode)
			}
		})
	}
}

func TestProbeEvent(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range []struct {
		query string
		want  bool
	}{
		{"topic=t&_probe=1", true},
		{"topic=t", false},
		{"topic=t&_probe=1&transport=poll", false}, // a poll ends anyway: no probe needed
	} {
		s := e.subscribe(c.query, nil)
		// The probe, when sent, comes before any update.
		id := e.publish("after", "t")
		ev := s.next(t)
		if got := ev.Type == server.ProbeEventType; got != c.want {
			t.Errorf("%s: probe sent = %v, want %v (first event %+v)", c.query, got, c.want, ev)
		}
		if !c.want {
			if ev.ID != id {
				t.Errorf("%s: first event %+v, want the update %s", c.query, ev, id)
			}
			continue
		}
		// After the cursor: the probe's lastEventId is what a restarted
		// stream resumes from.
		if ev.ID == "" {
			t.Errorf("%s: the probe comes before the cursor: %+v", c.query, ev)
		}
		if ev := s.next(t); ev.ID != id {
			t.Errorf("%s: after the probe %+v, want the update %s", c.query, ev, id)
		}
	}
}

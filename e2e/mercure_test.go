package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/polysse/polysse/client"
	"github.com/polysse/polysse/sse"
)

// TestBinaryServesBothDrafts runs bin/polysse configured for Mercure
// draft-07 and draft-08 at once, mints a draft-08 token with `polysse
// token`, and has a draft-07 and a draft-08 subscriber and a draft-07 and
// a draft-08 publisher work against it at the same time; then reads the
// subscriptions API and the protected resource metadata through the
// binary's routes.
func TestBinaryServesBothDrafts(t *testing.T) {
	const (
		issuer = "https://issuer.example"
		secret = "e2e-draft-08-secret-e2e-draft-08-secret"
	)
	// The audience is the hub's URL, which is known once it runs: the hub
	// is told it by -jwt-audience, so it takes a fixed, made-up one.
	const audience = "https://hub.example/.well-known/mercure"
	hub := StartHub(t, "-jwt-issuer", issuer, "-jwt-issuer-key", secret, "-jwt-audience", audience, "-subscriptions", "-heartbeat", "200ms")
	mint := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(HubBinary(t), append([]string{"token", "-jwt-issuer", issuer, "-jwt-issuer-key", secret, "-jwt-audience", audience}, args...)...).Output()
		if err != nil {
			t.Fatalf("polysse token: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	pub08 := mint("-publish", "urlpattern:https://example.com/books/:id")
	sub08 := mint("-subscribe", "urlpattern:https://example.com/books/:id", "-subscribe", "urlpattern:/.well-known/mercure/subscriptions/*", "-subscribe", "/.well-known/mercure/subscriptions")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	u07, _ := client.SubscribeURL07(hub.URL+"/.well-known/mercure", "https://example.com/books/{id}")
	u08, _ := client.SubscribeURL08(hub.URL+"/.well-known/mercure", client.URLPattern("https://example.com/books/:id"))
	opened := make(chan struct{}, 2)
	c07 := &client.Client{OnOpen: func(*http.Response) { opened <- struct{}{} }}
	c08 := &client.Client{OnOpen: func(*http.Response) { opened <- struct{}{} }, Header: func(context.Context) (http.Header, error) {
		return http.Header{"Authorization": {"Bearer " + sub08}}, nil
	}}
	events := func(st *client.Stream) <-chan sse.Event {
		ch := make(chan sse.Event, 16)
		go func() {
			defer close(ch)
			for {
				ev, err := st.Next()
				if err != nil {
					return
				}
				ch <- ev
			}
		}()
		return ch
	}
	st07, st08 := c07.Open(ctx, u07, ""), c08.Open(ctx, u08, "")
	defer st07.Close()
	defer st08.Close()
	ev07, ev08 := events(st07), events(st08)
	for range 2 {
		select {
		case <-opened:
		case <-ctx.Done():
			t.Fatal("the subscriptions did not open")
		}
	}

	if _, err := client.Publish(ctx, nil, hub.URL+"/.well-known/mercure", PublisherJWT(hub.Key), client.Update{Topics: []string{"https://example.com/books/1"}, Data: "draft-07 publisher"}); err != nil {
		t.Fatalf("draft-07 publish: %v", err)
	}
	if _, err := client.Publish(ctx, nil, hub.URL+"/.well-known/mercure", pub08, client.Update{Topics: []string{"https://example.com/books/2"}, Data: "draft-08 publisher"}); err != nil {
		t.Fatalf("draft-08 publish: %v", err)
	}
	if _, err := client.Publish(ctx, nil, hub.URL+"/.well-known/mercure", pub08, client.Update{Topics: []string{"https://example.com/books/3"}, Data: "private", Private: true}); err != nil {
		t.Fatalf("draft-08 private publish: %v", err)
	}
	next := func(name string, ch <-chan sse.Event) string {
		t.Helper()
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					t.Fatalf("%s: stream ended", name)
				}
				if ev.Type == "mercure" {
					continue // subscription events
				}
				return ev.Data
			case <-ctx.Done():
				t.Fatalf("%s: no event", name)
			}
		}
	}
	for _, want := range []string{"draft-07 publisher", "draft-08 publisher"} {
		if got := next("draft-07 subscriber", ev07); got != want {
			t.Errorf("draft-07 subscriber got %q, want %q", got, want)
		}
	}
	for _, want := range []string{"draft-07 publisher", "draft-08 publisher", "private"} {
		if got := next("draft-08 subscriber", ev08); got != want {
			t.Errorf("draft-08 subscriber got %q, want %q", got, want)
		}
	}

	get := func(path, tok string) (*http.Response, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, hub.URL+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, body := get("/.well-known/mercure/subscriptions", sub08)
	if res.StatusCode != 200 || !strings.Contains(body, `"match":"https://example.com/books/:id"`) || !strings.Contains(res.Header.Get("Link"), "last-event-id=") {
		t.Errorf("subscriptions API: %d %s %s", res.StatusCode, res.Header.Get("Link"), body)
	}
	var sub struct{ ID string }
	var coll struct{ Subscriptions []struct{ ID, Match string } }
	_ = json.Unmarshal([]byte(body), &coll)
	for _, s := range coll.Subscriptions {
		if s.Match == "https://example.com/books/:id" {
			sub.ID = s.ID
		}
	}
	if res, body := get(sub.ID, sub08); sub.ID == "" || res.StatusCode != 200 {
		t.Errorf("one subscription (%s) through the binary's routes: %d %s", sub.ID, res.StatusCode, body)
	}
	res, body = get("/.well-known/oauth-protected-resource/.well-known/mercure", "")
	if res.StatusCode != 200 || !strings.Contains(body, `"resource":"`+audience+`"`) {
		t.Errorf("metadata: %d %s", res.StatusCode, body)
	}
}

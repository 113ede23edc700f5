package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/polysse/polysse/client"
	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/server/auth"
)

// TestBothDrafts: the client subscribes and publishes in draft-07 and in
// draft-08 to one hub at the same time.
func TestBothDrafts(t *testing.T) {
	const (
		secret07 = "client-draft-07-secret"
		secret08 = "client-draft-08-secret-client-draft-08"
		iss      = "https://issuer.example"
		aud      = "https://hub.example/.well-known/mercure"
	)
	v07, _ := auth.NewVerifier(secret07)
	keys, _ := auth.NewKeySource(secret08, auth.JWKSOptions{})
	v08, err := auth.NewAccessVerifier(auth.AccessOptions{Audience: aud, Issuers: []auth.AccessIssuer{{ID: iss, Keys: keys}}, CheckMatcher: server.CheckAccessMatcher})
	if err != nil {
		t.Fatal(err)
	}
	hub, err := server.New(context.Background(), server.Config{PublisherKey: v07, SubscriberKey: v07, AccessTokens: v08, AllowAnonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	srv := httptest.NewServer(hub)
	defer srv.Close()
	s07, _ := auth.NewSigner(secret07)
	tok07, _ := s07.Sign(auth.Claims{Publish: []string{"*"}}, time.Hour)
	s08, _ := auth.NewAccessSigner(secret08)
	tok08, _ := s08.Sign(auth.AccessToken{Issuer: iss, Audience: aud, Details: []auth.AuthorizationDetail{{Actions: []string{"publish"}, Topics: []auth.TopicMatcher{{Match: "https://e.com/books/:id", MatchType: "urlpattern"}}}}}, time.Hour)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u07, err := client.SubscribeURL07(srv.URL, "https://e.com/books/{id}")
	if err != nil {
		t.Fatal(err)
	}
	u08, err := client.SubscribeURL08(srv.URL, client.URLPattern("https://e.com/books/:id"), client.Exact("a b&c"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var resumed []string
	opened := make(chan struct{}, 2)
	c := &client.Client{OnOpen: func(resp *http.Response) {
		if id, ok := client.ResumedAfter(resp); ok {
			mu.Lock()
			resumed = append(resumed, id)
			mu.Unlock()
		}
		opened <- struct{}{}
	}}
	st07 := c.Open(ctx, u07, "")
	defer st07.Close()
	st08 := c.Open(ctx, u08, "unknown-id")
	defer st08.Close()
	events := func(st *client.Stream) chan string {
		ch := make(chan string, 16)
		go func() {
			defer close(ch)
			for {
				ev, err := st.Next()
				if err != nil {
					return
				}
				if ev.Type != server.MissedEventType {
					ch <- ev.Data
				}
			}
		}()
		return ch
	}
	ev07, ev08 := events(st07), events(st08)
	<-opened
	<-opened
	if _, err := client.Publish(ctx, nil, srv.URL, tok07, client.Update{Topics: []string{"https://e.com/books/1"}, Data: "from 07"}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Publish(ctx, nil, srv.URL, tok08, client.Update{Topics: []string{"https://e.com/books/2"}, Data: "from 08", Private: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Publish(ctx, nil, srv.URL, tok08, client.Update{Topics: []string{"a b&c"}, Data: "exact"}); err == nil {
		t.Error("a publish outside the token's grants went through")
	} else if se := (*client.StatusError)(nil); !errors.As(err, &se) || se.OAuthError() != "insufficient_scope" {
		t.Errorf("error %v, want insufficient_scope", err)
	}
	next := func(ch chan string) string {
		select {
		case d := <-ch:
			return d
		case <-ctx.Done():
			t.Fatal("no event")
		}
		return ""
	}
	// The private update goes to no anonymous subscriber.
	if got := next(ev07); got != "from 07" {
		t.Errorf("draft-07 stream got %q", got)
	}
	if got := next(ev08); got != "from 07" {
		t.Errorf("draft-08 stream got %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(resumed) != 1 || resumed[0] != "earliest" {
		t.Errorf("resume headers %v, want [earliest] for the unknown id", resumed)
	}
}

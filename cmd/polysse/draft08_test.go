package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/server/auth"
)

// TestDraft08TokenAgainstTheServeFlags mints a draft-08 access token with
// polysse token and publishes with it to a hub configured by the serve
// flags, next to a draft-07 key.
func TestDraft08TokenAgainstTheServeFlags(t *testing.T) {
	const (
		issuer   = "https://issuer.example"
		secret   = "cli-test-secret-cli-test-secret-cli-test"
		audience = "https://hub.example/.well-known/mercure"
	)
	o, err := parseOptions([]string{"-jwt-issuer", issuer, "-jwt-issuer-key", secret, "-jwt-audience", audience, "-publisher-jwt-key", "draft-07-key"}, noEnv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := accessVerifier(o)
	if err != nil {
		t.Fatal(err)
	}
	v07, _ := auth.NewVerifier(o.publisherKey)
	hub, err := server.New(context.Background(), server.Config{AccessTokens: v, PublisherKey: v07, AllowAnonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	srv := httptest.NewServer(hub)
	defer srv.Close()

	var out, errOut bytes.Buffer
	args := []string{"token", "-jwt-issuer", issuer, "-jwt-issuer-key", secret, "-jwt-audience", audience, "-publish", "urlpattern:https://e.com/books/:id", "-subscribe", "https://e.com/x", "-payload", `{"a":1}`}
	if err := dispatch(context.Background(), args, noEnv, &out, &errOut); err != nil {
		t.Fatalf("token: %v %s", err, errOut.String())
	}
	tok := strings.TrimSpace(out.String())
	c, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("the minted token does not verify: %v", err)
	}
	if len(c.Details) != 2 || string(c.Details[1].Payload) != `{"a":1}` || c.Details[0].Topics[0].MatchType != "urlpattern" {
		t.Errorf("details %+v", c.Details)
	}
	for topic, want := range map[string]int{"https://e.com/books/1": 200, "https://e.com/authors/1": 403} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(url.Values{"topic": {topic}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("publish to %s: %d, want %d", topic, res.StatusCode, want)
		}
	}
	for _, bad := range [][]string{
		{"token", "-jwt-issuer", issuer, "-jwt-issuer-key", secret, "-publish", "a"},                                        // no audience
		{"token", "-jwt-issuer", issuer, "-jwt-issuer-key", "short", "-jwt-audience", audience, "-publish", "a"},            // weak secret
		{"token", "-jwt-issuer", issuer, "-jwt-issuer-key", secret, "-jwt-audience", audience, "-publish", "urlpattern:(("}, // bad pattern
		{"token", "-jwt-issuer", issuer, "-jwt-issuer-key", secret, "-jwt-audience", audience, "-subscribe", "a", "-payload", "[1]"},
	} {
		if err := dispatch(context.Background(), bad, noEnv, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("%v: minted", bad)
		}
	}
	if _, err := parseOptions([]string{"-jwt-issuer", issuer}, noEnv, &bytes.Buffer{}); err == nil {
		t.Error("-jwt-issuer without a key was accepted")
	}
}

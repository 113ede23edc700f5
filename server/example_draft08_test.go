package server_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/sse"
)

// A hub that serves Mercure draft-08 clients (OAuth 2.0 access tokens,
// match and match_urlpattern) beside draft-07 ones: it trusts one issuer,
// knows its resource identifier, and mounts the protected resource
// metadata at its well-known address.
func Example_draft08() {
	const (
		issuer   = "https://example.com"
		audience = "https://hub.example.com/.well-known/mercure"
		secret   = "an HS256 secret of at least 32 bytes!"
	)
	keys, err := auth.NewKeySource(secret, auth.JWKSOptions{}) // or a PEM, or a JWK Set file or URL
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := auth.NewAccessVerifier(auth.AccessOptions{
		Audience:     audience,
		Issuers:      []auth.AccessIssuer{{ID: issuer, Keys: keys}},
		CheckMatcher: server.CheckAccessMatcher,
	})
	if err != nil {
		log.Fatal(err)
	}
	hub, err := server.New(context.Background(), server.Config{AccessTokens: tokens, AllowAnonymous: true})
	if err != nil {
		log.Fatal(err)
	}
	defer hub.Close()
	mux := http.NewServeMux()
	mux.Handle("/.well-known/mercure", hub)
	mux.HandleFunc(server.MetadataPathFor("/.well-known/mercure"), hub.ServeMetadata)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// A publisher's token: publish on every book.
	signer, _ := auth.NewAccessSigner(secret)
	tok, _ := signer.Sign(auth.AccessToken{Issuer: issuer, Audience: audience, Details: []auth.AuthorizationDetail{{
		Actions: []string{auth.ActionPublish},
		Topics:  []auth.TopicMatcher{{Match: "https://example.com/books/:id", MatchType: "urlpattern"}},
	}}}, time.Hour)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/.well-known/mercure", strings.NewReader(url.Values{
		"topic": {"https://example.com/books/1"}, "data": {"Dune is back in stock"},
	}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	res.Body.Close()
	fmt.Println("publish:", res.Status, res.Header.Get("Content-Type"))

	// A draft-08 subscriber reads it back with a URL pattern.
	res, err = http.Get(srv.URL + "/.well-known/mercure?match_urlpattern=" + url.QueryEscape("https://example.com/books/:id") + "&last_event_id=earliest&transport=poll")
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	fmt.Println("resumed after:", res.Header.Get("Mercure-Last-Event-ID"))
	ev, err := sse.NewReader(res.Body, sse.Limits{}).Next()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("event:", ev.Data)
	// Output:
	// publish: 200 OK text/plain; charset=utf-8
	// resumed after: earliest
	// event: Dune is back in stock
}

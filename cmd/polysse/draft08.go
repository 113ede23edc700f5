package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/cluster"
	"github.com/polysse/polysse/server/store/redisstore"
)

// accessVerifier returns the verifier of Mercure draft-08 access tokens
// the options ask for, or nil when no issuer is configured.
func accessVerifier(o *options) (*auth.AccessVerifier, error) {
	if o.issuer == "" {
		return nil, nil
	}
	aud := o.audience
	if aud == "" {
		aud = o.hubURL
	}
	if aud == "" {
		return nil, errors.New("-jwt-issuer needs -jwt-audience (or -hub-url): the resource identifier tokens must carry in aud")
	}
	keys, err := auth.NewKeySource(o.issuerKey, auth.JWKSOptions{})
	if err != nil {
		return nil, fmt.Errorf("-jwt-issuer-key: %w", err)
	}
	v, err := auth.NewAccessVerifier(auth.AccessOptions{
		Audience:     aud,
		Issuers:      []auth.AccessIssuer{{ID: o.issuer, Keys: keys}},
		CheckMatcher: server.CheckAccessMatcher,
	})
	if err != nil {
		return nil, fmt.Errorf("-jwt-issuer: %w", err)
	}
	return v, nil
}

// withSubscriptionsAPI sends the subscriptions API, under the hub's path,
// straight to the hub: the router would clean the paths, whose segments
// hold percent-encoded slashes, and redirect them.
func withSubscriptionsAPI(hub *server.Hub, next http.Handler) http.Handler {
	const prefix = "/.well-known/mercure/subscriptions"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.EscapedPath(), prefix) {
			hub.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// accessTokenFlags are the token command's draft-08 options.
type accessTokenFlags struct {
	issuer, key, audience, subject, payload, kid string
}

func (f *accessTokenFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.issuer, "jwt-issuer", "", "mint a draft-08 access token issued by this issuer (iss)")
	fs.StringVar(&f.key, "jwt-issuer-key", "", "the issuer's signing key: an HS256 secret (32+ bytes) or a PEM private key file (RSA: RS256, P-256: ES256, Ed25519: EdDSA)")
	fs.StringVar(&f.audience, "jwt-audience", "", "the hub's resource identifier (aud), e.g. https://hub.example.com/.well-known/mercure")
	fs.StringVar(&f.subject, "sub", "", "the token's subject (default: the issuer)")
	fs.StringVar(&f.payload, "payload", "", "a JSON object attached to the subscribe authorization detail (subscription payload)")
	fs.StringVar(&f.kid, "kid", "", "the key id (kid header) when the hub reads the issuer's keys from a JWK Set")
}

// mint signs an access token granting publish on pub and subscribe on sub.
func (f *accessTokenFlags) mint(pub, sub []string, ttl time.Duration) (string, error) {
	if f.key == "" || f.audience == "" {
		return "", errors.New("a draft-08 token needs -jwt-issuer-key and -jwt-audience")
	}
	if ttl <= 0 {
		return "", errors.New("a draft-08 access token must expire: give a positive -ttl")
	}
	s, err := auth.NewAccessSigner(f.key)
	if err != nil {
		return "", fmt.Errorf("-jwt-issuer-key: %w", err)
	}
	s.KeyID = f.kid
	matchers := func(values []string) []auth.TopicMatcher {
		var out []auth.TopicMatcher
		for _, v := range values {
			if p, ok := strings.CutPrefix(v, "urlpattern:"); ok {
				out = append(out, auth.TopicMatcher{Match: p, MatchType: "urlpattern"})
			} else {
				out = append(out, auth.TopicMatcher{Match: v, MatchType: "exact"})
			}
		}
		return out
	}
	var details []auth.AuthorizationDetail
	if len(pub) > 0 {
		details = append(details, auth.AuthorizationDetail{Actions: []string{auth.ActionPublish}, Topics: matchers(pub)})
	}
	if len(sub) > 0 {
		d := auth.AuthorizationDetail{Actions: []string{auth.ActionSubscribe}, Topics: matchers(sub)}
		if f.payload != "" {
			var obj map[string]any
			if err := json.Unmarshal([]byte(f.payload), &obj); err != nil {
				return "", fmt.Errorf("-payload must be a JSON object: %w", err)
			}
			d.Payload = []byte(f.payload)
		}
		details = append(details, d)
	}
	for _, d := range details {
		for _, m := range d.Topics {
			if err := server.CheckAccessMatcher(m); err != nil {
				return "", fmt.Errorf("%s %q: %w", m.MatchType, m.Match, err)
			}
		}
	}
	return s.Sign(auth.AccessToken{Issuer: f.issuer, Audience: f.audience, Subject: f.subject, Details: details}, ttl)
}

// clusterRegistry shares active subscriptions through Redis when the log
// is on Redis and -subscriptions is on: every node's API then lists every
// node's subscriptions. The returned start runs the node's lease until
// ctx ends; the function it returns stops it and waits.
func clusterRegistry(o *options, cfg *server.Config, logger *slog.Logger) (start func(context.Context, *server.Hub) func(), err error) {
	noop := func(context.Context, *server.Hub) func() { return func() {} }
	if !o.subscriptions || !isRedisURL(o.store) {
		return noop, nil
	}
	rdb, err := redisstore.NewClient(o.store)
	if err != nil {
		return nil, fmt.Errorf("-subscriptions on Redis: %w", err)
	}
	reg := cluster.New(rdb, cluster.Options{Logger: logger})
	cfg.Registry = reg
	return func(ctx context.Context, hub *server.Hub) func() {
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			reg.Run(ctx, hub.Announce)
		}()
		return func() {
			cancel()
			<-done
			_ = rdb.Close()
		}
	}, nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/polysse/polysse/client"
	"github.com/polysse/polysse/server/auth"
)

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

func publishCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("publish", "Publishes one update to a hub and prints its event id. The token comes from -token\n(or POLYSSE_TOKEN), or is minted for this update from -publisher-jwt-key.", stderr)
	var topics stringList
	var u client.Update
	fs.Var(&topics, "topic", "topic of the update (repeatable: the first is canonical, the rest alternates)")
	hub := fs.String("hub", "http://localhost:8080/.well-known/mercure", "the hub's URL")
	fs.StringVar(&u.Data, "data", "", "the event's data; - reads it from standard input")
	fs.StringVar(&u.ID, "id", "", "the event id (the hub generates one when empty)")
	fs.StringVar(&u.Type, "type", "", "the event type (message when empty)")
	fs.IntVar(&u.Retry, "retry", 0, "a reconnection time in milliseconds to send with the event")
	fs.BoolVar(&u.Private, "private", false, "deliver only to subscribers authorized for the topic")
	token := fs.String("token", "", "a publisher JWT")
	key := fs.String("publisher-jwt-key", "", "an HS256 secret or RSA private key PEM file to mint a token with, when -token is empty")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if len(topics) == 0 {
		fmt.Fprintln(stderr, "polysse publish: at least one -topic is required")
		fs.Usage()
		return errUsage
	}
	if u.Data == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return fmt.Errorf("read data from standard input: %w", err)
		}
		u.Data = string(b)
	}
	u.Topics = topics
	tok := *token
	if tok == "" {
		if *key == "" {
			return errors.New("publish needs -token, POLYSSE_TOKEN, or a -publisher-jwt-key to mint one")
		}
		s, err := auth.NewSigner(*key)
		if err != nil {
			return fmt.Errorf("-publisher-jwt-key: %w", err)
		}
		if tok, err = s.Sign(auth.Claims{Publish: topics}, time.Minute); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	id, err := client.Publish(ctx, &http.Client{}, *hub, tok, u)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, id)
	return nil
}

func tokenCmd(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token", "Mints a JWT for development from the hub's configured key: signed with the publisher\nkey when it has -publish selectors, else with the subscriber key. With -jwt-issuer it mints a\nMercure draft-08 access token instead (typ at+jwt, authorization_details), signed with -jwt-issuer-key;\nits -publish and -subscribe values are exact topics, or URL patterns written urlpattern:PATTERN.", stderr)
	var pub, sub stringList
	fs.Var(&pub, "publish", "a topic selector the token may publish to (repeatable; * for all)")
	fs.Var(&sub, "subscribe", "a topic selector whose private updates the token may receive (repeatable)")
	pubKey := fs.String("publisher-jwt-key", "", "HS256 secret or RSA private key PEM file of publishers")
	subKey := fs.String("subscriber-jwt-key", "", "HS256 secret or RSA private key PEM file of subscribers")
	ttl := fs.Duration("ttl", 24*time.Hour, "lifetime of the token; 0 for none (draft-07 only: access tokens always expire)")
	var d8 accessTokenFlags
	d8.register(fs)
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if len(pub) == 0 && len(sub) == 0 {
		fmt.Fprintln(stderr, "polysse token: give at least one -publish or -subscribe selector")
		fs.Usage()
		return errUsage
	}
	if d8.issuer != "" {
		tok, err := d8.mint(pub, sub, *ttl)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, tok)
		return nil
	}
	key, name := *subKey, "-subscriber-jwt-key"
	if len(pub) > 0 {
		key, name = *pubKey, "-publisher-jwt-key"
	}
	if key == "" {
		return fmt.Errorf("token needs %s (or its POLYSSE_ variable)", name)
	}
	s, err := auth.NewSigner(key)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	tok, err := s.Sign(auth.Claims{Publish: pub, Subscribe: sub}, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

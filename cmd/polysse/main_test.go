package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/store"
)

func noEnv(string) string { return "" }

func TestDispatchUsage(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr error
		out     string // in stdout
		errOut  string // in stderr
	}{
		{"overview", []string{"-h"}, nil, "polysse publish [flags]", ""},
		{"help command", []string{"help"}, nil, "polysse token [flags]", ""},
		{"unknown command", []string{"frobnicate"}, errUsage, "", "polysse: unknown command \"frobnicate\"; 'polysse -h' lists the commands\n"},
		{"misspelt command", []string{"pubilsh"}, errUsage, "", `unknown command "pubilsh" (did you mean publish?)`},
		{"wrong serve flag", []string{"-bogus"}, errUsage, "", "polysse serve: unknown flag -bogus; 'polysse serve -h' lists the flags\n"},
		{"wrong publish flag", []string{"publish", "-nope"}, errUsage, "", "polysse publish: unknown flag -nope; 'polysse publish -h' lists the flags\n"},
		{"publish without topic", []string{"publish", "-data", "x"}, errUsage, "", "at least one -topic"},
		{"token without selectors", []string{"token", "-publisher-jwt-key", "k"}, errUsage, "", "at least one -publish or -subscribe"},
		{"serve help", []string{"serve", "-h"}, flag.ErrHelp, "", "-publisher-jwt-key"},
		{"stray argument", []string{"serve", "extra"}, errUsage, "", `unexpected argument "extra"`},
		{"misspelt flag", []string{"-cors-origin", "x"}, errUsage, "", "polysse serve: unknown flag -cors-origin (did you mean -cors-origins?); 'polysse serve -h' lists the flags\n"},
		{"typo in a flag", []string{"-hearbeat", "1s"}, errUsage, "", "unknown flag -hearbeat (did you mean -heartbeat?)"},
		{"bad boolean", []string{"-allow-anonymous=yes"}, errUsage, "", `polysse serve: invalid value "yes" for -allow-anonymous: want true or false (also 1, 0, t, f)`},
		{"bad duration", []string{"-heartbeat", "soon"}, errUsage, "", `invalid value "soon" for -heartbeat: want a duration such as 500ms, 30s, 5m or 1h30m`},
		{"bad number", []string{"-max-topics", "many"}, errUsage, "", `invalid value "many" for -max-topics: want a whole number`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := dispatch(context.Background(), c.args, noEnv, &out, &errOut)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if !strings.Contains(out.String(), c.out) || !strings.Contains(errOut.String(), c.errOut) {
				t.Errorf("stdout %q, stderr %q; want %q and %q", out.String(), errOut.String(), c.out, c.errOut)
			}
		})
	}
}

func TestEnvironmentFillsFlagsNotGiven(t *testing.T) {
	env := map[string]string{"POLYSSE_ADDR": "127.0.0.1:1", "POLYSSE_HEARTBEAT": "3s", "POLYSSE_ALLOW_ANONYMOUS": "true"}
	o, err := parseOptions([]string{"-addr", "127.0.0.1:2"}, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.addr != "127.0.0.1:2" || o.heartbeat != 3*time.Second || !o.allowAnonymous {
		t.Errorf("got addr %q heartbeat %v anonymous %v", o.addr, o.heartbeat, o.allowAnonymous)
	}
	_, err = parseOptions(nil, func(k string) string {
		if k == "POLYSSE_HEARTBEAT" {
			return "soon"
		}
		return ""
	}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "POLYSSE_HEARTBEAT") {
		t.Errorf("a bad environment value: %v, want an error naming the variable", err)
	}
}

func TestTokenAndPublishAgainstAHub(t *testing.T) {
	const key = "cli-test-key"
	v, _ := auth.NewVerifier(key)
	hub, err := server.New(context.Background(), server.Config{PublisherKey: v, AllowAnonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	srv := httptest.NewServer(hub)
	defer srv.Close()

	var tok, errOut bytes.Buffer
	if err := dispatch(context.Background(), []string{"token", "-publish", "books/{id}"}, func(k string) string {
		if k == "POLYSSE_PUBLISHER_JWT_KEY" {
			return key
		}
		return ""
	}, &tok, &errOut); err != nil {
		t.Fatalf("token: %v %s", err, errOut.String())
	}
	claims, err := v.Verify(strings.TrimSpace(tok.String()))
	if err != nil || len(claims.Publish) != 1 || claims.Publish[0] != "books/{id}" || claims.Expires.IsZero() {
		t.Fatalf("minted token: %+v, %v", claims, err)
	}

	cases := []struct {
		name string
		args []string
		ok   bool
	}{
		{"with the minted token", []string{"-topic", "books/1", "-data", "x", "-token", strings.TrimSpace(tok.String())}, true},
		{"minting from the key", []string{"-topic", "authors/1", "-data", "y", "-publisher-jwt-key", key, "-id", "my-id"}, true},
		{"token not covering the topic", []string{"-topic", "authors/1", "-data", "x", "-token", strings.TrimSpace(tok.String())}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := dispatch(context.Background(), append([]string{"publish", "-hub", srv.URL}, c.args...), noEnv, &out, &errOut)
			if c.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if c.ok && !strings.HasPrefix(out.String(), store.IDPrefix) && out.String() != "my-id\n" {
				t.Errorf("printed %q, want the event id", out.String())
			}
			if !c.ok && !strings.Contains(err.Error(), "403") {
				t.Errorf("error %q does not give the hub's answer", err)
			}
		})
	}
}

func TestRedactStore(t *testing.T) {
	cases := []struct{ in, want string }{
		{"bolt:polysse.db", "bolt:polysse.db"},
		{"memory", "memory"},
		{"redis://:s3cret@redis:6379/0", "redis://:xxxxx@redis:6379/0"},
		{"redis://user:s3cret@redis:6379/0", "redis://user:xxxxx@redis:6379/0"},
		{"redis-sentinel://h1,h2/m?sentinel_password=s3cret", "redis-sentinel://h1,h2/m?sentinel_password=xxxxx"},
		{"redis://redis:6379/0?password=s3cret", "redis://redis:6379/0?password=xxxxx"},
	}
	for _, c := range cases {
		if got := redactStore(c.in); got != c.want || strings.Contains(got, "s3cret") {
			t.Errorf("redactStore(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestFlagErrorsAreOneLine: a wrong flag prints one line, not the usage.
func TestFlagErrorsAreOneLine(t *testing.T) {
	for _, args := range [][]string{{"-bogus"}, {"-allow-anonymous=yes"}, {"token", "-ttl", "x"}, {"publish", "-topci", "a"}} {
		var out, errOut bytes.Buffer
		if err := dispatch(context.Background(), args, noEnv, &out, &errOut); !errors.Is(err, errUsage) {
			t.Fatalf("%v: err = %v", args, err)
		}
		if n := strings.Count(errOut.String(), "\n"); n != 1 {
			t.Errorf("%v: %d lines on stderr, want 1:\n%s", args, n, errOut.String())
		}
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"addr", "allow-anonymous", "cors-origins", "heartbeat", "tls-cert", "tls-key", "type", "topic", "token"}
	cases := []struct {
		in   string
		want string
	}{
		{"adr", "addr"},
		{"cors-origin", "cors-origins"},
		{"cors", "cors-origins"},
		{"anonymous", "allow-anonymous"},
		{"hearbeat", "heartbeat"},
		{"tls", "tls-cert tls-key"},
		{"topci", "topic"},
		{"nope", ""},
		{"zzzzzzzz", ""},
	}
	for _, c := range cases {
		if got := strings.Join(suggest(c.in, names), " "); got != c.want {
			t.Errorf("suggest(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polysse/polysse/internal/launch"
	"github.com/polysse/polysse/server/store/redisstore/redistest"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSettingLayers checks where each setting comes from: a flag wins over
// POLYSSE_*, which wins over the reference hub's MERCURE_* names, which win
// over the -config file.
func TestSettingLayers(t *testing.T) {
	file := writeFile(t, "polysse.toml", `
addr = "127.0.0.1:1"
heartbeat = "7s"
max_topics = 9
allow-anonymous = true
cors-origins = ["https://a.example", "https://b.example:8443"]
publisher-jwt-key = "from-file"
subscriber-jwt-key = "sub-from-file"
log-max-age = "2h"
`)
	env := map[string]string{
		"POLYSSE_CONFIG":             file,
		"POLYSSE_HEARTBEAT":          "3s",
		"MERCURE_PUBLISHER_JWT_KEY":  "from-mercure",
		"MERCURE_SUBSCRIBER_JWT_ALG": "HS256",
		"POLYSSE_LOG_MAX_AGE":        "1h",
	}
	o, err := parseOptions([]string{"-addr", "127.0.0.1:2", "-log-max-age", "30m"}, envOf(env), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"addr (flag over file)":                        o.addr,
		"heartbeat (POLYSSE over file)":                o.heartbeat,
		"max-topics (file, underscores)":               o.maxTopics,
		"allow-anonymous (file)":                       o.allowAnonymous,
		"cors-origins (file array)":                    o.corsOrigins,
		"publisher-jwt-key (MERCURE over file)":        o.publisherKey,
		"subscriber-jwt-key (file)":                    o.subscriberKey,
		"subscriber-jwt-alg (MERCURE)":                 o.subscriberAlg,
		"log-max-age (flag over POLYSSE over file)":    o.maxAge,
		"max-subscribers (default, set nowhere)":       o.maxSubscribers == 0, // the hub derives it from RLIMIT_NOFILE
		"log-format (default)":                         o.logFormat,
		"metrics-addr (default: no metrics listener)":  o.metricsAddr,
		"demo-pages (default: no pages on the public)": o.demoPages,
	}
	want := map[string]any{
		"addr (flag over file)":                        "127.0.0.1:2",
		"heartbeat (POLYSSE over file)":                3 * time.Second,
		"max-topics (file, underscores)":               9,
		"allow-anonymous (file)":                       true,
		"cors-origins (file array)":                    "https://a.example,https://b.example:8443",
		"publisher-jwt-key (MERCURE over file)":        "from-mercure",
		"subscriber-jwt-key (file)":                    "sub-from-file",
		"subscriber-jwt-alg (MERCURE)":                 "HS256",
		"log-max-age (flag over POLYSSE over file)":    30 * time.Minute,
		"max-subscribers (default, set nowhere)":       true,
		"log-format (default)":                         "text",
		"metrics-addr (default: no metrics listener)":  "",
		"demo-pages (default: no pages on the public)": false,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}

	// POLYSSE_* wins over MERCURE_*.
	o, err = parseOptions(nil, envOf(map[string]string{"POLYSSE_PUBLISHER_JWT_KEY": "p", "MERCURE_PUBLISHER_JWT_KEY": "m"}), &bytes.Buffer{})
	if err != nil || o.publisherKey != "p" {
		t.Errorf("POLYSSE_ and MERCURE_ both set: key %q, %v; want POLYSSE_'s", o.publisherKey, err)
	}
}

func TestMercureExtraDirectives(t *testing.T) {
	o, err := parseOptions(nil, envOf(map[string]string{
		"MERCURE_EXTRA_DIRECTIVES": "anonymous\ncors_origins https://app.example https://admin.example\n  # a comment\nheartbeat 20s\n",
	}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !o.allowAnonymous || o.corsOrigins != "https://app.example,https://admin.example" || o.heartbeat != 20*time.Second {
		t.Errorf("anonymous %v, cors %q, heartbeat %v", o.allowAnonymous, o.corsOrigins, o.heartbeat)
	}
	// Other commands take what they know and leave the hub's directives.
	var out, errOut bytes.Buffer
	if err := dispatch(context.Background(), []string{"token", "-publish", "*", "-publisher-jwt-key", "k"},
		envOf(map[string]string{"MERCURE_EXTRA_DIRECTIVES": "anonymous\nsubscriptions\ncors_origins https://a.example"}), &out, &errOut); err != nil {
		t.Errorf("token beside the hub's directives: %v %s", err, errOut.String())
	}
	_, err = parseOptions(nil, envOf(map[string]string{"MERCURE_EXTRA_DIRECTIVES": "anonymous\nsubscriptions"}), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `line 2: polysse does not understand the directive "subscriptions"`) ||
		!strings.Contains(err.Error(), "anonymous, cors_origins") {
		t.Errorf("an unknown directive: %v", err)
	}
}

// TestSettingErrors: each error names where the value came from and what
// would work.
func TestSettingErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		file string
		want string
	}{
		{"env boolean", nil, map[string]string{"POLYSSE_ALLOW_ANONYMOUS": "yes"}, "",
			`POLYSSE_ALLOW_ANONYMOUS="yes": want true or false (also 1, 0, t, f)`},
		{"env duration", nil, map[string]string{"POLYSSE_HEARTBEAT": "soon"}, "",
			`POLYSSE_HEARTBEAT="soon": want a duration such as 500ms, 30s, 5m or 1h30m`},
		{"env number", nil, map[string]string{"POLYSSE_MAX_TOPICS": "1e3"}, "",
			`POLYSSE_MAX_TOPICS="1e3": want a whole number`},
		{"file unknown key", nil, nil, `hearbeat = "1s"`, `unknown setting "hearbeat" (did you mean heartbeat?)`},
		{"file wrong type", nil, nil, `heartbeat = 15`, `heartbeat: "15": want a duration`},
		{"file bad boolean", nil, nil, `allow-anonymous = "yes"`, `allow-anonymous: "yes": want true or false`},
		{"file not TOML", nil, nil, `addr = `, `-config `},
		{"file table", nil, nil, "[server]\naddr = \"x\"", `unknown setting "server"`},
		{"missing file", []string{"-config", "/nonexistent/polysse.toml"}, nil, "", "-config: open /nonexistent/polysse.toml"},
		{"cors without scheme", []string{"-cors-origins", "app.example.com"}, nil, "",
			`-cors-origins: "app.example.com" is not an origin (https://app.example.com?): want scheme://host[:port]`},
		{"cors with a path", []string{"-cors-origins", "https://app.example.com/page"}, nil, "", `is not an origin`},
		{"cors with a trailing slash", []string{"-cors-origins", "https://app.example.com/"}, nil, "", `is not an origin`},
		{"cors in capitals", []string{"-cors-origins", "https://App.example.com"}, nil, "", `lower case (https://app.example.com)`},
		{"cors from Mercure", nil, map[string]string{"MERCURE_EXTRA_DIRECTIVES": "cors_origins app.example.com"}, "", `-cors-origins: "app.example.com" is not an origin`},
		{"alg not supported", []string{"-publisher-jwt-alg", "ES256"}, nil, "", `-publisher-jwt-alg "ES256": polysse verifies HS256 (a secret) and RS256 (a PEM key)`},
		{"log format", []string{"-log-format", "xml"}, nil, "", `-log-format "xml": want text or json`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range c.env {
				env[k] = v
			}
			if c.file != "" {
				env["POLYSSE_CONFIG"] = writeFile(t, "polysse.toml", c.file)
			}
			_, err := parseOptions(c.args, envOf(env), &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
	for _, ok := range []string{"*", "https://app.example.com", "http://localhost:3000", "https://a.example, https://b.example:8443", "https://[::1]:8443"} {
		if _, err := parseOptions([]string{"-cors-origins", ok}, noEnv, &bytes.Buffer{}); err != nil {
			t.Errorf("-cors-origins %q: %v", ok, err)
		}
	}
}

// TestStartErrorsComeBeforeListening: a bad certificate, a key that is
// not of the configured algorithm, are errors at start, and nothing has
// logged "listening" by then.
func TestStartErrorsComeBeforeListening(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t)
	otherCert, _, _ := selfSigned(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string // "" for a hub that starts
	}{
		{"certificate file missing", []string{"-tls-cert", "/nonexistent.pem", "-tls-key", keyFile}, nil, "-tls-cert /nonexistent.pem"},
		{"key of another certificate", []string{"-tls-cert", otherCert, "-tls-key", keyFile}, nil, "private key does not match public key"},
		{"not PEM", []string{"-tls-cert", keyFile, "-tls-key", keyFile}, nil, "-tls-cert"},
		{"RS256 configured, secret given", nil, map[string]string{"MERCURE_PUBLISHER_JWT_KEY": "secret", "MERCURE_PUBLISHER_JWT_ALG": "RS256"},
			"-publisher-jwt-alg is RS256, but -publisher-jwt-key is an HS256 key"},
		{"RS256 PEM content in MERCURE_SUBSCRIBER_JWT_KEY", nil, map[string]string{"MERCURE_SUBSCRIBER_JWT_KEY": pubPEM, "MERCURE_SUBSCRIBER_JWT_ALG": "RS256"}, ""},
		{"a good certificate", []string{"-tls-cert", certFile, "-tls-key", keyFile}, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out launch.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			args := append([]string{"-addr", "127.0.0.1:0", "-store", "memory"}, c.args...)
			go func() { done <- run(ctx, args, envOf(c.env), &out) }()
			if c.want == "" {
				waitListening(t, &out)
				cancel()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				return
			}
			defer cancel()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("err = %v, want %q", err, c.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the hub started")
			}
			if strings.Contains(out.String(), "listening") {
				t.Errorf("logged before failing: %s", out.String())
			}
		})
	}
}

func TestLoadCertificateValidity(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t) // valid from an hour ago for two hours
	if _, err := loadCertificate(certFile, keyFile, time.Now().Add(3*time.Hour)); err == nil || !strings.Contains(err.Error(), "expired on") {
		t.Errorf("expired: %v", err)
	}
	if _, err := loadCertificate(certFile, keyFile, time.Now().Add(-3*time.Hour)); err == nil || !strings.Contains(err.Error(), "valid only from") {
		t.Errorf("not yet valid: %v", err)
	}
}

func TestLogFormatJSON(t *testing.T) {
	var out launch.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-store", "memory", "-log-format", "json"}, noEnv, &out)
	}()
	waitListening(t, &out)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	n := 0
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("not JSON: %q: %v", sc.Text(), err)
		}
		if rec["msg"] == "polysse listening" && rec["addr"] == nil {
			t.Errorf("listening record without addr: %v", rec)
		}
		n++
	}
	if n < 3 {
		t.Errorf("%d log records, want listening, draining, stopped", n)
	}
}

// TestRedisNotUpAtStart: the hub waits for a Redis that is not up yet
// (alive, not ready), instead of exiting, and serves once it is.
func TestRedisNotUpAtStart(t *testing.T) {
	rs := redistest.Start(t)
	rs.Stop()
	var out launch.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := freeLoopback(t)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", addr, "-store", rs.URL(), "-allow-anonymous", "-publisher-jwt-key", "k"}, noEnv, &out)
	}()
	get := func(path string) (int, string) {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if code, _ := get("/healthz"); code == 200 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the hub exited while Redis was down: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not alive while Redis is down:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, body := get("/readyz"); code != 503 {
		t.Errorf("/readyz while Redis is down: %d %q, want 503", code, body)
	}
	if code, _ := get("/.well-known/mercure?topic=x"); code != 503 {
		t.Errorf("subscribe while Redis is down: %d, want 503", code)
	}
	time.Sleep(time.Second) // a retry or two fails
	rs.Restart()
	for deadline := time.Now().Add(40 * time.Second); ; {
		if code, _ := get("/readyz"); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready 40s after Redis came up:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	id := publishOne(t, addr, "x", "after the outage")
	if id == "" {
		t.Fatal("publish after Redis came up failed")
	}
	if !strings.Contains(out.String(), "the replay log is not reachable; retrying") {
		t.Errorf("the wait was not logged:\n%s", out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// publishOne publishes data to topic on the hub at addr with a token for
// key "k", and returns the event id ("" when refused).
func publishOne(t *testing.T, addr, topic, data string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := dispatch(context.Background(), []string{"publish", "-hub", "http://" + addr + "/.well-known/mercure", "-topic", topic, "-data", data, "-token", mint(t)}, noEnv, &out, &errOut); err != nil {
		t.Logf("publish: %v %s", err, errOut.String())
		return ""
	}
	return strings.TrimSpace(out.String())
}

// TestStopWhileWaitingForRedis: a hub stopped before its Redis ever came
// up stops cleanly.
func TestStopWhileWaitingForRedis(t *testing.T) {
	var out launch.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-store", "redis://" + freeLoopback(t) + "/0"}, noEnv, &out)
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "not reachable; retrying"); {
		if time.Now().After(deadline) {
			t.Fatalf("no retry logged:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
}

// waitListening waits up to 10s for the hub's "polysse listening" line in
// out: run logs it once its listener is open.
func waitListening(t *testing.T, out *launch.Buffer) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "polysse listening"); {
		if time.Now().After(deadline) {
			t.Fatalf("no listening line: %s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

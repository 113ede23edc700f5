package cluster_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/cluster"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/redisstore"
	"github.com/polysse/polysse/server/store/redisstore/redistest"
	"github.com/polysse/polysse/sse"
)

const (
	issuer   = "https://issuer.example"
	audience = "https://hub.example/.well-known/mercure"
	secret   = "cluster-test-secret-cluster-test-secret"
	ns       = "/.well-known/mercure/subscriptions"
	ttl      = 900 * time.Millisecond
)

// node is one hub of the cluster, with its own Redis clients.
type node struct {
	hub    *server.Hub
	srv    *httptest.Server
	log    store.Log
	reg    *cluster.Registry
	stop   context.CancelFunc
	closed sync.Once
}

func startNode(t *testing.T, redisURL string, v *auth.AccessVerifier) *node {
	t.Helper()
	ctx := context.Background()
	l, err := redisstore.Open(ctx, redisURL, store.Bounds{})
	if err != nil {
		t.Fatal(err)
	}
	rdb, err := redisstore.NewClient(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	reg := cluster.New(rdb, cluster.Options{TTL: ttl})
	hub, err := server.New(ctx, server.Config{Log: l, AccessTokens: v, AllowAnonymous: true, Subscriptions: true, Registry: reg, Heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	go reg.Run(rctx, hub.Announce)
	mux := http.NewServeMux()
	mux.Handle("/.well-known/mercure", hub)
	mux.Handle("/.well-known/mercure/", hub)
	n := &node{hub: hub, srv: httptest.NewServer(mux), log: l, reg: reg, stop: stop}
	t.Cleanup(func() {
		n.closed.Do(func() {
			stop()
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			_ = hub.Shutdown(sctx)
			n.srv.Close()
			_ = hub.Close()
			_ = l.Close()
			_ = rdb.Close()
		})
	})
	return n
}

// crash stops the node as a killed process would: its Redis connections
// go first, so that it can neither announce nor clean up.
func (n *node) crash(rdbClose func()) {
	n.closed.Do(func() {
		_ = n.log.Close()
		rdbClose()
		n.srv.CloseClientConnections()
		n.srv.Close()
		n.stop()
		_ = n.hub.Close()
	})
}

type doc struct {
	ID, Match  string
	Subscriber string
	Active     bool
}

// TestThreeNodesShareSubscriptions: on a real redis-server with three
// hubs, every node's subscriptions are listed by every node's API, each
// start and end is announced once, also for a node that dies, within a
// bound.
func TestThreeNodesShareSubscriptions(t *testing.T) {
	redis := redistest.Start(t)
	keys, err := auth.NewKeySource(secret, auth.JWKSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewAccessVerifier(auth.AccessOptions{Audience: audience, Issuers: []auth.AccessIssuer{{ID: issuer, Keys: keys}}, CheckMatcher: server.CheckAccessMatcher})
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := auth.NewAccessSigner(secret)
	tok, err := signer.Sign(auth.AccessToken{Issuer: issuer, Audience: audience, Details: []auth.AuthorizationDetail{{Actions: []string{"subscribe"}, Topics: []auth.TopicMatcher{{Match: ns + "/*", MatchType: "urlpattern"}, {Match: ns, MatchType: "exact"}}}}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	nodes := []*node{startNode(t, redis.URL(), v), startNode(t, redis.URL(), v), startNode(t, redis.URL(), v)}
	// Node 2 gets its own registry client so that the test can cut it.
	crashRDB, err := redisstore.NewClient(redis.URL())
	if err != nil {
		t.Fatal(err)
	}
	crashReg := cluster.New(crashRDB, cluster.Options{TTL: ttl})
	l2, err := redisstore.Open(context.Background(), redis.URL(), store.Bounds{})
	if err != nil {
		t.Fatal(err)
	}
	hub2, err := server.New(context.Background(), server.Config{Log: l2, AllowAnonymous: true, Subscriptions: true, Registry: crashReg, Heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx2, stop2 := context.WithCancel(context.Background())
	go crashReg.Run(ctx2, hub2.Announce)
	mux2 := http.NewServeMux()
	mux2.Handle("/.well-known/mercure", hub2)
	victim := &node{hub: hub2, srv: httptest.NewServer(mux2), log: l2, reg: crashReg, stop: stop2}
	t.Cleanup(func() { victim.crash(func() { _ = crashRDB.Close() }) })

	// The watcher, on node 0, counts the subscription events it sees.
	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	wreq, _ := http.NewRequestWithContext(wctx, http.MethodGet, nodes[0].srv.URL+"/.well-known/mercure?match_urlpattern="+url.QueryEscape(ns+"/*"), nil)
	wreq.Header.Set("Authorization", "Bearer "+tok)
	wres, err := http.DefaultClient.Do(wreq)
	if err != nil || wres.StatusCode != 200 {
		t.Fatalf("watcher: %v %v", err, wres)
	}
	var mu sync.Mutex
	events := map[string][]bool{} // match -> active flags seen
	go func() {
		rd := sse.NewReader(wres.Body, sse.Limits{})
		for {
			ev, err := rd.Next()
			if err != nil {
				return
			}
			var d doc
			if json.Unmarshal([]byte(ev.Data), &d) == nil {
				mu.Lock()
				events[d.Match] = append(events[d.Match], d.Active)
				mu.Unlock()
			}
		}
	}()
	seen := func(match string) []bool {
		mu.Lock()
		defer mu.Unlock()
		return append([]bool(nil), events[match]...)
	}
	waitFor := func(what string, d time.Duration, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("waited %v for %s", d, what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	subscribe := func(base, match string) context.CancelFunc {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/.well-known/mercure?match="+url.QueryEscape(match), nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("subscribe %s: %v %v", match, err, res)
		}
		go func() { _, _ = io.Copy(io.Discard, res.Body) }()
		return cancel
	}
	endA := subscribe(nodes[1].srv.URL, "on-node-1")
	subscribe(nodes[2].srv.URL, "on-node-2")
	subscribe(victim.srv.URL, "on-the-victim")

	listed := func(n *node) string {
		req, _ := http.NewRequest(http.MethodGet, n.srv.URL+ns, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("API on %s: %d %s", n.srv.URL, res.StatusCode, b)
		}
		return string(b)
	}
	for i, n := range nodes {
		body := listed(n)
		for _, m := range []string{"on-node-1", "on-node-2", "on-the-victim"} {
			if !strings.Contains(body, `"match":"`+m+`"`) {
				t.Errorf("node %d's API does not list %s: %s", i, m, body)
			}
		}
	}
	waitFor("the three start events", 5*time.Second, func() bool {
		return len(seen("on-node-1")) >= 1 && len(seen("on-node-2")) >= 1 && len(seen("on-the-victim")) >= 1
	})

	endA()
	waitFor("the end of on-node-1", 5*time.Second, func() bool { return len(seen("on-node-1")) >= 2 })

	died := time.Now()
	victim.crash(func() { _ = crashRDB.Close() })
	waitFor("the end of the dead node's subscription", 4*ttl+2*time.Second, func() bool { return len(seen("on-the-victim")) >= 2 })
	t.Logf("a dead node's subscription was announced ended %v after it died (lease %v)", time.Since(died).Round(time.Millisecond), ttl)
	if body := listed(nodes[0]); strings.Contains(body, "on-the-victim") {
		t.Errorf("the dead node's subscription is still listed: %s", body)
	}
	// Let every reaper run a few more rounds: nothing is announced twice.
	time.Sleep(2 * ttl)
	for m, want := range map[string][]bool{"on-node-1": {true, false}, "on-node-2": {true}, "on-the-victim": {true, false}} {
		if got := seen(m); len(got) != len(want) || (len(got) > 0 && got[0] != want[0]) || (len(got) > 1 && got[1] != want[1]) {
			t.Errorf("%s: events (active) %v, want %v", m, got, want)
		}
	}
}

// TestDraft08IDsOnRedisAreIRIs: draft-08 wants generated ids to be IRIs
// (or fragments); Redis stream ids are neither, so the hub names draft-08
// updates itself.
func TestDraft08IDsOnRedisAreIRIs(t *testing.T) {
	redis := redistest.Start(t)
	keys, _ := auth.NewKeySource(secret, auth.JWKSOptions{})
	v, err := auth.NewAccessVerifier(auth.AccessOptions{Audience: audience, Issuers: []auth.AccessIssuer{{ID: issuer, Keys: keys}}})
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, redis.URL(), v)
	signer, _ := auth.NewAccessSigner(secret)
	tok, _ := signer.Sign(auth.AccessToken{Issuer: issuer, Audience: audience, Details: []auth.AuthorizationDetail{{Actions: []string{"publish"}, Topics: []auth.TopicMatcher{{Match: "*"}}}}}, time.Hour)
	req, _ := http.NewRequest(http.MethodPost, n.srv.URL+"/.well-known/mercure", strings.NewReader("topic=a&data=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	id, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.HasPrefix(string(id), "urn:uuid:") {
		t.Fatalf("publish: %d, id %q, want a urn:uuid IRI", res.StatusCode, id)
	}
	// The id works as a resume cursor on Redis.
	sreq, _ := http.NewRequest(http.MethodGet, n.srv.URL+"/.well-known/mercure?match=a&last_event_id="+url.QueryEscape(string(id)), nil)
	sres, err := http.DefaultClient.Do(sreq)
	if err != nil {
		t.Fatal(err)
	}
	sres.Body.Close()
	if got := sres.Header.Get("Mercure-Last-Event-ID"); got != string(id) {
		t.Errorf("Mercure-Last-Event-ID %q, want the id: Redis does not know it", got)
	}
}

package server_test

// The one test environment of this package: a hub served over HTTP, with a
// client, token signers and the request helpers every test file uses. Its
// options choose the path streams take and whether the hub is the protocol
// suite's (mounted at the Mercure path, draft-08 access tokens too).

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/memstore"
	"github.com/polysse/polysse/sse"
)

const (
	// secret signs and verifies draft-07 tokens.
	secret = "test-secret"
	// pIssuer, pAudience and pSecret08 are those of draft-08 access
	// tokens (withDraft08).
	pIssuer   = "https://issuer.example"
	pAudience = "https://hub.example/.well-known/mercure"
	pSecret08 = "draft-08-secret-draft-08-secret-draft-08"
	hubPath   = "/.well-known/mercure"
)

// env is a hub served over HTTP, with a client for it.
type env struct {
	t      testing.TB
	hub    *server.Hub
	srv    *httptest.Server
	sig    *auth.Signer       // draft-07 tokens (secret)
	sig08  *auth.AccessSigner // draft-08 access tokens (pSecret08, pIssuer)
	client *http.Client
	// path is where the hub is mounted: "" (the server's root) or hubPath.
	path string
}

// envSetup is what the options of newEnv set.
type envSetup struct {
	// streams is the path streams take: "hijacked" (HTTP/1.1, the
	// default), "handler" (HTTP/1.1 with hijacking off) or "http2" (TLS).
	streams string
	// draft08: mounted at hubPath with its metadata, draft-08 access
	// tokens verified beside draft-07 ones, the subscriptions API on.
	draft08 bool
}

// envOption changes the environment newEnv sets up.
type envOption func(*envSetup)

// onPath puts the streams on one of the three paths: "hijacked", "handler"
// or "http2".
func onPath(streams string) envOption { return func(s *envSetup) { s.streams = streams } }

// withDraft08 makes the protocol suite's hub: mounted at
// /.well-known/mercure, it verifies draft-07 tokens (secret) and draft-08
// access tokens (pSecret08, issuer pIssuer) and serves the subscriptions
// API.
func withDraft08() envOption { return func(s *envSetup) { s.draft08 = true } }

// newEnv serves a hub with a memory log, anonymous subscribers allowed and
// no heartbeats, changed by mutate and opts, and ends it with the test. By
// default it is at the server's root over HTTP/1.1, where streams take the
// hijacked path.
func newEnv(t testing.TB, mutate func(*server.Config), opts ...envOption) *env {
	t.Helper()
	setup := envSetup{streams: "hijacked"}
	for _, o := range opts {
		o(&setup)
	}
	v, err := auth.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := auth.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	sig08, err := auth.NewAccessSigner(pSecret08)
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{
		Log:            memstore.New(store.Bounds{}),
		PublisherKey:   v,
		SubscriberKey:  v,
		AllowAnonymous: true,
		Heartbeat:      -1,
		DisableHijack:  setup.streams == "handler",
	}
	if setup.draft08 {
		keys, err := auth.NewKeySource(pSecret08, auth.JWKSOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cfg.AccessTokens, err = auth.NewAccessVerifier(auth.AccessOptions{
			Audience:     pAudience,
			Issuers:      []auth.AccessIssuer{{ID: pIssuer, Keys: keys}},
			CheckMatcher: server.CheckAccessMatcher,
		})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Subscriptions = true
	}
	if mutate != nil {
		mutate(&cfg)
	}
	hub, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler = hub
	e := &env{t: t, hub: hub, sig: sig, sig08: sig08, client: &http.Client{}}
	if setup.draft08 {
		mux := http.NewServeMux()
		mux.Handle(hubPath, hub)
		mux.Handle(hubPath+"/", hub)
		mux.HandleFunc(server.MetadataPathFor(hubPath), hub.ServeMetadata)
		handler, e.path = mux, hubPath
	}
	e.srv = httptest.NewUnstartedServer(handler)
	if setup.streams == "http2" {
		e.srv.EnableHTTP2 = true
		e.srv.StartTLS()
		e.client = e.srv.Client()
		e.client.Transport.(*http.Transport).TLSClientConfig.NextProtos = []string{"h2"}
		e.client.Transport.(*http.Transport).ForceAttemptHTTP2 = true
	} else {
		e.srv.Start()
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hub.Shutdown(ctx)
		e.srv.Close()
		_ = hub.Close()
		_ = cfg.Log.Close()
	})
	if setup.streams == "http2" {
		res := e.open("topic=probe&transport=poll&lastEventID=earliest")
		if res.ProtoMajor != 2 || res.TLS == nil || res.TLS.NegotiatedProtocol != "h2" {
			t.Fatalf("protocol %s, want HTTP/2 over TLS with h2", res.Proto)
		}
	}
	return e
}

// token signs a draft-07 token with claims c, valid for an hour.
func (e *env) token(c auth.Claims) string {
	e.t.Helper()
	tok, err := e.sig.Sign(c, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// detail builds a Mercure authorization detail; topics are exact unless
// given as "urlpattern:<pattern>".
func detail(actions string, topics ...string) auth.AuthorizationDetail {
	d := auth.AuthorizationDetail{Actions: strings.Split(actions, ",")}
	for _, tp := range topics {
		m := auth.TopicMatcher{Match: tp, MatchType: "exact"}
		if p, ok := strings.CutPrefix(tp, "urlpattern:"); ok {
			m = auth.TopicMatcher{Match: p, MatchType: "urlpattern"}
		}
		d.Topics = append(d.Topics, m)
	}
	return d
}

// token08 signs a draft-08 access token of pIssuer for pAudience.
func (e *env) token08(ttl time.Duration, details ...auth.AuthorizationDetail) string {
	e.t.Helper()
	tok, err := e.sig08.Sign(auth.AccessToken{Issuer: pIssuer, Audience: pAudience, Details: details}, ttl)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// req is one request to the hub.
type req struct {
	// method is GET when empty; path is where the hub is mounted when
	// empty.
	method, path, query, body string
	header                    http.Header
}

// do sends r and returns the response; its body is closed when the test
// ends.
func (e *env) do(r req) *http.Response {
	e.t.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	if r.path == "" {
		r.path = e.path
	}
	u := e.srv.URL + r.path
	if r.query != "" {
		u += "?" + r.query
	}
	ctx, cancel := context.WithCancel(context.Background())
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range r.header {
		hr.Header[k] = v
	}
	res, err := e.client.Do(hr)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cancel(); res.Body.Close() })
	return res
}

// open sends a GET with query and the headers given and returns the
// response, its body unread; the body is closed when the test ends.
func (e *env) open(query string, headers ...http.Header) *http.Response {
	e.t.Helper()
	h := http.Header{}
	for _, hh := range headers {
		for k, v := range hh {
			h[k] = v
		}
	}
	return e.do(req{query: query, header: h})
}

// pub publishes form with the headers h and returns the response and its
// body.
func (e *env) pub(h http.Header, form url.Values) (*http.Response, string) {
	e.t.Helper()
	res := e.do(req{method: http.MethodPost, body: form.Encode(), header: h})
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// post publishes a form with token (none when empty) and returns the
// status and body.
func (e *env) post(token string, form url.Values) (int, string) {
	e.t.Helper()
	var h http.Header
	if token != "" {
		h = bearer(token)
	}
	res, body := e.pub(h, form)
	return res.StatusCode, body
}

// publish publishes data to topics with an all-powerful token and returns the id.
func (e *env) publish(data string, topics ...string) string {
	e.t.Helper()
	f := url.Values{"topic": topics, "data": {data}}
	code, body := e.post(e.token(auth.Claims{Publish: []string{"*"}}), f)
	if code != http.StatusOK {
		e.t.Fatalf("publish: %d %s", code, body)
	}
	return body
}

// publish08 publishes with an all-powerful access token and returns the id.
func (e *env) publish08(form url.Values) string {
	e.t.Helper()
	res, body := e.pub(bearer(e.token08(time.Hour, detail("publish", "*"))), form)
	if res.StatusCode != http.StatusOK {
		e.t.Fatalf("publish: %d %s", res.StatusCode, body)
	}
	return body
}

// publishDirect publishes data to topic "t" through the hub's Go API and
// returns the id.
func (e *env) publishDirect(data string) string {
	e.t.Helper()
	id, err := e.hub.Publish(context.Background(), &store.Update{Topics: []string{"t"}, Event: sse.Event{Data: data}})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// stream is an open subscription read with the sse package's decoder.
type stream struct {
	res *http.Response
	rd  *sse.Reader
	ch  chan sse.Event
}

// newStream reads res's events into the stream's channel as they come, if
// res is a 200; a refused subscription's stream has none.
func newStream(res *http.Response) *stream {
	s := &stream{res: res, rd: sse.NewReader(res.Body, sse.Limits{}), ch: make(chan sse.Event, 1024)}
	if res.StatusCode != http.StatusOK {
		return s
	}
	go func() {
		defer close(s.ch)
		for {
			ev, err := s.rd.Next()
			if err != nil {
				return
			}
			s.ch <- ev
		}
	}()
	return s
}

// subscribe opens a subscription and decodes its events as they come.
func (e *env) subscribe(query string, header http.Header) *stream {
	e.t.Helper()
	return newStream(e.open(query, header))
}

// sub opens a subscription and returns its event stream (nil unless 200).
func (e *env) sub(r req) (*http.Response, *stream) {
	e.t.Helper()
	res := e.do(r)
	if res.StatusCode != http.StatusOK {
		return res, nil
	}
	return res, newStream(res)
}

// next waits for the next event.
func (s *stream) next(t *testing.T) sse.Event {
	t.Helper()
	select {
	case ev, ok := <-s.ch:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return sse.Event{}
}

// none asserts that no event arrives within d.
func (s *stream) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case ev, ok := <-s.ch:
		if ok {
			t.Fatalf("unexpected event %+v", ev)
		}
	case <-time.After(d):
	}
}

// checkStreamHeaders checks that res has the headers of every event
// stream (its type, no caching, no proxy buffering) and those of more.
func checkStreamHeaders(t *testing.T, res *http.Response, more map[string]string) {
	t.Helper()
	want := map[string]string{
		"Content-Type":      "text/event-stream",
		"Cache-Control":     "no-cache",
		"X-Accel-Buffering": "no",
	}
	maps.Copy(want, more)
	for k, v := range want {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// nextData returns the data of the next non-notice event of s.
func nextData(t testing.TB, s *stream) string {
	t.Helper()
	for {
		var ev sse.Event
		select {
		case e, ok := <-s.ch:
			if !ok {
				t.Fatal("stream ended")
			}
			ev = e
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5s")
		}
		if ev.Type == server.MissedEventType || ev.Type == server.ProbeEventType {
			continue
		}
		return ev.Data
	}
}

// expectOnly checks that s receives exactly want next: the probe publish
// after it shows that nothing else was in between.
func (e *env) expectOnly(s *stream, want string) {
	e.t.Helper()
	if got := nextData(e.t, s); got != want {
		e.t.Fatalf("got %q, want %q", got, want)
	}
}

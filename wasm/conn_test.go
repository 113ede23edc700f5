package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// fakeHost records what a conn asks of the world, as one line per call.
type fakeHost struct {
	log     []string
	t       float64 // now, ms
	reqs    []*request
	timers  map[timerKind]int
	user    []header
	auth    int
	onEvent func(c *conn) // called from events, as a page listener would be
	onError func(c *conn)
	batches []string
}

func newFakeHost() *fakeHost { return &fakeHost{timers: map[timerKind]int{}, auth: authFail} }

func (h *fakeHost) logf(format string, args ...any) {
	h.log = append(h.log, fmt.Sprintf(format, args...))
}

func (h *fakeHost) request(c *conn, r *request) {
	h.reqs = append(h.reqs, r)
	h.logf("request %d", r.attempt)
}
func (h *fakeHost) abort(c *conn) { h.logf("abort") }
func (h *fakeHost) setTimer(c *conn, k timerKind, ms int) {
	h.timers[k] = ms
	h.logf("timer %d %d", k, ms)
}
func (h *fakeHost) clearTimer(c *conn, k timerKind) { delete(h.timers, k) }
func (h *fakeHost) now() float64                    { return h.t }
func (h *fakeHost) random() float64                 { return 0.5 }
func (h *fakeHost) headers(c *conn) []header        { return h.user }
func (h *fakeHost) authError(c *conn, status int) int {
	h.logf("auth %d", status)
	return h.auth
}
func (h *fakeHost) opened(c *conn, url string) { h.logf("open %s", url) }
func (h *fakeHost) events(c *conn, b *batch) {
	h.batches = append(h.batches, b.text())
	h.logf("events %d", b.n)
	if h.onEvent != nil {
		h.onEvent(c)
	}
}
func (h *fakeHost) failed(c *conn, reconnecting bool) {
	h.logf("error %v", reconnecting)
	if h.onError != nil {
		h.onError(c)
	}
}

func (h *fakeHost) last() *request { return h.reqs[len(h.reqs)-1] }

func (h *fakeHost) take() string {
	s := strings.Join(h.log, "; ")
	h.log = nil
	return s
}

func headerValue(r *request, name string) (string, bool) {
	for _, h := range r.headers {
		if equalFoldASCII(h.name, name) {
			return h.value, true
		}
	}
	return "", false
}

func testConn(cfg config) (*conn, *fakeHost) {
	h := newFakeHost()
	if cfg.policy == (policy{}) {
		cfg.policy = policy{max: 30000, factor: 1}
	}
	c := newConn(1, "http://example.com/events", cfg, h)
	c.start()
	return c, h
}

func TestOpenEventsAndReconnect(t *testing.T) {
	c, h := testConn(config{sameOrigin: true, transport: transportXHR})
	if got := h.take(); got != "request 1" {
		t.Fatalf("start: %s", got)
	}
	r := h.last()
	if v, _ := headerValue(r, "Accept"); v != "text/event-stream" {
		t.Errorf("Accept = %q", v)
	}
	if v, _ := headerValue(r, "Cache-Control"); v != "no-cache" {
		t.Errorf("Cache-Control = %q", v)
	}
	if _, ok := headerValue(r, "Last-Event-ID"); ok {
		t.Error("Last-Event-ID on the first request")
	}
	if !c.response(1, 200, "text/event-stream; charset=utf-8", "http://example.com/final") {
		t.Fatal("200 text/event-stream refused")
	}
	if c.state != open {
		t.Fatalf("state %d after open", c.state)
	}
	c.body(1, []byte("retry: 1500\nid: 7\ndata: a\n\nevent: x\ndata: b\ndata: c\n\n: comment\n"))
	if got := h.take(); got != "open http://example.com/final; events 2" {
		t.Fatalf("got %s", got)
	}
	if want := "message\ra\r7\rx\rb\nc\r7\r"; h.batches[0] != want {
		t.Errorf("batch %q, want %q", h.batches[0], want)
	}
	c.end(1, endNetwork)
	if got := h.take(); got != "error true; timer 0 1500" {
		t.Fatalf("end: %s", got)
	}
	if c.state != connecting {
		t.Fatalf("state %d after end", c.state)
	}
	c.timer(reconnectTimer)
	if got := h.take(); got != "request 2" {
		t.Fatalf("reconnect: %s", got)
	}
	if v, _ := headerValue(h.last(), "Last-Event-ID"); v != "7" {
		t.Errorf("Last-Event-ID = %q", v)
	}
	// A late callback of the first attempt changes nothing.
	if c.body(1, []byte("data: late\n\n")) || len(h.log) != 0 {
		t.Errorf("stale attempt delivered: %v", h.log)
	}
}

func TestFailures(t *testing.T) {
	for _, tc := range []struct {
		status int
		ct     string
	}{
		{204, "text/event-stream"},
		{500, "text/event-stream"},
		{301, "text/event-stream"},
		{200, "text/plain"},
		{200, ""},
		{200, "text/event-streams"},
	} {
		c, h := testConn(config{})
		h.take()
		if c.response(1, tc.status, tc.ct, "") {
			t.Errorf("%d %q accepted", tc.status, tc.ct)
		}
		if got := h.take(); got != "abort; error false" {
			t.Errorf("%d %q: %s", tc.status, tc.ct, got)
		}
		if c.state != closed {
			t.Errorf("%d %q: state %d", tc.status, tc.ct, c.state)
		}
		c.timer(reconnectTimer)
		if len(h.log) != 0 {
			t.Errorf("activity after failing: %v", h.log)
		}
	}
}

func TestNetworkErrorBackoff(t *testing.T) {
	c, h := testConn(config{retryMS: 100, policy: policy{max: 1000, factor: 2, jitter: 0}})
	h.take()
	var waits []int
	for i := 1; i <= 6; i++ {
		c.end(i, endNetwork) // refused before any response
		waits = append(waits, h.timers[reconnectTimer])
		c.timer(reconnectTimer)
	}
	if got := fmt.Sprint(waits); got != "[100 200 400 800 1000 1000]" {
		t.Errorf("waits %s", got)
	}
	// A connection that carries bytes resets the count.
	c.response(7, 200, "text/event-stream", "")
	c.body(7, []byte(": hi\n"))
	c.end(7, endNetwork)
	if w := h.timers[reconnectTimer]; w != 100 {
		t.Errorf("wait after a success %d", w)
	}
	// An empty 200 counts as a failure.
	c.timer(reconnectTimer)
	c.response(8, 200, "text/event-stream", "")
	c.end(8, endNetwork)
	c.timer(reconnectTimer)
	c.response(9, 200, "text/event-stream", "")
	c.end(9, endNetwork)
	if w := h.timers[reconnectTimer]; w != 200 {
		t.Errorf("wait after two empty responses %d", w)
	}
}

func TestCloseFromListener(t *testing.T) {
	c, h := testConn(config{})
	c.response(1, 200, "text/event-stream", "")
	h.onEvent = func(c *conn) { c.close() }
	h.take()
	if c.body(1, []byte("data: 1\n\ndata: 2\n\n")) {
		t.Error("body wants more after close")
	}
	if got := h.take(); got != "events 2; abort" {
		t.Errorf("got %s", got)
	}
	c.end(1, endNetwork)
	c.timer(reconnectTimer)
	if len(h.log) != 0 {
		t.Errorf("activity after close: %v", h.log)
	}
}

func TestCloseFromErrorListener(t *testing.T) {
	c, h := testConn(config{})
	h.onError = func(c *conn) { c.close() }
	h.take()
	c.end(1, endNetwork)
	if got := h.take(); got != "error true" {
		t.Errorf("got %s", got)
	}
	if c.state != closed {
		t.Errorf("state %d", c.state)
	}
}

func TestLastEventIDQuery(t *testing.T) {
	c, h := testConn(config{lastEventIDParam: "lastEventId"})
	c.response(1, 200, "text/event-stream", "")
	c.body(1, []byte("id: a b/é\ndata: x\n\n"))
	c.end(1, endNetwork)
	c.timer(reconnectTimer)
	r := h.last()
	if want := "http://example.com/events?lastEventId=a%20b%2F%C3%A9"; r.url != want {
		t.Errorf("url %s, want %s", r.url, want)
	}
	if _, ok := headerValue(r, "Last-Event-ID"); ok {
		t.Error("Last-Event-ID header sent too")
	}
	if _, ok := headerValue(r, "Cache-Control"); ok {
		t.Error("Cache-Control sent cross-origin")
	}
}

func TestLastEventIDHeaderBytes(t *testing.T) {
	c, h := testConn(config{})
	c.response(1, 200, "text/event-stream", "")
	c.body(1, []byte("id: é\ndata: x\n\n"))
	c.end(1, endNetwork)
	c.timer(reconnectTimer)
	// Each UTF-8 byte of the id as one character, which fetch and XHR send
	// as that byte.
	if v, _ := headerValue(h.last(), "Last-Event-ID"); v != "\u00c3\u00a9" {
		t.Errorf("Last-Event-ID %q", v)
	}
}

func TestUserHeaders(t *testing.T) {
	h := newFakeHost()
	h.user = []header{{"Authorization", "Bearer 1"}, {"accept", "text/event-stream, */*"}}
	c := newConn(1, "http://example.com/", config{userHeaders: true, policy: defaultPolicy()}, h)
	c.start()
	r := h.last()
	if v, _ := headerValue(r, "authorization"); v != "Bearer 1" {
		t.Errorf("Authorization %q", v)
	}
	if v, _ := headerValue(r, "Accept"); v != "text/event-stream, */*" {
		t.Errorf("Accept %q", v)
	}
	if len(r.headers) != 2 {
		t.Errorf("headers %v", r.headers)
	}
	// Asked again at every attempt.
	h.user = []header{{"Authorization", "Bearer 2"}}
	c.end(1, endNetwork)
	c.timer(reconnectTimer)
	if v, _ := headerValue(h.last(), "Authorization"); v != "Bearer 2" {
		t.Errorf("Authorization on reconnect %q", v)
	}
}

func TestAuthHook(t *testing.T) {
	for _, tc := range []struct {
		decision int
		want     string
	}{
		{authFail, "abort; auth 401; error false"},
		{authRetry, "abort; auth 401; error true; timer 0 100"},
		{250, "abort; auth 401; error true; timer 0 250"},
		{authWait, "abort; auth 401; error true"},
	} {
		c, h := testConn(config{authHook: true, retryMS: 100})
		h.auth = tc.decision
		h.take()
		c.response(1, 401, "text/plain", "")
		if got := h.take(); got != tc.want {
			t.Errorf("decision %d: %s, want %s", tc.decision, got, tc.want)
		}
		if tc.decision == authWait {
			c.timer(reconnectTimer) // no timer is armed while waiting
			if len(h.log) != 0 {
				t.Errorf("reconnected while waiting: %v", h.log)
			}
			c.resume(0)
			c.timer(reconnectTimer)
			if got := h.take(); got != "timer 0 0; request 2" {
				t.Errorf("resume: %s", got)
			}
		}
	}
	// Without a hook, 401 fails as any other status.
	c, h := testConn(config{})
	h.take()
	c.response(1, 403, "text/plain", "")
	if got := h.take(); got != "abort; error false" {
		t.Errorf("no hook: %s", got)
	}
	_ = c
}

func TestWatchdog(t *testing.T) {
	c, h := testConn(config{watchdogMS: 1000})
	if h.timers[watchdogTimer] != 1000 {
		t.Fatalf("watchdog not armed: %v", h.timers)
	}
	h.t = 400
	c.response(1, 200, "text/event-stream", "")
	h.t = 900
	c.body(1, []byte(": ping\n"))
	h.take()
	h.t = 1000 // fires; the last byte came 100 ms ago
	c.timer(watchdogTimer)
	if got := h.take(); got != "timer 1 901" {
		t.Fatalf("re-arm: %s", got)
	}
	h.t = 1901
	c.timer(watchdogTimer)
	if got := h.take(); got != "abort; error true; timer 0 3000" {
		t.Fatalf("trip: %s", got)
	}
	if c.state != connecting {
		t.Errorf("state %d", c.state)
	}
}

func TestDecoderLimitFails(t *testing.T) {
	h := newFakeHost()
	c := newConn(1, "http://example.com/", config{limits: limits(16), policy: defaultPolicy()}, h)
	c.start()
	c.response(1, 200, "text/event-stream", "")
	h.take()
	if c.body(1, []byte("data: ok\n\ndata: this line is far too long\n")) {
		t.Error("body wants more past the limit")
	}
	if got := h.take(); got != "events 1; abort; error false" {
		t.Errorf("got %s", got)
	}
}

func TestRetransport(t *testing.T) {
	c, h := testConn(config{transport: transportFetch})
	h.take()
	c.retransport(1, transportXHR, "")
	if got := h.take(); got != "abort; request 2" {
		t.Errorf("got %s", got)
	}
	if h.last().transport != transportXHR {
		t.Error("transport not switched")
	}
	if c.failures != 0 {
		t.Error("switching transports counted as a failure")
	}
}

func TestXHRRecycling(t *testing.T) {
	c, h := testConn(config{transport: transportXHR})
	c.response(1, 200, "text/event-stream", "")
	h.take()
	if !c.body(1, []byte("id: 9\ndata: a\n\n")) {
		t.Fatal("stopped early")
	}
	// The transport delivered up to an event boundary and ended the
	// response, its budget spent: replaced at once, silently.
	c.end(1, endRecycled)
	if got := h.take(); got != "events 1; request 2" {
		t.Fatalf("recycle: %s", got)
	}
	if v, _ := headerValue(h.last(), "Last-Event-ID"); v != "9" {
		t.Errorf("Last-Event-ID %q", v)
	}
	if !c.response(2, 200, "text/event-stream", "") || len(h.log) != 0 {
		t.Errorf("second open announced: %v", h.log)
	}
	if c.state != open || c.failures != 0 {
		t.Errorf("state %d, failures %d", c.state, c.failures)
	}
	// A partial event the decoder held is dropped: the server resends it
	// after the last event ID.
	c.body(2, []byte("id: 10\ndata: part"))
	c.end(2, endRecycled)
	if v, _ := headerValue(h.last(), "Last-Event-ID"); v != "9" {
		t.Errorf("after a partial event: Last-Event-ID %q", v)
	}
	c.response(3, 200, "text/event-stream", "")
	h.take()
	c.body(3, []byte("id: 10\ndata: b\n\n"))
	if got := h.take(); got != "events 1" {
		t.Errorf("resent event: %s", got)
	}
}

// TestBatchRepeatedType checks the batch encoding: a type equal to the
// previous event's in the batch is left empty, for the shim to fill in.
func TestBatchRepeatedType(t *testing.T) {
	c, h := testConn(config{})
	c.start()
	c.response(1, 200, "text/event-stream", "")
	c.body(1, []byte("data: 1\n\ndata: 2\n\nevent: x\ndata: 3\n\nevent: x\ndata: 4\n\nid: 9\ndata: 5\n\n"))
	if want := "message\r1\r\r\r2\r\rx\r3\r\r\r4\r\rmessage\r5\r9\r"; len(h.batches) != 1 || h.batches[0] != want {
		t.Errorf("batches %q, want [%q]", h.batches, want)
	}
	// A new batch starts afresh.
	c.body(1, []byte("data: 6\n\n"))
	if want := "message\r6\r9\r"; len(h.batches) != 2 || h.batches[1] != want {
		t.Errorf("batches %q, want second %q", h.batches, want)
	}
}

// TestBatchRawData checks that the data of events reaches the batch as the
// stream sent it, for the shim's TextDecoder to decode (and replace what is
// not UTF-8), small and big alike, while types and ids are decoded here.
func TestBatchRawData(t *testing.T) {
	big := strings.Repeat("\xFF", bigData)
	for _, tc := range []struct{ name, in, want string }{
		{"invalid byte", "data: a\xFFb\n\n", "message\ra\xFFb\r\r"},
		{"sequence cut by a line end", "data: \xE2\x82\ndata: \xAC\n\n", "message\r\xE2\x82\n\xAC\r\r"},
		{"valid UTF-8", "data: é中😀\n\n", "message\ré中😀\r\r"},
		{"type and id decoded", "event: \xFFt\nid: \xC3\ndata: \xFF\n\n", "\uFFFDt\r\xFF\r\uFFFD\r"},
		{"big data", "data: " + big + "\n\n", "message\r" + big + "\r\r"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, h := testConn(config{})
			c.response(1, 200, "text/event-stream", "")
			c.body(1, []byte(tc.in))
			if len(h.batches) != 1 || h.batches[0] != tc.want {
				t.Errorf("batches %q, want [%q]", h.batches, tc.want)
			}
		})
	}
}

// TestBigEventsReuse checks the data of big events over many bodies, their
// buffers given back to the decoder once the host has seen them (see body):
// each batch shows each event's own data.
func TestBigEventsReuse(t *testing.T) {
	c, h := testConn(config{})
	c.response(1, 200, "text/event-stream", "")
	var stream string
	var want []string
	for i := range 12 {
		data := strings.Repeat(string(rune('a'+i)), bigData+100*(i%3))
		stream += "data: " + data + "\n\n"
		want = append(want, data)
	}
	// Bodies of several sizes: events whole, and split between bodies.
	for p := stream; len(p) > 0; {
		n := min(len(p), 1000+len(p)%3000)
		c.body(1, []byte(p[:n]))
		p = p[n:]
	}
	var got []string
	for _, b := range h.batches {
		f := strings.Split(b, "\r")
		for i := 0; i+2 < len(f); i += 3 {
			got = append(got, f[i+1])
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("data of %d events, not those of the %d sent", len(got), len(want))
	}
}

// TestBodyInSlices checks that a chunk bigger than writeSlice is decoded
// and dispatched in batches, with events split across slices whole.
func TestBodyInSlices(t *testing.T) {
	c, h := testConn(config{})
	c.start()
	c.response(1, 200, "text/event-stream", "")
	ev := "data: " + strings.Repeat("x", 1000) + "\n\n"
	n := 3*writeSlice/len(ev) + 1
	if !c.body(1, []byte(strings.Repeat(ev, n))) {
		t.Fatal("body stopped")
	}
	got := 0
	for _, b := range h.batches {
		f := strings.Split(b, "\r")
		for i := 0; i+2 < len(f); i += 3 {
			if len(f[i+1]) != 1000 {
				t.Fatalf("event %d has %d bytes of data", got, len(f[i+1]))
			}
			got++
		}
	}
	if got != n || len(h.batches) < 4 {
		t.Errorf("%d events in %d batches, want %d in at least 4", got, len(h.batches), n)
	}
}

// text returns b in the shim's format with the data of big events in place,
// as the shim sees it once it has decoded them.
func (b *batch) text() string {
	f := strings.Split(string(b.buf), "\r")
	for i, at := range b.bigAt {
		f[3*at+1] = string(b.big[i])
	}
	return strings.Join(f, "\r")
}

// TestBatchBigData checks that the data of big events stays out of the
// batch's bytes, listed for the shim to decode in place.
func TestBatchBigData(t *testing.T) {
	c, h := testConn(config{})
	c.start()
	c.response(1, 200, "text/event-stream", "")
	big := strings.Repeat("é", bigData/2)
	var seen []string
	h.onEvent = func(c *conn) {
		seen = append(seen, string(bytes.Join(c.batch.big, []byte(","))), string(c.batch.buf), strings.Trim(strings.Replace(strings.Trim(fmt.Sprint(c.batch.bigAt), "[]"), " ", ",", -1), ","))
	}
	c.body(1, []byte("data: a\n\ndata: "+big+"\n\nevent: x\ndata: b\n\nid: 3\ndata: "+big+"\n\n"))
	if want := "message\ra\r\r\r" + big + "\r\rx\rb\r\rmessage\r" + big + "\r3\r"; len(h.batches) != 1 || h.batches[0] != want {
		t.Fatalf("batches %q, want [%q]", h.batches, want)
	}
	if want := []string{big + "," + big, "message\ra\r\r\r\r\rx\rb\r\rmessage\r\r3\r", "1,3"}; !slices.Equal(seen, want) {
		t.Errorf("batch seen by the host: %q, want %q", seen, want)
	}
	if len(c.batch.big) != 0 || len(c.batch.bigAt) != 0 {
		t.Error("big events kept after the batch")
	}
}

func TestGatewayErrors(t *testing.T) {
	for _, tc := range []struct {
		lenient bool
		status  int
		want    string
	}{
		{false, 502, "abort; error false"},
		{false, 503, "abort; error false"},
		{false, 504, "abort; error false"},
		{true, 502, "abort; error true; timer 0 100"},
		{true, 503, "abort; error true; timer 0 100"},
		{true, 504, "abort; error true; timer 0 100"},
		{true, 500, "abort; error false"},
		{true, 505, "abort; error false"},
	} {
		c, h := testConn(config{gatewayErrors: tc.lenient, retryMS: 100})
		h.take()
		if c.response(1, tc.status, "text/html", "") {
			t.Errorf("%d accepted", tc.status)
		}
		if got := h.take(); got != tc.want {
			t.Errorf("lenient %v, %d: %s, want %s", tc.lenient, tc.status, got, tc.want)
		}
	}
}

func TestCORSRefusal(t *testing.T) {
	// Refused without a header of ours: the connection fails, as native.
	c, h := testConn(config{})
	h.take()
	c.end(1, endRefused)
	if got := h.take(); got != "error false" || c.state != closed {
		t.Errorf("refused: %s, state %d", got, c.state)
	}
	// XHR cannot tell a refusal from a network error: that reconnects.
	c, h = testConn(config{transport: transportXHR})
	h.take()
	c.end(1, endUnknown)
	if got := h.take(); got != "error true; timer 0 3000" {
		t.Errorf("unknown: %s", got)
	}
	// A refusal after the response started is no CORS refusal.
	c, h = testConn(config{})
	c.response(1, 200, "text/event-stream", "")
	h.take()
	c.end(1, endRefused)
	if got := h.take(); got != "error true; timer 0 3000" {
		t.Errorf("refused after a response: %s", got)
	}
}

func TestRefusedHeadersDropped(t *testing.T) {
	for _, how := range []int{endRefused, endUnknown} {
		c, h := testConn(config{sameOrigin: true, transport: transportXHR, retryMS: 50})
		if v, _ := headerValue(h.last(), "Cache-Control"); v != "no-cache" {
			t.Fatalf("Cache-Control %q same-origin over XHR", v)
		}
		c.response(1, 200, "text/event-stream", "")
		c.body(1, []byte("id: 7\ndata: x\n\n"))
		c.end(1, endNetwork)
		c.timer(reconnectTimer)
		r := h.last()
		if v, _ := headerValue(r, "Last-Event-ID"); v != "7" || r.url != "http://example.com/events" {
			t.Fatalf("reconnection: Last-Event-ID %q, url %s", v, r.url)
		}
		h.take()
		// No response: a header of ours may have cost a refused preflight
		// (a redirect to another origin): at once again without them.
		c.end(2, how)
		if got := h.take(); got != "request 3" {
			t.Fatalf("how %d: %s, want an immediate retry", how, got)
		}
		r = h.last()
		if len(r.headers) != 1 || r.url != "http://example.com/events?lastEventId=7" {
			t.Errorf("how %d: plain retry headers %v, url %s", how, r.headers, r.url)
		}
		// Refused again, without headers of ours: it fails (or, on XHR,
		// reconnects as from a network error).
		c.end(3, how)
		want := map[int]string{endRefused: "error false", endUnknown: "error true; timer 0 50"}[how]
		if got := h.take(); got != want {
			t.Errorf("how %d: second refusal %s, want %s", how, got, want)
		}
	}
	// A plain network error keeps the headers.
	c, h := testConn(config{sameOrigin: true, transport: transportXHR})
	h.take()
	c.end(1, endNetwork)
	c.timer(reconnectTimer)
	if v, _ := headerValue(h.last(), "Cache-Control"); v != "no-cache" {
		t.Errorf("Cache-Control dropped after a network error")
	}
}

func TestCacheControlOnlyWhereFree(t *testing.T) {
	for _, tc := range []struct {
		cfg  config
		want bool
	}{
		{config{sameOrigin: true, transport: transportXHR}, true},
		{config{sameOrigin: false, transport: transportXHR}, false},
		// fetch's cache mode makes the browser send it.
		{config{sameOrigin: true, transport: transportFetch}, false},
	} {
		_, h := testConn(tc.cfg)
		if _, ok := headerValue(h.last(), "Cache-Control"); ok != tc.want {
			t.Errorf("%+v: Cache-Control %v, want %v", tc.cfg, ok, tc.want)
		}
	}
}

func TestXHRSkipsOneBOM(t *testing.T) {
	// responseText has lost the first BOM already: a second one is kept,
	// so the first field's name is not data.
	for _, tc := range []struct {
		transport transport
		body      string
		want      string
	}{
		{transportXHR, "\uFEFFdata: 1\n\ndata: 2\n\n", "message\r2\r\r"},
		{transportXHR, "data: 1\n\n", "message\r1\r\r"},
		{transportFetch, "\uFEFFdata: 1\n\n", "message\r1\r\r"},
		{transportFetch, "\uFEFF\uFEFFdata: 1\n\ndata: 2\n\n", "message\r2\r\r"},
	} {
		c, h := testConn(config{transport: tc.transport})
		c.response(1, 200, "text/event-stream", "")
		c.body(1, []byte(tc.body))
		if got := strings.Join(h.batches, ""); got != tc.want {
			t.Errorf("transport %d, %q: %q, want %q", tc.transport, tc.body, got, tc.want)
		}
	}
}

func TestNoUserHeadersOnXHRAfterRedirect(t *testing.T) {
	// fetch saw the stream come from another URL (a redirect it followed
	// without the page's headers) and cannot stream it: the XHR that
	// replaces it, which would follow the redirect with them, goes without.
	h := newFakeHost()
	h.user = []header{{"X-Api-Key", "secret"}}
	c := newConn(1, "http://example.com/events#f", config{userHeaders: true, transport: transportFetch, policy: defaultPolicy()}, h)
	c.start()
	if v, _ := headerValue(h.last(), "X-Api-Key"); v != "secret" {
		t.Fatalf("first request: X-Api-Key %q", v)
	}
	c.retransport(1, transportXHR, "http://other.example/events")
	if _, ok := headerValue(h.last(), "X-Api-Key"); ok {
		t.Errorf("the XHR after a redirect carries the page's headers: %v", h.last().headers)
	}
	// Without a redirect (the same URL, its fragment aside) they stay.
	h = newFakeHost()
	h.user = []header{{"X-Api-Key", "secret"}}
	c = newConn(1, "http://example.com/events#f", config{userHeaders: true, transport: transportFetch, policy: defaultPolicy()}, h)
	c.start()
	c.retransport(1, transportXHR, "http://example.com/events")
	if v, _ := headerValue(h.last(), "X-Api-Key"); v != "secret" {
		t.Errorf("no redirect: X-Api-Key %q on the XHR", v)
	}
	// An XHR stream found redirected goes without them from then on.
	c.response(2, 200, "text/event-stream", "http://other.example/events")
	c.end(2, endNetwork)
	c.timer(reconnectTimer)
	if _, ok := headerValue(h.last(), "X-Api-Key"); ok {
		t.Errorf("XHR reconnection after a redirect carries the page's headers")
	}
}

func TestAbortedFails(t *testing.T) {
	// window.stop() aborts the request, before or after the response: the
	// standard fails the connection.
	for _, answered := range []bool{false, true} {
		c, h := testConn(config{sameOrigin: true, transport: transportXHR})
		if answered {
			c.response(1, 200, "text/event-stream", "")
			c.body(1, []byte("data: x\n\n"))
		}
		h.take()
		c.end(1, endAborted)
		if got := h.take(); got != "error false" || c.state != closed {
			t.Errorf("answered %v: %s, state %d", answered, got, c.state)
		}
	}
}

// TestAdopt covers each way the lite engine hands a connection over: the
// attempt in flight at an event boundary, or the next attempt, seen by the
// page or not; the last event ID, the retry field's time, the failures and
// the refusal of our headers move with it.
func TestAdopt(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hd       handover
		attempt  int
		start    string // what adopt asks of the host
		lastID   string // the Last-Event-ID header of the request adopt made
		query    string // the URL of that request, when it differs
		respond  string // what a response to that request does
		body     string // text of the adopted attempt after the boundary
		events   string // the batch it gives
		recycled string // what a budget recycle of the adopted attempt does
	}{
		{name: "in flight", hd: handover{lastID: "7", retryMS: 1500, how: adoptInFlight}, attempt: 1, start: "",
			body: "data: a\n\nid: 8\ndata: b\n\n", events: "message\ra\r7\r\rb\r8\r", recycled: "request 2"},
		{name: "in flight, a byte order mark after the boundary is no mark", hd: handover{lastID: "7", how: adoptInFlight}, attempt: 1,
			body: "\uFEFFdata: lost\n\ndata: c\n\n", events: "message\rc\r7\r", recycled: "request 2"},
		{name: "in flight, partial event after the boundary", hd: handover{how: adoptInFlight}, attempt: 1,
			body: "data: d\r\rdata: part", events: "message\rd\r\r", recycled: "request 2"},
		{name: "connect", hd: handover{lastID: "7", retryMS: 1500, failures: 2, how: adoptConnect}, attempt: 1, start: "request 1",
			lastID: "7", respond: "open http://example.com/events"},
		{name: "resume unseen", hd: handover{lastID: "9", how: adoptResume}, attempt: 1, start: "request 1",
			lastID: "9", respond: ""},
		{name: "plain", hd: handover{lastID: "9", plain: true, how: adoptConnect}, attempt: 1, start: "request 1",
			query: "http://example.com/events?lastEventId=9", respond: "open http://example.com/events"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newFakeHost()
			c := newConn(1, "http://example.com/events", config{sameOrigin: true, transport: transportFetch, policy: policy{max: 30000, factor: 1}}, h)
			if got := c.adopt(tc.hd); got != tc.attempt {
				t.Fatalf("adopt = %d, want %d", got, tc.attempt)
			}
			if got := h.take(); got != tc.start {
				t.Fatalf("adopt asked %q, want %q", got, tc.start)
			}
			if tc.hd.retryMS > 0 && c.retryMS != tc.hd.retryMS {
				t.Errorf("retry %d, want %d", c.retryMS, tc.hd.retryMS)
			}
			if tc.hd.how != adoptInFlight {
				r := h.last()
				id, _ := headerValue(r, "Last-Event-ID")
				if id != tc.lastID {
					t.Errorf("Last-Event-ID %q, want %q", id, tc.lastID)
				}
				if _, cc := headerValue(r, "Cache-Control"); cc {
					t.Errorf("Cache-Control on a fetch request")
				}
				if want := tc.query; want != "" && r.url != want {
					t.Errorf("url %q, want %q", r.url, want)
				}
				if !c.response(tc.attempt, 200, "text/event-stream", "") {
					t.Fatal("response refused")
				}
				if got := h.take(); got != tc.respond {
					t.Errorf("response did %q, want %q", got, tc.respond)
				}
				if c.state != open {
					t.Errorf("state %d after the response", c.state)
				}
				if c.failures != tc.hd.failures {
					t.Errorf("failures %d, want %d (an attempt counts only once it ends)", c.failures, tc.hd.failures)
				}
				return
			}
			if c.state != open {
				t.Fatalf("state %d after adopting an open response", c.state)
			}
			if !c.body(tc.attempt, []byte(tc.body)) {
				t.Fatal("body refused")
			}
			if got := strings.Join(h.batches, ""); got != tc.events {
				t.Errorf("events %q, want %q", got, tc.events)
			}
			h.take()
			c.end(tc.attempt, endRecycled)
			if got := h.take(); got != tc.recycled {
				t.Errorf("recycle did %q, want %q", got, tc.recycled)
			}
			if r := h.last(); r.transport != transportFetch {
				t.Errorf("the next attempt uses transport %d, want the engine's own (fetch)", r.transport)
			}
			// The page saw the stream open: no second open event.
			c.response(tc.attempt+1, 200, "text/event-stream", "")
			if got := h.take(); got != "" {
				t.Errorf("response after the recycle did %q", got)
			}
		})
	}
	// A closed conn, or one already started, adopts nothing.
	h := newFakeHost()
	c := newConn(1, "http://example.com/events", config{}, h)
	c.close()
	if got := c.adopt(handover{how: adoptInFlight}); got != 0 || c.state != closed {
		t.Errorf("closed: adopt = %d, state %d", got, c.state)
	}
	c, _ = testConn(config{})
	if got := c.adopt(handover{how: adoptConnect}); got != 0 {
		t.Errorf("started: adopt = %d", got)
	}
}

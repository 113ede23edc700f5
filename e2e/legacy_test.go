package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polysse/polysse/internal/launch"
)

// The legacy-reach tests: a page that includes the polyfill and subscribes
// with EventSourcePolyfill receives every event, in order, without
// duplicates, under every browser profile, against the real binary, across
// a hub restart, a proxy answering 502, and a proxy that buffers whole
// responses; close() stops all traffic; three streams on a page all work.
// Each runs as TestLegacy/<profile>/<scenario>.

// legacyProfiles are the browsers of design.md's matrix.
var legacyProfiles = []Profile{Modern, Firefox, EdgeHTML, IE11}

// legacyOptions are the page's EventSourcePolyfill options: short waits,
// so that each scenario takes seconds.
const legacyOptions = `{retry: {initial: 200, max: 1000}, fallbackTimeout: 3000, reportEngine: true}`

// legacyTimeout bounds each wait for the page; legacySettle is how long a
// complete result must stay complete (no late duplicate).
const (
	legacyTimeout = 15 * time.Second
	legacySettle  = 500 * time.Millisecond
)

// The engine each profile must get.
var legacyEngine = map[string]string{
	"modern": "supervised", "firefox": "supervised", "edgehtml": "wasm", "ie11": "lite",
}

type legacyScenario struct {
	name string
	only string // a profile name, or "" for every profile
	run  func(t *testing.T, r *legacyRig)
}

var legacyScenarios = []legacyScenario{
	{name: "events", run: legacyEvents},
	{name: "restart", run: legacyRestart},
	{name: "proxy-502", run: legacyProxy502},
	{name: "buffering-proxy", run: legacyBuffering},
	{name: "close", run: legacyClose},
	{name: "three-streams", run: legacyThreeStreams},
	{name: "silent-close", only: "firefox", run: legacySilentClose},
	{name: "no-needless-fallback", run: legacyNoNeedlessFallback},
}

func TestLegacy(t *testing.T) {
	t.Parallel()
	polyfill := Polyfill(t)
	for _, p := range legacyProfiles {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			for _, sc := range legacyScenarios {
				if sc.only != "" && sc.only != p.Name {
					continue
				}
				t.Run(sc.name, func(t *testing.T) {
					t.Parallel()
					sc.run(t, &legacyRig{t: t, profile: p, polyfill: polyfill})
				})
			}
		})
	}
}

// A legacyRig is one scenario's world: a hub, the fault proxy in front of
// it serving the page, and the page.
type legacyRig struct {
	t        *testing.T
	profile  Profile
	polyfill http.Handler
	hub      *Hub
	proxy    *faultProxy
	pg       *Page
	topic    string
}

// start starts a hub (unless given one), the proxy and the page; direct
// makes the page subscribe to the hub itself, cross-origin, instead of
// through the proxy.
func (r *legacyRig) start(hub *Hub, direct bool, opts ...PageOption) {
	t := r.t
	if hub == nil {
		hub = StartHub(t, "-retry", "300ms")
	}
	r.hub = hub
	r.proxy = startFaultProxy(t, hub.URL, r.polyfill)
	target := ""
	if direct {
		target = hub.URL
	}
	r.proxy.page = legacyPage(target, legacyOptions)
	r.topic = "legacy/" + r.profile.Name + "/" + t.Name()
	r.pg = RunPage(t, r.profile, r.proxy.srv.URL+"/", append([]PageOption{RecordRequests()}, opts...)...)
}

// sub subscribes stream name to topic on the page.
func (r *legacyRig) sub(name, topic string) {
	r.pg.Exec(fmt.Sprintf(`sub(%q, %q)`, name, topic))
}

func (r *legacyRig) waitOpen(name string) {
	r.pg.WaitFor(fmt.Sprintf(`__sources[%q].readyState === 1`, name), legacyTimeout, r.debug(name)...)
}

func (r *legacyRig) publish(topic string, data ...string) {
	for _, d := range data {
		r.hub.Publish(Update{Topics: []string{topic}, Data: d})
	}
}

// expect waits until stream name has received exactly want, then checks
// that nothing more comes within legacySettle.
func (r *legacyRig) expect(name string, want ...string) {
	r.t.Helper()
	js, _ := json.Marshal(strings.Join(want, "\x1f"))
	cond := fmt.Sprintf(`__got[%q].join("\x1f") === %s`, name, js)
	r.pg.WaitFor(cond, legacyTimeout, r.debug(name)...)
	time.Sleep(legacySettle)
	if got := Eval[[]string](r.pg, fmt.Sprintf(`__got[%q]`, name)); strings.Join(got, ",") != strings.Join(want, ",") {
		r.t.Fatalf("stream %s received %q, want %q: a late duplicate", name, got, want)
	}
}

func (r *legacyRig) debug(name string) []string {
	return []string{
		fmt.Sprintf(`{got: __got[%[1]q], readyState: __sources[%[1]q] && __sources[%[1]q].readyState, opens: __opens[%[1]q], errors: __errors[%[1]q]}`, name),
		`EventSourcePolyfill.__shim.modes`,
		`window.__e2eFirefoxClosed || 0`,
	}
}

// subscriptions returns the subscriptions the proxy saw, for failure
// messages.
func (r *legacyRig) subscriptions() string {
	return strings.Join(r.proxy.subscriptions(), "\n  ")
}

// legacyEvents: events arrive, on the engine the profile must get, which
// loads no file that its path's checks do not cover.
func legacyEvents(t *testing.T, r *legacyRig) {
	r.start(nil, false)
	r.sub("a", r.topic)
	r.waitOpen("a")
	r.publish(r.topic, "e1", "e2", "é3 ✓", "e4\nline2", "e5")
	r.expect("a", "e1", "e2", "é3 ✓", "e4\nline2", "e5")

	if got, want := Eval[string](r.pg, `engineOf("a")`), legacyEngine[r.profile.Name]; got != want {
		t.Errorf("engine %q, want %q", got, want)
	}
	subs := r.proxy.subscriptions()
	if len(subs) == 0 || !strings.Contains(subs[0], "_engine="+legacyEngine[r.profile.Name]) {
		t.Errorf("the first subscription does not report its engine: %v", subs)
	}
	// Every script and module the page loaded is one the path's checks
	// cover (web/test: ES5 for IE's, WebAssembly MVP for the engine).
	m := polyfillManifest(t)
	allowed := map[string][]string{
		"modern":  {"eventsource.js"},
		"firefox": {"eventsource.js"},
		// The lite engine without its fetch reader, which neither can use,
		// serves until the WebAssembly engine has booted.
		"edgehtml": {"eventsource.js", m.Glue, m.Wasm, m.LiteXHR},
		"ie11":     {"eventsource.js", m.LiteXHR},
	}[r.profile.Name]
	loaded := map[string]bool{}
	for _, q := range r.pg.Requests() {
		if i := strings.Index(q.URL, "/polyfill/"); i >= 0 {
			f := strings.SplitN(q.URL[i+len("/polyfill/"):], "?", 2)[0]
			loaded[f] = true
			if !contains(allowed, f) {
				t.Errorf("the %s path loaded %s, which it must not need; requests:\n%s", r.profile.Name, f, requestList(r.pg.Requests()))
			}
		}
	}
	for _, f := range allowed {
		if !loaded[f] {
			t.Errorf("the %s path did not load %s; requests:\n%s", r.profile.Name, f, requestList(r.pg.Requests()))
		}
	}
}

type manifest struct{ Wasm, Glue, Lite, LiteXHR string }

func polyfillManifest(t *testing.T) manifest {
	dir := polyfillDir
	if d := os.Getenv("E2E_POLYFILL_DIR"); d != "" {
		dir = d
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatalf("e2e: the polyfill's manifest: %v", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil || m.Lite == "" || m.LiteXHR == "" || m.Wasm == "" {
		t.Fatalf("e2e: the polyfill's manifest %s: %v (%+v)", b, err, m)
	}
	return m
}

// legacyRestart: the hub stops (SIGTERM, its streams end) and starts again
// on the same address and replay log; the page, subscribed to it directly
// (cross-origin), gets what was published before and after, once each.
func legacyRestart(t *testing.T, r *legacyRig) {
	addr, err := launch.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "events.db")
	key := "e2e-restart"
	flags := []string{"-store", "bolt:" + db, "-retry", "300ms", "-cors-origins", "*"}
	hub := startHubAt(t, addr, key, flags...)
	r.start(hub, true)
	r.sub("a", r.topic)
	r.waitOpen("a")
	r.publish(r.topic, "before 1", "before 2")
	r.pg.WaitFor(`__got.a.length === 2`, legacyTimeout, r.debug("a")...)

	hub.terminate(t)
	// While the hub is down the page's reconnections are refused.
	time.Sleep(500 * time.Millisecond)
	r.hub = startHubAt(t, addr, key, flags...)
	r.publish(r.topic, "after 1", "after 2")
	r.expect("a", "before 1", "before 2", "after 1", "after 2")
	if n := Eval[int](r.pg, `__errors.a`); n == 0 {
		t.Errorf("the page saw no error event across the restart")
	}
	r.checkFirefoxGaveUp()
}

// checkFirefoxGaveUp checks, under the firefox profile, that the browser's
// EventSource did give up (so the supervisor is what brought the stream
// back).
func (r *legacyRig) checkFirefoxGaveUp() {
	if r.profile.Name != "firefox" {
		return
	}
	if n := Eval[int](r.pg, `window.__e2eFirefoxClosed || 0`); n == 0 {
		r.t.Errorf("the Firefox-like EventSource never went CLOSED: the scenario did not exercise the supervisor")
	}
}

// legacyProxy502: the proxy loses its upstream (streams cut, every
// subscription answered 502) for a while, then recovers; what was
// published meanwhile arrives.
func legacyProxy502(t *testing.T, r *legacyRig) {
	r.start(nil, false)
	r.sub("a", r.topic)
	r.waitOpen("a")
	r.publish(r.topic, "e1", "e2")
	r.pg.WaitFor(`__got.a.length === 2`, legacyTimeout, r.debug("a")...)

	r.proxy.setMode(proxy502)
	r.publish(r.topic, "e3", "e4")
	waitUntil(t, legacyTimeout, "two 502 answers", func() bool { return r.proxy.served.Load() >= 2 })
	r.proxy.setMode(proxyPass)
	r.publish(r.topic, "e5")
	r.expect("a", "e1", "e2", "e3", "e4", "e5")
	r.checkFirefoxGaveUp()
}

// legacySilentClose: a native EventSource that goes CLOSED without an
// error event is noticed and replaced.
func legacySilentClose(t *testing.T, r *legacyRig) {
	r.start(nil, false, WithScript(`window.__e2eFirefoxSilent = true;`))
	r.sub("a", r.topic)
	r.waitOpen("a")
	r.publish(r.topic, "e1")
	r.pg.WaitFor(`__got.a.length === 1`, legacyTimeout, r.debug("a")...)
	r.proxy.setMode(proxy502)
	r.pg.WaitFor(`window.__e2eFirefoxClosed >= 1`, legacyTimeout, r.debug("a")...)
	r.proxy.setMode(proxyPass)
	r.publish(r.topic, "e2")
	r.expect("a", "e1", "e2")
}

// legacyBuffering: a proxy that holds every response until it is complete
// makes the page fall back to long-poll, where events arrive; the page
// sees one stream (one open, no error); close() ends the polling.
func legacyBuffering(t *testing.T, r *legacyRig) {
	r.start(nil, false)
	r.proxy.setMode(proxyBuffer)
	r.sub("a", r.topic)
	waitUntil(t, legacyTimeout, "a long-poll request", func() bool {
		for _, s := range r.proxy.subscriptions() {
			if strings.Contains(s, "transport=poll") {
				return true
			}
		}
		return false
	})
	// The first poll starts from the hub's present: let it arrive there.
	time.Sleep(300 * time.Millisecond)
	for i := 1; i <= 3; i++ {
		r.publish(r.topic, "e"+strconv.Itoa(i))
		time.Sleep(100 * time.Millisecond)
	}
	r.expect("a", "e1", "e2", "e3")
	if n := Eval[int](r.pg, `__opens.a`); n != 1 {
		t.Errorf("the page saw %d open events, want 1", n)
	}
	if n := Eval[int](r.pg, `__errors.a`); n != 0 {
		t.Errorf("the page saw %d error events, want 0", n)
	}
	r.pg.Exec(`__sources.a.close()`)
	r.expectSilence()
}

// expectSilence checks that, after close(), the proxy serves no
// subscription and gets no new one.
func (r *legacyRig) expectSilence() {
	t := r.t
	waitUntil(t, 5*time.Second, "no subscription in flight after close()", func() bool { return r.proxy.inFlight() == 0 })
	n := len(r.proxy.subscriptions())
	time.Sleep(1500 * time.Millisecond)
	if subs := r.proxy.subscriptions(); len(subs) != n || r.proxy.inFlight() != 0 {
		t.Errorf("requests after close(): %d new, %d in flight:\n  %s", len(subs)-n, r.proxy.inFlight(), strings.Join(subs[n:], "\n  "))
	}
}

// legacyClose: close() on an open stream stops all traffic, and events
// published after it never reach the page.
func legacyClose(t *testing.T, r *legacyRig) {
	r.start(nil, false)
	r.sub("a", r.topic)
	r.waitOpen("a")
	r.publish(r.topic, "e1")
	r.pg.WaitFor(`__got.a.length === 1`, legacyTimeout, r.debug("a")...)
	r.pg.Exec(`__sources.a.close()`)
	if rs := Eval[int](r.pg, `__sources.a.readyState`); rs != 2 {
		t.Errorf("readyState after close() = %d", rs)
	}
	r.publish(r.topic, "e2")
	r.expectSilence()
	if got := Eval[[]string](r.pg, `__got.a`); len(got) != 1 {
		t.Errorf("events after close(): %q", got)
	}
}

// legacyThreeStreams: three EventSources on one page, each on its topic,
// each get their events and only theirs.
func legacyThreeStreams(t *testing.T, r *legacyRig) {
	r.start(nil, false)
	names := []string{"a", "b", "c"}
	for _, n := range names {
		r.sub(n, r.topic+"/"+n)
	}
	for _, n := range names {
		r.waitOpen(n)
	}
	for i := 1; i <= 3; i++ {
		for _, n := range names {
			r.publish(r.topic+"/"+n, n+strconv.Itoa(i))
		}
	}
	for _, n := range names {
		r.expect(n, n+"1", n+"2", n+"3")
	}
}

// legacyNoNeedlessFallback: a quiet stream through a proxy that does not
// buffer stays a stream. The native engines learn it from the hub's probe
// (_probe=1): without it they would fall back to long-poll needlessly.
func legacyNoNeedlessFallback(t *testing.T, r *legacyRig) {
	r.start(nil, false)
	r.sub("a", r.topic)
	r.waitOpen("a")
	time.Sleep(3500 * time.Millisecond) // longer than fallbackTimeout
	r.publish(r.topic, "e1")
	r.expect("a", "e1")
	for _, s := range r.proxy.subscriptions() {
		if strings.Contains(s, "transport=poll") || strings.Contains(s, "padding=") {
			t.Fatalf("a stream through a proxy that does not buffer fell back:\n  %s", r.subscriptions())
		}
	}
}

// TestLegacyDemoPages opens web/demo/legacy.html, whose own script emulates
// each browser (the way the profiles do), in plain Chromium: each shows
// the path its browser gets, and the events.
func TestLegacyDemoPages(t *testing.T) {
	t.Parallel()
	hub := StartHub(t)
	for _, p := range legacyProfiles {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			topic := "e2e/demo/" + p.Name
			pg := RunPage(t, Modern, hub.URL+"/legacy.html?profile="+p.Name+"&topic="+topic)
			pg.WaitFor(`__legacy.es.readyState === 1`, legacyTimeout, `__legacy.es.readyState`, `__legacyProfile`)
			hub.Publish(Update{Topics: []string{topic}, Data: "hello " + p.Name})
			pg.WaitFor(`__legacy.got.join() === "hello `+p.Name+`"`, legacyTimeout, `__legacy.got`)
			if got, want := Eval[string](pg, `document.getElementById("engine").textContent`), legacyEngine[p.Name]; got != want {
				t.Errorf("the page shows engine %q, want %q", got, want)
			}
		})
	}
}

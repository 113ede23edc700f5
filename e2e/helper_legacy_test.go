package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polysse/polysse/internal/launch"
)

// The environment of the legacy-reach tests: the polysse binary behind a
// fault-injecting proxy that also serves the test page and the polyfill, so
// that the page, its script and its streams share one origin whatever the
// proxy does to the streams.

// Proxy modes.
const (
	proxyPass   int32 = iota // stream through, flushing as bytes arrive
	proxy502                 // answer every subscription 502, as a proxy whose upstream is down
	proxyBuffer              // hold each response until it is complete, as a buffering proxy
	proxyReset               // close every subscription's connection before any response
)

// A faultProxy forwards /.well-known/mercure to a hub, serves "/" (the page)
// and /polyfill/, and records the subscriptions it forwards.
type faultProxy struct {
	srv      *httptest.Server
	page     string
	hub      string // the hub's base URL
	polyfill http.Handler
	tr       *http.Transport
	mode     atomic.Int32
	served   atomic.Int64 // 502 answers given

	mu     sync.Mutex
	subs   []string                   // request URIs of subscriptions, in order
	active map[int]context.CancelFunc // subscriptions in flight
	next   int
}

func startFaultProxy(t *testing.T, hub string, polyfill http.Handler) *faultProxy {
	t.Helper()
	p := &faultProxy{
		hub:      hub,
		polyfill: polyfill,
		active:   map[int]context.CancelFunc{},
		// Compression is left to the client: the proxy relays bytes.
		tr: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16},
	}
	p.srv = httptest.NewServer(p)
	t.Cleanup(func() {
		p.cut()
		p.srv.CloseClientConnections()
		p.srv.Close()
		p.tr.CloseIdleConnections()
	})
	return p
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, p.page)
	case strings.HasPrefix(r.URL.Path, "/polyfill/"):
		http.StripPrefix("/polyfill", p.polyfill).ServeHTTP(w, r)
	case r.URL.Path == "/.well-known/mercure" && r.Method == http.MethodGet:
		p.subscribe(w, r)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// setMode switches the proxy's behaviour; switching to 502 also cuts every
// subscription in flight, as a proxy losing its upstream does.
func (p *faultProxy) setMode(m int32) {
	p.mode.Store(m)
	if m == proxy502 || m == proxyReset {
		p.cut()
	}
}

func (p *faultProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cancel := range p.active {
		cancel()
	}
}

// subscriptions returns the request URIs of the subscriptions so far.
func (p *faultProxy) subscriptions() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.subs...)
}

// inFlight is the number of subscriptions the proxy is serving now.
func (p *faultProxy) inFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.active)
}

func (p *faultProxy) subscribe(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	p.mu.Lock()
	p.subs = append(p.subs, r.URL.RequestURI())
	id := p.next
	p.next++
	p.active[id] = cancel
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.active, id)
		p.mu.Unlock()
	}()

	mode := p.mode.Load()
	if mode == proxyReset {
		panic(http.ErrAbortHandler) // no response: the client sees the connection close
	}
	if mode == proxy502 {
		p.served.Add(1)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<h1>502 Bad Gateway</h1>")
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.hub+r.URL.RequestURI(), nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for _, h := range []string{"Accept", "Last-Event-Id", "Cache-Control", "Accept-Encoding"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	res, err := p.tr.RoundTrip(req)
	if err != nil {
		if ctx.Err() != nil && r.Context().Err() == nil {
			panic(http.ErrAbortHandler) // cut: the client sees the connection break
		}
		http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	copyHeader := func() {
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
	}
	if mode == proxyBuffer {
		body, err := io.ReadAll(res.Body)
		if err != nil {
			return // the client left, or the stream was cut: nothing was sent
		}
		copyHeader()
		w.Write(body)
		return
	}
	copyHeader()
	rc := http.NewResponseController(w)
	rc.Flush()
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			rc.Flush()
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() != nil && r.Context().Err() == nil {
				panic(http.ErrAbortHandler)
			}
			return // a clean end upstream is a clean end here
		}
	}
}

// startHubAt starts the polysse binary on addr, for a test that restarts
// a hub on the address its clients know. Flags as StartHub's, with extra
// appended.
func startHubAt(t *testing.T, addr, key string, extra ...string) *Hub {
	t.Helper()
	// The previous process's socket may linger a moment: try a few times.
	var h *Hub
	var err error
	for range 20 {
		if h, err = startHub(t, addr, "memory", key, extra); !errors.Is(err, launch.ErrAddrInUse) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("e2e: polysse did not become healthy on %s: %v", addr, err)
	}
	return h
}

// terminate stops the hub with SIGTERM and waits for it to exit; a hub
// that has to be killed fails the test.
func (h *Hub) terminate(t *testing.T) {
	t.Helper()
	if err := h.proc.Stop(context.Background()); err != nil {
		t.Errorf("e2e: %v", err)
	}
}

// legacyPage is the page of the legacy tests: it includes the polyfill and
// defines sub(name, topic), which subscribes with EventSourcePolyfill to
// the hub (same origin unless hub is given) and records in window.__got[name]
// the data of each event, in window.__state[name] the readyState after each
// open and error, and window.__opens/__errors counts.
func legacyPage(hub string, options string) string {
	if hub == "" {
		hub = "/.well-known/mercure"
	} else {
		hub += "/.well-known/mercure"
	}
	return fmt.Sprintf(`<!doctype html><html><head><meta charset="utf-8"><title>legacy</title>
<script src="/polyfill/eventsource.js"></script>
<script>
var HUB = %q;
var OPTIONS = %s;
window.__got = {}; window.__sources = {}; window.__opens = {}; window.__errors = {};
function sub(name, topic) {
  var es = new EventSourcePolyfill(HUB + "?topic=" + encodeURIComponent(topic), OPTIONS);
  __got[name] = []; __opens[name] = 0; __errors[name] = 0; __sources[name] = es;
  es.onopen = function () { __opens[name]++; };
  es.onerror = function () { __errors[name]++; };
  es.onmessage = function (e) { __got[name].push(e.data); };
  return es;
}
function engineOf(name) { return __sources[name].__polysse.engine; }
</script></head><body></body></html>
`, hub, options)
}

package e2e

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

// The server side of the browser benchmark (bench_browser_test.go): one
// loopback server per page, which serves the page, the two polyfills the
// way a production server would (precompressed, brotli where the browser
// takes it, content-hashed files cached for good), the scenario's stream,
// and a clock for the latency scenario; and which counts every byte that
// crosses its connections.

// espDir is where npm puts event-source-polyfill (a devDependency of web/).
const espDir = "../web/node_modules/event-source-polyfill/src"

// espFile is the script of event-source-polyfill that pages include: its
// minified build, as a site would ship it.
const espFile = "eventsource.min.js"

// benchAsset is one static file with its compressed variants.
type benchAsset struct {
	ctype         string
	plain, br, gz []byte
	immutable     bool
}

// benchAssets holds the files the pages load, read once per benchmark run.
type benchAssets struct {
	polysse  map[string]*benchAsset // web/dist, by file name
	baseline map[string]*benchAsset // another build, -browserbench.baseline
	esp      *benchAsset            // nil when event-source-polyfill is not installed
	espErr   error
}

var (
	assetsOnce sync.Once
	assets     benchAssets
	assetsErr  error
)

// benchAssetsOrSkip returns loadBenchAssets' files, or skips b without
// them; under CI a missing build fails b instead.
func benchAssetsOrSkip(b *testing.B) *benchAssets {
	b.Helper()
	as, err := loadBenchAssets()
	if err != nil {
		if os.Getenv("CI") != "" {
			b.Fatalf("e2e: %v", err)
		}
		b.Skipf("e2e: %v", err)
	}
	return as
}

// loadBenchAssets reads the polysse build and event-source-polyfill.
func loadBenchAssets() (*benchAssets, error) {
	assetsOnce.Do(func() {
		dir := polyfillDir
		if d := os.Getenv("E2E_POLYFILL_DIR"); d != "" {
			dir = d
		}
		if assets.polysse, assetsErr = readDist(dir); assetsErr != nil {
			return
		}
		if *benchBaseline != "" {
			if assets.baseline, assetsErr = readDist(*benchBaseline); assetsErr != nil {
				return
			}
		}
		src, err := os.ReadFile(filepath.Join(espDir, espFile))
		if err != nil {
			assets.espErr = fmt.Errorf("event-source-polyfill is not installed (%v); run npm ci in web/", err)
			return
		}
		assets.esp = &benchAsset{ctype: "text/javascript; charset=utf-8", plain: src, br: compressBrotli(src), gz: compressGzip(src)}
	})
	return &assets, assetsErr
}

// readDist reads a build of the polyfill (web/dist).
func readDist(dir string) (map[string]*benchAsset, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("polyfill not built (%v); run the web build (make build)", err)
	}
	files := map[string]*benchAsset{}
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || strings.HasSuffix(name, ".br") || strings.HasSuffix(name, ".gz") {
			continue
		}
		a := &benchAsset{ctype: mime.TypeByExtension(path.Ext(name)), immutable: strings.Count(name, ".") >= 2}
		if a.plain, err = os.ReadFile(filepath.Join(dir, name)); err != nil {
			return nil, err
		}
		if path.Ext(name) == ".wasm" {
			a.ctype = "application/wasm"
		}
		a.br, _ = os.ReadFile(filepath.Join(dir, name+".br"))
		a.gz, _ = os.ReadFile(filepath.Join(dir, name+".gz"))
		files[name] = a
	}
	if files["eventsource.js"] == nil {
		return nil, fmt.Errorf("no eventsource.js in %s; run the web build (make build)", dir)
	}
	return files, nil
}

func compressBrotli(p []byte) []byte {
	var b bytes.Buffer
	w := brotli.NewWriterLevel(&b, brotli.BestCompression)
	w.Write(p)
	w.Close()
	return b.Bytes()
}

func compressGzip(p []byte) []byte {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	w.Write(p)
	w.Close()
	return b.Bytes()
}

// serve writes a, compressed as the request allows. As the hub does
// (cmd/polysse/assets.go), a file that is not cached for good carries an
// ETag, and a revalidation that matches it gets 304 without a body.
func (a *benchAsset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Vary", "Accept-Encoding")
	if a.immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	body := a.plain
	accept := r.Header.Get("Accept-Encoding")
	switch {
	case a.br != nil && strings.Contains(accept, "br"):
		body = a.br
		h.Set("Content-Encoding", "br")
	case a.gz != nil && strings.Contains(accept, "gzip"):
		body = a.gz
		h.Set("Content-Encoding", "gzip")
	}
	if !a.immutable {
		sum := sha256.Sum256(body)
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		h.Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// countingListener counts the bytes of every connection it accepts.
type countingListener struct {
	net.Listener
	down, up atomic.Int64 // server to browser, browser to server
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.up.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.l.down.Add(int64(n))
	return n, err
}

// benchServer is the loopback server of one benchmark page.
type benchServer struct {
	*httptest.Server
	counter  *countingListener
	closing  chan struct{}
	encoding atomic.Value // the Accept-Encoding of the last script request
}

// newBenchServer serves html at /, the polyfills under /polysse/ and
// /esp/, the server's clock (Unix milliseconds, fractional) at /clock, and
// stream at /sse.
var benchRTT = flag.Duration("browserbench.rtt", 0, "a wait before each answer of the browser benchmarks' server, as a network's round trip (0: loopback as it is)")

func newBenchServer(tb testing.TB, as *benchAssets, html string, stream func(w http.ResponseWriter, r *http.Request, done <-chan struct{})) *benchServer {
	s := &benchServer{closing: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, html)
	})
	files := func(set map[string]*benchAsset) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			a := set[r.PathValue("file")]
			if a == nil {
				http.NotFound(w, r)
				return
			}
			s.encoding.Store(r.Header.Get("Accept-Encoding"))
			a.serve(w, r)
		}
	}
	mux.HandleFunc("/baseline/{file}", files(as.baseline))
	mux.HandleFunc("/polysse/{file}", files(as.polysse))
	mux.HandleFunc("/esp/"+espFile, func(w http.ResponseWriter, r *http.Request) {
		if as.esp == nil {
			http.NotFound(w, r)
			return
		}
		s.encoding.Store(r.Header.Get("Accept-Encoding"))
		as.esp.serve(w, r)
	})
	mux.HandleFunc("/clock", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, unixMillis(time.Now()))
	})
	mux.HandleFunc("/boot", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/sse", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		stream(w, r, s.closing)
	})
	var h http.Handler = mux
	if d := *benchRTT; d > 0 {
		// Each request waits a round trip before its answer, as over a
		// network: what a page waits for in series shows.
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
			mux.ServeHTTP(w, r)
		})
	}
	s.Server = httptest.NewUnstartedServer(h)
	s.counter = &countingListener{Listener: s.Listener}
	s.Listener = s.counter
	s.Start()
	tb.Cleanup(func() {
		close(s.closing)
		s.CloseClientConnections()
		s.Close()
	})
	return s
}

func unixMillis(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixNano())/1e6, 'f', 3, 64)
}

// Streams of the scenarios.

// helloStream sends one event, then holds the response open.
func helloStream(w http.ResponseWriter, r *http.Request, done <-chan struct{}) {
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "data: hello\n\n")
	http.NewResponseController(w).Flush()
	select {
	case <-r.Context().Done():
	case <-done:
	}
}

// burstStream sends body at once, then holds the response open until the
// page closes it: a throughput measurement is the client's.
func burstStream(body []byte) func(http.ResponseWriter, *http.Request, <-chan struct{}) {
	return func(w http.ResponseWriter, r *http.Request, done <-chan struct{}) {
		rc := http.NewResponseController(w)
		w.WriteHeader(http.StatusOK)
		rc.Flush()
		for p := body; len(p) > 0; {
			n := min(len(p), 1<<20)
			if _, err := w.Write(p[:n]); err != nil {
				return
			}
			p = p[n:]
		}
		rc.Flush()
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
}

// pacedStream sends n events, every interval, each with the server's
// clock at the moment it is written as its data.
func pacedStream(n int, interval time.Duration) func(http.ResponseWriter, *http.Request, <-chan struct{}) {
	return func(w http.ResponseWriter, r *http.Request, done <-chan struct{}) {
		rc := http.NewResponseController(w)
		w.WriteHeader(http.StatusOK)
		rc.Flush()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		buf := make([]byte, 0, 64)
		for i := 0; i < n; i++ {
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return
			case <-done:
				return
			}
			buf = append(append(append(buf[:0], "data: "...), unixMillis(time.Now())...), "\n\n"...)
			if _, err := w.Write(buf); err != nil {
				return
			}
			rc.Flush()
		}
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
}

// reconnectStream ends every response right after one event and a retry
// field, and records, for each request after the first, how long after
// the previous response ended it arrived.
type reconnectStream struct {
	retry string
	mu    sync.Mutex
	ended time.Time
	gaps  []time.Duration
}

func (s *reconnectStream) serve(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
	s.mu.Lock()
	if !s.ended.IsZero() {
		s.gaps = append(s.gaps, time.Since(s.ended))
	}
	s.mu.Unlock()
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: %s\ndata: x\n\n", s.retry)
	rc.Flush()
	s.mu.Lock()
	s.ended = time.Now()
	s.mu.Unlock()
	// Returning ends the chunked body; the time is taken just before, as
	// the last bytes leave.
}

func (s *reconnectStream) gapsMS() []float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]float64, len(s.gaps))
	for i, g := range s.gaps {
		out[i] = float64(g.Microseconds()) / 1000
	}
	return out
}

// Pages of the benchmarks.

// benchPageHTML is the HTML of a benchmark page: head (markup that must come
// before the polyfill, if any), the script at src (the polyfill, if any),
// then script, which sees ES the constructor, INIT its second argument (a
// JavaScript expression), STREAM the stream's URL, and __finish(result),
// which resolves the promise window.__done.
func benchPageHTML(head, src, ctor, init, script string) string {
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\">\n")
	b.WriteString(head)
	if src != "" {
		b.WriteString("<script src=\"" + src + "\"></script>\n")
	}
	fmt.Fprintf(&b, "<script>\nvar ES = %s, INIT = %s, STREAM = \"/sse\", __finish;\n", ctor, init)
	b.WriteString("window.__done = new Promise(function (resolve) { __finish = resolve; });\n")
	b.WriteString(script)
	b.WriteString("\n</script></head><body></body></html>\n")
	return b.String()
}

// burstScript is the page script of a throughput measurement of n events
// (for benchPageHTML): window.__run() receives the stream on a fresh
// EventSource and resolves with the time from its open event to the last
// event's listener, and the characters of data it got. The page first opens
// an EventSource on a 204 (which fails at once) and resolves __done after
// it, so that polysse's engine is loaded and started before the first
// measurement, not yet optimised by the browser.
func burstScript(n int) string {
	return fmt.Sprintf(`var N = %d;
window.__run = function () {
  return new Promise(function (resolve) {
    var n = 0, t0 = 0, chars = 0, es = new ES(STREAM, INIT);
    es.onopen = function () { t0 = performance.now(); };
    es.addEventListener("message", function (e) {
      chars += e.data.length;
      if (++n === N) {
        var t = performance.now();
        es.close();
        resolve({ms: t - t0, chars: chars});
      }
    });
    es.onerror = function () {
      if (n < N) {
        es.close();
        resolve({error: "error event after " + n + " events, readyState " + es.readyState});
      }
    };
  });
};
var boot = new ES("/boot", INIT);
boot.onerror = function () { boot.close(); setTimeout(function () { __finish(true); }, 100); };`, n)
}

// coldBurstScript is burstScript's measurement on a page's first
// EventSource, made as the page loads: window.__done resolves with its
// outcome (burstOutcome).
func coldBurstScript(n int) string {
	s := burstScript(n)
	s = s[:strings.Index(s, "var boot")]
	return s + "__run().then(__finish);"
}

// burstOutcome is what __run (burstScript) resolves with.
type burstOutcome struct {
	MS    float64
	Chars int
	Error string
}

// runBurst runs the page's __run once and checks that every one of
// wantChars characters of data arrived; what names the cell in a failure.
func runBurst(b testing.TB, pg *Page, what string, wantChars int) burstOutcome {
	b.Helper()
	out := awaitEval[burstOutcome](b, pg, `__run()`, 3*time.Minute)
	if out.Error != "" {
		b.Fatalf("%s: %s", what, out.Error)
	}
	if out.Chars != wantChars {
		b.Fatalf("%s: the page got %d characters of data, want %d", what, out.Chars, wantChars)
	}
	return out
}

// columnWanted reports whether -browserbench.matrixcols (a comma-separated
// list; empty for all) names the column.
func columnWanted(name string) bool {
	return *matrixColList == "" || slices.Contains(strings.Split(*matrixColList, ","), name)
}

package e2e

import (
	"flag"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/polysse/polysse/sse"
)

// BenchmarkBrowserMatrix measures throughput on every event shape, in
// headless Chromium, native EventSource beside polysse in each of its
// engine and transport pairs and the npm event-source-polyfill, in the same
// run:
//
//	go test -run '^$' -bench BrowserMatrix -benchtime 1x .
//
// Shapes (rows): event sizes from 8 bytes to 1 MiB; data lines from 1 byte
// to 1 MiB (a 64 KiB and a 1 MiB event on one line); multi-byte UTF-8 data;
// a burst with thousands of events per network read, and 1 MiB events each
// written in 1 KiB pieces, each flushed on its own (one event over many
// reads). Columns: native (modern profile), polysse's WebAssembly engine
// and its lite engine, each over fetch and over XHR, all four with native
// deleted and built with the EventSourcePolyfill constructor and its
// engine and transport options, event-source-polyfill, and bare fetch and
// XHR readers (bareFetch, bareXHR: what a minimal script gets from each
// transport here; over XHR, the most any script gets).
// Two more columns measure a page's first stream, as a page that opens one
// stream as it loads sees it: native-cold (the modern profile) and auto-cold
// (polysse with native deleted, window.EventSource with no options: what
// the script picks by itself), each on a page that opens the stream as it
// loads, nothing loaded or run before; auto-cold's ratio is to
// native-cold's in the same round.
//
// Otherwise a cell is one page: it opens an EventSource on a 204 first (so that
// polysse's engine is loaded and started), then receives the shape's burst
// twice on fresh EventSources, from the open event to the last event's
// listener, and checks every character arrived. The second, warm, run is
// the cell's figure (the first is in the -v log): a page that receives a
// stream for long runs warm code. V8 optimises WebAssembly later than that
// (docs/benchmarks.md, Session 11): -browserbench.matrixruns=N receives the
// burst N times and takes the last; -browserbench.matrixlater=D measures
// a later page of the site, loaded D after a visit that received the bursts
// in the same browser context. -browserbench.matrixreps rounds, each
// running every column once in a rotating order; a cell gives the median
// ratio of the column's MB/s (of stream, 10^6 bytes) to native's in the
// same round, and native's median MB/s. -browserbench.shapes picks rows by
// name, -browserbench.matrixcols columns; -browserbench.profile profiles
// the warm runs, and a page's first stream from before the page loads,
// each round's in files of its own (see BenchmarkBrowser).
func BenchmarkBrowserMatrix(b *testing.B) {
	as := benchAssetsOrSkip(b)
	Browser(b)
	cols := slices.Clone(matrixColumns)
	if as.baseline != nil {
		// Another build (-browserbench.baseline), for a before-and-after in
		// one run: its engine in each of the pairs above.
		for _, c := range matrixColumns {
			if c.script == "/polysse/eventsource.js" {
				c.name, c.title, c.script = "base-"+c.name, "baseline "+strings.TrimPrefix(c.title, "polysse "), "/baseline/eventsource.js"
				cols = append(cols, c)
			}
		}
	}
	// native-cold is the reference of the cold columns, the baseline's too.
	coldWanted := slices.ContainsFunc(cols, func(d matrixColumn) bool { return d.cold && d.name != "native-cold" && columnWanted(d.name) })
	cols = slices.DeleteFunc(cols, func(c matrixColumn) bool {
		if c.name == "native-cold" {
			return !coldWanted
		}
		return c.name != "native" && !columnWanted(c.name)
	})
	if as.esp == nil {
		cols = slices.DeleteFunc(cols, func(c matrixColumn) bool { return c.name == "esp" })
		fmt.Printf("BenchmarkBrowserMatrix: no event-source-polyfill column: %v\n", as.espErr)
	}
	shapes := matrixShapes()
	if *matrixShapeList != "" {
		want := strings.Split(*matrixShapeList, ",")
		shapes = slices.DeleteFunc(shapes, func(s matrixShape) bool { return !slices.Contains(want, s.name) })
	}
	type cell struct{ mbs, ratio []float64 }
	results := map[string]map[string]*cell{}
	for _, sh := range shapes {
		results[sh.name] = map[string]*cell{}
		for _, c := range cols {
			results[sh.name][c.name] = &cell{}
		}
		b.Run(sh.name, func(b *testing.B) {
			for range b.N {
				for i := 0; i < *matrixReps; i++ {
					got := map[string]float64{}
					for j := range cols {
						c := cols[(i+j)%len(cols)]
						cold, warm := matrixRun(b, as, c, sh, i)
						b.Logf("%s %s: %.1f MB/s cold, %.1f warm", sh.name, c.name, cold, warm)
						got[c.name] = warm
						results[sh.name][c.name].mbs = append(results[sh.name][c.name].mbs, warm)
					}
					for _, c := range cols {
						ref := got["native"]
						if c.cold {
							ref = got["native-cold"]
						}
						results[sh.name][c.name].ratio = append(results[sh.name][c.name].ratio, got[c.name]/ref)
					}
				}
			}
			b.ReportMetric(0, "ns/op")
			for _, c := range cols {
				b.ReportMetric(median(results[sh.name][c.name].mbs), c.name+"-MB/s")
			}
		})
	}
	var t strings.Builder
	t.WriteString("| shape | stream MB | native MB/s |")
	for _, c := range cols[1:] {
		t.WriteString(" " + c.title + " |")
	}
	t.WriteString("\n|" + strings.Repeat(" --- |", len(cols)+2) + "\n")
	for _, sh := range shapes {
		r := results[sh.name]
		if len(r["native"].mbs) == 0 {
			continue
		}
		fmt.Fprintf(&t, "| %s | %.1f | %.1f |", sh.title, float64(len(sh.body()))/1e6, median(r["native"].mbs))
		for _, c := range cols[1:] {
			fmt.Fprintf(&t, " %.2f |", median(r[c.name].ratio))
		}
		t.WriteString("\n")
	}
	fmt.Printf("\nBrowserMatrix: warm MB/s as a ratio to native's in the same round, median of %d rounds, %s, load average %s\n%s\n",
		*matrixReps, time.Now().UTC().Format("2006-01-02 15:04 UTC"), loadAverage(), t.String())
}

var (
	matrixReps      = flag.Int("browserbench.matrixreps", 3, "rounds of BenchmarkBrowserMatrix")
	matrixColList   = flag.String("browserbench.matrixcols", "", "comma-separated columns of BenchmarkBrowserMatrix besides native (default: all)")
	matrixShapeList = flag.String("browserbench.shapes", "", "comma-separated shapes of BenchmarkBrowserMatrix (default: all)")
	matrixRuns      = flag.Int("browserbench.matrixruns", 2, "streams per page of BenchmarkBrowserMatrix's warm columns: the last is the cell's figure (more: code a browser optimises later, such as V8's for WebAssembly)")
	matrixLater     = flag.Duration("browserbench.matrixlater", 0, "BenchmarkBrowserMatrix's warm columns measure a later page of the site: the same tab first loads the page and receives the bursts, waits this long, then loads it again (0: the first page)")
)

// A matrixColumn is one EventSource implementation, engine and transport.
type matrixColumn struct {
	name, title string
	profile     Profile
	script      string
	ctor        string // the constructor
	init        string // its second argument, JavaScript
	// cold: the page's first EventSource, made as the page loads, with
	// nothing loaded or started before it; its figure is a ratio to
	// native-cold's in the same round.
	cold bool
	// bare: a reader with no engine, beside the others for what the
	// transport gives a script; not an EventSource (no ids, no
	// reconnection), so only the matrix runs it.
	bare bool
}

var matrixColumns = []matrixColumn{
	{name: "native", title: "native", profile: Modern, ctor: "window.EventSource", init: "undefined"},
	{name: "wasm-fetch", title: "polysse wasm fetch", profile: Nativeless, script: "/polysse/eventsource.js", ctor: "window.EventSourcePolyfill", init: `{engine: "wasm", transport: "fetch"}`},
	{name: "wasm-xhr", title: "polysse wasm XHR", profile: Nativeless, script: "/polysse/eventsource.js", ctor: "window.EventSourcePolyfill", init: `{engine: "wasm", transport: "xhr"}`},
	{name: "lite-fetch", title: "polysse lite fetch", profile: Nativeless, script: "/polysse/eventsource.js", ctor: "window.EventSourcePolyfill", init: `{engine: "lite", transport: "fetch"}`},
	{name: "lite-xhr", title: "polysse lite XHR", profile: Nativeless, script: "/polysse/eventsource.js", ctor: "window.EventSourcePolyfill", init: `{engine: "lite", transport: "xhr"}`},
	{name: "fetch-bare", title: "bare fetch reader", profile: Nativeless, ctor: bareFetch, init: "undefined", bare: true},
	{name: "xhr-bare", title: "bare XHR reader", profile: Nativeless, ctor: bareXHR, init: "undefined", bare: true},
	{name: "native-cold", title: "native, page's first stream", profile: Modern, ctor: "window.EventSource", init: "undefined", cold: true},
	{name: "auto-cold", title: "polysse default, page's first stream", profile: Nativeless, script: "/polysse/eventsource.js", ctor: "window.EventSource", init: "undefined", cold: true},
	{name: "esp", title: "event-source-polyfill", profile: Nativeless, script: "/esp/" + espFile, ctor: "window.EventSourcePolyfill", init: "undefined"},
}

// bareXHR is the xhr-bare column's constructor: no engine, only what any
// script that reads a stream with XMLHttpRequest must do, so that the
// matrix shows how far that transport goes in this browser. It reads
// responseText on each readystatechange and cuts the burst's events at
// their blank lines (bareCut). It counts the looks that found new text,
// for the -v log. Chromium tells a script of new response text every 50 ms
// (progress and readystatechange alike), and a look in between costs a copy
// of all the text so far (docs/benchmarks.md, session 8).
const bareXHR = `(function () {
  ` + bareCut + `
  function Bare(url) {
    var self = this, x = new XMLHttpRequest(), seen = 0, open = false, last = 0, cut = bareCut(self);
    var looks = window.__xhrLooks = {n: 0, maxGapMS: 0};
    this.x = x;
    x.open("GET", url);
    x.onreadystatechange = function () {
      if (x.readyState < 2) return;
      if (!open) {
        open = true;
        if (x.status !== 200) { if (self.onerror) self.onerror(); return; }
        if (self.onopen) self.onopen();
      }
      if (x.readyState < 3) return;
      var t = x.responseText;
      if (t.length === seen) return;
      var now = performance.now();
      if (looks.n++) looks.maxGapMS = Math.max(looks.maxGapMS, now - last);
      last = now;
      cut(t.substring(seen));
      seen = t.length;
    };
    x.send();
  }
  Bare.prototype.addEventListener = function (type, f) { this.onmessage = f; };
  Bare.prototype.close = function () { this.x.onreadystatechange = null; this.x.abort(); };
  return Bare;
})()`

// bareFetch is the fetch-bare column's constructor, bareXHR's twin over
// fetch: each chunk read, decoded with a streaming TextDecoder and cut at
// the blank lines. Unlike bareXHR it is no ceiling: fetch does not pace a
// script, and on long lines its cutting costs more than the lite engine's
// reading (docs/benchmarks.md, session 12).
const bareFetch = `(function () {
  ` + bareCut + `
  function Bare(url) {
    var self = this, ctrl = new AbortController(), dec = new TextDecoder(), cut = bareCut(self);
    this.ctrl = ctrl;
    fetch(url, {signal: ctrl.signal, cache: "no-store", headers: {Accept: "text/event-stream"}}).then(function (r) {
      if (r.status !== 200) { if (self.onerror) self.onerror(); return; }
      if (self.onopen) self.onopen();
      var rd = r.body.getReader();
      (function pump() {
        rd.read().then(function (x) {
          if (x.done) return;
          cut(dec.decode(x.value, {stream: true}));
          pump();
        }, function () {});
      })();
    }, function () { if (self.onerror) self.onerror(); });
  }
  Bare.prototype.addEventListener = function (type, f) { this.onmessage = f; };
  Bare.prototype.close = function () { this.ctrl.abort(); };
  return Bare;
})()`

// bareCut is the bare readers' cutting of text into the burst's events:
// bareCut(target) returns a function of the next text that calls
// target.onmessage for each event that text completes, its data the values
// of its "data: " lines. None of the standard's other rules: the matrix's
// streams need none.
const bareCut = `function bareCut(self) {
    var rest = "";
    return function (text) {
      rest += text;
      for (var i; (i = rest.indexOf("\n\n")) >= 0; rest = rest.substring(i + 2)) {
        var ls = rest.substring(0, i).split("\n"), d = [];
        for (var k = 0; k < ls.length; k++) if (ls[k].lastIndexOf("data: ", 0) === 0) d.push(ls[k].substring(6));
        self.onmessage({data: d.join("\n")});
      }
    };
  }`

// A matrixShape is one row: n copies of an event, written whole or in
// pieces of piece bytes, each flushed on its own.
type matrixShape struct {
	name, title string
	ev          sse.Event
	n           int
	piece       int // 0: the burst at once
	frame       []byte
}

func (s *matrixShape) body() []byte {
	if s.frame == nil {
		f, err := sse.AppendEvent(nil, &s.ev)
		if err != nil {
			panic(err)
		}
		s.frame = f
	}
	return []byte(strings.Repeat(string(s.frame), s.n))
}

// lines returns size bytes of data (line ends included) in lines of
// width characters of unit (repeated), joined by LF.
func lines(unit string, width, size int) string {
	line := strings.Repeat(unit, width)
	var b strings.Builder
	for b.Len() < size {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(line)
	}
	s := b.String()[:size]
	for !utf8.ValidString(s) { // not in the middle of a character
		s = s[:len(s)-1]
	}
	return strings.TrimSuffix(s, "\n")
}

func matrixShapes() []matrixShape {
	const k64 = 64 << 10
	// Two-, three- and four-byte characters, and ASCII: 10 bytes in 4
	// characters.
	const mixed = "é中😀x"
	return []matrixShape{
		{name: "8B", title: "8 B events, 100,000 at once", ev: sse.Event{Data: "12345678"}, n: 100_000},
		{name: "1KiB", title: "1 KiB events (one line), 8,192", ev: sse.Event{Data: strings.Repeat("a", 1<<10)}, n: 8192},
		{name: "64KiB-lines1", title: "64 KiB events in 1-byte lines, 32", ev: sse.Event{Data: lines("b", 1, k64)}, n: 32},
		{name: "64KiB-lines63", title: "64 KiB events in 63-byte lines, 128", ev: sse.Event{Data: lines("c", 63, k64)}, n: 128},
		{name: "64KiB-lines4096", title: "64 KiB events in 16 lines of 4,096, 200", ev: sse.Event{Data: lines("d", 4096, 16*4097-1)}, n: 200},
		{name: "64KiB-oneline", title: "64 KiB events on one line, 128", ev: sse.Event{Data: strings.Repeat("e", k64)}, n: 128},
		{name: "1MiB-oneline", title: "1 MiB events on one line, 8", ev: sse.Event{Data: strings.Repeat("f", 1<<20)}, n: 8},
		{name: "utf8-small", title: "UTF-8: 4-character (10-byte) events, 100,000", ev: sse.Event{Data: mixed}, n: 100_000},
		{name: "utf8-64KiB", title: "UTF-8: 64 KiB events in lines of 1,024 characters, 128", ev: sse.Event{Data: lines(mixed, 256, k64-4)}, n: 128},
		{name: "1MiB-pieces", title: "1 MiB events (4,096-byte lines) written 1 KiB at a time, 8", ev: sse.Event{Data: lines("g", 4096, 1<<20)}, n: 8, piece: 1 << 10},
	}
}

// matrixRun runs one cell in round rep (which names its profile) and
// returns its cold and warm MB/s.
func matrixRun(b *testing.B, as *benchAssets, c matrixColumn, sh matrixShape, rep int) (cold, warm float64) {
	body := sh.body()
	// data.length counts UTF-16 code units: a four-byte character is two.
	wantChars := 0
	for _, r := range sh.ev.Data {
		wantChars++
		if r > 0xFFFF {
			wantChars++
		}
	}
	wantChars *= sh.n
	stream := burstStream(body)
	if sh.piece > 0 {
		stream = piecedStream(body, sh.piece)
	}
	if c.cold {
		srv := newBenchServer(b, as, benchPageHTML("", c.script, c.ctor, c.init, coldBurstScript(sh.n)), stream)
		var pg *Page
		stop := func() {}
		if *benchProfile != "" {
			// The profiler runs from before the page loads: the tab opens on
			// about:blank, and the page is loaded into it.
			pg = RunPage(b, c.profile, "", QuietNetwork())
			stop = startProfile(b, pg, benchRun{scenario: "matrix-" + sh.name, col: benchColumn{name: c.name}, rep: rep})
			pg.Navigate(srv.URL + "/")
		} else {
			pg = RunPage(b, c.profile, srv.URL+"/", QuietNetwork())
		}
		out := awaitDone[burstOutcome](b, pg, 3*time.Minute)
		stop()
		if out.Error != "" || out.Chars != wantChars {
			b.Fatalf("%s %s: %s, %d characters of data, want %d", sh.name, c.name, out.Error, out.Chars, wantChars)
		}
		pg.Navigate("about:blank")
		mbs := float64(len(body)) / (out.MS / 1000) / 1e6
		return mbs, mbs
	}
	srv := newBenchServer(b, as, benchPageHTML("", c.script, c.ctor, c.init, burstScript(sh.n)), stream)
	pg := RunPage(b, c.profile, srv.URL+"/", QuietNetwork())
	awaitDone[bool](b, pg, time.Minute)
	mbs := make([]float64, max(*matrixRuns, 2))
	if *matrixLater > 0 {
		// A visit before, in the same browser context: its bursts run the
		// engine's code, which the browser may keep, optimised, with the
		// cached response it was compiled from (Chromium's code cache for
		// WebAssembly).
		for i := range mbs {
			out := runBurst(b, pg, sh.name+" "+c.name+" (visit before)", wantChars)
			mbs[i] = float64(len(body)) / (out.MS / 1000) / 1e6
		}
		b.Logf("%s %s: MB/s of each stream of the visit before %.1f", sh.name, c.name, mbs)
		time.Sleep(*matrixLater)
		pg.Navigate("about:blank")
		pg.Navigate(srv.URL + "/")
		awaitDone[bool](b, pg, time.Minute)
	}
	last := len(mbs) - 1
	for i := range mbs {
		stop := func() {}
		if i == last {
			stop = startProfile(b, pg, benchRun{scenario: "matrix-" + sh.name, col: benchColumn{name: c.name}, rep: rep})
		}
		out := runBurst(b, pg, sh.name+" "+c.name, wantChars)
		stop()
		mbs[i] = float64(len(body)) / (out.MS / 1000) / 1e6
		if c.name == "xhr-bare" {
			// How often the transport told the page of new text.
			looks := awaitEval[struct {
				N        int
				MaxGapMS float64
			}](b, pg, `Promise.resolve(window.__xhrLooks)`, time.Minute)
			b.Logf("%s xhr-bare: new text seen %d times in %.1f ms, at most %.1f ms apart", sh.name, looks.N, out.MS, looks.MaxGapMS)
		}
	}
	pg.Navigate("about:blank")
	if last > 1 {
		b.Logf("%s %s: MB/s of each stream %.1f", sh.name, c.name, mbs)
	}
	return mbs[0], mbs[last]
}

// piecedStream writes body piece bytes at a time, flushing each.
func piecedStream(body []byte, piece int) func(http.ResponseWriter, *http.Request, <-chan struct{}) {
	return func(w http.ResponseWriter, r *http.Request, done <-chan struct{}) {
		rc := http.NewResponseController(w)
		w.WriteHeader(http.StatusOK)
		rc.Flush()
		for p := body; len(p) > 0; {
			n := min(len(p), piece)
			if _, err := w.Write(p[:n]); err != nil {
				return
			}
			rc.Flush()
			p = p[n:]
		}
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
}

func median(s []float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	s = slices.Clone(s)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

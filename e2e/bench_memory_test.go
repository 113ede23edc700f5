package e2e

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// BenchmarkBrowserMemory has a page receive -browserbench.memorybytes (1 GB
// by default) over one EventSource, in headless Chromium, and samples its
// memory every 250 ms: the JS heap in use (the DevTools protocol's
// Runtime.getHeapUsage: what V8's heap holds, garbage not yet collected
// included, but not the strings the browser itself makes, such as
// TextDecoder's; at the end of the run, after a full GC, what the page
// still holds), the
// size of every WebAssembly memory the page instantiated
// (memory.buffer.byteLength, which never shrinks: its peak is its size at
// the end), and the resident memory of Chromium's renderer processes (the
// largest, from /proc; "—" where there is no /proc).
//
//	go test -run '^$' -bench BrowserMemory -benchtime 1x -timeout 60m .
//
// Rows: small events (256 bytes of data) and large ones (64 KiB), each with
// an id, so that a transport that recycles its request (XHR, after 4 MiB)
// resumes where it left off: the server answers from the id after
// Last-Event-ID (header or query). Columns: native, polysse's WebAssembly
// engine over fetch and over XHR, and its lite engine, native deleted for
// the three. The page reads every event's data, counts the events and
// their characters, and checks the last one's id; the
// figure is the peak of each memory over the run, and the stream's MB/s.
// A run lasts at most -browserbench.memorytime (5 minutes): a page that has
// not had the whole stream by then stops, and its row gives the bytes it
// got. -browserbench.matrixcols picks columns (native is not implied here);
// -browserbench.heapprofile=DIR samples the JS heap's allocations and writes
// the profile taken at the heap's peak (see startHeapProfile). Each row's log
// line also gives the longest a sample's Runtime.evaluate waited: the page's
// thread busy that long with no task between, which a page's timers, input
// and rendering wait for too (EvalTimeout, 10 s, fails the run).
func BenchmarkBrowserMemory(b *testing.B) {
	as := benchAssetsOrSkip(b)
	Browser(b)
	var t strings.Builder
	t.WriteString("| events | column | MB received | MB/s | JS heap peak (MB) | JS heap at end, after a GC (MB) | WebAssembly memory peak (MB) | renderer RSS peak (MiB) |\n")
	t.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, sh := range []struct {
		name string
		size int
	}{{"small", 256}, {"large", 64 << 10}} {
		b.Run(sh.name, func(b *testing.B) {
			for range b.N {
				for _, c := range memoryColumns() {
					m := memoryRun(b, as, c, sh.size)
					got := fmt.Sprintf("%.0f", float64(m.bytes)/1e6)
					if m.stopped {
						got += fmt.Sprintf(" (stopped at %s)", *memoryTime)
					}
					rss := "—"
					if m.rssPeak > 0 {
						rss = fmt.Sprintf("%.0f", m.rssPeak/(1<<20))
					}
					fmt.Fprintf(&t, "| %d × %d B | %s | %s | %.1f | %.1f | %.1f | %.1f | %s |\n",
						m.events, sh.size, c.title, got, m.mbs, m.heapPeak/1e6, m.heapEnd/1e6, m.wasmPeak/1e6, rss)
					b.ReportMetric(m.heapPeak/1e6, c.name+"-heap-MB")
					b.ReportMetric(m.wasmPeak/1e6, c.name+"-wasm-MB")
					b.ReportMetric(m.rssPeak/(1<<20), c.name+"-rss-MiB")
				}
			}
			b.ReportMetric(0, "ns/op")
		})
	}
	fmt.Printf("\nBrowserMemory: %d bytes of stream per run, at most %s each, %s, load average %s\n%s\n",
		*memoryBytes, *memoryTime, time.Now().UTC().Format("2006-01-02 15:04 UTC"), loadAverage(), t.String())
}

// memoryColumns returns the matrix's columns that BenchmarkBrowserMemory
// runs: native and each of polysse's engine and transport pairs, those of
// them -browserbench.matrixcols asks for. The page's-first-stream columns
// are the matrix's, event-source-polyfill is not measured here, and the
// bare readers keep no last event ID, which this run checks.
func memoryColumns() []matrixColumn {
	var cols []matrixColumn
	for _, c := range matrixColumns {
		if c.name != "esp" && !c.cold && !c.bare && columnWanted(c.name) {
			cols = append(cols, c)
		}
	}
	return cols
}

var (
	memoryBytes = flag.Int64("browserbench.memorybytes", 1e9, "bytes of stream per BenchmarkBrowserMemory run")
	memoryTime  = flag.Duration("browserbench.memorytime", 5*time.Minute, "longest BenchmarkBrowserMemory run: a page still receiving then stops, and its row says how much it got")
)

type memoryResult struct {
	events                      int
	bytes                       int64 // of stream the page received
	stopped                     bool  // by -browserbench.memorytime, before the last event
	mbs                         float64
	heapPeak, wasmPeak, rssPeak float64
	heapEnd                     float64       // after the run and a full GC
	slowest                     time.Duration // the longest Runtime.evaluate of a sample: how long the page kept DevTools waiting
}

func memoryRun(b *testing.B, as *benchAssets, c matrixColumn, size int) memoryResult {
	payload := strings.Repeat("m", size)
	frameLen := func(id int) int { return len("id: \ndata: \n\n") + len(strconv.Itoa(id)) + size }
	// Events up to the byte count, ids 1..n.
	n, total := 0, int64(0)
	for total < *memoryBytes {
		n++
		total += int64(frameLen(n))
	}
	var served atomic.Int64
	stream := func(w http.ResponseWriter, r *http.Request, done <-chan struct{}) {
		from := 0
		last := r.Header.Get("Last-Event-ID")
		if last == "" {
			last = r.URL.Query().Get("lastEventId")
		}
		if last != "" {
			from, _ = strconv.Atoi(last)
		}
		w.WriteHeader(http.StatusOK)
		buf := make([]byte, 0, 256<<10)
		for id := from + 1; id <= n; id++ {
			buf = append(buf, "id: "...)
			buf = strconv.AppendInt(buf, int64(id), 10)
			buf = append(buf, "\ndata: "...)
			buf = append(buf, payload...)
			buf = append(buf, "\n\n"...)
			if len(buf) >= 128<<10 || id == n {
				if _, err := w.Write(buf); err != nil {
					return
				}
				served.Add(int64(len(buf)))
				buf = buf[:0]
			}
		}
		http.NewResponseController(w).Flush()
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
	// Every WebAssembly instance the page makes, to read its memory's size.
	const head = `<script>
window.__instances = [];
(function (W) {
  if (!W) return;
  var inst = W.instantiate;
  W.instantiate = function () {
    return inst.apply(W, arguments).then(function (r) {
      window.__instances.push(r.instance || r);
      return r;
    });
  };
})(window.WebAssembly);
window.__wasmBytes = function () {
  var n = 0;
  for (var i = 0; i < __instances.length; i++) {
    var e = __instances[i].exports;
    for (var k in e) if (e[k] instanceof WebAssembly.Memory) n += e[k].buffer.byteLength;
  }
  return n;
};
</script>
`
	// __stop ends the run early (-browserbench.memorytime): the figures are
	// then of the __count events received so far.
	// The page reads every event's data, as a page does, and counts its
	// characters.
	script := fmt.Sprintf(`var N = %d;
window.__count = 0;
var t0 = 0, chars = 0, es = new ES(STREAM, INIT);
es.onopen = function () { if (!t0) t0 = performance.now(); };
es.onmessage = function (e) {
  chars += e.data.length;
  if (++__count === N) {
    var t = performance.now();
    es.close();
    __finish({ms: t - t0, id: e.lastEventId, n: __count, chars: chars});
  }
};
es.onerror = function () {
  if (es.readyState === 2) __finish({error: "closed after " + __count + " events"});
};
window.__stop = function () {
  var t = performance.now();
  es.close();
  __finish({ms: t - t0, n: __count, chars: chars, stopped: true});
};`, n)
	srv := newBenchServer(b, as, benchPageHTML(head, c.script, c.ctor, c.init, script), stream)
	pg := RunPage(b, c.profile, srv.URL+"/", QuietNetwork())
	ctx := pg.Context()
	var res memoryResult
	heapProf := startHeapProfile(b, pg, fmt.Sprintf("memory-%s-%s", c.name, sizeName(size)))
	// The last samples go into the message of a run that fails, so that a
	// lost page shows what led up to it: memory climbing, or events that
	// stopped arriving.
	start := time.Now()
	var recent []string
	fail := func(format string, args ...any) {
		b.Helper()
		b.Fatalf("%s, %d-byte events, after %v: %s\n  last samples (time, events, JS heap MB, renderer RSS MiB, how long the page took to answer):\n  %s",
			c.name, size, time.Since(start).Round(time.Millisecond), fmt.Sprintf(format, args...), strings.Join(recent, "\n  "))
	}
	sample := func() {
		b.Helper()
		cc, cancel := context.WithTimeout(ctx, EvalTimeout)
		defer cancel()
		t0 := time.Now()
		u, err := chromedp.Call(cc, runtime.GetHeapUsage, cdp.Empty{})
		if err != nil {
			fail("Runtime.getHeapUsage: %v", pg.explain(cc, err))
		}
		t1 := time.Now()
		w, err := Evaluate[[2]float64](cc, pg, `[__wasmBytes(), __count]`)
		if err != nil {
			fail("evaluating the page's counters (Runtime.getHeapUsage answered in %v): %v", t1.Sub(t0).Round(time.Millisecond), err)
		}
		t2 := time.Now()
		res.slowest = max(res.slowest, t2.Sub(t1))
		if u.UsedSize > res.heapPeak {
			res.heapPeak = u.UsedSize
			heapProf.peak(u.UsedSize)
		}
		rss := rendererRSS()
		res.wasmPeak = max(res.wasmPeak, w[0])
		res.rssPeak = max(res.rssPeak, rss)
		recent = append(recent, fmt.Sprintf("%v %.0f %.1f %.0f, answered in %v and %v", time.Since(start).Round(time.Millisecond), w[1], u.UsedSize/1e6, rss/(1<<20),
			t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond)))
		if len(recent) > 8 {
			recent = recent[1:]
		}
	}
	type outcome struct {
		MS      float64
		ID      string
		N       int
		Chars   int
		Stopped bool
		Error   string
	}
	got := make(chan outcome, 1)
	go func() {
		// The page ends the run (__stop) at -browserbench.memorytime; this
		// bound is for a page that no longer answers.
		cc, cancel := context.WithTimeout(ctx, *memoryTime+time.Minute)
		defer cancel()
		v, err := Evaluate[outcome](cc, pg, `window.__done`)
		if err != nil {
			v.Error = err.Error()
		}
		got <- v
	}()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(*memoryTime)
	var out outcome
wait:
	for {
		select {
		case out = <-got:
			break wait
		case <-deadline:
			pg.Exec(`__stop()`)
		case <-tick.C:
			sample()
		}
	}
	if out.Error != "" {
		fail("%s", out.Error)
	}
	if !out.Stopped && out.ID != strconv.Itoa(n) {
		b.Fatalf("%s, %d-byte events: the last event's id is %q, want %d", c.name, size, out.ID, n)
	}
	if out.Chars != out.N*size {
		b.Fatalf("%s, %d-byte events: %d characters of data in %d events, want %d", c.name, size, out.Chars, out.N, out.N*size)
	}
	sample()
	heapProf.stop()
	// What the page still holds, the garbage gone: the peak above counts
	// garbage that V8 had not collected yet.
	{
		cc, cancel := context.WithTimeout(ctx, 30*time.Second)
		if _, err := chromedp.Call(cc, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
			b.Fatalf("e2e: HeapProfiler.collectGarbage: %v", err)
		}
		u, err := chromedp.Call(cc, runtime.GetHeapUsage, cdp.Empty{})
		cancel()
		if err != nil {
			b.Fatalf("e2e: Runtime.getHeapUsage: %v", err)
		}
		res.heapEnd = u.UsedSize
	}
	res.events, res.stopped = out.N, out.Stopped
	res.bytes = int64(out.N) * int64(frameLen(n)) // within a few bytes per event: ids are shorter early on
	res.mbs = float64(res.bytes) / (out.MS / 1000) / 1e6
	b.Logf("%s, %d-byte events: %d events of %d (stopped: %t), %.1f MB/s, heap peak %.1f MB, wasm %.1f MB, renderer RSS %.0f MiB, %d bytes served (more than the stream where a replaced XHR resumed from the last id), slowest sample evaluation %v",
		c.name, size, out.N, n, out.Stopped, res.mbs, res.heapPeak/1e6, res.wasmPeak/1e6, res.rssPeak/(1<<20), served.Load(), res.slowest.Round(time.Millisecond))
	pg.Navigate("about:blank")
	return res
}

func sizeName(size int) string {
	if size >= 1<<10 {
		return strconv.Itoa(size>>10) + "KiB"
	}
	return strconv.Itoa(size) + "B"
}

// TestMemoryColumns holds BenchmarkBrowserMemory to the columns whose pages
// check a last event ID: a bare reader among them failed every row.
func TestMemoryColumns(t *testing.T) {
	if *matrixColList != "" {
		t.Skip("-browserbench.matrixcols picks the columns")
	}
	var got []string
	for _, c := range memoryColumns() {
		got = append(got, c.name)
	}
	want := []string{"native", "wasm-fetch", "wasm-xhr", "lite-fetch", "lite-xhr"}
	if !slices.Equal(got, want) {
		t.Errorf("memoryColumns() = %q, want %q", got, want)
	}
}

package e2e

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"

	"github.com/polysse/polysse/sse"
)

// BenchmarkBrowser measures, in headless Chromium and in the same run, three
// ways of getting server-sent events into a page: the browser's own
// EventSource ("native"), polysse's polyfill with the native one deleted
// (its default there: the lite engine over fetch), and the npm package
// event-source-polyfill
// ("esp", web/node_modules/event-source-polyfill, also with the native one
// deleted), each page served by its own loopback server (bench_helper_server_test.go).
//
//	go test -run '^$' -bench Browser -benchtime 1x .
//
// Scenarios (BenchmarkBrowser/<scenario>, a metric per column):
//
//   - small: 100,000 events of 8 bytes of data, sent at once; events/s from
//     the open event to the listener's last event. Each page receives the
//     burst twice on fresh EventSources: the first meets a polyfill that has
//     not decoded anything yet (polysse's engine is loaded and started by an
//     EventSource on a 204 first, but the browser has not optimised its
//     code), the second ("-warm") one that has. events/cpu-s divides by the
//     CPU time of the page's main thread instead (Chromium's ThreadTime
//     metric), where the stream is decoded and dispatched in all three
//     columns: it varies much less than wall time with the machine's load.
//   - large: 1,024 events of 64 KiB of data in lines of 63 bytes, likewise;
//     MB/s of the stream as sent (10^6 bytes).
//   - latency: 500 events 2 ms apart, each carrying the server's clock when
//     it was written; the page's clock is synchronised with the server's
//     over fetch (the best of 20 round trips), and latency is the time
//     from the server's write to the page's listener: p50 and p99 per run.
//   - coldstart: a fresh browser context (empty cache) loads a page that
//     opens a stream whose server sends one event at once; the time from
//     navigation start to that event's listener, and every byte over the
//     page's connections (the page, the scripts, the engine, the stream),
//     served as a production server would (brotli where the browser takes
//     it, as Chromium does on loopback; see benchAsset). At least 25
//     rounds, whatever -browserbench.reps says: its pages are short and
//     its rounds spread widely.
//   - reconnect: a server that ends every response after "retry: 100" and
//     one event; the time from the end of a response to the next request,
//     measured at the server, five reconnections per run.
//
// Each scenario runs -browserbench.reps rounds (coldstart at least 25); a
// round runs every column once, one page each, starting with a different
// column each round. The metrics give per column the median and the best
// run (for reconnect: the median and the worst gap of all runs), and for
// the polyfills the median of their ratios to native in the same round. The
// machines are shared and noisy: compare columns of one run, never runs. A
// summary table is printed at the end. -browserbench.columns picks columns
// (native,polysse,esp). -browserbench.baseline=DIR adds another build as
// the column baseline, and the table then gives polysse's per-round ratio
// to it, with the number of rounds polysse was ahead: a change smaller than
// the spread of rounds shows there first.
//
// -browserbench.profile=DIR records a CPU profile of the page (Chromium's
// Profiler, through the DevTools protocol) during each cold throughput run,
// writes it to DIR as a .cpuprofile (DevTools opens it) and prints where the
// time went. For names in the engine's frames, point $E2E_POLYFILL_DIR at a
// build whose engine keeps its name section.
func BenchmarkBrowser(b *testing.B) {
	as := benchAssetsOrSkip(b)
	Browser(b) // launched before any timing
	cols := benchColumns
	if *benchColumnList != "" {
		cols = nil
		for _, name := range strings.Split(*benchColumnList, ",") {
			i := slices.IndexFunc(benchColumns, func(c benchColumn) bool { return c.name == name })
			if i < 0 {
				b.Fatalf("-browserbench.columns: no column %q", name)
			}
			cols = append(cols, benchColumns[i])
		}
	}
	if as.baseline != nil && !slices.ContainsFunc(cols, func(c benchColumn) bool { return c.name == "baseline" }) {
		cols = append(slices.Clone(cols), baselineColumn)
	}
	if as.esp == nil {
		cols = slices.DeleteFunc(slices.Clone(cols), func(c benchColumn) bool { return c.name == "esp" })
		fmt.Printf("BenchmarkBrowser: no event-source-polyfill column: %v\n", as.espErr)
	}
	var tables []benchTableRows
	for _, sc := range benchScenarios {
		b.Run(sc.name, func(b *testing.B) {
			res := map[string]*benchResult{}
			ratios := map[string]*benchResult{} // per run, to native's of the same round
			for _, c := range cols {
				res[c.name] = newBenchResult()
				ratios[c.name] = newBenchResult()
			}
			// And polysse's to the baseline's of the same round: a change
			// smaller than the spread of rounds shows in these pairs only.
			ratios[vsBaseline] = newBenchResult()
			for range b.N {
				for i := 0; i < sc.reps(); i++ {
					// Round i runs every column once, starting with a
					// different one each round, so that a change in the
					// machine's load falls on all of them alike.
					for j := range cols {
						col := cols[(i+j)%len(cols)]
						sc.run(b, benchRun{scenario: sc.name, col: col, assets: as, rep: i}, res[col.name])
					}
					native := res["native"]
					for _, c := range cols {
						if native == nil || c.name == "native" {
							continue
						}
						for _, m := range sc.metrics {
							if m.ratio {
								ratios[c.name].add(m.key, last(res[c.name].samples[m.key])/last(native.samples[m.key]))
							}
						}
					}
					if base, p := res["baseline"], res["polysse"]; base != nil && p != nil {
						for _, m := range sc.metrics {
							if m.ratio {
								ratios[vsBaseline].add(m.key, last(p.samples[m.key])/last(base.samples[m.key]))
							}
						}
					}
				}
			}
			b.ReportMetric(0, "ns/op")
			for _, c := range cols {
				for _, m := range sc.metrics {
					med, best := res[c.name].summary(m)
					if math.IsNaN(med) {
						continue
					}
					b.ReportMetric(med, c.name+"-"+m.unit)
					b.ReportMetric(best, c.name+"-"+m.unit+"-"+m.bestName())
					if r, _ := ratios[c.name].summary(benchMetric{key: m.key}); !math.IsNaN(r) {
						b.ReportMetric(r, c.name+"/native-"+m.unit)
					}
				}
			}
			for _, m := range sc.metrics {
				if r, _ := ratios[vsBaseline].summary(benchMetric{key: m.key}); !math.IsNaN(r) {
					b.ReportMetric(r, vsBaseline+"-"+m.unit)
				}
			}
			tables = append(tables, benchTableRows{sc: sc, cols: cols, res: res, ratios: ratios})
		})
	}
	more := ""
	for _, t := range tables {
		if n := t.sc.reps(); n != *benchReps {
			more += fmt.Sprintf(" (%s: %d)", t.sc.name, n)
		}
	}
	// Printed rather than logged: a parent benchmark's log is not shown.
	fmt.Printf("\nBrowserBench summary: median (best; for reconnect-ms the worst gap) of %d runs per cell%s, %s, load average %s\n%s\n",
		*benchReps, more, time.Now().UTC().Format("2006-01-02 15:04 UTC"), loadAverage(), benchTable(tables))
}

// vsBaseline keys polysse's per-round ratios to the baseline column's.
const vsBaseline = "polysse/baseline"

func last(s []float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	return s[len(s)-1]
}

var (
	benchReps       = flag.Int("browserbench.reps", 5, "runs per scenario and column of BenchmarkBrowser")
	benchColumnList = flag.String("browserbench.columns", "", "comma-separated columns of BenchmarkBrowser (default: native,polysse,esp)")
	benchBaseline   = flag.String("browserbench.baseline", "", "a folder with another build of the polyfill, run as the column baseline (to compare builds)")
	benchProfile    = flag.String("browserbench.profile", "", "write a CPU profile of each BenchmarkBrowser throughput run to this folder")
)

// A benchColumn is one way of providing EventSource.
type benchColumn struct {
	name    string
	profile Profile
	script  string // the page's script tag's src, if any
	ctor    string // the constructor the page uses
}

var benchColumns = []benchColumn{
	{name: "native", profile: Modern, ctor: "window.EventSource"},
	{name: "polysse", profile: Nativeless, script: "/polysse/eventsource.js", ctor: "window.EventSource"},
	{name: "esp", profile: Nativeless, script: "/esp/" + espFile, ctor: "window.EventSourcePolyfill"},
}

// baselineColumn is another build of polysse's polyfill, given with
// -browserbench.baseline, for before-and-after comparisons in one run.
var baselineColumn = benchColumn{name: "baseline", profile: Nativeless, script: "/baseline/eventsource.js", ctor: "window.EventSource"}

// benchRun is one run of a scenario in a column.
type benchRun struct {
	scenario string
	col      benchColumn
	assets   *benchAssets
	rep      int
}

// benchPage is the HTML of a benchmark page (benchPageHTML) in the column,
// with the scenario's script.
func benchPage(col benchColumn, script string) string {
	return benchPageHTML("", col.script, col.ctor, "undefined", script)
}

// A benchMetric is one figure a scenario reports.
type benchMetric struct {
	key    string // in benchResult.samples
	unit   string // as reported
	higher bool   // higher is better
	worst  bool   // report the worst sample instead of the best
	ratio  bool   // report the ratio to native
	format string // for the table
}

func (m benchMetric) bestName() string {
	if m.worst {
		return "max"
	}
	return "best"
}

type benchResult struct {
	samples map[string][]float64
}

func newBenchResult() *benchResult { return &benchResult{samples: map[string][]float64{}} }

func (r *benchResult) add(key string, v ...float64) { r.samples[key] = append(r.samples[key], v...) }

// summary returns the median and the best (or worst) sample of m.
func (r *benchResult) summary(m benchMetric) (med, best float64) {
	s := slices.Clone(r.samples[m.key])
	if len(s) == 0 {
		return math.NaN(), math.NaN()
	}
	slices.Sort(s)
	med = median(s)
	switch {
	case m.worst == m.higher:
		best = s[0]
	default:
		best = s[len(s)-1]
	}
	return med, best
}

type benchScenario struct {
	name    string
	metrics []benchMetric
	run     func(b *testing.B, r benchRun, res *benchResult)
	// minReps raises -browserbench.reps for a scenario whose runs are
	// short and whose spread is wide.
	minReps int
}

// reps is the number of rounds the scenario runs.
func (sc benchScenario) reps() int { return max(*benchReps, sc.minReps) }

const (
	smallEvents = 100_000
	largeEvents = 1024
	largeLine   = 63   // bytes of data per line, without its LF
	largeLines  = 1024 // lines per event
	latencyN    = 500
	latencyGap  = 2 * time.Millisecond
	reconnects  = 5
)

var benchScenarios = []benchScenario{
	{
		name: "small",
		metrics: []benchMetric{
			{key: "evs", unit: "events/s", higher: true, ratio: true, format: "%.0f"},
			{key: "evs-warm", unit: "events/s-warm", higher: true, ratio: true, format: "%.0f"},
			{key: "evs-cpu", unit: "events/cpu-s", higher: true, ratio: true, format: "%.0f"},
			{key: "evs-cpu-warm", unit: "events/cpu-s-warm", higher: true, ratio: true, format: "%.0f"},
		},
		run: func(b *testing.B, r benchRun, res *benchResult) {
			ev := sse.Event{Data: "12345678"}
			throughput(b, r, res, ev, smallEvents)
		},
	},
	{
		name: "large",
		metrics: []benchMetric{
			{key: "mbs", unit: "MB/s", higher: true, ratio: true, format: "%.1f"},
			{key: "mbs-warm", unit: "MB/s-warm", higher: true, ratio: true, format: "%.1f"},
			{key: "mbs-cpu", unit: "MB/cpu-s", higher: true, ratio: true, format: "%.1f"},
			{key: "mbs-cpu-warm", unit: "MB/cpu-s-warm", higher: true, ratio: true, format: "%.1f"},
		},
		run: func(b *testing.B, r benchRun, res *benchResult) {
			line := strings.Repeat("x", largeLine-8) + "abcdefgh"
			ev := sse.Event{Data: strings.TrimSuffix(strings.Repeat(line+"\n", largeLines), "\n")}
			throughput(b, r, res, ev, largeEvents)
		},
	},
	{
		name: "latency",
		metrics: []benchMetric{
			{key: "p50", unit: "p50-ms", ratio: true, format: "%.2f"},
			{key: "p99", unit: "p99-ms", ratio: true, format: "%.2f"},
		},
		run: latency,
	},
	{
		name: "coldstart",
		metrics: []benchMetric{
			{key: "ms", unit: "first-event-ms", ratio: true, format: "%.1f"},
			{key: "down", unit: "bytes-down", ratio: true, format: "%.0f"},
			{key: "up", unit: "bytes-up", format: "%.0f"},
		},
		run: coldStart,
		// A page takes well under a second, and the rounds spread widely
		// on these machines: the median ratio to native of 5 rounds came
		// out from 1.79 to 2.49 within one session (docs/benchmarks.md,
		// Session 13).
		minReps: 25,
	},
	{
		name: "reconnect",
		metrics: []benchMetric{
			{key: "gap", unit: "reconnect-ms", worst: true, format: "%.1f"},
		},
		run: reconnect,
	},
}

// throughput runs one throughput measurement: n copies of ev sent at once.
func throughput(b *testing.B, r benchRun, res *benchResult, ev sse.Event, n int) {
	frame, err := sse.AppendEvent(nil, &ev)
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 0, len(frame)*n)
	for range n {
		body = append(body, frame...)
	}
	srv := newBenchServer(b, r.assets, benchPage(r.col, burstScript(n)), burstStream(body))
	pg := RunPage(b, r.col.profile, srv.URL+"/", QuietNetwork())
	awaitDone[bool](b, pg, time.Minute)
	// The first run meets a polyfill that has not run yet (polysse's engine
	// is compiled, not yet optimised by the browser), the second a warm one.
	for i, suffix := range []string{"", "-warm"} {
		stop := func() {}
		if i == 0 {
			stop = startProfile(b, pg, r)
		}
		cpu0 := threadTime(b, pg)
		out := runBurst(b, pg, r.col.name, n*len(ev.Data))
		cpu := threadTime(b, pg) - cpu0
		stop()
		sec := out.MS / 1000
		res.add("evs"+suffix, float64(n)/sec)
		res.add("mbs"+suffix, float64(len(body))/sec/1e6)
		res.add("evs-cpu"+suffix, float64(n)/cpu)
		res.add("mbs-cpu"+suffix, float64(len(body))/cpu/1e6)
	}
	pg.Navigate("about:blank")
}

// threadTime returns the CPU time of the page's main thread so far, in
// seconds.
func threadTime(b testing.TB, pg *Page) float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(pg.Context(), EvalTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, performance.Enable, performance.EnableParams{}); err != nil {
		b.Fatalf("e2e: Performance.enable: %v", err)
	}
	m, err := chromedp.Call(ctx, performance.GetMetrics, cdp.Empty{})
	if err != nil {
		b.Fatalf("e2e: Performance.getMetrics: %v", err)
	}
	for _, x := range m.Metrics {
		if x.Name == "ThreadTime" {
			return x.Value
		}
	}
	b.Fatal("e2e: no ThreadTime among the page's metrics")
	return 0
}

func latency(b *testing.B, r benchRun, res *benchResult) {
	script := fmt.Sprintf(`var N = %d;
window.__start = function () {
  var best = null, k = 0;
  function sync() {
    var t0 = performance.now();
    return fetch("/clock", {cache: "no-store"}).then(function (r) { return r.text(); }).then(function (s) {
      var t1 = performance.now();
      if (!best || t1 - t0 < best.rtt) best = {rtt: t1 - t0, off: parseFloat(s) - (performance.timeOrigin + (t0 + t1) / 2)};
      if (++k < 20) return sync();
    });
  }
  sync().then(function () {
    var lat = [], es = new ES(STREAM);
    es.onmessage = function (e) {
      lat.push(performance.timeOrigin + performance.now() + best.off - parseFloat(e.data));
      if (lat.length === N) {
        es.close();
        __finish({lat: lat, rtt: best.rtt});
      }
    };
  });
};`, latencyN)
	srv := newBenchServer(b, r.assets, benchPage(r.col, script), pacedStream(latencyN, latencyGap))
	pg := RunPage(b, r.col.profile, srv.URL+"/", QuietNetwork())
	pg.Exec(`__start()`)
	out := awaitDone[struct {
		Lat []float64
		RTT float64
	}](b, pg, time.Minute)
	pg.Navigate("about:blank")
	if len(out.Lat) != latencyN {
		b.Fatalf("%s: %d latencies, want %d", r.col.name, len(out.Lat), latencyN)
	}
	slices.Sort(out.Lat)
	res.add("p50", pctl(out.Lat, 0.50))
	res.add("p99", pctl(out.Lat, 0.99))
}

func pctl(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func coldStart(b *testing.B, r benchRun, res *benchResult) {
	script := `var es = new ES(STREAM);
es.onmessage = function () {
  var t = performance.now();
  es.close();
  __finish({ms: t});
};`
	srv := newBenchServer(b, r.assets, benchPage(r.col, script), helloStream)
	pg := RunPage(b, r.col.profile, srv.URL+"/", QuietNetwork())
	out := awaitDone[struct{ MS float64 }](b, pg, time.Minute)
	down, up := srv.counter.down.Load(), srv.counter.up.Load()
	pg.Navigate("about:blank")
	if r.rep == 0 && r.col.script != "" {
		b.Logf("%s: scripts requested with Accept-Encoding %q", r.col.name, srv.encoding.Load())
	}
	res.add("ms", out.MS)
	res.add("down", float64(down))
	res.add("up", float64(up))
}

func reconnect(b *testing.B, r benchRun, res *benchResult) {
	script := fmt.Sprintf(`var es = new ES(STREAM), n = 0;
es.onmessage = function () {
  if (++n === %d) {
    es.close();
    __finish({n: n});
  }
};`, reconnects+1)
	rs := &reconnectStream{retry: "100"}
	srv := newBenchServer(b, r.assets, benchPage(r.col, script), rs.serve)
	pg := RunPage(b, r.col.profile, srv.URL+"/", QuietNetwork())
	awaitDone[struct{ N int }](b, pg, time.Minute)
	pg.Navigate("about:blank")
	gaps := rs.gapsMS()
	if len(gaps) < reconnects {
		b.Fatalf("%s: %d reconnections, want %d", r.col.name, len(gaps), reconnects)
	}
	res.add("gap", gaps[:reconnects]...)
}

// awaitDone waits for the page's window.__done and decodes its value.
func awaitDone[T any](b testing.TB, pg *Page, timeout time.Duration) T {
	b.Helper()
	return awaitEval[T](b, pg, `window.__done`, timeout)
}

// awaitEval evaluates expr in the page, waits for the promise it returns
// and decodes its value.
func awaitEval[T any](b testing.TB, pg *Page, expr string, timeout time.Duration) T {
	b.Helper()
	ctx, cancel := context.WithTimeout(pg.Context(), timeout)
	defer cancel()
	v, err := Evaluate[T](ctx, pg, expr)
	if err != nil {
		b.Fatalf("e2e: waiting for the page's result: %v", err)
	}
	return v
}

// benchTableRows is one scenario's results, for the summary table.
type benchTableRows struct {
	sc          benchScenario
	cols        []benchColumn
	res, ratios map[string]*benchResult
}

// benchTable formats the results as a Markdown table: per column the median
// and, in brackets, the best run; then the median of each polyfill's
// per-round ratio to native.
func benchTable(tables []benchTableRows) string {
	var b strings.Builder
	names := []string{"native", "polysse", "esp"}
	head := "| scenario | metric | native | polysse | event-source-polyfill | polysse / native | event-source-polyfill / native |"
	if len(tables) > 0 && tables[0].res["baseline"] != nil {
		names = append(names, "baseline")
		head = "| scenario | metric | native | polysse | event-source-polyfill | baseline | polysse / native | event-source-polyfill / native | baseline / native | polysse / baseline (rounds polysse ahead) |"
	}
	b.WriteString(head + "\n")
	b.WriteString(strings.Repeat("| --- ", strings.Count(head, "|")-1) + "|\n")
	for _, t := range tables {
		for _, m := range t.sc.metrics {
			row := []string{t.sc.name, m.unit}
			for _, name := range names {
				res := t.res[name]
				med, best := math.NaN(), math.NaN()
				if res != nil {
					med, best = res.summary(m)
				}
				if math.IsNaN(med) {
					row = append(row, "—")
					continue
				}
				row = append(row, fmt.Sprintf(m.format+" ("+m.format+")", med, best))
			}
			for _, name := range names {
				if name == "native" {
					continue
				}
				ratio := "—"
				if r := t.ratios[name]; r != nil {
					if v, _ := r.summary(benchMetric{key: m.key}); !math.IsNaN(v) {
						ratio = fmt.Sprintf("%.2f", v)
					}
				}
				row = append(row, ratio)
			}
			if r := t.ratios[vsBaseline]; r != nil && t.res["baseline"] != nil {
				row = append(row, pairedCell(r.samples[m.key], m.higher))
			}
			b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		}
	}
	return b.String()
}

// pairedCell gives the median of per-round ratios and, in brackets, how
// many rounds came out in the first column's favour (a ratio above 1 when
// higher is better, below 1 otherwise).
func pairedCell(r []float64, higher bool) string {
	if len(r) == 0 {
		return "—"
	}
	ahead := 0
	for _, x := range r {
		if (higher && x > 1) || (!higher && x < 1) {
			ahead++
		}
	}
	return fmt.Sprintf("%.3f (%d of %d)", median(r), ahead, len(r))
}

func loadAverage() string {
	p, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(p))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func TestPairedCell(t *testing.T) {
	for _, tc := range []struct {
		r      []float64
		higher bool
		want   string
	}{
		{nil, false, "—"},
		{[]float64{0.9, 1.1, 0.8}, false, "0.900 (2 of 3)"},
		{[]float64{0.9, 1.1, 0.8}, true, "0.900 (1 of 3)"},
		{[]float64{1, 1}, false, "1.000 (0 of 2)"},
		{[]float64{0.5, 1.5, 1.2, 0.7}, false, "0.950 (2 of 4)"},
	} {
		if got := pairedCell(tc.r, tc.higher); got != tc.want {
			t.Errorf("pairedCell(%v, %v) = %q, want %q", tc.r, tc.higher, got, tc.want)
		}
	}
}

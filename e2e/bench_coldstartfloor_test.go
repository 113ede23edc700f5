package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

var benchFloor = flag.String("browserbench.floor", "", "BenchmarkColdStartFloor: a build of the polyfill around wasm/floor (default: built into a temporary folder)")

// coldPhases is where a cold start's time went, in milliseconds from
// navigation: the shim loaded, the engine's bytes arrived, the module
// compiled and instantiated, Go's runtime started and asked for the
// stream, and (the engine only) the first event.
type coldPhases struct {
	Shim, Wasm, Instantiated, Requested, Event float64
}

// coldPhaseScript instruments a page from its first line: it records when
// WebAssembly.instantiate resolves and when the stream's request is made.
const coldPhaseScript = `(function () {
  var W = window.WebAssembly, inst = W.instantiate, f = window.fetch;
  window.__cold = {};
  W.instantiate = function () {
    var p = inst.apply(W, arguments);
    p.then(function () { window.__cold.instantiated = performance.now(); });
    return p;
  };
  window.fetch = function (u) {
    if (/\/sse$/.test(String(u)) && !window.__cold.requested) window.__cold.requested = performance.now();
    return f.apply(this, arguments);
  };
})();`

// BenchmarkColdStartFloor splits the cold start of the polyfill's engine
// into its phases, beside the same phases of the floor: the least Go
// program the shim can boot (wasm/floor), built and lowered the same way.
// What the floor spends is Go's runtime's to download, compile and start,
// the part of the cold start that no engine written in Go can avoid; the
// rest is the engine's. Rounds alternate the two builds.
//
//	go test -run '^$' -bench ColdStartFloor -benchtime 1x . -args -browserbench.reps=15
func BenchmarkColdStartFloor(b *testing.B) {
	engine, err := readDist(polyfillDir)
	if err != nil {
		b.Fatalf("e2e: the polyfill is not built (make build): %v", err)
	}
	dir := *benchFloor
	if dir == "" {
		dir = b.TempDir()
		cmd := exec.Command("bash", "../web/build.sh")
		cmd.Env = append(os.Environ(), "ENGINE=../wasm/floor", "DIST="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("e2e: building the floor: %v\n%s", err, out)
		}
	}
	floor, err := readDist(dir)
	if err != nil {
		b.Fatal(err)
	}
	Browser(b)
	builds := []struct {
		name  string
		files map[string]*benchAsset
	}{{"engine", engine}, {"floor", floor}}
	script := `var es = new ES(STREAM);
es.onmessage = function () { window.__cold.event = performance.now(); es.close(); };
var iv = setInterval(function () {
  var c = window.__cold;
  if (c.requested === undefined || (ENGINE && c.event === undefined)) return;
  clearInterval(iv);
  function end(re) {
    var e = performance.getEntriesByType('resource').filter(function (r) { return re.test(r.name); })[0];
    return e ? e.responseEnd : -1;
  }
  __finish({shim: end(/eventsource\.js$/), wasm: end(/\.wasm$/), instantiated: c.instantiated, requested: c.requested, event: c.event || 0});
}, 1);`
	col := benchColumns[1]
	res := map[string][]coldPhases{}
	for range b.N {
		for i := 0; i < *benchReps; i++ {
			for j := range builds {
				bd := builds[(i+j)%len(builds)]
				page := benchPage(col, fmt.Sprintf("var ENGINE = %t;\n%s", bd.name == "engine", script))
				srv := newBenchServer(b, &benchAssets{polysse: bd.files}, page, helloStream)
				pg := RunPage(b, col.profile, srv.URL+"/", QuietNetwork(), WithScript(coldPhaseScript))
				res[bd.name] = append(res[bd.name], awaitDone[coldPhases](b, pg, time.Minute))
				pg.Navigate("about:blank")
			}
		}
	}
	b.ReportMetric(0, "ns/op")
	var sum strings.Builder
	fmt.Fprintf(&sum, "| build | shim loaded | engine downloaded | compiled and instantiated | stream requested | first event |\n|---|---|---|---|---|---|\n")
	for _, bd := range builds {
		med := func(f func(coldPhases) float64) float64 {
			var s []float64
			for _, p := range res[bd.name] {
				s = append(s, f(p))
			}
			slices.Sort(s)
			return s[len(s)/2]
		}
		m := coldPhases{
			Shim:         med(func(p coldPhases) float64 { return p.Shim }),
			Wasm:         med(func(p coldPhases) float64 { return p.Wasm }),
			Instantiated: med(func(p coldPhases) float64 { return p.Instantiated }),
			Requested:    med(func(p coldPhases) float64 { return p.Requested }),
			Event:        med(func(p coldPhases) float64 { return p.Event }),
		}
		// The Go runtime's start, per run, then its median.
		start := med(func(p coldPhases) float64 { return p.Requested - p.Instantiated })
		b.ReportMetric(m.Requested, bd.name+"-requested-ms")
		b.ReportMetric(start, bd.name+"-gostart-ms")
		event := "—"
		if bd.name == "engine" {
			b.ReportMetric(m.Event, bd.name+"-first-event-ms")
			event = fmt.Sprintf("%.1f", m.Event)
		}
		fmt.Fprintf(&sum, "| %s | %.1f | %.1f | %.1f | %.1f (Go's start %.1f) | %s |\n", bd.name, m.Shim, m.Wasm, m.Instantiated, m.Requested, start, event)
	}
	fmt.Printf("\nColdStartFloor: medians of %d runs, ms from navigation, %s, load average %s\n%s\n",
		*benchReps, time.Now().UTC().Format("2006-01-02 15:04 UTC"), loadAverage(), sum.String())
}

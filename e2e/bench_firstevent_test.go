package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkBrowserFirstEvent measures how long a page waits for its first
// event, on a first visit (a fresh browser context: empty HTTP cache, no
// compiled code) and on a later page of the same site (the same context,
// another URL of the same server: the polyfill's files in the HTTP cache,
// and whatever compiled code the browser keeps), side by side in one run:
//
//	go test -run '^$' -bench BrowserFirstEvent -benchtime 1x .
//
// Columns: native EventSource (modern profile), and polysse under the
// nativeless profile (the lite engine over fetch, alone), the edgehtml one
// (the lite engine over XHR, then the WebAssembly engine over XHR, on the
// shim's text codecs) and the ie11 one (the lite engine over XHR). The page is served as in BenchmarkBrowser's
// coldstart scenario: the script, then one EventSource whose server sends
// one event at once; the time is from navigation start to that event's
// listener; the later page is opened -browserbench.firstsettle after the
// first page's event. -browserbench.firstreps rounds, each running every column once
// in a rotating order; a cell gives the median and, in brackets, the best,
// and the median of the per-round ratios to native's time in the same
// round. With -browserbench.baseline=<folder of another build>, that
// build runs too, under each profile, as base-<profile>. With
// -browserbench.hashedshim the polysse columns include the script under its
// content-hashed name.
func BenchmarkBrowserFirstEvent(b *testing.B) {
	as := benchAssetsOrSkip(b)
	Browser(b)
	cols := []benchColumn{
		{name: "native", profile: Modern, ctor: "window.EventSource"},
		{name: "nativeless", profile: Nativeless, script: "/polysse/eventsource.js", ctor: "window.EventSource"},
		{name: "edgehtml", profile: EdgeHTML, script: "/polysse/eventsource.js", ctor: "window.EventSource"},
		{name: "ie11", profile: IE11, script: "/polysse/eventsource.js", ctor: "window.EventSource"},
	}
	if *firstHashed {
		// The script under its content-hashed name, cached for good, as a
		// page that takes the name from the manifest includes it.
		name, err := hashedShim(as.polysse)
		if err != nil {
			b.Fatal(err)
		}
		for i := range cols[1:] {
			cols[1+i].script = "/polysse/" + name
		}
	}
	if as.baseline != nil {
		// Another build (-browserbench.baseline), in the same rounds, for a
		// before-and-after under the same load.
		for _, c := range cols[1:] {
			c.name, c.script = "base-"+c.name, "/baseline/eventsource.js"
			cols = append(cols, c)
		}
	}
	type series struct{ first, later, rFirst, rLater []float64 }
	res := map[string]*series{}
	for _, c := range cols {
		res[c.name] = &series{}
	}
	for range b.N {
		for i := 0; i < *firstReps; i++ {
			got := map[string][2]float64{}
			for j := range cols {
				c := cols[(i+j)%len(cols)]
				first, later := firstEventRun(b, as, c)
				got[c.name] = [2]float64{first, later}
				res[c.name].first = append(res[c.name].first, first)
				res[c.name].later = append(res[c.name].later, later)
			}
			for _, c := range cols {
				res[c.name].rFirst = append(res[c.name].rFirst, got[c.name][0]/got["native"][0])
				res[c.name].rLater = append(res[c.name].rLater, got[c.name][1]/got["native"][1])
			}
		}
	}
	b.ReportMetric(0, "ns/op")
	var t strings.Builder
	t.WriteString("| column | first visit (ms) | ÷ native | later page (ms) | ÷ native |\n| --- | --- | --- | --- | --- |\n")
	for _, c := range cols {
		s := res[c.name]
		b.ReportMetric(median(s.first), c.name+"-first-ms")
		b.ReportMetric(median(s.later), c.name+"-later-ms")
		fmt.Fprintf(&t, "| %s | %.1f (%.1f) | %.2f | %.1f (%.1f) | %.2f |\n", c.name,
			median(s.first), minOf(s.first), median(s.rFirst), median(s.later), minOf(s.later), median(s.rLater))
	}
	fmt.Printf("\nBrowserFirstEvent: median (best) of %d rounds, %s, load average %s\n%s\n",
		*firstReps, time.Now().UTC().Format("2006-01-02 15:04 UTC"), loadAverage(), t.String())
}

var (
	firstReps   = flag.Int("browserbench.firstreps", 7, "rounds of BenchmarkBrowserFirstEvent")
	firstHashed = flag.Bool("browserbench.hashedshim", false, "BenchmarkBrowserFirstEvent's polysse columns include the script under its content-hashed name (the manifest's shimHashed, cached for good) instead of eventsource.js (revalidated on every page)")
	firstSettle = flag.Duration("browserbench.firstsettle", 2*time.Second, "BenchmarkBrowserFirstEvent's time on the first page after its first event, before the later page")
)

func minOf(s []float64) float64 {
	m := s[0]
	for _, v := range s[1:] {
		m = min(m, v)
	}
	return m
}

// firstEventRun loads the page in a fresh browser context, then another
// page of the same site in the same context, and returns both times to the
// first event.
func firstEventRun(b *testing.B, as *benchAssets, c benchColumn) (first, later float64) {
	// No Promise: the ie11 profile has none. The time is taken in the
	// page; the result is polled for.
	var page strings.Builder
	page.WriteString("<!doctype html>\n<html><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\">\n")
	if c.script != "" {
		page.WriteString("<script src=\"" + c.script + "\"></script>\n")
	}
	page.WriteString(`<script>
var es = new ` + c.ctor + `("/sse");
es.onmessage = function () {
  var t = performance.now();
  es.close();
  window.__result = t;
};
</script></head><body></body></html>
`)
	srv := newBenchServer(b, as, page.String(), helloStream)
	pg := RunPage(b, c.profile, srv.URL+"/", QuietNetwork())
	result := func() float64 {
		deadline := time.Now().Add(time.Minute)
		for {
			ctx, cancel := context.WithTimeout(pg.Context(), EvalTimeout)
			v, err := Evaluate[float64](ctx, pg, `window.__result || 0`)
			cancel()
			if err != nil {
				b.Fatalf("e2e: %s: %v", c.name, err)
			}
			if v > 0 {
				return v
			}
			if time.Now().After(deadline) {
				b.Fatalf("e2e: %s: no event within a minute", c.name)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	first = result()
	// A later page comes after a while on the first one: the first page's
	// work after its first event (for polysse under edgehtml, the
	// WebAssembly engine's download, compile and start, which wait for that
	// event) finishes
	// before the next navigation instead of delaying it, and its files are
	// then in the HTTP cache, as "later page" means. The same wait for
	// every column.
	time.Sleep(*firstSettle)
	pg.Navigate(srv.URL + "/?page=2")
	later = result()
	pg.Navigate("about:blank")
	return first, later
}

// hashedShim returns the content-hashed name of the script in a build
// (manifest.json's shimHashed).
func hashedShim(files map[string]*benchAsset) (string, error) {
	m := files["manifest.json"]
	if m == nil {
		return "", fmt.Errorf("the build has no manifest.json")
	}
	var names map[string]string
	if err := json.Unmarshal(m.plain, &names); err != nil {
		return "", fmt.Errorf("manifest.json: %w", err)
	}
	if files[names["shimHashed"]] == nil {
		return "", fmt.Errorf("the build has no hashed script (manifest.json: %s)", m.plain)
	}
	return names["shimHashed"], nil
}

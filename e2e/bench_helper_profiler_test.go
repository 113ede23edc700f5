package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/chromedp"
)

// startProfile starts Chromium's sampling profiler on the page when
// -browserbench.profile is set, and returns the function that stops it,
// writes the profile and logs where the time went.
func startProfile(b testing.TB, pg *Page, r benchRun) (stop func()) {
	if *benchProfile == "" {
		return func() {}
	}
	ctx := pg.Context()
	call := func(cmd cdp.Command[cdp.Empty, cdp.Empty]) {
		c, cancel := context.WithTimeout(ctx, EvalTimeout)
		defer cancel()
		if _, err := chromedp.Call(c, cmd, cdp.Empty{}); err != nil {
			b.Fatalf("e2e: profiler: %v", err)
		}
	}
	call(profiler.Enable)
	c, cancel := context.WithTimeout(ctx, EvalTimeout)
	if _, err := chromedp.Call(c, profiler.SetSamplingInterval, profiler.SetSamplingIntervalParams{Interval: 100}); err != nil {
		b.Fatalf("e2e: profiler: %v", err)
	}
	cancel()
	call(profiler.Start)
	return func() {
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		res, err := chromedp.Call(c, profiler.Stop, cdp.Empty{})
		if err != nil {
			b.Fatalf("e2e: profiler: %v", err)
		}
		if err := os.MkdirAll(*benchProfile, 0o755); err != nil {
			b.Fatal(err)
		}
		name := filepath.Join(*benchProfile, fmt.Sprintf("%s-%s-%d.cpuprofile", r.scenario, r.col.name, r.rep))
		raw, err := json.Marshal(res.Profile)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(name, raw, 0o644); err != nil {
			b.Fatal(err)
		}
		// Printed rather than logged: a benchmark's log is cut short.
		sum := profileSummary(res.Profile, 40)
		os.WriteFile(strings.TrimSuffix(name, ".cpuprofile")+".txt", []byte(sum), 0o644)
		fmt.Printf("\n%s/%s run %d: profile in %s\n%s\n", r.scenario, r.col.name, r.rep, name, sum)
	}
}

// profileSummary lists where the samples of p were: by kind of code, then
// the top functions by self time.
func profileSummary(p *profiler.Profile, top int) string {
	if p == nil || len(p.Samples) == 0 {
		return "  (no samples)"
	}
	nodes := map[int64]*profiler.ProfileNode{}
	for _, n := range p.Nodes {
		nodes[n.ID] = n
	}
	// A sample's time is the delta to the next sample.
	self := map[int64]float64{}
	for i, id := range p.Samples {
		d := 0.0
		if i+1 < len(p.TimeDeltas) {
			d = float64(p.TimeDeltas[i+1])
		}
		self[id] += d
	}
	total := 0.0
	byFunc := map[string]float64{}
	byKind := map[string]float64{}
	for id, t := range self {
		total += t
		f := nodes[id].CallFrame
		kind := "(browser)"
		switch {
		case strings.HasPrefix(f.URL, "wasm://"):
			kind = "wasm"
		case f.URL != "":
			kind = path.Base(strings.SplitN(f.URL, "?", 2)[0])
		case strings.HasPrefix(f.FunctionName, "("):
			kind = f.FunctionName
		}
		byKind[kind] += t
		key := f.FunctionName
		if key == "" {
			key = "(anonymous)"
		}
		if f.URL != "" {
			key += fmt.Sprintf(" %s:%d:%d", path.Base(f.URL), f.LineNumber+1, f.ColumnNumber+1)
		}
		byFunc[key] += t
	}
	var b strings.Builder
	list := func(m map[string]float64, n int) {
		type kv struct {
			k string
			v float64
		}
		var s []kv
		for k, v := range m {
			s = append(s, kv{k, v})
		}
		slices.SortFunc(s, func(a, b kv) int { return cmp.Compare(b.v, a.v) })
		for i, e := range s {
			if i == n {
				break
			}
			fmt.Fprintf(&b, "  %6.1f ms %5.1f%%  %s\n", e.v/1000, 100*e.v/total, e.k)
		}
	}
	fmt.Fprintf(&b, "  %.1f ms sampled; by kind:\n", total/1000)
	list(byKind, 10)
	b.WriteString("  by function (self time):\n")
	list(byFunc, top)
	return b.String()
}

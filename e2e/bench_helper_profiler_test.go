package e2e

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/cdproto/runtime"
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
		byFunc[frameName(f)] += t
	}
	var b strings.Builder
	list := func(m map[string]float64, n int) {
		for _, e := range largest(m, n) {
			fmt.Fprintf(&b, "  %6.1f ms %5.1f%%  %s\n", e.v/1000, 100*e.v/total, e.k)
		}
	}
	fmt.Fprintf(&b, "  %.1f ms sampled; by kind:\n", total/1000)
	list(byKind, 10)
	b.WriteString("  by function (self time):\n")
	list(byFunc, top)
	return b.String()
}

var (
	heapProfileDir = flag.String("browserbench.heapprofile", "", "sample BenchmarkBrowserMemory's JS heap allocations and write the profile at each run's peak to this folder")
	heapLiveOnly   = flag.Bool("browserbench.heaplive", false, "with -browserbench.heapprofile: only the objects not yet collected, instead of every allocation since the page started")
)

// heapProfile is a sampling heap profile of one page (startHeapProfile).
type heapProfile struct {
	b       testing.TB
	pg      *Page
	name    string
	last    time.Time
	atPeak  *heapprofiler.SamplingHeapProfile
	peakMB  float64
	enabled bool
}

// startHeapProfile starts V8's sampling heap profiler on the page when
// -browserbench.heapprofile is set: every allocation since the start, by
// the function that made it (what the garbage collector has to clear), or
// with -browserbench.heaplive the objects not yet collected (what the heap
// holds, garbage included until a GC clears it). peak takes the profile
// when the heap is at a new peak; stop writes the one taken at the highest
// peak and prints its summary.
func startHeapProfile(b testing.TB, pg *Page, name string) *heapProfile {
	h := &heapProfile{b: b, pg: pg, name: name, enabled: *heapProfileDir != ""}
	if !h.enabled {
		return h
	}
	ctx, cancel := context.WithTimeout(pg.Context(), EvalTimeout)
	defer cancel()
	all := !*heapLiveOnly
	if _, err := chromedp.Call(ctx, heapprofiler.Enable, cdp.Empty{}); err != nil {
		b.Fatalf("e2e: HeapProfiler.enable: %v", err)
	}
	if _, err := chromedp.Call(ctx, heapprofiler.StartSampling, heapprofiler.StartSamplingParams{SamplingInterval: 16 << 10, IncludeObjectsCollectedByMajorGC: &all, IncludeObjectsCollectedByMinorGC: &all}); err != nil {
		b.Fatalf("e2e: HeapProfiler.startSampling: %v", err)
	}
	return h
}

// peak takes the profile now, the heap being at a new peak of used bytes;
// at most once a second, since taking it costs the page some time.
func (h *heapProfile) peak(used float64) {
	if !h.enabled || time.Since(h.last) < time.Second {
		return
	}
	h.last = time.Now()
	ctx, cancel := context.WithTimeout(h.pg.Context(), 30*time.Second)
	defer cancel()
	r, err := chromedp.Call(ctx, heapprofiler.GetSamplingProfile, cdp.Empty{})
	if err != nil {
		h.b.Fatalf("e2e: HeapProfiler.getSamplingProfile: %v", err)
	}
	h.atPeak, h.peakMB = r.Profile, used/1e6
}

func (h *heapProfile) stop() {
	if !h.enabled {
		return
	}
	ctx, cancel := context.WithTimeout(h.pg.Context(), 30*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, heapprofiler.StopSampling, cdp.Empty{}); err != nil {
		h.b.Fatalf("e2e: HeapProfiler.stopSampling: %v", err)
	}
	if h.atPeak == nil {
		return
	}
	if err := os.MkdirAll(*heapProfileDir, 0o755); err != nil {
		h.b.Fatal(err)
	}
	name := filepath.Join(*heapProfileDir, h.name+".heapprofile")
	raw, err := json.Marshal(h.atPeak)
	if err != nil {
		h.b.Fatal(err)
	}
	if err := os.WriteFile(name, raw, 0o644); err != nil {
		h.b.Fatal(err)
	}
	sum := heapSummary(h.atPeak, 25)
	os.WriteFile(strings.TrimSuffix(name, ".heapprofile")+".txt", []byte(sum), 0o644)
	fmt.Printf("\n%s: heap profile at a used heap of %.1f MB in %s\n%s\n", h.name, h.peakMB, name, sum)
}

// heapSummary lists the sampled bytes of p by allocating function (self),
// and by the page's own frames on the stack (the innermost frame with a
// URL), which names the script that made a browser function allocate.
func heapSummary(p *heapprofiler.SamplingHeapProfile, top int) string {
	self := map[string]float64{}
	script := map[string]float64{}
	total := 0.0
	var walk func(n *heapprofiler.SamplingHeapProfileNode, inScript string)
	walk = func(n *heapprofiler.SamplingHeapProfileNode, inScript string) {
		if n.CallFrame.URL != "" {
			inScript = frameName(n.CallFrame)
		}
		self[frameName(n.CallFrame)] += n.SelfSize
		if inScript == "" {
			script["(no script on the stack)"] += n.SelfSize
		} else {
			script[inScript] += n.SelfSize
		}
		total += n.SelfSize
		for _, c := range n.Children {
			walk(c, inScript)
		}
	}
	if p.Head != nil {
		walk(p.Head, "")
	}
	var b strings.Builder
	list := func(m map[string]float64) {
		for _, e := range largest(m, top) {
			fmt.Fprintf(&b, "  %8.2f MB %5.1f%%  %s\n", e.v/1e6, 100*e.v/total, e.k)
		}
	}
	fmt.Fprintf(&b, "  %.2f MB sampled; by allocating function:\n", total/1e6)
	list(self)
	b.WriteString("  by the innermost frame of a script:\n")
	list(script)
	return b.String()
}

// frameName names a profile's frame: its function, and where it is when
// it has a URL.
func frameName(f *runtime.CallFrame) string {
	k := f.FunctionName
	if k == "" {
		k = "(anonymous)"
	}
	if f.URL != "" {
		k += fmt.Sprintf(" %s:%d:%d", path.Base(f.URL), f.LineNumber+1, f.ColumnNumber+1)
	}
	return k
}

// weighed is a profile's entry: a name and what it weighs.
type weighed struct {
	k string
	v float64
}

// largest returns the n heaviest of m's entries that weigh anything,
// heaviest first.
func largest(m map[string]float64, n int) []weighed {
	s := make([]weighed, 0, len(m))
	for k, v := range m {
		if v > 0 {
			s = append(s, weighed{k, v})
		}
	}
	slices.SortFunc(s, func(a, b weighed) int { return cmp.Compare(b.v, a.v) })
	return s[:min(n, len(s))]
}

// rendererRSS returns the resident memory, in bytes, of the largest of
// the Chromium renderer processes this test started (descendants of this
// process run with --type=renderer), or 0 where /proc cannot tell.
func rendererRSS() float64 {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	parent := map[int]int{}
	var renderers []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(st, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(st[i+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		parent[pid] = ppid
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if bytes.Contains(cmd, []byte("--type=renderer")) {
			renderers = append(renderers, pid)
		}
	}
	self := os.Getpid()
	most := 0.0
	for _, pid := range renderers {
		ours := false
		for p, n := pid, 0; p > 1 && n < 64; p, n = parent[p], n+1 {
			if p == self {
				ours = true
				break
			}
		}
		if !ours {
			continue
		}
		status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				most = max(most, kb*1024)
			}
		}
	}
	return most
}

package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/polysse/polysse/sse"
)

// The slow-client scenario ("loadtest -scenarios slowpeer") asks what one
// subscriber that never reads costs the others. Each run has two phases on
// a fresh bin/polysse each: subscribers that read, with publish-to-receive
// times recorded at every one; then the same beside one raw TCP connection
// that sends its request and never reads. The hub must cut the silent one
// off without the readers' p99 moving, and the silent one, resuming from
// the last event it had, must get everything after it.
//
// It runs the real binary, like the soak (see realhub.go), because the
// cut-off is read from its /metrics; the log is -store memory so that
// fsyncs are not what the latencies measure.

var (
	polysseBin    = flag.String("polysse", "../bin/polysse", "the polysse binary (make go-build), for the slowpeer scenario")
	slowRuns      = flag.Int("slowpeer-runs", 0, "slowpeer: repetitions of the pair of phases (default 3, quick 1)")
	slowSubs      = flag.Int("slowpeer-subs", 0, "slowpeer: reading subscribers (default 1000, quick 200)")
	slowRate      = flag.Int("slowpeer-rate", 50, "slowpeer: events published per second")
	slowSize      = flag.Int("slowpeer-size", 2048, "slowpeer: bytes of each event's data")
	slowPhaseTime = flag.Duration("slowpeer-duration", 100*time.Second, "slowpeer: publishing time of one phase")
)

// slowPhase is one phase's figures.
type slowPhase struct {
	WithSlow bool `json:"with_slow"`
	latencies
	Missing   int     `json:"missing"`
	Repeated  int64   `json:"repeated"`
	ServerCPU float64 `json:"server_cpu_s"`
	LoadAvg   string  `json:"load_avg"`
	// OthersCores is the CPU the machine spent outside this measurement's
	// processes (hub, generator, publisher) while publishing, in cores:
	// the other tenants of the shared machine. Per 10 s in WindowOthers.
	OthersCores  float64   `json:"others_cores"`
	WindowOthers []float64 `json:"window_others_cores"`

	// With the silent subscriber only.
	CutAfter       float64 `json:"cut_after_s"`    // first publish to the hub closing it; -1: not closed
	CutOffCounter  float64 `json:"cutoff_counter"` // polysse_slow_client_disconnects_total at the end
	CutOffLogged   int     `json:"cutoff_logged"`  // "subscriber cut off" lines in the hub's log
	SlowEvents     int     `json:"slow_events"`    // events it had received when cut off
	SlowBytes      int64   `json:"slow_bytes"`
	SlowClosed     bool    `json:"slow_closed"` // its connection ended (EOF) rather than stalled
	ResumeEvents   int     `json:"resume_events"`
	ResumeMissing  int     `json:"resume_missing"`
	ResumeRepeated int64   `json:"resume_repeated"`
	ResumeMs       float64 `json:"resume_ms"`
	// WindowP99 is the readers' p99 over the events of each 10 s of
	// publishing, to see when a phase was slow.
	WindowP99 []float64 `json:"window_p99_ms"`
	Err       string    `json:"err,omitempty"`

	hist *latHist
}

type slowRun struct {
	Base    slowPhase `json:"base"`
	Slow    slowPhase `json:"slow"`
	DiffP99 float64   `json:"diff_p99_ms"` // Slow.P99ms - Base.P99ms
	// The readers' p99 over the events published while the silent one
	// was open, and over those after, in both phases: the same stretch of
	// the schedule with and without it (from 2%-wide histogram buckets).
	OpenP99Base  float64 `json:"open_p99_base_ms"`
	OpenP99Slow  float64 `json:"open_p99_slow_ms"`
	AfterP99Base float64 `json:"after_p99_base_ms"`
	AfterP99Slow float64 `json:"after_p99_slow_ms"`
}

type slowResult struct {
	Bin    string    `json:"bin"`
	Subs   int       `json:"subs"`
	Rate   int       `json:"rate"`
	Size   int       `json:"size"`
	Events int       `json:"events"`
	Runs   []slowRun `json:"runs"`
}

// slowPeer runs the scenario: runs × (baseline, with the silent peer), the
// order alternating from run to run so that a drift of the shared machine
// does not always land on the same phase.
func slowPeer(ctx context.Context, quickRun bool, env *runEnv) *slowResult {
	// The phase is as long in a quick run: the silent subscriber is cut
	// off only once its socket buffers (about 4 MB) have filled and the
	// hub's write timeout (30 s) has passed, whatever the number of readers.
	runs, subs, dur := 3, 1000, *slowPhaseTime
	if quickRun {
		runs, subs = 1, 200
	}
	if *slowRuns > 0 {
		runs = *slowRuns
	}
	if *slowSubs > 0 {
		subs = *slowSubs
	}
	rate := max(1, *slowRate)
	r := &slowResult{Bin: *polysseBin, Subs: subs, Rate: rate, Size: max(payloadSize, *slowSize),
		Events: int(dur.Seconds() * float64(rate))}
	for i := range runs {
		if ctx.Err() != nil {
			break
		}
		var run slowRun
		order := []bool{false, true}
		if i%2 == 1 {
			order = []bool{true, false}
		}
		for _, withSlow := range order {
			ph := slowPhaseRun(ctx, env, r, i, withSlow)
			if withSlow {
				run.Slow = ph
			} else {
				run.Base = ph
			}
			time.Sleep(2 * time.Second) // let sockets in TIME_WAIT and the CPU settle
		}
		run.DiffP99 = run.Slow.P99ms - run.Base.P99ms
		if cut := run.Slow.CutAfter; cut > 0 && run.Base.hist != nil && run.Slow.hist != nil {
			sec := int(cut)
			run.OpenP99Base, run.OpenP99Slow = run.Base.hist.pct(0, sec, 0.99), run.Slow.hist.pct(0, sec, 0.99)
			run.AfterP99Base, run.AfterP99Slow = run.Base.hist.pct(sec, 1<<30, 0.99), run.Slow.hist.pct(sec, 1<<30, 0.99)
		}
		run.Base.hist, run.Slow.hist = nil, nil
		env.logf("  run %d: p99 %.2f ms alone, %.2f ms beside the silent one (%+.2f); while it was open %.2f / %.2f, after %.2f / %.2f; cut off after %.1f s, counter %.0f; resume: %d events, %d missing, %d repeated",
			i+1, run.Base.P99ms, run.Slow.P99ms, run.DiffP99, run.OpenP99Base, run.OpenP99Slow, run.AfterP99Base, run.AfterP99Slow,
			run.Slow.CutAfter, run.Slow.CutOffCounter,
			run.Slow.ResumeEvents, run.Slow.ResumeMissing, run.Slow.ResumeRepeated)
		r.Runs = append(r.Runs, run)
	}
	return r
}

func slowPhaseRun(ctx context.Context, env *runEnv, sr *slowResult, run int, withSlow bool) (ph slowPhase) {
	ph.WithSlow, ph.CutAfter = withSlow, -1
	ph.LoadAvg = loadAvg()
	name := fmt.Sprintf("slowpeer-%d-%s.log", run+1, map[bool]string{false: "base", true: "silent"}[withSlow])
	logPath := filepath.Join(env.logDir, name)
	p, err := startHub(ctx, *polysseBin, logPath, "-store", "memory", "-publisher-jwt-key", env.key, "-allow-anonymous")
	if err != nil {
		ph.Err = err.Error()
		return
	}
	defer p.stop()
	const topic = "slow"
	path := "/.well-known/mercure?topic=" + topic
	n := sr.Events

	// The silent subscriber first, so that it is there from the first
	// event: it sends its request and never reads a byte.
	var silent net.Conn
	if withSlow {
		d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 10)}}
		if silent, err = d.Dial("tcp", p.addr); err != nil {
			ph.Err = err.Error()
			return
		}
		defer silent.Close()
		req := "GET " + path + " HTTP/1.1\r\nHost: " + p.addr + "\r\nAccept: text/event-stream\r\n\r\n"
		if _, err := io.WriteString(silent, req); err != nil {
			ph.Err = err.Error()
			return
		}
	}
	g := newGroup(p.addr, path, n)
	g.latency = true
	defer g.close()
	pub := newPublisher(p.addr, env.token, 1)
	defer pub.close()
	if err := g.open(sr.Subs, 128, "", nil); err != nil {
		ph.Err = err.Error()
	}
	if conf := g.confirm(ctx, pub, topic, 1, 60*time.Second); conf < sr.Subs {
		ph.Err = fmt.Sprintf("only %d of %d subscribers confirmed", conf, sr.Subs)
	}
	// The silent one cannot confirm by an event; the hub's count of open
	// streams does.
	want := float64(sr.Subs)
	if withSlow {
		want++
	}
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if m, err := scrape(p.metricsAddr); err == nil && m["polysse_streams_open"] >= want {
			break
		}
	}
	time.Sleep(500 * time.Millisecond)

	// While publishing, watch for the hub closing the silent stream.
	var cutAt time.Time
	var watch sync.WaitGroup
	stopWatch := make(chan struct{})
	if withSlow {
		watch.Add(1)
		go func() {
			defer watch.Done()
			for {
				select {
				case <-stopWatch:
					return
				case <-time.After(200 * time.Millisecond):
				}
				if m, err := scrape(p.metricsAddr); err == nil && m["polysse_streams_open"] < want {
					cutAt = time.Now()
					return
				}
			}
		}()
	}
	cpu0 := p.cpu()
	cw := watchCPU(os.Getpid(), p.Pid())
	pr, err := runPublish(ctx, pubSpec{Addr: p.addr, Topic: topic, Token: env.token, Count: n, Publishers: 2, Rate: sr.Rate, Size: sr.Size}, cw.add)
	if err == nil && pr.FirstError != "" {
		err = fmt.Errorf("%d publishes failed, first: %s", pr.Errors, pr.FirstError)
	}
	ph.WindowOthers, ph.OthersCores = cw.finish()
	if err != nil {
		ph.Err = err.Error()
		close(stopWatch)
		watch.Wait()
		return
	}
	waitProgress(func() bool { return g.doneAt.Load() != 0 }, g.delivered.Load, 10*time.Second, 60*time.Second)
	ph.ServerCPU = (p.cpu() - cpu0).Seconds()
	close(stopWatch)
	watch.Wait()
	if withSlow && cutAt.IsZero() {
		// Not yet: the hub's write timeout may still be running.
		for end := time.Now().Add(40 * time.Second); time.Now().Before(end) && cutAt.IsZero(); time.Sleep(200 * time.Millisecond) {
			if m, err := scrape(p.metricsAddr); err == nil && m["polysse_streams_open"] < want {
				cutAt = time.Now()
			}
		}
	}

	var all []int32
	for _, s := range g.subs {
		all = append(all, s.lat...)
	}
	ph.latencies = summarize(all)
	ph.Missing, _, _ = g.missing(0, n)
	ph.Repeated = g.repeated.Load()
	// A subscriber that has every event exactly once received them in the
	// log's order, which is the publishing order but for two concurrent
	// publishes swapped now and then: its j-th time is that of the event
	// published j/rate s in, to within one event.
	ph.hist = &latHist{rate: sr.Rate}
	for _, s := range g.subs {
		if len(s.lat) != n || s.count != n {
			continue
		}
		for j, us := range s.lat {
			ph.hist.add(j, us)
		}
	}
	for w := 0; w*10*sr.Rate < n; w++ {
		ph.WindowP99 = append(ph.WindowP99, ph.hist.pct(10*w, 10*(w+1), 0.99))
	}
	env.logf("  p99 per 10 s (ms): %.1f", ph.WindowP99)
	env.logf("  other tenants' CPU per 10 s (cores): %.2f", ph.WindowOthers)
	env.logf("  %s: %d samples, p50 %.2f ms, p99 %.2f ms, max %.2f ms; missing %d, repeated %d; hub CPU %.1f s",
		strings.TrimSuffix(name, ".log"), ph.Samples, ph.P50ms, ph.P99ms, ph.MaxMs, ph.Missing, ph.Repeated, ph.ServerCPU)
	if !withSlow {
		return ph
	}

	if !cutAt.IsZero() {
		ph.CutAfter = cutAt.Sub(time.Unix(0, pr.Start)).Seconds()
	}
	if m, err := scrape(p.metricsAddr); err == nil {
		ph.CutOffCounter = m["polysse_slow_client_disconnects_total"]
	}
	if b, err := os.ReadFile(logPath); err == nil {
		ph.CutOffLogged = strings.Count(string(b), "subscriber cut off")
	}

	// Now read what the silent one had been sent, up to where the hub
	// closed it, then resume from its last id as EventSource would.
	// What it had and what the resume brings must together be every event
	// once. Not "every seq after its last": two publishes in flight at once
	// may be logged in either order, so the event published just before
	// its last one can come after it in the log, and in the resume.
	got := make([]int, n)
	lastSeq := -1
	dec := sse.NewDecoder(sse.Limits{}, func(ev sse.Event) {
		if seq, _, ok := parsePayload(ev.Data); ok && seq < n {
			ph.SlowEvents++
			got[seq]++
			lastSeq = seq
		}
	}, nil)
	_ = silent.SetReadDeadline(time.Now().Add(10 * time.Second))
	cr := &countReader{r: silent}
	res, err := http.ReadResponse(bufio.NewReader(cr), nil)
	if err == nil {
		_, err = io.Copy(dec, res.Body)
		res.Body.Close()
		if err == nil || errors.Is(err, io.ErrUnexpectedEOF) {
			// The hub ended the response (a cut-off ends it cleanly) or
			// closed the connection mid-chunk (a write that timed out).
			ph.SlowClosed = true
		}
	}
	ph.SlowBytes = cr.n
	lastID := dec.LastEventID()
	if lastID == "" {
		ph.Err = "the silent subscriber got no event id"
		return ph
	}
	b := newGroup(p.addr, path, n)
	b.want = n - ph.SlowEvents
	t0 := time.Now()
	if b.want > 0 {
		if err := b.open(1, 1, "Last-Event-ID: "+lastID+"\r\n", nil); err != nil {
			ph.Err = err.Error()
			return ph
		}
		waitProgress(func() bool { return b.doneAt.Load() != 0 }, b.delivered.Load, 5*time.Second, 60*time.Second)
	}
	ph.ResumeMs = float64(time.Since(t0).Microseconds()) / 1000
	if d := b.doneAt.Load(); d != 0 {
		ph.ResumeMs = float64(time.Unix(0, d).Sub(t0).Microseconds()) / 1000
	}
	ph.ResumeEvents = int(b.delivered.Load())
	ph.ResumeRepeated = b.repeated.Load() // twice within the resume
	b.close()
	if len(b.subs) > 0 {
		for q := range n {
			if rs := b.subs[0].seen; rs != nil && rs[q/64]&(1<<(q%64)) != 0 {
				got[q]++
			}
		}
	}
	for _, c := range got {
		if c == 0 {
			ph.ResumeMissing++
		} else if c > 1 {
			ph.ResumeRepeated += int64(c - 1)
		}
	}
	env.logf("  silent subscriber: %d events (%d bytes) before the hub closed it (%v) %.1f s into the publishing; counter %.0f, %d cut-off log lines; resume after event %d: %d events in %.0f ms; of all, %d missing, %d repeated",
		ph.SlowEvents, ph.SlowBytes, ph.SlowClosed, ph.CutAfter, ph.CutOffCounter, ph.CutOffLogged, lastSeq, ph.ResumeEvents, ph.ResumeMs, ph.ResumeMissing, ph.ResumeRepeated)
	return ph
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// latencies summarizes publish-to-receive times.
type latencies struct {
	Samples int     `json:"samples"`
	P50ms   float64 `json:"p50_ms"`
	P90ms   float64 `json:"p90_ms"`
	P99ms   float64 `json:"p99_ms"`
	MaxMs   float64 `json:"max_ms"`
}

// summarize sorts v, times in microseconds, and returns its percentiles in
// milliseconds.
func summarize(v []int32) latencies {
	slices.Sort(v)
	return latencies{Samples: len(v), P50ms: pct(v, 0.50), P90ms: pct(v, 0.90), P99ms: pct(v, 0.99), MaxMs: pct(v, 1)}
}

// pct returns the q-quantile of v, times in microseconds, in milliseconds;
// v is sorted first if it is not.
func pct(v []int32, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	if !slices.IsSorted(v) {
		slices.Sort(v)
	}
	return float64(v[min(len(v)-1, int(q*float64(len(v))))]) / 1000
}

// slowReport renders the scenario's runs, then their median and spread.
func slowReport(r *slowResult) string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("### Slow client\n\n")
	p("%d reading subscribers on one topic, %d events of %d bytes at %d/s over HTTP (%s, -store memory); publish-to-receive time at every reader, alone and beside one subscriber that never reads.\n\n",
		r.Subs, r.Events, r.Size, r.Rate, r.Bin)
	p("Other tenants' CPU is what the machine's user+system time (/proc/stat) had beyond this measurement's own processes while publishing, in cores (of 2); a phase where it is high measured the machine more than the hub.\n\n")
	p("| run | p50 alone (ms) | p99 alone | p50 beside | p99 beside | p99 difference | p99 while it was open: alone / beside | p99 after: alone / beside | other tenants' CPU: alone / beside | cut off after (s) | counter | events it had | with the resume: missing / repeated |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	var base, slow, diff []float64
	for i, run := range r.Runs {
		a, s := run.Base, run.Slow
		errs := strings.TrimSpace(a.Err + " " + s.Err)
		if errs != "" {
			errs = " (" + errs + ")"
		}
		p("| %d%s | %.2f | %.2f | %.2f | %.2f | %+.2f | %.1f / %.1f | %.1f / %.1f | %.2f / %.2f | %.1f | %.0f | %d | %d / %d |\n",
			i+1, errs, a.P50ms, a.P99ms, s.P50ms, s.P99ms, run.DiffP99, run.OpenP99Base, run.OpenP99Slow,
			run.AfterP99Base, run.AfterP99Slow, a.OthersCores, s.OthersCores, s.CutAfter,
			s.CutOffCounter, s.SlowEvents, s.ResumeMissing, s.ResumeRepeated)
		base, slow, diff = append(base, a.P99ms), append(slow, s.P99ms), append(diff, run.DiffP99)
	}
	if len(r.Runs) > 0 {
		p("\np99 over %d runs, median (min–max): alone %s, beside the silent subscriber %s, difference %s ms.\n",
			len(r.Runs), spread(base), spread(slow), spread(diff))
	}
	return b.String()
}

// spread formats the median and range of v.
func spread(v []float64) string {
	s := slices.Clone(v)
	slices.Sort(s)
	return fmt.Sprintf("%.2f (%.2f–%.2f)", s[len(s)/2], s[0], s[len(s)-1])
}

// The silent subscriber is cut off only once the loopback socket buffers
// (megabytes) are full and a write to it has timed out (or its 4 MiB queue
// overflowed), so its events must be larger than the 64 bytes of the other
// scenarios for that to happen within a phase: the publish process pads
// them (pubSpec.Size).

// latHist counts latencies by the second of publishing of their event, in
// buckets 2% wide, so that the p99 of any stretch of the schedule can be
// read after the raw times are gone.
type latHist struct {
	rate int
	secs [][]uint32
}

const histStep = 1.02

func (h *latHist) add(seq int, us int32) {
	sec := seq / h.rate
	for len(h.secs) <= sec {
		h.secs = append(h.secs, nil)
	}
	b := 0
	if us > 1 {
		b = int(math.Log(float64(us)) / math.Log(histStep))
	}
	row := h.secs[sec]
	for len(row) <= b {
		row = append(row, 0)
	}
	row[b]++
	h.secs[sec] = row
}

// pct returns the q-quantile, in ms, of the events published in seconds
// [from, to): the upper edge of the bucket that holds it.
func (h *latHist) pct(from, to int, q float64) float64 {
	var sum []uint64
	var n uint64
	for sec := max(0, from); sec < min(to, len(h.secs)); sec++ {
		for b, c := range h.secs[sec] {
			for len(sum) <= b {
				sum = append(sum, 0)
			}
			sum[b] += uint64(c)
			n += uint64(c)
		}
	}
	if n == 0 {
		return 0
	}
	rank := uint64(q * float64(n))
	var seen uint64
	for b, c := range sum {
		seen += c
		if seen > rank {
			return math.Pow(histStep, float64(b+1)) / 1000
		}
	}
	return math.Pow(histStep, float64(len(sum))) / 1000
}

// cpuWatch samples, every 10 s while a phase publishes, the machine's CPU
// time (user, nice and system of /proc/stat) and that of the processes of
// the measurement; the rest is the other tenants'.
type cpuWatch struct {
	mu      sync.Mutex
	pids    []int
	windows []float64
	total   time.Duration // others' CPU over the whole windows
	spanned time.Duration
	stop    chan struct{}
	done    chan struct{}
}

func watchCPU(pids ...int) *cpuWatch {
	w := &cpuWatch{pids: pids, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

// add counts pid as one of the measurement's processes from now on.
func (w *cpuWatch) add(pid int) {
	w.mu.Lock()
	w.pids = append(w.pids, pid)
	w.mu.Unlock()
}

func (w *cpuWatch) ours(last map[int]time.Duration) (d time.Duration) {
	w.mu.Lock()
	pids := slices.Clone(w.pids)
	w.mu.Unlock()
	for _, pid := range pids {
		c, ok := pidCPU(pid)
		if !ok {
			continue // gone: its last window lost what it spent since
		}
		d += c - last[pid]
		last[pid] = c
	}
	return d
}

func (w *cpuWatch) run() {
	defer close(w.done)
	const window = 10 * time.Second
	last := map[int]time.Duration{}
	w.ours(last)
	busy := machineCPU()
	tick := time.NewTicker(window)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		b := machineCPU()
		others := max(0, b-busy-w.ours(last))
		busy = b
		w.windows = append(w.windows, others.Seconds()/window.Seconds())
		w.total += others
		w.spanned += window
	}
}

// finish stops the watch and returns the others' cores per window and on
// average (over whole windows only).
func (w *cpuWatch) finish() ([]float64, float64) {
	close(w.stop)
	<-w.done
	if w.spanned == 0 {
		return w.windows, 0
	}
	return w.windows, w.total.Seconds() / w.spanned.Seconds()
}

// machineCPU is the user, nice and system time of all CPUs so far. Time in
// interrupts is left out: loopback traffic is handled there, on behalf of
// the measured processes, but not counted in their own times.
func machineCPU() time.Duration {
	b, _ := os.ReadFile("/proc/stat")
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 4 || f[0] != "cpu" {
		return 0
	}
	var j int64
	for _, v := range f[1:4] {
		n, _ := strconv.ParseInt(v, 10, 64)
		j += n
	}
	const hz = 100 // USER_HZ on Linux
	return time.Duration(j) * time.Second / hz
}

// pidCPU is a process's user+system time, as process.cpu reads it.
func pidCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, false
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100
	return time.Duration(ut+st) * time.Second / hz, true
}

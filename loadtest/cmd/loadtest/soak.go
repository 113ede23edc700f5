package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/polysse/polysse/server/auth"
)

// The soak ("loadtest soak", `make soak`) holds many streams open on
// bin/polysse with its bolt store while events flow at a steady rate, for
// minutes, and checks that the process does not drift: its RSS, goroutines
// and open files at the end are those at the start, within a tolerance,
// and every subscriber received every acknowledged event exactly once.
// A leak per event, per heartbeat or per stream shows as growth here long
// before it would in the seconds-long scenarios of bench-server.

// soakSpec is a soak's bounds.
type soakSpec struct {
	Bin       string        `json:"bin"`
	Streams   int           `json:"streams"`
	Topics    int           `json:"topics"`
	Rate      int           `json:"rate"` // events per second, over all topics
	Duration  time.Duration `json:"-"`
	Warmup    time.Duration `json:"-"`
	Tolerance float64       `json:"tolerance"` // allowed change of each figure, as a fraction
	Samples   int           `json:"samples"`   // readings whose median is one figure
	LogMax    int           `json:"log_max_count"`
}

// soakPoint is the process's figures at one moment.
type soakPoint struct {
	Elapsed    float64 `json:"elapsed_s"` // since the first publish
	RSSKB      float64 `json:"rss_kb"`
	AnonKB     float64 `json:"rss_anon_kb"` // of RSS: the heap and stacks
	FileKB     float64 `json:"rss_file_kb"` // of RSS: mapped files (the binary, the bolt file)
	Goroutines float64 `json:"goroutines"`
	OpenFiles  float64 `json:"open_files"`
	Streams    float64 `json:"streams"`   // polysse_streams_open, all transports
	Published  int64   `json:"published"` // acknowledged publishes so far
}

type soakFigure struct {
	Name   string  `json:"name"`
	Start  float64 `json:"start"`
	End    float64 `json:"end"`
	Change float64 `json:"change"` // (end-start)/start
	OK     bool    `json:"ok"`
}

type soakResult struct {
	Date          string       `json:"date"`
	Spec          soakSpec     `json:"spec"`
	Duration      string       `json:"duration"`
	Warmup        string       `json:"warmup"`
	LoadStart     string       `json:"load_start"`
	LoadEnd       string       `json:"load_end"`
	Opened        int          `json:"opened"`
	Confirmed     int          `json:"confirmed"`
	Start         soakPoint    `json:"start"`
	End           soakPoint    `json:"end"`
	Figures       []soakFigure `json:"figures"`
	ServerCPU     float64      `json:"server_cpu_pct"` // of one core, between start and end
	Published     int64        `json:"published"`
	PublishErrors int64        `json:"publish_errors"`
	FirstError    string       `json:"first_error,omitempty"`
	Delivered     int64        `json:"delivered"`
	Expected      int64        `json:"expected"`
	Missing       int          `json:"missing"`
	WorstMissing  int          `json:"worst_missing"`
	SubsMissing   int          `json:"subs_missing"`
	Repeated      int64        `json:"repeated"`
	Ended         int64        `json:"ended"` // streams the hub ended
	Series        []soakPoint  `json:"series"`
	Failures      []string     `json:"failures"`
	Pass          bool         `json:"pass"`
	Seconds       float64      `json:"seconds"`
}

// soakCmd is the soak's main; it returns the exit status.
func soakCmd(args []string) int {
	fs := flag.NewFlagSet("soak", flag.ExitOnError)
	var s soakSpec
	fs.StringVar(&s.Bin, "polysse", "../bin/polysse", "the polysse binary (make go-build)")
	fs.IntVar(&s.Streams, "streams", 10_000, "streams held open")
	fs.IntVar(&s.Topics, "topics", 100, "topics the streams are spread over, one per stream")
	fs.IntVar(&s.Rate, "rate", 20, "events published per second, round-robin over the topics")
	fs.DurationVar(&s.Duration, "duration", 10*time.Minute, "time between the start and end figures")
	fs.DurationVar(&s.Warmup, "warmup", time.Minute, "publishing before the start figures")
	// The replay log grows until it holds -log-max-count updates, by
	// design; bounded below what the warm-up publishes, it is full (and
	// trimming) at both figures, so that they compare two steady states.
	fs.IntVar(&s.LogMax, "log-max-count", 1000, "the hub's -log-max-count (reached during the warm-up at the default rate)")
	fs.Float64Var(&s.Tolerance, "tolerance", 0.10, "largest change of RSS, goroutines or open files allowed, as a fraction")
	fs.IntVar(&s.Samples, "samples", 5, "readings, 1 s apart, whose median is a start or end figure")
	logDir := fs.String("logs", "", "folder for the hub's log (default: a temporary one)")
	jsonOut := fs.String("json", "", "write the result as JSON to this file")
	_ = fs.Parse(args)
	if s.Streams < s.Topics || s.Topics < 1 || s.Rate < 1 || s.Duration <= 0 || s.Samples < 1 {
		fmt.Fprintln(os.Stderr, "soak: need streams >= topics >= 1, rate >= 1, duration > 0, samples >= 1")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := soak(ctx, s, *logDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 1
	}
	fmt.Print(soakReport(r))
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(r, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			return 1
		}
	}
	if !r.Pass {
		return 1
	}
	return 0
}

func soak(ctx context.Context, s soakSpec, logDir string) (r *soakResult, err error) {
	began := time.Now()
	r = &soakResult{Date: began.UTC().Format("2006-01-02 15:04 UTC"), Spec: s,
		Duration: s.Duration.String(), Warmup: s.Warmup.String(), LoadStart: loadAvg()}
	// Bounded in time whatever happens: the two phases, the opening and
	// confirming of the streams, and the final delivery wait.
	ctx, cancel := context.WithTimeout(ctx, s.Warmup+s.Duration+10*time.Minute)
	defer cancel()

	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < lim.Max {
		// The hub inherits the raised limit too.
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	if need := s.Streams + 500; int(lim.Cur) < need {
		return nil, fmt.Errorf("open files limit %d is below the %d this soak needs", lim.Cur, need)
	}
	tmp, err := os.MkdirTemp("", "polysse-soak-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if logDir == "" {
		logDir = tmp
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "%s soak: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}

	const key = "soak-key"
	sig, err := auth.NewSigner(key)
	if err != nil {
		return nil, err
	}
	token, err := sig.Sign(auth.Claims{Publish: []string{"*"}}, s.Warmup+s.Duration+time.Hour)
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(logDir, "soak-polysse.log")
	p, err := startHub(ctx, s.Bin, logPath,
		"-store", "bolt:"+filepath.Join(tmp, "soak.db"),
		"-publisher-jwt-key", key, "-allow-anonymous", "-log-max-count", strconv.Itoa(s.LogMax))
	if err != nil {
		return nil, err
	}
	defer p.stop()
	logf("hub pid %d on %s, bolt store in %s, log %s; load average %s", p.Pid(), p.addr, tmp, logPath, r.LoadStart)

	// One group per topic: a group tracks one sequence of events, and
	// event i goes to topic i%Topics as that topic's event i/Topics.
	maxEvents := int(float64(s.Rate)*(s.Warmup+s.Duration+time.Minute).Seconds()) + s.Topics
	perTopic := maxEvents/s.Topics + 1
	topics := make([]string, s.Topics)
	groups := make([]*group, s.Topics)
	for k := range groups {
		topics[k] = "soak/" + strconv.Itoa(k)
		groups[k] = newGroup(p.addr, "/.well-known/mercure?topic="+url.QueryEscape(topics[k]), perTopic)
		groups[k].want = perTopic + 1 // never reached: completion is counted below instead
	}
	defer func() {
		for _, g := range groups {
			g.close()
		}
	}()
	for k, g := range groups {
		n := s.Streams / s.Topics
		if k < s.Streams%s.Topics {
			n++
		}
		if err := g.open(n, 128, "", nil); err != nil {
			logf("topic %s: %v", topics[k], err)
		}
		r.Opened += int(g.total.Load() - g.failed.Load())
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	logf("%d of %d streams opened; RSS %d KiB, %d open files", r.Opened, s.Streams, p.rssKB(), p.openFiles())

	// One connection per publishing worker, each opened by its first
	// publish, within the warm-up: a connection opened later would add a
	// goroutine and a file to the hub between the figures. The first also
	// confirms, so that no idle connection is closed by the hub meanwhile.
	const workers = 4
	pubs := make([]*publisher, workers)
	for w := range pubs {
		pubs[w] = newPublisher(p.addr, token, 1)
		defer pubs[w].close()
	}
	pub := pubs[0]
	// A stream counts once it received an event: a confirmation to every
	// topic at once, every second, until each stream has one.
	confirmed := func() (n int) {
		for _, g := range groups {
			n += int(g.confirmed[1].Load())
		}
		return n
	}
	for deadline := time.Now().Add(2 * time.Minute); confirmed() < r.Opened && time.Now().Before(deadline) && ctx.Err() == nil; {
		if err := postTopics(ctx, pub, topics, "c=1"); err != nil {
			logf("confirmation: %v", err)
		}
		for i := 0; i < 100 && confirmed() < r.Opened; i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
	r.Confirmed = confirmed()
	logf("%d streams confirmed", r.Confirmed)
	if r.Confirmed < s.Streams {
		r.Failures = append(r.Failures, fmt.Sprintf("only %d of %d streams confirmed", r.Confirmed, s.Streams))
	}

	// The steady publisher: a few workers on a fixed schedule, so that one
	// slow commit (the bolt store fsyncs) does not lower the rate.
	acked := make([]atomic.Bool, maxEvents)
	// Readings are taken with no publish in flight: each one in flight
	// holds a goroutine or two in the hub (its handler's background read,
	// the store's commit) that a reading would count as drift. Leaks stay;
	// these do not.
	var quiet sync.RWMutex
	var next, published, errs atomic.Int64
	var firstErr atomic.Value
	pubCtx, stopPub := context.WithCancel(ctx)
	var wg sync.WaitGroup
	t0 := time.Now()
	interval := time.Second / time.Duration(s.Rate)
	for w := range workers {
		wg.Add(1)
		go func() {
			pub := pubs[w]
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= maxEvents {
					return
				}
				select {
				case <-pubCtx.Done():
					return
				case <-time.After(time.Until(t0.Add(time.Duration(i) * interval))):
				}
				k := i % s.Topics
				quiet.RLock()
				_, err := pub.post(ctx, topics[k], payload(i/s.Topics, time.Now()))
				quiet.RUnlock()
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				acked[i].Store(true)
				published.Add(1)
			}
		}()
	}

	read := func() soakPoint {
		quiet.Lock()
		defer quiet.Unlock()
		pt := soakPoint{Elapsed: time.Since(t0).Seconds(), Published: published.Load()}
		pt.RSSKB, pt.AnonKB, pt.FileKB = p.rssParts()
		pt.OpenFiles = float64(p.openFiles())
		if m, err := scrape(p.metricsAddr); err == nil {
			pt.Goroutines, pt.Streams = m["go_goroutines"], m["polysse_streams_open"]
		} else {
			pt.Goroutines, pt.Streams = math.NaN(), math.NaN()
			logf("scrape: %v", err)
		}
		return pt
	}
	// A figure is the median of a few readings a second apart, so that a
	// goroutine of one in-flight publish or commit does not count as drift.
	figure := func() soakPoint {
		var pts []soakPoint
		for i := range s.Samples {
			if i > 0 {
				time.Sleep(time.Second)
			}
			pts = append(pts, read())
		}
		med := func(f func(soakPoint) float64) float64 {
			v := make([]float64, len(pts))
			for i, pt := range pts {
				v[i] = f(pt)
			}
			slices.Sort(v)
			return v[len(v)/2]
		}
		return soakPoint{
			Elapsed:    pts[len(pts)-1].Elapsed,
			RSSKB:      med(func(p soakPoint) float64 { return p.RSSKB }),
			AnonKB:     med(func(p soakPoint) float64 { return p.AnonKB }),
			FileKB:     med(func(p soakPoint) float64 { return p.FileKB }),
			Goroutines: med(func(p soakPoint) float64 { return p.Goroutines }),
			OpenFiles:  med(func(p soakPoint) float64 { return p.OpenFiles }),
			Streams:    med(func(p soakPoint) float64 { return p.Streams }),
			Published:  pts[len(pts)-1].Published,
		}
	}
	sleep := func(d time.Duration) {
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
	sampleEvery := max(10*time.Second, s.Duration/20)
	var seriesMu sync.Mutex
	sampleCtx, stopSampling := context.WithCancel(ctx)
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		for {
			select {
			case <-sampleCtx.Done():
				return
			case <-tick.C:
			}
			pt := read()
			seriesMu.Lock()
			r.Series = append(r.Series, pt)
			seriesMu.Unlock()
			logf("%4.0fs RSS %.1f MiB (anon %.1f, file %.1f), %.0f goroutines, %.0f open files, %.0f streams, %d published",
				pt.Elapsed, pt.RSSKB/1024, pt.AnonKB/1024, pt.FileKB/1024, pt.Goroutines, pt.OpenFiles, pt.Streams, pt.Published)
		}
	}()

	sleep(s.Warmup)
	r.Start = figure()
	cpu0, at0 := p.cpu(), time.Now()
	logf("start: RSS %.1f MiB, %.0f goroutines, %.0f open files, %.0f streams; soaking for %s",
		r.Start.RSSKB/1024, r.Start.Goroutines, r.Start.OpenFiles, r.Start.Streams, s.Duration)
	sleep(s.Duration)
	r.End = figure()
	r.ServerCPU = 100 * (p.cpu() - cpu0).Seconds() / time.Since(at0).Seconds()
	logf("end: RSS %.1f MiB, %.0f goroutines, %.0f open files, %.0f streams",
		r.End.RSSKB/1024, r.End.Goroutines, r.End.OpenFiles, r.End.Streams)
	stopSampling()
	sampler.Wait()
	stopPub()
	wg.Wait()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted or out of time: %w", ctx.Err())
	}

	// Every stream must now get every acknowledged event of its topic.
	r.Published, r.PublishErrors = published.Load(), errs.Load()
	if e, ok := firstErr.Load().(string); ok {
		r.FirstError = e
	}
	for i := range acked {
		if acked[i].Load() {
			g := groups[i%s.Topics]
			r.Expected += g.total.Load() - g.failed.Load()
		}
	}
	delivered := func() (n int64) {
		for _, g := range groups {
			n += g.delivered.Load()
		}
		return n
	}
	waitProgress(func() bool { return delivered() >= r.Expected }, delivered, 15*time.Second, 2*time.Minute)
	r.Delivered = delivered()
	for k, g := range groups {
		for _, sb := range g.subs {
			m := 0
			for q := 0; q < perTopic; q++ {
				i := q*s.Topics + k
				if i >= maxEvents || !acked[i].Load() {
					continue
				}
				if sb.seen == nil || sb.seen[q/64]&(1<<(q%64)) == 0 {
					m++
				}
			}
			r.Missing += m
			r.WorstMissing = max(r.WorstMissing, m)
			if m > 0 {
				r.SubsMissing++
			}
		}
		r.Repeated += g.repeated.Load()
		r.Ended += g.ended.Load()
	}

	for _, f := range []struct {
		name       string
		start, end float64
	}{
		{"RSS (MiB)", r.Start.RSSKB / 1024, r.End.RSSKB / 1024},
		{"goroutines", r.Start.Goroutines, r.End.Goroutines},
		{"open files", r.Start.OpenFiles, r.End.OpenFiles},
	} {
		fig := soakFigure{Name: f.name, Start: f.start, End: f.end}
		if f.start > 0 {
			fig.Change = (f.end - f.start) / f.start
		}
		// Flat both ways: a drop beyond the tolerance means the start was
		// not yet the steady state, which is as much a failed soak.
		fig.OK = f.start > 0 && !math.IsNaN(fig.Change) && math.Abs(fig.Change) <= s.Tolerance
		if !fig.OK {
			r.Failures = append(r.Failures, fmt.Sprintf("%s went from %.1f to %.1f (%+.1f%%, limit ±%.0f%%)",
				f.name, f.start, f.end, 100*fig.Change, 100*s.Tolerance))
		}
		r.Figures = append(r.Figures, fig)
	}
	if r.Missing > 0 || r.Repeated > 0 {
		r.Failures = append(r.Failures, fmt.Sprintf("%d events missing (%d subscribers, worst %d), %d repeated",
			r.Missing, r.SubsMissing, r.WorstMissing, r.Repeated))
	}
	if r.PublishErrors > 0 {
		r.Failures = append(r.Failures, fmt.Sprintf("%d publishes failed, first: %s", r.PublishErrors, r.FirstError))
	}
	if r.Ended > 0 {
		r.Failures = append(r.Failures, fmt.Sprintf("the hub ended %d streams", r.Ended))
	}
	if want := float64(r.Confirmed); r.End.Streams < want {
		r.Failures = append(r.Failures, fmt.Sprintf("%.0f streams open at the end, %d confirmed", r.End.Streams, r.Confirmed))
	}
	r.Pass = len(r.Failures) == 0
	r.LoadEnd = loadAvg()
	r.Seconds = time.Since(began).Seconds()
	return r, nil
}

// postTopics publishes one update to several topics (the Mercure form
// takes topic more than once).
func postTopics(ctx context.Context, p *publisher, topics []string, data string) error {
	form := url.Values{"topic": topics, "data": {data}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, strings.NewReader(form))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+p.token)
	res, err := p.client.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("publish: %s: %s", res.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

func soakReport(r *soakResult) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	s := r.Spec
	p("\nSoak: %s, %s; load average %s at start, %s at end; %.0f s in all.\n", r.Date, s.Bin, r.LoadStart, r.LoadEnd, r.Seconds)
	p("%d streams (%d confirmed) over %d topics, %d events/s over HTTP with a token, bolt store (-log-max-count %d); figures (median of %d readings) after a %s warm-up and %s later.\n\n",
		s.Streams, r.Confirmed, s.Topics, s.Rate, s.LogMax, s.Samples, r.Warmup, r.Duration)
	p("| figure | start | end | change | within ±%.0f%% |\n|---|---|---|---|---|\n", 100*s.Tolerance)
	for _, f := range r.Figures {
		p("| %s | %.1f | %.1f | %+.1f%% | %s |\n", f.Name, f.Start, f.End, 100*f.Change, map[bool]string{true: "yes", false: "**no**"}[f.OK])
	}
	p("\nRSS at start: %.1f MiB anonymous (heap, stacks), %.1f MiB mapped files; at end %.1f and %.1f.\n",
		r.Start.AnonKB/1024, r.Start.FileKB/1024, r.End.AnonKB/1024, r.End.FileKB/1024)
	p("\nEvents: %d published (%d errors), %d of %d deliveries; missing %d (worst subscriber %d), repeated %d; streams ended by the hub %d; hub CPU %.1f%% of a core.\n",
		r.Published, r.PublishErrors, r.Delivered, r.Expected, r.Missing, r.WorstMissing, r.Repeated, r.Ended, r.ServerCPU)
	if r.Pass {
		p("PASS\n")
	} else {
		p("FAIL: %s\n", strings.Join(r.Failures, "; "))
	}
	return b.String()
}

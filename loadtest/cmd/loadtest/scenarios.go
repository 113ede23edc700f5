package main

import (
	"context"
	"fmt"
	"time"
)

// sizes are a run's bounds: the full run's, or the quick run's.
type sizes struct {
	idleSteps       []int // subscribers held, cumulative
	flowEvents      int   // events published at 10/s while the most are held
	fanSubs         int
	fanEvents       int
	fanPublishers   int
	latSubs         int
	latEvents       int
	latRate         int // events per second
	rateSubs        int
	ratePublishers  int
	rateDuration    time.Duration
	rateMax         int
	resumeEvents    int
	resumePublisher int
}

var full = sizes{
	idleSteps: []int{10_000, 19_000}, flowEvents: 30,
	fanSubs: 1000, fanEvents: 2000, fanPublishers: 4,
	latSubs: 1000, latEvents: 300, latRate: 100,
	rateSubs: 10, ratePublishers: 8, rateDuration: 5 * time.Second, rateMax: 200_000,
	resumeEvents: 10_000, resumePublisher: 8,
}

var quick = sizes{
	idleSteps: []int{1000, 2000}, flowEvents: 10,
	fanSubs: 200, fanEvents: 500, fanPublishers: 4,
	latSubs: 200, latEvents: 100, latRate: 100,
	rateSubs: 10, ratePublishers: 8, rateDuration: 2 * time.Second, rateMax: 50_000,
	resumeEvents: 2000, resumePublisher: 8,
}

type idleStep struct {
	Streams     int     `json:"streams"`
	Confirmed   int     `json:"confirmed"`
	RSSKB       int64   `json:"rss_kb"`
	PerStreamKB float64 `json:"per_stream_kb"`
	CPUSeconds  float64 `json:"cpu_s"` // to accept and confirm, from the start
}

type idleResult struct {
	BaseRSSKB   int64      `json:"base_rss_kb"`
	Steps       []idleStep `json:"steps"`
	Curve       [][2]int64 `json:"curve"` // (streams opened, RSS KiB)
	FlowEvents  int        `json:"flow_events"`
	FlowMissing int        `json:"flow_missing"`
	FlowRepeats int64      `json:"flow_repeats"`
	IdleCPU     float64    `json:"idle_cpu_pct"` // percent of one core while holding the most, no events
	Ended       int64      `json:"ended"`
	Err         string     `json:"err,omitempty"`
}

// idle measures RSS growth per open stream, each confirmed by an event it
// received, at each step, then keeps events flowing to all of them.
func idle(ctx context.Context, t *target, z sizes, env *runEnv) (r idleResult) {
	p, err := env.start(ctx, t, "idle")
	if err != nil {
		r.Err = err.Error()
		return
	}
	defer p.stop()
	time.Sleep(time.Second)
	r.BaseRSSKB = p.rssKB()
	cpu0 := p.cpu()
	r.Curve = append(r.Curve, [2]int64{0, r.BaseRSSKB})
	g := newGroup(p.addr, t.subPath("idle"), z.flowEvents)
	defer g.close()
	pub := newPublisher(p.addr, env.token, 2)
	defer pub.close()
	opened := 0
	for i, step := range z.idleSteps {
		err := g.open(step-opened, 128, "", func(total int) {
			if total%1000 == 0 {
				r.Curve = append(r.Curve, [2]int64{int64(total), p.rssKB()})
			}
		})
		opened = step
		if err != nil {
			r.Err = err.Error()
		}
		phase := i + 1
		conf := g.confirm(ctx, pub, "idle", phase, 120*time.Second)
		time.Sleep(3 * time.Second)
		rss := p.rssKB()
		r.Steps = append(r.Steps, idleStep{
			Streams: step, Confirmed: conf, RSSKB: rss,
			PerStreamKB: float64(rss-r.BaseRSSKB) / float64(step),
			CPUSeconds:  (p.cpu() - cpu0).Seconds(),
		})
		r.Curve = append(r.Curve, [2]int64{int64(step), rss})
		env.logf("  %s idle: %d streams, %d confirmed, RSS %d KiB (%.2f KiB/stream), CPU %.1fs",
			t.Name, step, conf, rss, float64(rss-r.BaseRSSKB)/float64(step), (p.cpu() - cpu0).Seconds())
		if conf < step {
			break
		}
	}
	env.saveHeap(t, "idle")
	// Idle CPU while holding the most streams, no events.
	c0 := p.cpu()
	time.Sleep(5 * time.Second)
	r.IdleCPU = 100 * (p.cpu() - c0).Seconds() / 5
	// Events keep flowing to every stream held.
	r.FlowEvents = z.flowEvents
	start := time.Now()
	for seq := range z.flowEvents {
		time.Sleep(time.Until(start.Add(time.Duration(seq) * 100 * time.Millisecond)))
		if _, err := pub.post(ctx, "idle", payload(seq, time.Now())); err != nil {
			env.logf("  %s idle: publish: %v", t.Name, err)
		}
	}
	g.want = z.flowEvents
	waitProgress(func() bool { return g.complete.Load() >= g.total.Load()-g.failed.Load() },
		g.delivered.Load, 10*time.Second, 60*time.Second)
	r.FlowMissing, _, _ = g.missing(0, z.flowEvents)
	r.FlowRepeats = g.repeated.Load()
	r.Ended = g.ended.Load()
	env.logf("  %s idle: %d events to %d streams: %d missing, %d repeated; idle CPU %.1f%%",
		t.Name, z.flowEvents, g.total.Load(), r.FlowMissing, r.FlowRepeats, r.IdleCPU)
	return r
}

type fanResult struct {
	Subs           int     `json:"subs"`
	Events         int     `json:"events"`
	Seconds        float64 `json:"seconds"`
	PerSecond      float64 `json:"deliveries_per_s"`
	Delivered      int64   `json:"delivered"`
	Missing        int     `json:"missing"`
	WorstMissing   int     `json:"worst_missing"`
	SubsMissing    int     `json:"subs_missing"`
	Repeated       int64   `json:"repeated"`
	PublishErrors  int64   `json:"publish_errors"`
	Ended          int64   `json:"ended"`
	ServerCPU      float64 `json:"server_cpu_s"`
	Err            string  `json:"err,omitempty"`
	PublishSeconds float64 `json:"publish_s"`
}

// fanout publishes events with several publishers to subscribers of one
// topic and times until every subscriber has every event.
func fanout(ctx context.Context, t *target, z sizes, env *runEnv) (r fanResult) {
	r.Subs, r.Events = z.fanSubs, z.fanEvents
	p, err := env.start(ctx, t, "fanout")
	if err != nil {
		r.Err = err.Error()
		return
	}
	defer p.stop()
	g := newGroup(p.addr, t.subPath("fan"), z.fanEvents)
	defer g.close()
	pub := newPublisher(p.addr, env.token, z.fanPublishers)
	defer pub.close()
	if err := g.open(z.fanSubs, 128, "", nil); err != nil {
		r.Err = err.Error()
	}
	if conf := g.confirm(ctx, pub, "fan", 1, 60*time.Second); conf < z.fanSubs {
		r.Err = fmt.Sprintf("only %d of %d subscribers confirmed", conf, z.fanSubs)
	}
	time.Sleep(500 * time.Millisecond)
	cpu0 := p.cpu()
	pr, err := env.publish(ctx, pubSpec{Addr: p.addr, Topic: "fan", Token: env.token, Count: z.fanEvents, Publishers: z.fanPublishers})
	if err != nil {
		r.Err = err.Error()
		return
	}
	start := time.Unix(0, pr.Start)
	r.PublishSeconds = float64(pr.End-pr.Start) / 1e9
	waitProgress(func() bool { return g.doneAt.Load() != 0 }, g.delivered.Load, 10*time.Second, 120*time.Second)
	end := time.Now()
	if d := g.doneAt.Load(); d != 0 {
		end = time.Unix(0, d)
	}
	r.ServerCPU = (p.cpu() - cpu0).Seconds()
	r.Seconds = end.Sub(start).Seconds()
	r.Delivered = g.delivered.Load()
	r.PerSecond = float64(r.Delivered) / r.Seconds
	r.Missing, r.WorstMissing, r.SubsMissing = g.missing(0, z.fanEvents)
	r.Repeated = g.repeated.Load()
	r.PublishErrors = pr.Errors
	r.Ended = g.ended.Load()
	env.logf("  %s fan-out: %d deliveries in %.2fs = %.0f/s; missing %d (worst sub %d, %d subs), repeated %d, publish errors %d",
		t.Name, r.Delivered, r.Seconds, r.PerSecond, r.Missing, r.WorstMissing, r.SubsMissing, r.Repeated, r.PublishErrors)
	return r
}

type latResult struct {
	Subs   int `json:"subs"`
	Events int `json:"events"`
	latencies
	Missing   int          `json:"missing"`
	Repeated  int64        `json:"repeated"`
	ServerCPU float64      `json:"server_cpu_s"`
	CDF       [][2]float64 `json:"cdf"` // (ms, fraction)
	Err       string       `json:"err,omitempty"`
}

// latency publishes events at a steady rate and records publish-to-receive
// times at every subscriber.
func latency(ctx context.Context, t *target, z sizes, env *runEnv) (r latResult) {
	r.Subs, r.Events = z.latSubs, z.latEvents
	p, err := env.start(ctx, t, "latency")
	if err != nil {
		r.Err = err.Error()
		return
	}
	defer p.stop()
	g := newGroup(p.addr, t.subPath("lat"), z.latEvents)
	g.latency = true
	defer g.close()
	pub := newPublisher(p.addr, env.token, 1)
	defer pub.close()
	if err := g.open(z.latSubs, 128, "", nil); err != nil {
		r.Err = err.Error()
	}
	if conf := g.confirm(ctx, pub, "lat", 1, 60*time.Second); conf < z.latSubs {
		r.Err = fmt.Sprintf("only %d of %d subscribers confirmed", conf, z.latSubs)
	}
	time.Sleep(500 * time.Millisecond)
	cpu0 := p.cpu()
	if _, err := env.publish(ctx, pubSpec{Addr: p.addr, Topic: "lat", Token: env.token, Count: z.latEvents, Publishers: 1, Rate: z.latRate}); err != nil {
		r.Err = err.Error()
		return
	}
	waitProgress(func() bool { return g.doneAt.Load() != 0 }, g.delivered.Load, 10*time.Second, 60*time.Second)
	r.ServerCPU = (p.cpu() - cpu0).Seconds()
	var all []int32
	for _, s := range g.subs {
		all = append(all, s.lat...)
	}
	r.latencies = summarize(all)
	if len(all) > 0 {
		q := func(f float64) float64 { return pct(all, f) }
		// Denser in the tail, which the chart draws on a scale of nines.
		for f := 0.0; f < 0.9; f += 0.01 {
			r.CDF = append(r.CDF, [2]float64{q(f), f})
		}
		for f := 0.9; f < 0.99; f += 0.001 {
			r.CDF = append(r.CDF, [2]float64{q(f), f})
		}
		for f := 0.99; f <= 0.999; f += 0.0001 {
			r.CDF = append(r.CDF, [2]float64{q(f), f})
		}
	}
	r.Missing, _, _ = g.missing(0, z.latEvents)
	r.Repeated = g.repeated.Load()
	env.logf("  %s latency: %d samples p50 %.2fms p99 %.2fms max %.2fms; missing %d, repeated %d",
		t.Name, r.Samples, r.P50ms, r.P99ms, r.MaxMs, r.Missing, r.Repeated)
	return r
}

type rateResult struct {
	Publishers int     `json:"publishers"`
	Published  int64   `json:"published"`
	Errors     int64   `json:"errors"`
	PerSecond  float64 `json:"per_s"`
	Missing    int     `json:"missing"`
	Repeated   int64   `json:"repeated"`
	ServerCPU  float64 `json:"server_cpu_s"`
	Err        string  `json:"err,omitempty"`
}

// rate measures HTTP publishes per second with a valid token from several
// publishers, with a few subscribers checking that nothing is lost.
func rate(ctx context.Context, t *target, z sizes, env *runEnv) (r rateResult) {
	r.Publishers = z.ratePublishers
	p, err := env.start(ctx, t, "rate")
	if err != nil {
		r.Err = err.Error()
		return
	}
	defer p.stop()
	g := newGroup(p.addr, t.subPath("rate"), z.rateMax)
	defer g.close()
	pub := newPublisher(p.addr, env.token, z.ratePublishers)
	defer pub.close()
	if err := g.open(z.rateSubs, 16, "", nil); err != nil {
		r.Err = err.Error()
	}
	g.confirm(ctx, pub, "rate", 1, 30*time.Second)
	cpu0 := p.cpu()
	pr, err := env.publish(ctx, pubSpec{Addr: p.addr, Topic: "rate", Token: env.token, Count: z.rateMax, Publishers: z.ratePublishers, Duration: z.rateDuration})
	if err != nil {
		r.Err = err.Error()
		return
	}
	elapsed := time.Duration(pr.End - pr.Start)
	r.ServerCPU = (p.cpu() - cpu0).Seconds()
	n := pr.Published + pr.Errors
	r.Published = pr.Published
	r.Errors = pr.Errors
	r.PerSecond = float64(r.Published) / elapsed.Seconds()
	g.want = int(n)
	waitProgress(func() bool { return g.doneAt.Load() != 0 }, g.delivered.Load, 5*time.Second, 60*time.Second)
	r.Missing, _, _ = g.missing(0, int(n))
	r.Repeated = g.repeated.Load()
	env.logf("  %s publish: %d in %.2fs = %.0f/s, %d errors; subscribers missing %d, repeated %d",
		t.Name, r.Published, elapsed.Seconds(), r.PerSecond, r.Errors, r.Missing, r.Repeated)
	return r
}

type resumeResult struct {
	Events     int     `json:"events"`
	Store      string  `json:"store"`
	Seconds    float64 `json:"seconds"`
	Received   int64   `json:"received"`
	Missing    int     `json:"missing"`
	Repeated   int64   `json:"repeated"`
	FirstMs    float64 `json:"first_ms"`
	Reconnects int     `json:"reconnects"`
	PerSecond  float64 `json:"events_per_s"`
	Err        string  `json:"err,omitempty"`
}

// resume publishes events, then has a client that had seen only the first
// one reconnect with its id, and times the replay of the rest.
func resume(ctx context.Context, t *target, z sizes, env *runEnv) (r resumeResult) {
	r.Events = z.resumeEvents
	r.Store = t.HistoryStore
	if t.HistoryStore == "" {
		r.Err = "no replay history"
		return
	}
	p, err := env.start(ctx, t, "resume", t.HistoryArgs...)
	if err != nil {
		r.Err = err.Error()
		return
	}
	defer p.stop()
	pub := newPublisher(p.addr, env.token, z.resumePublisher)
	defer pub.close()
	// A first client sees event 0 and keeps its id.
	a := newGroup(p.addr, t.subPath("resume"), 1)
	if err := a.open(1, 1, "", nil); err != nil {
		r.Err = err.Error()
		return
	}
	a.subs[0].keep = true
	a.confirm(ctx, pub, "resume", 1, 30*time.Second)
	if _, err := pub.post(ctx, "resume", payload(0, time.Now())); err != nil {
		r.Err = err.Error()
		return
	}
	waitProgress(func() bool { return a.delivered.Load() == 1 }, a.delivered.Load, 5*time.Second, 10*time.Second)
	a.close()
	if len(a.subs[0].ids) != 1 || a.subs[0].ids[0] == "" {
		r.Err = "the first event carried no id"
		return
	}
	lastID := a.subs[0].ids[0]
	// Then the events it will miss.
	pr, err := env.publish(ctx, pubSpec{Addr: p.addr, Topic: "resume", Token: env.token, First: 1, Count: z.resumeEvents, Publishers: z.resumePublisher})
	if err != nil {
		r.Err = err.Error()
		return
	}
	if pr.Errors > 0 {
		r.Err = fmt.Sprintf("%d publishes failed", pr.Errors)
	}
	time.Sleep(500 * time.Millisecond)
	// It reconnects with the old id.
	b := newGroup(p.addr, t.subPath("resume"), z.resumeEvents+1)
	b.want, b.floor = z.resumeEvents, 1
	b.reconnect, b.resumeID = true, lastID
	start := time.Now()
	if err := b.open(1, 1, "Last-Event-ID: "+lastID+"\r\n", nil); err != nil {
		r.Err = err.Error()
		return
	}
	waitProgress(func() bool { return b.doneAt.Load() != 0 }, b.delivered.Load, 5*time.Second, 120*time.Second)
	first := time.Duration(0)
	if f := b.firstAt.Load(); f != 0 {
		first = time.Unix(0, f).Sub(start)
	}
	end := time.Now()
	if d := b.doneAt.Load(); d != 0 {
		end = time.Unix(0, d)
	}
	r.Seconds = end.Sub(start).Seconds()
	r.FirstMs = float64(first) / float64(time.Millisecond)
	r.Received = b.delivered.Load()
	r.Missing, _, _ = b.missing(1, z.resumeEvents+1)
	r.Repeated = b.repeated.Load()
	r.PerSecond = float64(z.resumeEvents-r.Missing) / r.Seconds
	b.close()
	r.Reconnects = b.subs[0].reconnects
	env.logf("  %s resume (%s): %d events in %.3fs, %d reconnections; missing %d, repeated %d",
		t.Name, r.Store, r.Received, r.Seconds, r.Reconnects, r.Missing, r.Repeated)
	return r
}

package main

import (
	"fmt"
	"strings"
)

// report renders the run as Markdown tables, one per scenario.
func report(r *results, z sizes) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	mode := "full"
	if r.Quick {
		mode = "quick"
	}
	p("Run: %s, %s mode, %.0f s; load average %s at start, %s at end.\n\n", r.Date, mode, r.Seconds, r.LoadStart, r.LoadEnd)
	ref := "polysse"
	ratio := func(a, b float64) string {
		if a <= 0 || b <= 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f×", a/b)
	}
	loss := func(missing int, repeated int64) string {
		if missing == 0 && repeated == 0 {
			return "0"
		}
		return fmt.Sprintf("%d missing, %d repeated", missing, repeated)
	}
	errNote := func(e string) string {
		if e == "" {
			return ""
		}
		return " (" + e + ")"
	}

	if len(r.Idle) > 0 {
		steps := z.idleSteps
		p("### Idle memory per stream\n\n")
		p("RSS growth of the server process per open stream, each stream confirmed by an event it received, measured 3 s after the last confirmation; CPU is the server's user+system time from its start to that point. Then %d events at 10/s to every stream held.\n\n", z.flowEvents)
		p("| server |")
		for _, s := range steps {
			p(" KiB/stream at %d |", s)
		}
		p(" RSS at %d (MiB) | CPU to accept and confirm %d (s) | idle CPU at %d | events flowing to %d: loss | %s uses ÷ |\n", steps[len(steps)-1], steps[len(steps)-1], steps[len(steps)-1], steps[len(steps)-1], ref)
		p("%s\n", "|---|"+strings.Repeat("---|", len(steps))+"---|---|---|---|---|")
		refKB := lastKB(r.Idle[ref])
		for _, name := range r.Servers {
			x, ok := r.Idle[name]
			if !ok {
				continue
			}
			p("| %s |", name)
			for i := range steps {
				if i < len(x.Steps) {
					st := x.Steps[i]
					conf := ""
					if st.Confirmed < st.Streams {
						conf = fmt.Sprintf(" (%d confirmed)", st.Confirmed)
					}
					p(" %.2f%s |", st.PerStreamKB, conf)
				} else {
					p(" – |")
				}
			}
			var rss, cpu float64
			if n := len(x.Steps); n > 0 {
				rss, cpu = float64(x.Steps[n-1].RSSKB)/1024, x.Steps[n-1].CPUSeconds
			}
			p(" %.0f | %.1f | %.1f%% | %s | %s |%s\n", rss, cpu, x.IdleCPU, loss(x.FlowMissing, x.FlowRepeats), ratio(lastKB(x), refKB), errNote(x.Err))
		}
		p("\n")
	}
	if len(r.Fanout) > 0 {
		p("### Fan-out\n\n")
		p("%d subscribers on one topic; %d events of %d bytes published over HTTP with a token by %d concurrent publishers; deliveries per second from the first publish until every subscriber has every event (or until deliveries stall for 10 s).\n\n", z.fanSubs, z.fanEvents, payloadSize, z.fanPublishers)
		p("| server | deliveries/s | seconds | delivered | missing (total / worst subscriber / subscribers short) | repeated | publish errors | server CPU (s) | %s ÷ |\n", ref)
		p("|---|---|---|---|---|---|---|---|---|\n")
		refRate := r.Fanout[ref].PerSecond
		for _, name := range r.Servers {
			x, ok := r.Fanout[name]
			if !ok {
				continue
			}
			p("| %s | %.0f | %.2f | %d | %d / %d / %d | %d | %d | %.1f | %s |%s\n", name, x.PerSecond, x.Seconds, x.Delivered,
				x.Missing, x.WorstMissing, x.SubsMissing, x.Repeated, x.PublishErrors, x.ServerCPU, ratio(refRate, x.PerSecond), errNote(x.Err))
		}
		p("\n")
	}
	if len(r.Latency) > 0 {
		p("### Latency\n\n")
		p("%d subscribers; %d events at %d per second from one publisher over HTTP; publish-to-receive time (the publisher's clock before the POST to the subscriber's after decoding), over every delivery.\n\n", z.latSubs, z.latEvents, z.latRate)
		p("| server | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | samples | loss |\n|---|---|---|---|---|---|---|\n")
		for _, name := range r.Servers {
			x, ok := r.Latency[name]
			if !ok {
				continue
			}
			p("| %s | %.2f | %.2f | %.2f | %.2f | %d | %s |%s\n", name, x.P50ms, x.P90ms, x.P99ms, x.MaxMs, x.Samples, loss(x.Missing, x.Repeated), errNote(x.Err))
		}
		p("\n")
	}
	if len(r.Rate) > 0 {
		p("### Publish rate\n\n")
		p("%d publishers posting back to back over keep-alive connections with a valid token for %s (at most %d), %d subscribers checking delivery.\n\n", z.ratePublishers, z.rateDuration, z.rateMax, z.rateSubs)
		p("| server | publishes/s | errors | subscriber loss | server CPU (s) | %s ÷ |\n|---|---|---|---|---|---|\n", ref)
		refRate := r.Rate[ref].PerSecond
		for _, name := range r.Servers {
			x, ok := r.Rate[name]
			if !ok {
				continue
			}
			p("| %s | %.0f | %d | %s | %.1f | %s |%s\n", name, x.PerSecond, x.Errors, loss(x.Missing, x.Repeated), x.ServerCPU, ratio(refRate, x.PerSecond), errNote(x.Err))
		}
		p("\n")
	}
	if len(r.Resume) > 0 {
		p("### Resume\n\n")
		p("A client saw the first event, then %d more were published; it reconnects with the first event's id. Time from its connect until it has all %d; when the server ends the stream before, the client reconnects at once with the last id it received, as EventSource does (without EventSource's wait).\n\n", z.resumeEvents, z.resumeEvents)
		p("| server | history | time to replay (ms) | first event after (ms) | events/s | reconnections | loss | %s ÷ |\n|---|---|---|---|---|---|---|---|\n", ref)
		refT := r.Resume[ref].Seconds
		for _, name := range r.Servers {
			x, ok := r.Resume[name]
			if !ok {
				continue
			}
			p("| %s | %s | %.1f | %.1f | %.0f | %d | %s | %s |%s\n", name, x.Store, 1000*x.Seconds, x.FirstMs, x.PerSecond, x.Reconnects, loss(x.Missing, x.Repeated), ratio(x.Seconds, refT), errNote(x.Err))
		}
		p("\n")
	}
	return b.String()
}

func lastKB(x idleResult) float64 {
	if len(x.Steps) == 0 {
		return 0
	}
	return x.Steps[len(x.Steps)-1].PerStreamKB
}

package server

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Engines are the client engines a subscription may declare with the
// _engine query parameter (the polyfill adds it); anything else counts as
// "other", so a client cannot grow the metrics without bound.
var engines = [...]string{"other", "native", "supervised", "wasm", "lite"}

var transports = [...]string{transportStream: "stream", transportPoll: "poll"}

func engineIndex(name string) int {
	for i, e := range engines {
		if e == name {
			return i
		}
	}
	return 0
}

// counters are the hub's figures, kept as atomics so the hot paths pay one
// atomic add; Stats and the Prometheus collector both read them.
type counters struct {
	open                    [len(transports)][len(engines)]atomic.Int64
	published, delivered    atomic.Uint64
	replayHits, replayMiss  atomic.Uint64
	cutOff, publishFailures atomic.Uint64
	publishTime             prometheus.Histogram
}

func newCounters() *counters {
	return &counters{publishTime: prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "polysse", Name: "publish_duration_seconds",
		Help:    "Time to validate and store an update, until it is acknowledged.",
		Buckets: prometheus.ExponentialBuckets(50e-6, 2.5, 12),
	})}
}

// Stats is a snapshot of the hub's figures since it started.
type Stats struct {
	// Streams counts open subscriptions by transport ("stream", "poll")
	// and then by client engine ("native", "supervised", "wasm", "lite",
	// "other").
	Streams map[string]map[string]int64
	// Published counts updates that reached this node's fan-out, from any
	// node on a shared log.
	Published uint64
	// Delivered counts events written to subscribers, replays included.
	Delivered uint64
	// ReplayHits and ReplayMisses count resumes whose last event id was,
	// or was not, in the log.
	ReplayHits, ReplayMisses uint64
	// CutOff counts subscribers cut off because their queue overflowed or
	// a write to them timed out (Config.WriteTimeout).
	CutOff uint64
	// PublishFailures counts publishes the log could not store.
	PublishFailures uint64
}

// Stats returns the hub's figures now.
func (h *Hub) Stats() Stats {
	c := h.counters
	s := Stats{
		Streams:         map[string]map[string]int64{},
		Published:       c.published.Load(),
		Delivered:       c.delivered.Load(),
		ReplayHits:      c.replayHits.Load(),
		ReplayMisses:    c.replayMiss.Load(),
		CutOff:          c.cutOff.Load(),
		PublishFailures: c.publishFailures.Load(),
	}
	for t, name := range transports {
		s.Streams[name] = map[string]int64{}
		for e, engine := range engines {
			s.Streams[name][engine] = c.open[t][e].Load()
		}
	}
	return s
}

var (
	descStreams = prometheus.NewDesc("polysse_streams_open",
		"Subscriptions open now, by transport and client engine.", []string{"transport", "engine"}, nil)
	descPublished = prometheus.NewDesc("polysse_events_published_total",
		"Updates that reached this node's fan-out, from any node on a shared log.", nil, nil)
	descDelivered = prometheus.NewDesc("polysse_events_delivered_total",
		"Events written to subscribers, replayed ones included.", nil, nil)
	descReplays = prometheus.NewDesc("polysse_replays_total",
		"Resumed subscriptions, by whether the last event id was in the log.", []string{"result"}, nil)
	descCutOff = prometheus.NewDesc("polysse_slow_client_disconnects_total",
		"Subscribers cut off because their queue overflowed or a write to them timed out; they resume from the log.", nil, nil)
	descPublishFailures = prometheus.NewDesc("polysse_publish_failures_total",
		"Publishes refused because the log could not store them.", nil, nil)
)

// Describe implements prometheus.Collector, so a hub can be registered
// with prometheus.MustRegister and served at /metrics.
func (h *Hub) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStreams, descPublished, descDelivered, descReplays, descCutOff, descPublishFailures} {
		ch <- d
	}
	h.counters.publishTime.Describe(ch)
}

// Collect implements prometheus.Collector.
func (h *Hub) Collect(ch chan<- prometheus.Metric) {
	s := h.Stats()
	for t, byEngine := range s.Streams {
		for e, n := range byEngine {
			ch <- prometheus.MustNewConstMetric(descStreams, prometheus.GaugeValue, float64(n), t, e)
		}
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(descPublished, s.Published)
	counter(descDelivered, s.Delivered)
	counter(descReplays, s.ReplayHits, "hit")
	counter(descReplays, s.ReplayMisses, "miss")
	counter(descCutOff, s.CutOff)
	counter(descPublishFailures, s.PublishFailures)
	h.counters.publishTime.Collect(ch)
}

func (c *counters) observePublish(start time.Time) {
	c.publishTime.Observe(time.Since(start).Seconds())
}

package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestStatsAndMetrics(t *testing.T) {
	e := newEnv(t, nil)
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(e.hub); err != nil {
		t.Fatal(err)
	}
	wasm := e.subscribe("topic=t&_engine=wasm", nil)
	poll := e.subscribe("topic=t&transport=poll&_engine=lite", nil)
	bogus := e.subscribe("topic=t&_engine="+strings.Repeat("x", 100), nil)
	first := e.publish("one", "t")
	for _, s := range []*stream{wasm, poll, bogus} {
		s.next(t)
	}
	e.subscribe("topic=t", http.Header{"Last-Event-ID": {first}})
	e.subscribe("topic=t", http.Header{"Last-Event-ID": {"unknown"}}).next(t) // the missed notice

	deadline := time.Now().Add(2 * time.Second)
	var s = e.hub.Stats()
	// The resumed stream counts as open before its replay is counted.
	for (s.Streams["stream"]["other"] != 3 || s.ReplayHits != 1) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		s = e.hub.Stats()
	}
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"wasm streams", uint64(s.Streams["stream"]["wasm"]), 1},
		{"other streams (unknown engine and none)", uint64(s.Streams["stream"]["other"]), 3},
		{"published", s.Published, 1},
		// One to each of the three live streams; the stream resumed after
		// the only update replays nothing, and the one with an unknown id
		// gets the notice and no replay.
		{"delivered", s.Delivered, 3},
		{"replay hits", s.ReplayHits, 1},
		{"replay misses", s.ReplayMisses, 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, n := range []string{"polysse_streams_open", "polysse_events_published_total", "polysse_events_delivered_total", "polysse_replays_total", "polysse_publish_duration_seconds"} {
		if !names[n] {
			t.Errorf("metric %s not exported", n)
		}
	}
}

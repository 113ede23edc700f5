package e2e

// The scale-out tests: three polysse processes share one redis-server and sit
// behind a round-robin proxy, the way a load balancer puts them in front of
// clients. A node is killed, or Redis restarted, while clients stream and
// publishers publish through the proxy; every client must then hold exactly
// the acknowledged updates for its topics, in the log's order, once each.
// The rig is in helper_cluster_test.go.

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestClusterNodeKilled kills the node serving the most streams while
// publishers keep publishing: its clients reconnect through the proxy to
// another node with their last event id, and miss nothing.
func TestClusterNodeKilled(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	subs := subscribe(t, c.HubURL(), "", clusterSubscribers)
	pubs := startPublishers(t, c, 4, 10*time.Millisecond)
	pubs.waitAcked(t, 40, 10*time.Second)

	victim := c.Proxy.busiest()
	onVictim := victim.open.Load()
	if onVictim == 0 {
		t.Fatalf("no node holds a stream")
	}
	victim.node.Kill()
	killedAt, ackedAtKill := time.Now(), pubs.acked.Load()
	// The hub's retry is 3 s: the victim's clients come back after it.
	waitUntil(t, clusterWait, fmt.Sprintf("the %d clients of node %s to reconnect", onVictim, victim.node.Name), func() bool {
		n := 0
		for _, s := range subs {
			n += s.openCount()
		}
		return n >= len(subs)+int(onVictim)
	})
	reconnected := time.Since(killedAt)
	// Updates published after the clients are back reach them live.
	pubs.waitAcked(t, pubs.acked.Load()+40, 10*time.Second)
	log := finishScenario(t, c, pubs, subs)
	t.Logf("killed node %s with %d of %d streams; they were back after %v; %d publishes (%d before the kill), not acknowledged by status: %v",
		victim.node.Name, onVictim, len(subs), reconnected.Round(time.Millisecond), len(log), ackedAtKill, pubs.failures())
}

// TestClusterRedisRestarted stops Redis (saving its data) while streams are
// open and publishers publish, then starts it again: publishes fail with 503
// meanwhile, streams stay open (heartbeats go on), and every acknowledged
// update arrives once, in order.
func TestClusterRedisRestarted(t *testing.T) {
	t.Parallel()
	const heartbeat = 200 * time.Millisecond
	c := startCluster(t, 3, "-heartbeat", heartbeat.String())
	subs := subscribe(t, c.HubURL(), "", clusterSubscribers)
	pubs := startPublishers(t, c, 4, 20*time.Millisecond)
	pubs.waitAcked(t, 40, 10*time.Second)

	c.Redis.Stop()
	downAt := time.Now()
	// Long enough for several heartbeats, and for each publisher to fail
	// a few times.
	waitUntil(t, 10*time.Second, "publishes to be refused with 503 while Redis is down", func() bool {
		return pubs.failures()[http.StatusServiceUnavailable] >= 8 && time.Since(downAt) >= 8*heartbeat
	})
	upAt := time.Now()
	c.Redis.Restart()
	ackedAtRestart := pubs.acked.Load()
	pubs.waitAcked(t, ackedAtRestart+40, clusterWait)
	log := finishScenario(t, c, pubs, subs)

	for status, n := range pubs.failures() {
		if status != http.StatusServiceUnavailable {
			t.Errorf("%d publishes failed with status %d, want only 503 (0: no answer)", n, status)
		}
	}
	for _, s := range subs {
		if n := s.openCount(); n != 1 {
			t.Errorf("subscriber %s opened its stream %d times, want once: it should stay open through the outage (it ended with %v)", s.name, n, s.err)
		}
		if n := s.beatsBetween(downAt.Add(heartbeat), upAt); n < 2 {
			t.Errorf("subscriber %s got %d heartbeats during the %v outage, want at least 2 (heartbeat %v)", s.name, n, upAt.Sub(downAt).Round(time.Millisecond), heartbeat)
		}
	}
	t.Logf("Redis down for %v; %d publishes, %d acknowledged, not acknowledged by status: %v",
		upAt.Sub(downAt).Round(time.Millisecond), len(log), pubs.acked.Load()+1, pubs.failures())
}

// TestClusterPageSurvivesNodeKill opens the demo page through the proxy in
// headless Chromium, kills the node serving its stream, and checks that the
// browser's own EventSource resumes on another node: the updates published
// while it was away and after it came back are all on the page, once each,
// in order.
func TestClusterPageSurvivesNodeKill(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	const topic = "cluster/page"
	pg := RunPage(t, Modern, c.Proxy.URL+"/?topic="+url.QueryEscape(topic), WithScript(TrackEventSources))
	pg.WaitFor(AnySourceOpen, 10*time.Second, `window.__e2eSources.map(function (s) { return s.url + " " + s.readyState; })`)

	var want []string // "id data", oldest first
	publish := func(phase string, n int) {
		for i := range n {
			data := fmt.Sprintf("%s-%d", phase, i)
			want = append(want, c.publish(t, data, topic)+" "+data)
		}
	}
	// The page lists events newest first, with the id in data-id.
	const shown = `Array.prototype.map.call(document.querySelectorAll("#events li"), function (li) {
  return li.getAttribute("data-id") + " " + li.querySelector(".data").textContent;
}).reverse()`
	waitShown := func(n int) {
		t.Helper()
		pg.WaitFor(fmt.Sprintf(`document.querySelectorAll("#events li").length >= %d`, n), clusterWait, shown)
	}

	publish("before", 3)
	waitShown(len(want))
	victim := c.Proxy.busiest()
	if victim.open.Load() != 1 {
		t.Fatalf("the page's stream is on no node: open streams per node %v", openStreams(c.Proxy))
	}
	victim.node.Kill()
	// Published while the page reconnects: it gets them by replay.
	publish("during", 3)
	waitUntil(t, clusterWait, "the page's stream to be opened again", func() bool { return c.Proxy.opened() >= 2 })
	// Published after it is back: it gets them live.
	publish("after", 3)
	waitShown(len(want))

	got := Eval[[]string](pg, shown)
	if !slices.Equal(got, want) {
		t.Errorf("the page shows (oldest first)\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if n := Eval[int](pg, `document.querySelectorAll('#events li[data-type="polysse-missed"]').length`); n != 0 {
		t.Errorf("the page got %d polysse-missed events", n)
	}
	if n := Eval[int](pg, `window.__e2eSources.length`); n != 1 {
		t.Errorf("the page made %d EventSources, want 1 that reconnected by itself", n)
	}
}

func openStreams(p *rrProxy) map[string]int64 {
	m := map[string]int64{}
	for _, b := range p.backends {
		m[b.node.Name] = b.open.Load()
	}
	return m
}

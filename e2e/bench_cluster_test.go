package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polysse/polysse/client"
	"github.com/polysse/polysse/server/store/redisstore/redistest"
)

// The workload of BenchmarkCluster, per iteration: every subscriber on one
// topic, every event published once by one of the publishers, each of them
// waiting for its answer before the next publish.
const (
	benchSubscribers = 200
	benchEvents      = 2000
	benchPublishers  = 4
	benchTopic       = "bench/cluster"
	// benchWait bounds one iteration's deliveries after its last publish.
	benchWait = 2 * time.Minute
)

// BenchmarkCluster measures what sharing the log through Redis costs: the
// same workload on one node with its embedded (bolt) log, one node on Redis,
// and two nodes on Redis with half of the subscribers and half of the
// publishes on each. It reports deliveries per second (events times
// subscribers, over the time from the first publish to the last delivery),
// the HTTP publish round trip (p50, p99), Redis commands per publish (INFO
// commandstats, every command of every node, the readers' XREADs included)
// and lost: deliveries missing or duplicated, which must be 0.
//
//	go test -run '^$' -bench Cluster .
func BenchmarkCluster(b *testing.B) {
	for _, bc := range []struct {
		name  string
		nodes int
		redis bool
	}{
		{"bolt-1node", 1, false},
		{"redis-1node", 1, true},
		{"redis-2nodes", 2, true},
	} {
		b.Run(bc.name, func(b *testing.B) { benchCluster(b, bc.nodes, bc.redis) })
	}
}

func benchCluster(b *testing.B, nodes int, useRedis bool) {
	key := "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	var rdb *redis.Client
	var hubs []*clusterNode
	for i := range nodes {
		spec := "bolt:" + filepath.Join(b.TempDir(), "polysse.db")
		if useRedis {
			if rdb == nil {
				srv := redistest.Start(b)
				rdb = redis.NewClient(&redis.Options{Addr: srv.Addr()})
				b.Cleanup(func() { rdb.Close() })
			}
			spec = "redis://" + rdb.Options().Addr + "/0"
		}
		hubs = append(hubs, startNode(b, strconv.Itoa(i), spec, key, "-log-level", "warn"))
	}

	subs := benchSubscribe(b, hubs)
	pubs := make([]*benchPublisher, benchPublishers)
	for i := range pubs {
		// Publishers alternate between the nodes too.
		pubs[i] = &benchPublisher{hub: hubs[i%len(hubs)].URL + "/.well-known/mercure", token: PublisherJWT(key)}
	}

	var before map[string]int64
	if rdb != nil {
		before = commandStats(b, rdb)
	}
	var (
		elapsed   time.Duration
		published int
		latencies []time.Duration
	)
	for iter := 0; b.Loop(); iter++ {
		first := iter * benchEvents
		subs.expect(int64(iter+1) * benchEvents * benchSubscribers)
		start := time.Now()
		var wg sync.WaitGroup
		for p, pub := range pubs {
			wg.Go(func() {
				// Publisher p publishes every benchPublishers-th event.
				for seq := first + p; seq < first+benchEvents; seq += benchPublishers {
					pub.publish(seq)
				}
			})
		}
		wg.Wait()
		if err := subs.wait(benchWait); err != nil {
			b.Fatalf("iteration %d: %v", iter, err)
		}
		elapsed += time.Duration(subs.doneAt.Load() - start.UnixNano())
		published += benchEvents
	}
	b.StopTimer()
	for _, p := range pubs {
		if p.failed > 0 {
			b.Errorf("%d publishes failed; the first: %v", p.failed, p.firstErr)
		}
		latencies = append(latencies, p.latencies...)
	}
	// Duplicates that arrive after the last expected delivery still count.
	time.Sleep(100 * time.Millisecond)
	lost := subs.lost(published)
	if lost > 0 {
		b.Errorf("%d deliveries missing or duplicated", lost)
	}

	slices.Sort(latencies)
	b.ReportMetric(float64(published*benchSubscribers)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(ms(percentile(latencies, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(latencies, 99)), "p99-ms")
	b.ReportMetric(float64(lost), "lost")
	if rdb != nil {
		after := commandStats(b, rdb)
		var total int64
		var parts []string
		for _, name := range sortedKeys(after) {
			if d := after[name] - before[name]; d > 0 {
				total += d
				parts = append(parts, fmt.Sprintf("%s %.2f", name, float64(d)/float64(published)))
			}
		}
		b.ReportMetric(float64(total)/float64(published), "redis-cmds/publish")
		b.Logf("Redis commands per publish: %s", strings.Join(parts, ", "))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile returns the p-th percentile of sorted durations, by nearest
// rank.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

// commandStats returns INFO commandstats as calls per command, leaving out
// INFO itself, which only the benchmark sends.
func commandStats(b *testing.B, rdb *redis.Client) map[string]int64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	text, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		b.Fatalf("INFO commandstats: %v", err)
	}
	stats := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		// cmdstat_xadd:calls=2000,usec=...,...
		name, rest, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "cmdstat_"), ":calls=")
		if !ok || name == "info" {
			continue
		}
		calls, _, _ := strings.Cut(rest, ",")
		n, err := strconv.ParseInt(calls, 10, 64)
		if err != nil {
			b.Fatalf("INFO commandstats line %q: %v", sc.Text(), err)
		}
		stats[name] = n
	}
	return stats
}

// benchPublisher publishes events numbered by their data and times each
// HTTP round trip. One goroutine uses it at a time.
type benchPublisher struct {
	hub, token string
	latencies  []time.Duration
	failed     int
	firstErr   error
}

// benchHTTP keeps each publisher's connection alive: a dial per publish
// would be measured too.
var benchHTTP = &http.Client{Transport: &http.Transport{
	Proxy:               nil,
	MaxIdleConnsPerHost: 2 * benchPublishers,
	DialContext:         (&net.Dialer{Timeout: time.Second}).DialContext,
}}

func (p *benchPublisher) publish(seq int) {
	ctx, cancel := context.WithTimeout(context.Background(), PublishTimeout)
	defer cancel()
	start := time.Now()
	_, err := client.Publish(ctx, benchHTTP, p.hub, p.token, client.Update{Topics: []string{benchTopic}, Data: strconv.Itoa(seq)})
	p.latencies = append(p.latencies, time.Since(start))
	if err != nil {
		p.failed++
		if p.firstErr == nil {
			p.firstErr = err
		}
	}
}

// benchSubs are the benchmark's subscribers, counting each event by its
// number.
type benchSubs struct {
	subs      []*benchSub
	delivered atomic.Int64
	target    atomic.Int64
	doneAt    atomic.Int64 // unix nanoseconds of the delivery that reached target
	done      chan struct{}
	mu        sync.Mutex // guards done's renewal
}

type benchSub struct {
	mu  sync.Mutex
	got []uint8 // deliveries per event number, saturating
	err error
}

// benchSubscribe opens benchSubscribers streams, spread evenly over the
// nodes, and waits until all are open.
func benchSubscribe(b *testing.B, hubs []*clusterNode) *benchSubs {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.Cleanup(func() { cancel(); wg.Wait() })
	s := &benchSubs{done: make(chan struct{})}
	var opened atomic.Int64
	tr := &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: time.Second}).DialContext, ResponseHeaderTimeout: 10 * time.Second}
	b.Cleanup(tr.CloseIdleConnections)
	c := &client.Client{HTTPClient: &http.Client{Transport: tr}, OnOpen: func(*http.Response) { opened.Add(1) }}
	for i := range benchSubscribers {
		sub := &benchSub{}
		s.subs = append(s.subs, sub)
		stream := c.Open(ctx, hubs[i%len(hubs)].URL+"/.well-known/mercure?topic="+url.QueryEscape(benchTopic), "")
		wg.Go(func() {
			defer stream.Close()
			for {
				ev, err := stream.Next()
				if err != nil {
					sub.mu.Lock()
					sub.err = err
					sub.mu.Unlock()
					return
				}
				n, err := strconv.Atoi(ev.Data)
				if err != nil || n < 0 {
					continue // not the benchmark's: counted as missing where it matters
				}
				sub.mu.Lock()
				if n >= len(sub.got) {
					sub.got = append(sub.got, make([]uint8, n+1-len(sub.got))...)
				}
				if sub.got[n] < 255 {
					sub.got[n]++
				}
				sub.mu.Unlock()
				s.delivered1()
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for opened.Load() < benchSubscribers {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d subscriptions opened in 30s", opened.Load(), benchSubscribers)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s
}

// delivered1 counts one delivery and marks the time the target was reached.
func (s *benchSubs) delivered1() {
	if s.delivered.Add(1) == s.target.Load() {
		s.doneAt.Store(time.Now().UnixNano())
		s.mu.Lock()
		close(s.done)
		s.mu.Unlock()
	}
}

// expect sets the total of deliveries that ends the next wait.
func (s *benchSubs) expect(total int64) {
	s.mu.Lock()
	s.done = make(chan struct{})
	s.mu.Unlock()
	s.target.Store(total)
}

func (s *benchSubs) wait(d time.Duration) error {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-time.After(d):
		return fmt.Errorf("%d of %d deliveries after %v", s.delivered.Load(), s.target.Load(), d)
	}
}

// lost counts, over every subscriber, the events 0..n-1 not delivered plus
// the deliveries beyond the first of each.
func (s *benchSubs) lost(n int) int {
	lost := 0
	for _, sub := range s.subs {
		sub.mu.Lock()
		for i := range n {
			c := 0
			if i < len(sub.got) {
				c = int(sub.got[i])
			}
			if c != 1 {
				lost += max(1-c, c-1)
			}
		}
		for _, c := range sub.got[min(n, len(sub.got)):] {
			lost += int(c) // numbered beyond what was published
		}
		sub.mu.Unlock()
	}
	return lost
}

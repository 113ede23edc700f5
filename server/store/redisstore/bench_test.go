package redisstore_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/redisstore"
	"github.com/polysse/polysse/server/store/redisstore/redistest"
	"github.com/polysse/polysse/server/store/storetest"
	"github.com/polysse/polysse/sse"
)

// stats counts the commands a Redis runs (INFO commandstats, which counts
// the commands scripts call too), so benchmarks can report them per op.
type stats struct{ rdb *redis.Client }

func newStats(b *testing.B, srv *redistest.Server) *stats {
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	b.Cleanup(func() { rdb.Close() })
	return &stats{rdb}
}

func (s *stats) reset(b *testing.B) {
	if err := s.rdb.ConfigResetStat(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
}

// calls returns the calls per command since reset, leaving out the
// benchmark's own INFO and CONFIG.
func (s *stats) calls(b *testing.B) map[string]int64 {
	info, err := s.rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	m := map[string]int64{}
	for line := range strings.SplitSeq(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok {
			continue
		}
		name = strings.TrimPrefix(name, "cmdstat_")
		if name == "info" || strings.HasPrefix(name, "config") {
			continue
		}
		n, _, _ := strings.Cut(rest, ",")
		m[name], _ = strconv.ParseInt(n, 10, 64)
	}
	return m
}

// report reports the commands per op since reset, in total and for each
// command named in each ("evalsha" for round trips of the log's scripts).
func (s *stats) report(b *testing.B, each ...string) {
	b.StopTimer()
	m := s.calls(b)
	var total int64
	for _, n := range m {
		total += n
	}
	b.ReportMetric(float64(total)/float64(b.N), "redis-cmds/op")
	for _, name := range each {
		b.ReportMetric(float64(m[name])/float64(b.N), name+"/op")
	}
	b.Logf("N=%d: commands %v", b.N, m)
}

func benchUpdate(i int) store.Update {
	return store.Update{
		Topics: []string{
			"https://example.com/books/" + strconv.Itoa(i%layoutTopics),
			"https://example.com/shelves/" + strconv.Itoa(i%layoutTopics/10),
		},
		Event: sse.Event{Type: "update", Data: `{"id":1,"title":"a book","price":12.5}`},
	}
}

// Append's cost: one round trip (EVALSHA) per publish; in Redis, XADD and
// XTRIM, plus HSET and the index pruning's XRANGE, GET, HSCAN and SET when
// the publisher gives the id.
func BenchmarkAppend(b *testing.B) {
	srv := redistest.Start(b)
	st := newStats(b, srv)
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		given    bool
		parallel bool
	}{
		{"serial", false, false},
		{"parallel", false, true},
		{"given-id", true, false},
	} {
		b.Run(tt.name, func(b *testing.B) {
			l, err := redisstore.Open(ctx, srv.URL(), store.Bounds{}, redisstore.WithPrefix("bench-append-"+tt.name))
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			st.reset(b)
			b.ReportAllocs()
			b.ResetTimer()
			if tt.parallel {
				b.RunParallel(func(pb *testing.PB) {
					for i := 0; pb.Next(); i++ {
						u := benchUpdate(i)
						if err := l.Append(ctx, &u); err != nil {
							b.Error(err)
							return
						}
					}
				})
			} else {
				for i := 0; i < b.N; i++ {
					u := benchUpdate(i)
					if tt.given {
						u.Event.ID = "given-" + strconv.Itoa(i)
					}
					if err := l.Append(ctx, &u); err != nil {
						b.Fatal(err)
					}
				}
			}
			st.report(b, "evalsha", "xadd")
		})
	}
}

// BenchmarkReplay10k replays 10,000 updates after a cursor.
func BenchmarkReplay10k(b *testing.B) {
	srv := redistest.Start(b)
	st := newStats(b, srv)
	ctx := context.Background()
	l, err := redisstore.Open(ctx, srv.URL(), store.Bounds{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	first := fill(b, l, 10_001)[0]
	b.Run("10k", func(b *testing.B) {
		st.reset(b)
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			err := l.Replay(ctx, first.Event.ID, func(*store.Update) error { n++; return nil })
			if err != nil || n != 10_000 {
				b.Fatalf("Replay = %d, %v", n, err)
			}
		}
		st.report(b, "evalsha", "xrange")
	})
}

// fill appends n updates from a few goroutines and returns them in log
// order.
func fill(b *testing.B, l store.Log, n int) []store.Update {
	b.Helper()
	out := make([]store.Update, n)
	const workers = 8
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := w; i < n; i += workers {
				out[i] = benchUpdate(i)
				if err := l.Append(context.Background(), &out[i]); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	slices.SortFunc(out, func(x, y store.Update) int {
		if x.Pos.Less(y.Pos) {
			return -1
		}
		return 1
	})
	return out
}

// The layout comparison: one global stream (this package) against one
// stream per topic, with layoutTopics book topics, each update also on a
// shelf topic shared by 10 books (so two topics per update), and
// connections subscribed to several book topics.
const (
	layoutTopics  = 100
	layoutHistory = 10_000
	layoutBack    = 1_000 // a reconnecting client missed this many updates
)

// perTopic is the other layout, written only to be measured: a stream per
// topic; a one-entry "clock" stream gives each update one id, the same in
// every topic stream it goes to, so that a cursor still means one place in
// one order.
type perTopic struct {
	rdb    *redis.Client
	prefix string
}

func (p *perTopic) key(topic string) string { return "{" + p.prefix + "}:t:" + topic }

// perTopicPublish adds the update to the clock and to each topic's stream,
// trimming each by count and age as the global layout does.
var perTopicPublish = redis.NewScript(`
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '1', '*', 'c', '')
local ms = tonumber(string.match(id, '^(%d+)'))
for i = 2, #KEYS do
  redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[1], id, 'u', ARGV[2])
  redis.call('XTRIM', KEYS[i], 'MINID', '~', ms - 86400000)
end
return id
`)

// ptPayload is about what the global layout stores for u.
func ptPayload(u *store.Update) string {
	return strings.Join(u.Topics, "\n") + "\n" + u.Event.Type + "\n" + u.Event.Data
}

func (p *perTopic) publish(ctx context.Context, u *store.Update) error {
	payload := ptPayload(u)
	keys := []string{"{" + p.prefix + "}:clock"}
	for _, t := range u.Topics {
		keys = append(keys, p.key(t))
	}
	id, err := perTopicPublish.Run(ctx, p.rdb, keys, 100_000, payload).Text()
	u.Event.ID = id
	return err
}

// replay reads, in one pipelined round trip per chunk, each topic's stream
// after the cursor, and merges them in id order without duplicates (an
// update on two subscribed topics is in both streams).
func (p *perTopic) replay(ctx context.Context, topics []string, after string, fn func(id string)) error {
	cursors := make([]string, len(topics))
	for i := range cursors {
		cursors[i] = "(" + after
	}
	done := make([]bool, len(topics))
	last := ""
	for !slices.Equal(done, slices.Repeat([]bool{true}, len(done))) {
		pipe := p.rdb.Pipeline()
		cmds := make([]*redis.XMessageSliceCmd, len(topics))
		for i, t := range topics {
			if !done[i] {
				cmds[i] = pipe.XRangeN(ctx, p.key(t), cursors[i], "+", 512)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
		var batch []redis.XMessage
		for i, c := range cmds {
			if c == nil {
				continue
			}
			msgs := c.Val()
			batch = append(batch, msgs...)
			if len(msgs) < 512 {
				done[i] = true
			} else {
				cursors[i] = "(" + msgs[len(msgs)-1].ID
			}
		}
		slices.SortFunc(batch, func(x, y redis.XMessage) int { return cmpID(x.ID, y.ID) })
		for _, m := range batch {
			if m.ID == last {
				continue
			}
			last = m.ID
			fn(m.ID)
		}
	}
	return nil
}

func cmpID(x, y string) int {
	xm, xs, _ := strings.Cut(x, "-")
	ym, ys, _ := strings.Cut(y, "-")
	a, _ := strconv.ParseUint(xm, 10, 64)
	c, _ := strconv.ParseUint(ym, 10, 64)
	if a != c {
		if a < c {
			return -1
		}
		return 1
	}
	a, _ = strconv.ParseUint(xs, 10, 64)
	c, _ = strconv.ParseUint(ys, 10, 64)
	switch {
	case a < c:
		return -1
	case a > c:
		return 1
	}
	return 0
}

// BenchmarkLayout measures publishing, replaying for a connection with
// several topics, and a node's live read, in both layouts. Run it with
//
//	go test -run '^$' -bench Layout -benchtime 2000x ./server/store/redisstore/
//
// Figures and the conclusion are in the package doc.
func BenchmarkLayout(b *testing.B) {
	srv := redistest.Start(b)
	st := newStats(b, srv)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()

	g, err := redisstore.Open(ctx, srv.URL(), store.Bounds{}, redisstore.WithPrefix("layout-global"))
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	pt := &perTopic{rdb: rdb, prefix: "layout-per-topic"}

	// The same history in both layouts, and how much memory each takes
	// (MEMORY USAGE with every node counted, not sampled).
	mem := func() int64 {
		v, _ := rdb.MemoryUsage(ctx, "{layout-global}:stream", 0).Result()
		keys := map[string]bool{}
		for t := range layoutTopics {
			for _, topic := range benchUpdate(t).Topics {
				keys[pt.key(topic)] = true
			}
		}
		for k := range keys {
			n, _ := rdb.MemoryUsage(ctx, k, 0).Result()
			v += n
		}
		return v
	}
	globalHist := fill(b, g, layoutHistory)
	gMem := mem()
	ptIDs := make([]string, layoutHistory)
	for i := range layoutHistory {
		// The global history's topics, in its order.
		u := store.Update{Topics: globalHist[i].Topics, Event: globalHist[i].Event}
		if err := pt.publish(ctx, &u); err != nil {
			b.Fatal(err)
		}
		ptIDs[i] = u.Event.ID
	}
	ptMem := mem() - gMem
	if testing.Verbose() {
		for _, k := range []string{"{layout-global}:stream", pt.key(benchUpdate(0).Topics[0]), pt.key(benchUpdate(0).Topics[1])} {
			n, _ := rdb.MemoryUsage(ctx, k, 0).Result()
			b.Logf("%s: %d entries, %d B", k, rdb.XLen(ctx, k).Val(), n)
		}
	}
	b.Logf("memory for %d updates: global stream %d B (%.0f B/update), per-topic streams %d B (%.0f B/update)",
		layoutHistory, gMem, float64(gMem)/layoutHistory, ptMem, float64(ptMem)/layoutHistory)

	// Replay for a connection subscribed to k book topics, layoutBack
	// updates after its cursor. The global replay passes every update to
	// the hub's filter (here a set lookup); per topic reads only the
	// connection's streams.
	for _, k := range []int{1, 5, 50} {
		topics := make([]string, k)
		want := map[string]bool{}
		for i := range topics {
			topics[i] = benchUpdate(i * (layoutTopics / k)).Topics[0]
			want[topics[i]] = true
		}
		matches := 0
		for _, u := range globalHist[layoutHistory-layoutBack:] {
			if slices.ContainsFunc(u.Topics, func(t string) bool { return want[t] }) {
				matches++
			}
		}
		gCursor := globalHist[layoutHistory-layoutBack-1].Event.ID
		ptCursor := ptIDs[layoutHistory-layoutBack-1]

		b.Run(fmt.Sprintf("replay-%d-topics/global", k), func(b *testing.B) {
			st.reset(b)
			for b.Loop() {
				n := 0
				err := g.Replay(ctx, gCursor, func(u *store.Update) error {
					if slices.ContainsFunc(u.Topics, func(t string) bool { return want[t] }) {
						n++
					}
					return nil
				})
				if err != nil || n != matches {
					b.Fatalf("Replay: %d updates, %v; want %d", n, err, matches)
				}
			}
			st.report(b, "evalsha", "xrange")
		})
		b.Run(fmt.Sprintf("replay-%d-topics/per-topic", k), func(b *testing.B) {
			st.reset(b)
			for b.Loop() {
				n := 0
				if err := pt.replay(ctx, topics, ptCursor, func(string) { n++ }); err != nil || n != matches {
					b.Fatalf("replay: %d updates, %v; want %d", n, err, matches)
				}
			}
			st.report(b, "xrange")
		})
	}

	b.Run("publish/global", func(b *testing.B) {
		st.reset(b)
		for i := 0; i < b.N; i++ {
			u := benchUpdate(i)
			if err := g.Append(ctx, &u); err != nil {
				b.Fatal(err)
			}
		}
		st.report(b, "evalsha", "xadd")
	})
	b.Run("publish/per-topic", func(b *testing.B) {
		st.reset(b)
		for i := 0; i < b.N; i++ {
			u := benchUpdate(i)
			if err := pt.publish(ctx, &u); err != nil {
				b.Fatal(err)
			}
		}
		st.report(b, "evalsha", "xadd")
	})

	// A node's live read: each publish wakes the node's reader, which
	// reads it and asks again. Global: one key, whatever the subscriptions.
	// Per topic: every topic the node's subscribers use, re-sent at each
	// wake-up (XREAD has no standing subscription).
	b.Run("tail/global", func(b *testing.B) {
		last := "0-0"
		res, _ := rdb.XRevRangeN(ctx, "{layout-global}:stream", "+", "-", 1).Result()
		if len(res) == 1 {
			last = res[0].ID
		}
		st.reset(b)
		for i := 0; i < b.N; i++ {
			u := benchUpdate(i)
			if err := g.Append(ctx, &u); err != nil {
				b.Fatal(err)
			}
			got, err := rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{"{layout-global}:stream", last}, Count: 512, Block: -1}).Result()
			if err != nil || len(got) != 1 || len(got[0].Messages) != 1 {
				b.Fatalf("XREAD = %v, %v", got, err)
			}
			last = got[0].Messages[0].ID
		}
		st.report(b, "xread")
	})
	for _, keys := range []int{110, 1000} {
		b.Run(fmt.Sprintf("tail/per-topic-%d-keys", keys), func(b *testing.B) {
			streams := make([]string, 0, 2*keys)
			for t := range layoutTopics {
				streams = append(streams, pt.key(benchUpdate(t).Topics[0]))
			}
			for s := range layoutTopics / 10 {
				streams = append(streams, pt.key(benchUpdate(s * 10).Topics[1]))
			}
			for i := len(streams); i < keys; i++ {
				streams = append(streams, pt.key("https://example.com/other/"+strconv.Itoa(i)))
			}
			res, err := rdb.XRevRangeN(ctx, "{layout-per-topic}:clock", "+", "-", 1).Result()
			if err != nil || len(res) != 1 {
				b.Fatalf("clock: %v, %v", res, err)
			}
			last := res[0].ID
			st.reset(b)
			for i := 0; i < b.N; i++ {
				u := benchUpdate(i)
				if err := pt.publish(ctx, &u); err != nil {
					b.Fatal(err)
				}
				args := slices.Clone(streams)
				for range keys {
					args = append(args, last)
				}
				got, err := rdb.XRead(ctx, &redis.XReadArgs{Streams: args, Count: 512, Block: -1}).Result()
				if err != nil || len(got) != 2 {
					b.Fatalf("XREAD = %d streams, %v; want the update's 2", len(got), err)
				}
				last = u.Event.ID
			}
			st.report(b, "xread")
		})
	}
}

func BenchmarkResume1M(b *testing.B) {
	srv := redistest.Start(b)
	ctx := context.Background()
	err := redisstore.BulkLoad(ctx, srv.Addr(), "bench-resume", storetest.ResumeN, func(i int) store.Update {
		u := storetest.BenchUpdate()
		u.Event.ID = storetest.BulkID(i)
		return u
	})
	if err != nil {
		b.Fatal(err)
	}
	l, err := redisstore.Open(ctx, srv.URL(), store.Bounds{MaxCount: storetest.ResumeN}, redisstore.WithPrefix("bench-resume"))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	storetest.BenchResume(b, l)
}

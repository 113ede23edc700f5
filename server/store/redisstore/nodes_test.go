package redisstore_test

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polysse/polysse/internal/launch"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/redisstore"
	"github.com/polysse/polysse/server/store/redisstore/redistest"
	"github.com/polysse/polysse/sse"
)

// recorder records what a Watch delivers.
type recorder struct {
	mu  sync.Mutex
	got []store.Update
}

func (r *recorder) fn(u *store.Update) {
	r.mu.Lock()
	c := *u
	c.Topics = slices.Clone(u.Topics)
	r.got = append(r.got, c)
	r.mu.Unlock()
}

func (r *recorder) updates() []store.Update {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func watch(t *testing.T, l store.Log) *recorder {
	t.Helper()
	r := &recorder{}
	stop, err := l.Watch(t.Context(), r.fn)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	t.Cleanup(stop)
	return r
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

func newUpdate(topic, id string, i int) store.Update {
	return store.Update{
		Topics:  []string{topic, topic + "/alt"},
		Private: i%2 == 1,
		Event:   sse.Event{ID: id, Type: "t", Data: fmt.Sprintf("data %d", i), Retry: i % 3 * 1000},
	}
}

func appendOne(t *testing.T, l store.Log, topic, id string, i int) store.Update {
	t.Helper()
	u := newUpdate(topic, id, i)
	if err := l.Append(t.Context(), &u); err != nil {
		t.Fatalf("Append %d: %v", i, err)
	}
	return u
}

func replay(t *testing.T, l store.Log, after string) ([]store.Update, error) {
	t.Helper()
	var got []store.Update
	err := l.Replay(t.Context(), after, func(u *store.Update) error {
		got = append(got, *u)
		return nil
	})
	return got, err
}

// shareStream appends n updates on a, the one at given with the id
// "given", and checks that b, another node on the same Redis, watches all
// of them and replays those after "given". It returns them.
func shareStream(t *testing.T, a, b store.Log, n, given int) []store.Update {
	t.Helper()
	w := watch(t, b)
	var all []store.Update
	for i := range n {
		id := ""
		if i == given {
			id = "given"
		}
		all = append(all, appendOne(t, a, "t", id, i))
	}
	if !waitFor(5*time.Second, func() bool { return len(w.updates()) == len(all) }) {
		t.Fatalf("b's watcher got %d of %d", len(w.updates()), len(all))
	}
	same(t, "b's watcher", w.updates(), all)
	got, err := replay(t, b, "given")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "b.Replay(given)", got, all[given+1:])
	return all
}

// same fails t unless got and want are the same updates, in order.
func same(t *testing.T, what string, got, want []store.Update) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d updates %v, want %d %v", what, len(got), ids(got), len(want), ids(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if !slices.Equal(g.Topics, w.Topics) || g.Private != w.Private || g.Event != w.Event || g.Pos != w.Pos || !g.Time.Equal(w.Time) {
			t.Fatalf("%s: update %d:\n got %+v\nwant %+v", what, i, g, w)
		}
	}
}

func ids(us []store.Update) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Event.ID
	}
	return out
}

// Two logs on one Redis are two nodes: what one appends reaches the other's
// watchers, and a cursor from one resumes exactly on the other.
func TestTwoNodes(t *testing.T) {
	srv := redistest.Start(t)
	a := open(t, srv.URL(), store.Bounds{})
	defer a.Close()
	b := open(t, srv.URL(), store.Bounds{})
	defer b.Close()

	early := appendOne(t, a, "t", "", 0)
	wa, wb := watch(t, a), watch(t, b)
	var all []store.Update
	for i := range 20 {
		node := a
		if i%3 == 2 {
			node = b
		}
		all = append(all, appendOne(t, node, fmt.Sprintf("t/%d", i%4), "", i+1))
	}
	for name, w := range map[string]*recorder{"a": wa, "b": wb} {
		if !waitFor(5*time.Second, func() bool { return len(w.updates()) >= len(all) }) {
			t.Fatalf("node %s's watcher got %d of %d updates", name, len(w.updates()), len(all))
		}
		time.Sleep(20 * time.Millisecond) // room for extras
		same(t, "node "+name+"'s watcher", w.updates(), all)
	}

	// A cursor issued by node a, resumed on node b, and the other way.
	for i, u := range append([]store.Update{early}, all...) {
		got, err := replay(t, b, u.Event.ID)
		if err != nil {
			t.Fatalf("b.Replay(a's %q): %v", u.Event.ID, err)
		}
		same(t, fmt.Sprintf("b.Replay after update %d", i), got, all[i:])
	}
	got, err := replay(t, a, store.Earliest)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "a.Replay(earliest)", got, append([]store.Update{early}, all...))
	idA, posA, errA := a.Last(t.Context())
	idB, posB, errB := b.Last(t.Context())
	last := all[len(all)-1]
	if idA != last.Event.ID || idB != idA || posA != last.Pos || posB != posA || errA != nil || errB != nil {
		t.Fatalf("Last: a %q %+v %v, b %q %+v %v; want %q %+v", idA, posA, errA, idB, posB, errB, last.Event.ID, last.Pos)
	}
	// Ids are Redis's: ms-seq, with Pos its two halves and Time the ms.
	if want := fmt.Sprintf("%d-%d", last.Pos.Hi, last.Pos.Lo); last.Event.ID != want || last.Time.UnixMilli() != int64(last.Pos.Hi) {
		t.Fatalf("generated id %q, Pos %+v, Time %v: want id %q and Time its ms", last.Event.ID, last.Pos, last.Time, want)
	}
}

// A publisher's own id is a resume cursor on every node; ids that look
// like Redis's work too. An id kept, given or issued, is refused on every
// node (store.ErrDuplicateID).
func TestPublisherIDsAcrossNodes(t *testing.T) {
	srv := redistest.Start(t)
	a := open(t, srv.URL(), store.Bounds{})
	defer a.Close()
	b := open(t, srv.URL(), store.Bounds{})
	defer b.Close()

	var all []store.Update
	add := func(l store.Log, id string) {
		all = append(all, appendOne(t, l, "t", id, len(all)))
	}
	refuse := func(l store.Log, id string) {
		t.Helper()
		u := newUpdate("t", id, 1000)
		if err := l.Append(t.Context(), &u); !errors.Is(err, store.ErrDuplicateID) {
			t.Fatalf("Append of the kept id %q = %v, want ErrDuplicateID", id, err)
		}
	}
	add(a, "https://example.com/events/1")
	add(a, "")
	add(b, "mine")
	add(a, "")
	refuse(a, "mine") // on the other node
	add(b, "1-1")     // looks like a stream id Redis never issued here
	add(b, "")
	refuse(a, "1-1")
	add(b, "")
	refuse(a, all[1].Event.ID) // an id that Redis issued
	add(b, "")

	for _, tt := range []struct {
		after string
		from  int
	}{
		{"https://example.com/events/1", 1},
		{"mine", 3},
		{"1-1", 5},
		{all[1].Event.ID, 2},
		{all[3].Event.ID, 4},
		{all[6].Event.ID, 7},
	} {
		for name, l := range map[string]store.Log{"a": a, "b": b} {
			got, err := replay(t, l, tt.after)
			if err != nil {
				t.Fatalf("%s.Replay(%q): %v", name, tt.after, err)
			}
			same(t, fmt.Sprintf("%s.Replay(%q)", name, tt.after), got, all[tt.from:])
		}
	}
	for _, unknown := range []string{"2-2", "0-1", "999999999999999-0", "18446744073709551616-0", "never", "urn:uuid:x"} {
		if got, err := replay(t, b, unknown); !errors.Is(err, store.ErrUnknownID) || len(got) != 0 {
			t.Errorf("Replay(%q) = %v, %v; want ErrUnknownID", unknown, ids(got), err)
		}
	}
	add(b, "last-given")
	if id, pos, err := a.Last(t.Context()); id != "last-given" || pos != all[len(all)-1].Pos || err != nil {
		t.Fatalf("a.Last = %q, %+v, %v; want the publisher's id", id, pos, err)
	}
}

// Trimming forgets cursors: a trimmed id, given or generated, is unknown;
// the stream and the id index stay bounded.
func TestTrimmed(t *testing.T) {
	srv := redistest.Start(t)
	const keep = 50
	l := open(t, srv.URL(), store.Bounds{MaxCount: keep}, redisstore.WithPrefix("trim"))
	defer l.Close()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()

	var all []store.Update
	for i := range 2000 {
		id := ""
		if i%2 == 0 {
			id = fmt.Sprintf("given-%d", i)
		}
		all = append(all, appendOne(t, l, "t", id, i))
	}
	for _, u := range []store.Update{all[0], all[1], all[len(all)-keep-2], all[len(all)-keep-1]} {
		if got, err := replay(t, l, u.Event.ID); !errors.Is(err, store.ErrUnknownID) || len(got) != 0 {
			t.Errorf("Replay(trimmed %q) = %d updates, %v; want ErrUnknownID", u.Event.ID, len(got), err)
		}
	}
	got, err := replay(t, l, store.Earliest)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "earliest", got, all[len(all)-keep:])
	got, err = replay(t, l, all[len(all)-keep].Event.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "after the oldest kept", got, all[len(all)-keep+1:])

	// Approximate trimming keeps up to a stream node (100 entries) more;
	// the index the ids still in the stream, and those of one more ms.
	if n := rdb.XLen(t.Context(), "{trim}:stream").Val(); n < keep || n > keep+200 {
		t.Errorf("XLEN = %d, want %d to %d", n, keep, keep+200)
	}
	if n := rdb.ZCard(t.Context(), "{trim}:ids").Val(); n > keep+200 {
		t.Errorf("the id index has %d ids for a log that keeps %d updates", n, keep)
	}
}

// The age bound trims Redis too, not only what Replay returns.
func TestAgeTrimmed(t *testing.T) {
	srv := redistest.Start(t)
	const age = 200 * time.Millisecond
	l := open(t, srv.URL(), store.Bounds{MaxAge: age}, redisstore.WithPrefix("age"))
	defer l.Close()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	for i := range 500 {
		appendOne(t, l, "t", "", i)
	}
	time.Sleep(age + 50*time.Millisecond)
	young := appendOne(t, l, "t", "", 0)
	if n := rdb.XLen(t.Context(), "{age}:stream").Val(); n > 101 {
		t.Errorf("XLEN = %d once 500 updates expired, want at most a stream node's 100 and the young one", n)
	}
	got, err := replay(t, l, store.Earliest)
	if err != nil || len(got) != 1 || got[0].Event.ID != young.Event.ID {
		t.Fatalf("Replay(earliest) = %v, %v; want only %q", ids(got), err, young.Event.ID)
	}
}

// logs is a slog handler's output that tests read.
type logs struct{ launch.Buffer }

func (l *logs) count(s string) int { return strings.Count(l.String(), s) }

// Redis goes away and comes back with its data: appends fail fast with a
// reason and Ready fails meanwhile; watchers keep going, get everything
// that was stored, and the outage is logged once each way.
func TestRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	var out logs
	logger := slog.New(slog.NewTextHandler(&out, nil))
	opts := []redisstore.Option{
		redisstore.WithLogger(logger),
		redisstore.WithReconnectBackoff(10*time.Millisecond, 100*time.Millisecond),
	}
	a := open(t, srv.URL(), store.Bounds{}, opts...)
	defer a.Close()
	b := open(t, srv.URL(), store.Bounds{}, opts...)
	defer b.Close()
	w := watch(t, a)

	var acked []store.Update
	for i := range 5 {
		acked = append(acked, appendOne(t, b, "t", "", i))
	}
	if !waitFor(5*time.Second, func() bool { return len(w.updates()) == len(acked) }) {
		t.Fatalf("watcher got %d of %d before the outage", len(w.updates()), len(acked))
	}

	srv.Stop()
	for i := range 3 {
		u := newUpdate("t", "", 100+i)
		start := time.Now()
		err := b.Append(t.Context(), &u)
		if err == nil {
			t.Fatal("Append succeeded with Redis stopped")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Append took %v to fail, want under 2s", d)
		}
		if !strings.Contains(err.Error(), "redisstore: append") || !strings.Contains(err.Error(), srv.Addr()) {
			t.Errorf("Append error %q does not say what and where", err)
		}
		if i == 0 {
			t.Logf("Append with Redis stopped: %v", err)
		}
	}
	if err := a.Ready(t.Context()); err == nil {
		t.Error("Ready = nil with Redis stopped")
	} else {
		t.Logf("Ready with Redis stopped: %v", err)
	}
	// Long enough for many reconnection attempts, each not logged.
	time.Sleep(500 * time.Millisecond)

	srv.Restart()
	if err := a.Ready(t.Context()); err != nil {
		t.Fatalf("Ready once Redis is back: %v", err)
	}
	for i := range 5 {
		acked = append(acked, appendOne(t, b, "t", "", 200+i))
	}
	if !waitFor(5*time.Second, func() bool { return len(w.updates()) >= len(acked) }) {
		t.Fatalf("watcher got %d of %d after the outage", len(w.updates()), len(acked))
	}
	time.Sleep(20 * time.Millisecond)
	same(t, "watcher across the outage", w.updates(), acked)
	got, err := replay(t, a, store.Earliest)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "replay across the outage", got, acked)

	// Only a reads (b never watched): one line each way.
	if down, back := out.count("cannot read the stream"), out.count("reading the stream again"); down != 1 || back != 1 {
		t.Errorf("logged the outage %d times and the recovery %d times, want once each:\n%s", down, back, out.String())
	}
}

// Watchers on one log share one reader: Redis sees one blocked XREAD,
// whatever their number, and each gets every update.
func TestWatchersShareReader(t *testing.T) {
	srv := redistest.Start(t)
	l := open(t, srv.URL(), store.Bounds{}, redisstore.WithBlockTimeout(time.Minute))
	defer l.Close()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()

	var ws []*recorder
	for range 10 {
		ws = append(ws, watch(t, l))
	}
	blocked := func() string {
		info, _ := rdb.Info(t.Context(), "clients").Result()
		for line := range strings.SplitSeq(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "blocked_clients:"); ok {
				return v
			}
		}
		return "?"
	}
	if !waitFor(5*time.Second, func() bool { return blocked() == "1" }) {
		t.Fatalf("blocked clients: %s, want the one reader", blocked())
	}
	u := appendOne(t, l, "t", "", 0)
	for i, w := range ws {
		if !waitFor(5*time.Second, func() bool { return len(w.updates()) == 1 }) {
			t.Fatalf("watcher %d got %d updates, want 1", i, len(w.updates()))
		}
		same(t, fmt.Sprintf("watcher %d", i), w.updates(), []store.Update{u})
	}
	time.Sleep(50 * time.Millisecond)
	if b := blocked(); b != "1" {
		t.Fatalf("blocked clients: %s, want the one reader", b)
	}
}

// A log opened with a lower count bound than the stream holds trims it at
// once: replays need not walk the excess.
func TestOpenTrimsToLowerBound(t *testing.T) {
	srv := redistest.Start(t)
	big := open(t, srv.URL(), store.Bounds{}, redisstore.WithPrefix("lower"))
	var all []store.Update
	for i := range 1000 {
		all = append(all, appendOne(t, big, "t", "", i))
	}
	big.Close()
	small := open(t, srv.URL(), store.Bounds{MaxCount: 10}, redisstore.WithPrefix("lower"))
	defer small.Close()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	if n := rdb.XLen(t.Context(), "{lower}:stream").Val(); n > 10+200 {
		t.Errorf("XLEN = %d after opening with MaxCount 10", n)
	}
	got, err := replay(t, small, store.Earliest)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "earliest", got, all[len(all)-10:])
}

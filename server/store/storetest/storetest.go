// Package storetest is the conformance suite that every store.Log
// implementation runs, so that the hub can rely on the same behaviour from
// the in-memory ring, the bbolt file and Redis Streams.
//
// An implementation's test calls Run with a function that opens a fresh,
// empty log:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, b store.Bounds) store.Log {
//			return memstore.New(b)
//		})
//	}
//
// The suite runs its tests in parallel, each on its own log, and closes
// every log it opens.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/sse"
)

// Opener opens a new, empty log that keeps what b allows. It fails t when
// it cannot. Run closes the log, and some tests close it twice.
type Opener func(t *testing.T, b store.Bounds) store.Log

// Run runs the conformance suite against the logs that open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"AppendFillsUpdate", testAppendFillsUpdate},
		{"AppendCanceled", testAppendCanceled},
		{"ReplayAfterID", testReplayAfterID},
		{"ReplayUnknownID", testReplayUnknownID},
		{"ReplayEmpty", testReplayEmpty},
		{"ReplayFnError", testReplayFnError},
		{"ReplayCanceled", testReplayCanceled},
		{"DuplicateID", testDuplicateID},
		{"CountBound", testCountBound},
		{"ByteBound", testByteBound},
		{"AgeBound", testAgeBound},
		{"LastEmpty", testLastEmpty},
		{"LastAfterAppends", testLastAfterAppends},
		{"LastCountBound", testLastCountBound},
		{"LastUpdate", testLastUpdate},
		{"Watch", testWatch},
		{"WatchRightAfter", testWatchRightAfter},
		{"WatchStop", testWatchStop},
		{"WatchStopConcurrent", testWatchStopConcurrent},
		{"WatchCanceled", testWatchCanceled},
		{"WatchClosed", testWatchClosed},
		{"ConcurrentAppends", testConcurrentAppends},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open)
		})
	}
}

// How long the suite waits for what a log should do soon (a Watch
// delivery); generous because a shared log sits behind a network.
const patience = 5 * time.Second

// testLog is a log under test that is closed exactly once.
type testLog struct {
	store.Log
	close func() error
}

func openLog(t *testing.T, open Opener, b store.Bounds) *testLog {
	t.Helper()
	l := open(t, b)
	if l == nil {
		t.Fatal("open returned a nil log")
	}
	tl := &testLog{Log: l, close: sync.OnceValue(l.Close)}
	t.Cleanup(func() {
		if err := tl.close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return tl
}

func (l *testLog) Close() error { return l.close() }

// appendN appends n updates on topic, with generated ids, and returns them
// as Append filled them.
func (l *testLog) appendN(t *testing.T, topic string, n int) []store.Update {
	t.Helper()
	out := make([]store.Update, 0, n)
	for i := range n {
		u := newUpdate(topic, "", i)
		if err := l.Append(t.Context(), &u); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		out = append(out, u)
	}
	return out
}

// fill appends n updates from several goroutines, which a log that batches
// commits stores faster than appendN's one at a time, and returns them in
// Pos order.
func (l *testLog) fill(t *testing.T, topic string, n int) []store.Update {
	t.Helper()
	const workers = 16
	out := make([]store.Update, n)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				out[i] = newUpdate(topic, "", i)
				if err := l.Append(t.Context(), &out[i]); err != nil {
					t.Errorf("Append %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	slices.SortFunc(out, func(a, b store.Update) int {
		switch {
		case a.Pos.Less(b.Pos):
			return -1
		case b.Pos.Less(a.Pos):
			return 1
		}
		return 0
	})
	return out
}

func newUpdate(topic, id string, i int) store.Update {
	return store.Update{
		Topics:  []string{topic, topic + "/alt"},
		Private: i%2 == 1,
		Event:   sse.Event{ID: id, Type: "t" + fmt.Sprint(i%3), Data: fmt.Sprintf("data %d\nline two", i), Retry: i % 4 * 100},
	}
}

// replay returns copies of what Replay passed to fn, and Replay's error.
func (l *testLog) replay(t *testing.T, afterID string) ([]store.Update, error) {
	t.Helper()
	var got []store.Update
	err := l.Replay(t.Context(), afterID, func(u *store.Update) error {
		got = append(got, clone(u))
		return nil
	})
	return got, err
}

func clone(u *store.Update) store.Update {
	c := *u
	c.Topics = slices.Clone(u.Topics)
	return c
}

// sameUpdates fails t unless got and want hold the same updates in the same
// order. Times may differ by a millisecond: a log may keep only that much.
func sameUpdates(t *testing.T, what string, got, want []store.Update) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d updates %v, want %d %v", what, len(got), ids(got), len(want), ids(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if !slices.Equal(g.Topics, w.Topics) || g.Private != w.Private || g.Event != w.Event || g.Pos != w.Pos {
			t.Fatalf("%s: update %d:\n got %+v\nwant %+v", what, i, g, w)
		}
		if d := g.Time.Sub(w.Time); d > time.Millisecond || d < -time.Millisecond {
			t.Fatalf("%s: update %d: time %v, want %v", what, i, g.Time, w.Time)
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

func testAppendFillsUpdate(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{})
	tests := []struct {
		name, id string
	}{
		{"generated", ""},
		{"given", "given-1"},
		{"generated again", ""},
		{"given URI", "https://example.com/events/42"},
		{"generated last", ""},
	}
	var prev store.Update
	seen := map[string]bool{}
	for i, tt := range tests {
		u := newUpdate("https://example.com/t", tt.id, i)
		in := clone(&u)
		before := time.Now()
		if err := l.Append(t.Context(), &u); err != nil {
			t.Fatalf("%s: Append: %v", tt.name, err)
		}
		after := time.Now()
		switch {
		case tt.id != "" && u.Event.ID != tt.id:
			t.Errorf("%s: Event.ID = %q, want the given %q", tt.name, u.Event.ID, tt.id)
		case tt.id == "" && u.Event.ID == "":
			t.Errorf("%s: Event.ID left empty", tt.name)
		case seen[u.Event.ID]:
			t.Errorf("%s: Event.ID %q issued twice", tt.name, u.Event.ID)
		}
		seen[u.Event.ID] = true
		if u.Pos.IsZero() || !prev.Pos.Less(u.Pos) {
			t.Errorf("%s: Pos %+v does not come after %+v", tt.name, u.Pos, prev.Pos)
		}
		if u.Time.Before(before.Add(-time.Second)) || u.Time.After(after.Add(time.Second)) {
			t.Errorf("%s: Time %v, want between %v and %v", tt.name, u.Time, before, after)
		}
		in.Event.ID, in.Pos, in.Time = u.Event.ID, u.Pos, u.Time
		if !slices.Equal(u.Topics, in.Topics) || u.Private != in.Private || u.Event != in.Event {
			t.Errorf("%s: Append changed more than ID, Pos and Time: %+v, was %+v", tt.name, u, in)
		}
		prev = u
	}
}

func testAppendCanceled(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	u := newUpdate("t", "", 0)
	if err := l.Append(ctx, &u); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a canceled context = %v, want context.Canceled", err)
	}
}

func testReplayAfterID(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{})
	all := l.appendN(t, "t", 10)
	given := newUpdate("t", "given-id", 10)
	if err := l.Append(t.Context(), &given); err != nil {
		t.Fatal(err)
	}
	all = append(all, given)
	all = append(all, l.appendN(t, "t", 2)...)

	tests := []struct {
		name    string
		afterID string
		want    []store.Update
	}{
		{"earliest", store.Earliest, all},
		{"after first", all[0].Event.ID, all[1:]},
		{"after middle", all[5].Event.ID, all[6:]},
		{"after given id", "given-id", all[11:]},
		{"after last", all[len(all)-1].Event.ID, nil},
	}
	for _, tt := range tests {
		got, err := l.replay(t, tt.afterID)
		if err != nil {
			t.Fatalf("%s: Replay: %v", tt.name, err)
		}
		sameUpdates(t, tt.name, got, tt.want)
	}
}

// An unknown id replays nothing: the caller decides what to do instead.
func testReplayUnknownID(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{})
	l.appendN(t, "t", 5)
	for _, id := range []string{"never-issued", "", "urn:uuid:00000000-0000-7000-8000-000000000000"} {
		l.wantUnknown(t, fmt.Sprintf("Replay(%q)", id), id)
	}
}

// wantUnknown fails t unless Replay(afterID) returns ErrUnknownID without
// calling fn.
func (l *testLog) wantUnknown(t *testing.T, what, afterID string) {
	t.Helper()
	got, err := l.replay(t, afterID)
	if !errors.Is(err, store.ErrUnknownID) || len(got) != 0 {
		t.Fatalf("%s = %v, %v; want no calls and ErrUnknownID", what, ids(got), err)
	}
}

func testReplayEmpty(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{})
	if got, err := l.replay(t, store.Earliest); err != nil || len(got) != 0 {
		t.Fatalf("Replay(Earliest) on an empty log = %v, %v; want nothing, nil", ids(got), err)
	}
	l.wantUnknown(t, "Replay(unknown) on an empty log", "x")
	l.wantUnknown(t, `Replay("") on an empty log`, "")
}

func testReplayFnError(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{})
	l.appendN(t, "t", 5)
	stop := errors.New("stop here")
	calls := 0
	err := l.Replay(t.Context(), store.Earliest, func(*store.Update) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Fatalf("Replay with fn failing on the 2nd update = %v after %d calls; want fn's error after 2", err, calls)
	}
	// An unknown id is found out before fn is called.
	calls = 0
	err = l.Replay(t.Context(), "unknown", func(*store.Update) error { calls++; return stop })
	if !errors.Is(err, store.ErrUnknownID) || calls != 0 {
		t.Fatalf("Replay(unknown) with fn failing = %v after %d calls; want ErrUnknownID, no calls", err, calls)
	}
}

func testReplayCanceled(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{})
	l.fill(t, "t", 600) // more than one chunk of a chunked reader

	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	err := l.Replay(ctx, store.Earliest, func(*store.Update) error {
		calls++
		if calls == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 3 {
		t.Fatalf("Replay canceled in the 3rd call = %v after %d calls; want context.Canceled after 3", err, calls)
	}

	calls = 0
	err = l.Replay(ctx, store.Earliest, func(*store.Update) error { calls++; return nil })
	if !errors.Is(err, context.Canceled) || calls != 0 {
		t.Fatalf("Replay with a canceled context = %v after %d calls; want context.Canceled, no calls", err, calls)
	}
}

// An id names one update: an Append with the id of an update kept is
// refused with ErrDuplicateID and stores nothing, in one batch as across
// batches; once the first use is trimmed away, the id is free again.
func testDuplicateID(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{MaxCount: 3})
	x := newUpdate("a", "x", 0)
	if err := l.Append(t.Context(), &x); err != nil {
		t.Fatal(err)
	}
	dup := newUpdate("b", "x", 1)
	if err := l.Append(t.Context(), &dup); !errors.Is(err, store.ErrDuplicateID) {
		t.Fatalf("Append of a kept id = %v, want ErrDuplicateID", err)
	}
	// Concurrent appends of one new id: exactly one is stored.
	var (
		wg      sync.WaitGroup
		stored  atomic.Int32
		refused atomic.Int32
	)
	for i := range 8 {
		wg.Go(func() {
			u := newUpdate("b", "y", 10+i)
			switch err := l.Append(t.Context(), &u); {
			case err == nil:
				stored.Add(1)
			case errors.Is(err, store.ErrDuplicateID):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if stored.Load() != 1 || refused.Load() != 7 {
		t.Fatalf("8 concurrent appends of one id: %d stored, %d refused; want 1 and 7", stored.Load(), refused.Load())
	}
	got, err := l.replay(t, store.Earliest)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"x", "y"}; !slices.Equal(ids(got), want) {
		t.Fatalf("log holds %v, want %v", ids(got), want)
	}
	if got[0].Topics[0] != "a" {
		t.Errorf("the update of id x has topics %v: the refused one replaced it", got[0].Topics)
	}
	rest, err := l.replay(t, "x")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(rest), []string{"y"}) {
		t.Errorf("after x: %v, want [y]", ids(rest))
	}
	l.appendN(t, "t", 3) // trims x and y
	again := newUpdate("c", "x", 2)
	if err := l.Append(t.Context(), &again); err != nil {
		t.Fatalf("Append of an id trimmed away = %v, want it stored", err)
	}
}

// The byte bound drops the oldest updates once those kept add up to more
// than MaxBytes (as store.Size counts them), and keeps the newest even when
// it alone is larger.
func testByteBound(t *testing.T, open Opener) {
	// Ids of one length, so that every update counts the same.
	u := newUpdate("t", "b000", 0)
	u.Event.Data = strings.Repeat("x", 1000)
	size := store.Size(&u)
	const keep = 10
	l := openLog(t, open, store.Bounds{MaxBytes: keep * size})
	var all []store.Update
	for i := range 3 * keep {
		u := newUpdate("t", fmt.Sprintf("b%03d", i), i)
		u.Event.Data = strings.Repeat("x", 1000)
		if err := l.Append(t.Context(), &u); err != nil {
			t.Fatal(err)
		}
		all = append(all, u)
	}
	got, err := l.replay(t, store.Earliest)
	if err != nil {
		t.Fatal(err)
	}
	sameUpdates(t, "under a byte bound", got, all[len(all)-keep:])
	big := newUpdate("t", "b999", 99)
	big.Event.Data = strings.Repeat("y", int(2*keep*size))
	if err := l.Append(t.Context(), &big); err != nil {
		t.Fatal(err)
	}
	got, err = l.replay(t, store.Earliest)
	if err != nil {
		t.Fatal(err)
	}
	sameUpdates(t, "after an update larger than the bound", got, []store.Update{big})
}

func testCountBound(t *testing.T, open Opener) {
	const keep = 5
	l := openLog(t, open, store.Bounds{MaxCount: keep})
	all := l.appendN(t, "t", 12)
	kept := all[len(all)-keep:]

	got, err := l.replay(t, store.Earliest)
	if err != nil {
		t.Fatalf("Replay(Earliest): %v", err)
	}
	sameUpdates(t, "earliest", got, kept)

	l.wantUnknown(t, "Replay(trimmed id)", all[2].Event.ID)
	l.wantUnknown(t, "Replay(id trimmed just now)", all[len(all)-keep-1].Event.ID)

	got, err = l.replay(t, all[9].Event.ID)
	if err != nil {
		t.Fatalf("Replay(kept id): %v", err)
	}
	sameUpdates(t, "after a kept id", got, all[10:])
}

func testAgeBound(t *testing.T, open Opener) {
	const age = 300 * time.Millisecond
	l := openLog(t, open, store.Bounds{MaxAge: age})
	old := l.appendN(t, "t", 3)
	time.Sleep(age + 100*time.Millisecond)

	// Expired updates are gone even when nothing was appended since.
	got, err := l.replay(t, store.Earliest)
	if err != nil || len(got) != 0 {
		t.Fatalf("Replay(Earliest) once all expired = %v, %v; want nothing, nil", ids(got), err)
	}
	l.wantUnknown(t, "Replay(expired id)", old[2].Event.ID)
	if id, pos, err := l.Last(t.Context()); id != "" || !pos.IsZero() || err != nil {
		t.Fatalf("Last once all expired = %q, %+v, %v; want \"\", zero Pos, nil", id, pos, err)
	}

	// A young update must be replayed, but on a loaded machine a synced
	// append can take long enough for it to expire as well: such a round
	// proves nothing, so try again.
	for round := 1; ; round++ {
		start := time.Now()
		young := l.appendN(t, "t", 1)
		got, err := l.replay(t, store.Earliest)
		gotAfter, errAfter := l.replay(t, old[1].Event.ID)
		lastID, lastPos, lastErr := l.Last(t.Context())
		if time.Since(start) > age/2 {
			if round == 5 {
				t.Skipf("appending and replaying take over %v here: too slow to judge the age bound", age/2)
			}
			continue
		}
		// Young updates of earlier rounds may still be kept.
		if err != nil {
			t.Fatalf("Replay(Earliest): %v", err)
		}
		if !errors.Is(errAfter, store.ErrUnknownID) || len(gotAfter) != 0 {
			t.Fatalf("Replay(expired id) = %v, %v; want no calls and ErrUnknownID", ids(gotAfter), errAfter)
		}
		if len(got) == 0 || got[len(got)-1].Event.ID != young[0].Event.ID {
			t.Fatalf("Replay = %v; want it to end with the young %q", ids(got), young[0].Event.ID)
		}
		for _, u := range got {
			for _, o := range old {
				if u.Event.ID == o.Event.ID {
					t.Fatalf("Replay returned %q, which expired", o.Event.ID)
				}
			}
		}
		if lastID != young[0].Event.ID || lastPos != young[0].Pos || lastErr != nil {
			t.Fatalf("Last = %q, %+v, %v; want the young %q, %+v", lastID, lastPos, lastErr, young[0].Event.ID, young[0].Pos)
		}
		return
	}
}

func testLastEmpty(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{})
	if id, pos, err := l.Last(t.Context()); id != "" || !pos.IsZero() || err != nil {
		t.Fatalf("Last on an empty log = %q, %+v, %v; want \"\", zero Pos, nil", id, pos, err)
	}
}

// wantLast fails t unless Last returns u's id and Pos, and a replay after
// that id finds nothing newer.
func (l *testLog) wantLast(t *testing.T, what string, u store.Update) {
	t.Helper()
	id, pos, err := l.Last(t.Context())
	if id != u.Event.ID || pos != u.Pos || err != nil {
		t.Fatalf("%s: Last = %q, %+v, %v; want %q, %+v, nil", what, id, pos, err, u.Event.ID, u.Pos)
	}
	if got, err := l.replay(t, id); len(got) != 0 || err != nil {
		t.Fatalf("%s: Replay(Last's id) = %v, %v; want nothing, nil", what, ids(got), err)
	}
}

func testLastAfterAppends(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{})
	for i, id := range []string{"", "given", "", "x", "y", "z"} {
		u := newUpdate("t", id, i)
		if err := l.Append(t.Context(), &u); err != nil {
			t.Fatal(err)
		}
		l.wantLast(t, fmt.Sprintf("after append %d (id %q)", i, id), u)
	}
	all := l.fill(t, "t", 40)
	l.wantLast(t, "after concurrent appends", all[len(all)-1])
}

// A log that implements store.LastUpdater returns its newest update, all
// of it (the hub reads whether it is private), or nil when empty.
func testLastUpdate(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{})
	lu, ok := l.Log.(store.LastUpdater)
	if !ok {
		t.Skip("the log does not implement store.LastUpdater")
	}
	if u, err := lu.LastUpdate(t.Context()); u != nil || err != nil {
		t.Fatalf("LastUpdate of an empty log = %+v, %v; want nil, nil", u, err)
	}
	all := l.appendN(t, "t", 3)
	u, err := lu.LastUpdate(t.Context())
	if err != nil || u == nil {
		t.Fatalf("LastUpdate = %v, %v", u, err)
	}
	sameUpdates(t, "LastUpdate", []store.Update{clone(u)}, all[2:])
}

func testLastCountBound(t *testing.T, open Opener) {
	const keep = 3
	l := openLog(t, open, store.Bounds{MaxCount: keep})
	for i := range 10 {
		u := l.appendN(t, "t", 1)[0]
		l.wantLast(t, fmt.Sprintf("after append %d", i), u)
	}
	got, err := l.replay(t, store.Earliest)
	if err != nil || len(got) != keep {
		t.Fatalf("Replay(Earliest) = %v, %v; want %d updates", ids(got), err, keep)
	}
	l.wantLast(t, "once trimmed", got[keep-1])
}

// watcher records what a Watch delivers.
type watcher struct {
	mu   sync.Mutex
	got  []store.Update
	stop func()
}

// watch calls Watch with a fn that records what it gets, and stops it when
// t ends.
func watch(ctx context.Context, t *testing.T, l store.Log) *watcher {
	t.Helper()
	w := &watcher{}
	stop, err := l.Watch(ctx, func(u *store.Update) {
		w.mu.Lock()
		w.got = append(w.got, clone(u))
		w.mu.Unlock()
	})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if stop == nil {
		t.Fatal("Watch returned a nil stop and no error")
	}
	w.stop = stop
	t.Cleanup(stop)
	return w
}

// updates returns what the watcher got so far.
func (w *watcher) updates() []store.Update {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.got)
}

// has reports whether the watcher got the update with id.
func (w *watcher) has(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.ContainsFunc(w.got, func(u store.Update) bool { return u.Event.ID == id })
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// appendUntil appends from a few goroutines until ctx is done or Append
// fails, and returns a func that stops them and waits. Append errors other
// than ctx's and those in ok fail t.
func (l *testLog) appendUntil(ctx context.Context, t *testing.T, ok ...error) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				u := newUpdate(fmt.Sprintf("bg/%d", w), "", i)
				err := l.Append(ctx, &u)
				switch {
				case err == nil:
				case ctx.Err() != nil || slices.ContainsFunc(ok, func(e error) bool { return errors.Is(err, e) }):
					return
				default:
					t.Errorf("background Append: %v", err)
					return
				}
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}

// Every update appended after Watch returns is delivered, in order, and
// nothing from before.
func testWatch(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{})
	l.appendN(t, "t", 3)
	w := watch(t.Context(), t, l)
	want := l.appendN(t, "t", 20)
	if !waitFor(patience, func() bool { return len(w.updates()) >= len(want) }) {
		t.Fatalf("Watch delivered %d of %d updates", len(w.updates()), len(want))
	}
	time.Sleep(20 * time.Millisecond) // room for wrongly delivered extras
	sameUpdates(t, "watch", w.updates(), want)
}

// Watch registers fn before it returns: an update appended right after is
// delivered, even while others append, and from then on none is missed.
func testWatchRightAfter(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{})
	stopBG := l.appendUntil(t.Context(), t)
	defer stopBG()

	const rounds = 10
	var (
		watchers [rounds]*watcher
		marks    [rounds]store.Update
	)
	for i := range rounds {
		w := watch(t.Context(), t, l)
		marks[i] = newUpdate("mark", "", i)
		if err := l.Append(t.Context(), &marks[i]); err != nil {
			t.Fatal(err)
		}
		if !waitFor(patience, func() bool { return w.has(marks[i].Event.ID) }) {
			t.Fatalf("round %d: the update appended right after Watch returned was not delivered", i)
		}
		w.stop()
		watchers[i] = w
	}
	stopBG()
	if t.Failed() {
		return
	}

	// What each watcher got is a run of the log, with no gap, that holds
	// its mark.
	all, err := l.replay(t, store.Earliest)
	if err != nil {
		t.Fatal(err)
	}
	at := make(map[string]int, len(all))
	for i, u := range all {
		at[u.Event.ID] = i
	}
	for i, w := range watchers {
		got := w.updates()
		start, ok := at[got[0].Event.ID]
		if !ok || start+len(got) > len(all) {
			t.Fatalf("round %d: Watch delivered %q first, which Replay does not have so early", i, got[0].Event.ID)
		}
		sameUpdates(t, fmt.Sprintf("round %d: watch vs replay", i), got, all[start:start+len(got)])
		if !slices.ContainsFunc(got, func(u store.Update) bool { return u.Event.ID == marks[i].Event.ID }) {
			t.Fatalf("round %d: mark missing", i)
		}
	}
}

// lateWatch watches with a fn that counts calls, and the calls that begin
// or end once stopped is set.
type lateWatch struct {
	stopped     atomic.Bool
	calls, late atomic.Int64
	stop        func()
}

func startLateWatch(t *testing.T, l store.Log) *lateWatch {
	t.Helper()
	lw := &lateWatch{}
	stop, err := l.Watch(t.Context(), func(*store.Update) {
		if lw.stopped.Load() {
			lw.late.Add(1)
		}
		lw.calls.Add(1)
		// Widens the window in which stop may be called while fn runs.
		time.Sleep(100 * time.Microsecond)
		if lw.stopped.Load() {
			lw.late.Add(1)
		}
	})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	lw.stop = stop
	t.Cleanup(stop)
	return lw
}

// After stop returns, fn is not running and is not called again, though
// appends go on; other watchers are not disturbed. stop is idempotent.
func testWatchStop(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{})
	other := watch(t.Context(), t, l)
	lw := startLateWatch(t, l)
	stopBG := l.appendUntil(t.Context(), t)
	defer stopBG()

	if !waitFor(patience, func() bool { return lw.calls.Load() >= 20 }) {
		t.Fatalf("Watch delivered %d updates, want 20", lw.calls.Load())
	}
	lw.stop()
	lw.stopped.Store(true)
	lw.stop() // idempotent
	time.Sleep(20 * time.Millisecond)
	stopBG()
	if n := lw.late.Load(); n != 0 {
		t.Fatalf("fn was running or called %d times after stop returned", n)
	}

	all, err := l.replay(t, store.Earliest)
	if err != nil {
		t.Fatal(err)
	}
	if !waitFor(patience, func() bool { return len(other.updates()) >= len(all) }) {
		t.Fatalf("the other watcher delivered %d of %d updates", len(other.updates()), len(all))
	}
	sameUpdates(t, "other watcher vs replay", other.updates(), all)
}

// Many watchers stopped at once, each from two goroutines, while appends go
// on.
func testWatchStopConcurrent(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{})
	lws := make([]*lateWatch, 16)
	for i := range lws {
		lws[i] = startLateWatch(t, l)
	}
	stopBG := l.appendUntil(t.Context(), t)
	defer stopBG()
	if !waitFor(patience, func() bool { return lws[len(lws)-1].calls.Load() >= 5 }) {
		t.Fatal("watchers delivered nothing")
	}
	var wg sync.WaitGroup
	for _, lw := range lws {
		for range 2 {
			wg.Go(func() {
				lw.stop()
				lw.stopped.Store(true)
			})
		}
	}
	wg.Wait()
	time.Sleep(20 * time.Millisecond)
	stopBG()
	for i, lw := range lws {
		if n := lw.late.Load(); n != 0 {
			t.Errorf("watcher %d: fn was running or called %d times after stop returned", i, n)
		}
	}
}

// A watch ends soon after its context does, without stop.
func testWatchCanceled(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{})
	ctx, cancel := context.WithCancel(t.Context())
	w := watch(ctx, t, l)
	want := l.appendN(t, "t", 2)
	if !waitFor(patience, func() bool { return len(w.updates()) >= len(want) }) {
		t.Fatalf("Watch delivered %d of %d updates", len(w.updates()), len(want))
	}
	cancel()
	ended := waitFor(patience, func() bool {
		n := len(w.updates())
		l.appendN(t, "t", 1)
		time.Sleep(10 * time.Millisecond)
		return len(w.updates()) == n
	})
	if !ended {
		t.Fatal("Watch still delivers long after its context was canceled")
	}
	n := len(w.updates())
	l.appendN(t, "t", 3)
	time.Sleep(20 * time.Millisecond)
	if m := len(w.updates()); m != n {
		t.Fatalf("Watch delivered %d more updates after it ended", m-n)
	}
	sameUpdates(t, "before cancel", w.updates()[:len(want)], want)
	w.stop() // still fine
}

// Close stops every watcher: once it returns, no fn runs, though appends
// raced it. Watch on a closed log fails.
func testWatchClosed(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{})
	w := watch(t.Context(), t, l)
	lw := startLateWatch(t, l)
	want := l.appendN(t, "t", 3)
	if !waitFor(patience, func() bool { return len(w.updates()) >= len(want) }) {
		t.Fatalf("Watch delivered %d of %d updates", len(w.updates()), len(want))
	}
	stopBG := l.appendUntil(t.Context(), t, store.ErrClosed)
	defer stopBG()
	time.Sleep(10 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	lw.stopped.Store(true)
	stopBG()
	time.Sleep(20 * time.Millisecond)
	if n := lw.late.Load(); n != 0 {
		t.Fatalf("fn was running or called %d times after Close returned", n)
	}
	got := w.updates()
	sameUpdates(t, "before Close", got[:len(want)], want)
	for i := 1; i < len(got); i++ {
		if !got[i-1].Pos.Less(got[i].Pos) {
			t.Fatalf("Watch delivered Pos %+v after %+v", got[i].Pos, got[i-1].Pos)
		}
	}
	w.stop() // after Close: still fine
	lw.stop()

	stop, err := l.Watch(t.Context(), func(*store.Update) { t.Error("fn called on a closed log") })
	if !errors.Is(err, store.ErrClosed) || stop != nil {
		t.Fatalf("Watch on a closed log = (stop %v), %v; want nil, ErrClosed", stop != nil, err)
	}
}

func testConcurrentAppends(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{})
	watchers := []*watcher{watch(t.Context(), t, l), watch(t.Context(), t, l)}

	const workers, each = 8, 40
	appended := make([][]store.Update, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := ""
				if i%2 == 1 {
					id = fmt.Sprintf("w%d-%d", w, i)
				}
				u := newUpdate(fmt.Sprintf("t/%d", w), id, i)
				if err := l.Append(t.Context(), &u); err != nil {
					t.Errorf("worker %d: Append %d: %v", w, i, err)
					return
				}
				appended[w] = append(appended[w], u)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	got, err := l.replay(t, store.Earliest)
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range got {
		if i > 0 && !got[i-1].Pos.Less(u.Pos) {
			t.Fatalf("Replay: Pos %+v after %+v", u.Pos, got[i-1].Pos)
		}
	}
	byID := make(map[string]store.Update, len(got))
	for _, u := range got {
		if _, dup := byID[u.Event.ID]; dup {
			t.Fatalf("Replay: id %q twice", u.Event.ID)
		}
		byID[u.Event.ID] = u
	}
	for w, list := range appended {
		for i, u := range list {
			r, ok := byID[u.Event.ID]
			if !ok {
				t.Fatalf("worker %d: update %d (%q) missing from Replay", w, i, u.Event.ID)
			}
			sameUpdates(t, "append vs replay", []store.Update{r}, []store.Update{u})
			if i > 0 && !list[i-1].Pos.Less(u.Pos) {
				t.Fatalf("worker %d: Pos %+v after %+v", w, u.Pos, list[i-1].Pos)
			}
		}
	}
	if len(byID) != workers*each {
		t.Fatalf("Replay has %d updates, want %d", len(byID), workers*each)
	}

	for i, w := range watchers {
		if !waitFor(patience, func() bool { return len(w.updates()) >= len(got) }) {
			t.Fatalf("watcher %d delivered %d of %d updates", i, len(w.updates()), len(got))
		}
		time.Sleep(10 * time.Millisecond) // room for wrongly delivered extras
		sameUpdates(t, fmt.Sprintf("watcher %d vs replay", i), w.updates(), got)
	}
}

func testClosed(t *testing.T, open Opener) {
	l := openLog(t, open, store.Bounds{})
	last := l.appendN(t, "t", 2)[1]
	if err := l.Ready(t.Context()); err != nil {
		t.Fatalf("Ready on an open log: %v", err)
	}
	l.wantLast(t, "open log", last)
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := l.Log.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	u := newUpdate("t", "", 0)
	if err := l.Append(t.Context(), &u); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}
	if err := l.Ready(t.Context()); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Ready after Close = %v, want ErrClosed", err)
	}
	for _, after := range []string{store.Earliest, last.Event.ID, "unknown"} {
		if got, err := l.replay(t, after); !errors.Is(err, store.ErrClosed) || len(got) != 0 {
			t.Fatalf("Replay(%q) after Close = %v, %v; want nothing, ErrClosed", after, ids(got), err)
		}
	}
	if id, pos, err := l.Last(t.Context()); !errors.Is(err, store.ErrClosed) || id != "" || !pos.IsZero() {
		t.Fatalf("Last after Close = %q, %+v, %v; want ErrClosed", id, pos, err)
	}
	if stop, err := l.Watch(t.Context(), func(*store.Update) {}); !errors.Is(err, store.ErrClosed) || stop != nil {
		t.Fatalf("Watch after Close = (stop %v), %v; want nil, ErrClosed", stop != nil, err)
	}
}

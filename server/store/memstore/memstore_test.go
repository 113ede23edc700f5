package memstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/memstore"
	"github.com/polysse/polysse/server/store/storetest"
	"github.com/polysse/polysse/sse"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b store.Bounds) store.Log {
		return memstore.New(b)
	})
	storetest.RunClocked(t, func(t *testing.T, b store.Bounds, now func() time.Time) store.Log {
		return memstore.New(b, memstore.WithClock(now))
	})
}

func appendID(t *testing.T, l store.Log, id string) store.Update {
	t.Helper()
	u := store.Update{Topics: []string{"t"}, Event: sse.Event{ID: id, Data: id}}
	if err := l.Append(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func replayIDs(t *testing.T, l store.Log, after string) ([]string, error) {
	t.Helper()
	var got []string
	err := l.Replay(context.Background(), after, func(u *store.Update) error {
		got = append(got, u.Event.ID)
		return nil
	})
	return got, err
}

// The ring wraps and grows; every window must replay in order.
func TestRingWraps(t *testing.T) {
	const keep = 100
	l := memstore.New(store.Bounds{MaxCount: keep})
	defer l.Close()
	var all []string
	for i := range 1000 {
		all = append(all, appendID(t, l, fmt.Sprint(i)).Event.ID)
		if i%37 != 0 {
			continue
		}
		want := all[max(0, len(all)-keep):]
		got, err := replayIDs(t, l, store.Earliest)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("after %d appends: Replay = %v, %v; want %v", i+1, got, err, want)
		}
		if len(want) > 10 {
			got, _ = replayIDs(t, l, want[len(want)-11])
			if fmt.Sprint(got) != fmt.Sprint(want[len(want)-10:]) {
				t.Fatalf("after %d appends: Replay(after) = %v", i+1, got)
			}
		}
	}
}

// Updates evicted while a slow replay runs are skipped, not replayed wrong.
func TestReplayWhileEvicting(t *testing.T) {
	l := memstore.New(store.Bounds{MaxCount: 1000})
	defer l.Close()
	for i := range 1000 {
		appendID(t, l, fmt.Sprint(i))
	}
	var last uint64
	calls := 0
	err := l.Replay(context.Background(), store.Earliest, func(u *store.Update) error {
		if u.Pos.Lo <= last {
			t.Fatalf("Pos %d after %d", u.Pos.Lo, last)
		}
		last = u.Pos.Lo
		if calls++; calls == 10 {
			for i := range 600 {
				appendID(t, l, fmt.Sprint("new", i))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if last != 1000 {
		t.Fatalf("replay ended at Pos %d, want 1000 (the end when it started)", last)
	}
}

func BenchmarkAppend(b *testing.B) {
	storetest.BenchAppend(b, func(*testing.B) store.Log { return memstore.New(store.Bounds{}) })
}

func BenchmarkReplay10k(b *testing.B) {
	storetest.BenchReplay10k(b, func(*testing.B) store.Log { return memstore.New(store.Bounds{}) })
}

func BenchmarkResume1M(b *testing.B) {
	l := memstore.New(store.Bounds{MaxCount: storetest.ResumeN})
	defer l.Close()
	for i := range storetest.ResumeN {
		u := storetest.BenchUpdate()
		u.Event.ID = storetest.BulkID(i)
		if err := l.Append(context.Background(), &u); err != nil {
			b.Fatal(err)
		}
	}
	storetest.BenchResume(b, l)
}

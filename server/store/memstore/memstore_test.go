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

func benchUpdate() store.Update {
	return store.Update{
		Topics: []string{"https://example.com/books/1"},
		Event:  sse.Event{Type: "update", Data: `{"id":1,"title":"a book","price":12.5}`},
	}
}

func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		l := memstore.New(store.Bounds{})
		defer l.Close()
		b.ReportAllocs()
		for b.Loop() {
			u := benchUpdate()
			if err := l.Append(ctx, &u); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		l := memstore.New(store.Bounds{})
		defer l.Close()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				u := benchUpdate()
				if err := l.Append(ctx, &u); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

func BenchmarkReplay10k(b *testing.B) {
	ctx := context.Background()
	l := memstore.New(store.Bounds{})
	defer l.Close()
	var first string
	for i := range 10_001 {
		u := benchUpdate()
		if err := l.Append(ctx, &u); err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			first = u.Event.ID
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := l.Replay(ctx, first, func(*store.Update) error { n++; return nil })
		if err != nil || n != 10_000 {
			b.Fatalf("Replay = %d, %v", n, err)
		}
	}
}

package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/sse"
)

// BenchOpener opens a new, empty, unbounded log for a benchmark; the
// benchmark closes it.
type BenchOpener func(b *testing.B) store.Log

// BenchUpdate is the update the benchmarks append: one topic and a small
// JSON payload, as a typical publish.
func BenchUpdate() store.Update {
	return store.Update{
		Topics: []string{"https://example.com/books/1"},
		Event:  sse.Event{Type: "update", Data: `{"id":1,"title":"a book","price":12.5}`},
	}
}

// BenchAppend times Append from one publisher, from GOMAXPROCS and from
// 32×GOMAXPROCS, as b's sub-benchmarks serial, parallel and parallel64.
func BenchAppend(b *testing.B, open BenchOpener) {
	run := func(b *testing.B, parallelism int) {
		l := open(b)
		defer l.Close()
		ctx := context.Background()
		b.ReportAllocs()
		if parallelism == 0 {
			for b.Loop() {
				u := BenchUpdate()
				if err := l.Append(ctx, &u); err != nil {
					b.Fatal(err)
				}
			}
			return
		}
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				u := BenchUpdate()
				if err := l.Append(ctx, &u); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.Run("serial", func(b *testing.B) { run(b, 0) })
	b.Run("parallel", func(b *testing.B) { run(b, 1) })
	b.Run("parallel64", func(b *testing.B) { run(b, 32) })
}

// BenchReplay10k times replaying 10,000 updates after an id.
func BenchReplay10k(b *testing.B, open BenchOpener) {
	l := open(b)
	defer l.Close()
	ctx := context.Background()
	// Appended from many goroutines: a log that batches its commits fills
	// in a few batches.
	const n, workers = 10_001, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				u := BenchUpdate()
				if err := l.Append(ctx, &u); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	var first string
	err := l.Replay(ctx, store.Earliest, func(u *store.Update) error {
		if first == "" {
			first = u.Event.ID
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		got := 0
		err := l.Replay(ctx, first, func(*store.Update) error { got++; return nil })
		if err != nil || got != n-1 {
			b.Fatalf("Replay = %d, %v; want %d", got, err, n-1)
		}
	}
}

// ResumeN is how many updates BenchResume's log holds.
const ResumeN = 1_000_000

// BulkID is the event id BenchResume expects of the update bulk-loaded
// i-th (from 0).
func BulkID(i int) string { return fmt.Sprintf("bulk-%07d", i) }

// BenchResume times a resume in a log that holds ResumeN updates, whose
// ids are BulkID(0..ResumeN-1) in order: from an id near the end (ten
// updates to replay), from the newest id (none), and from an id the log
// does not hold (ErrUnknownID). Each must cost about what it does in a
// small log: the log finds an id through an index, never by a scan. The
// store's own test fills the log, bulk-loaded: a million Appends, each
// durable, would take most of the benchmark's time.
func BenchResume(b *testing.B, l store.Log) {
	ctx := context.Background()
	cases := []struct {
		name, after string
		want        int
		err         error
	}{
		{"known", BulkID(ResumeN - 11), 10, nil},
		{"newest", BulkID(ResumeN - 1), 0, nil},
		{"unknown", "never-published", 0, store.ErrUnknownID},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				got := 0
				err := l.Replay(ctx, c.after, func(*store.Update) error { got++; return nil })
				if !errors.Is(err, c.err) || got != c.want {
					b.Fatalf("Replay(%q) = %d updates, %v; want %d, %v", c.after, got, err, c.want, c.err)
				}
			}
		})
	}
}

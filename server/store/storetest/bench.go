package storetest

import (
	"context"
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

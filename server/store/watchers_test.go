package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/storetest"
)

// Each Watch's goroutine ends with its watch: at stop, at ctx's end or at
// Close.
func TestWatchGoroutines(t *testing.T) {
	var ws store.Watchers
	watches := storetest.StartedHere("github.com/polysse/polysse/server/store.(*Watchers).Watch")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if stop, err := ws.Watch(canceled, func(*store.Update) {}); stop != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch with a canceled context = (stop %v), %v; want nil, context.Canceled", stop != nil, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stops []func()
	for i := range 30 {
		c := context.Background()
		if i%3 == 1 {
			c = ctx
		}
		stop, err := ws.Watch(c, func(*store.Update) {})
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			stops = append(stops, stop)
		}
	}
	if n := storetest.Goroutines(watches); n != 30 {
		t.Fatalf("%d watch goroutines after 30 Watches, want 30", n)
	}
	for _, stop := range stops {
		stop()
	}
	cancel()
	storetest.WaitGoroutines(t, "after stop and cancel", watches, 10)
	ws.Close()
	storetest.WaitGoroutines(t, "after Close", watches, 0)
	if _, err := ws.Watch(context.Background(), func(*store.Update) {}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Watch after Close: %v, want ErrClosed", err)
	}
}

// Once stop or Close returns, fn is not running and is not called again.
func TestWatchersStopWaitsForFn(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(ws *store.Watchers, stop func())
	}{
		{"stop", func(_ *store.Watchers, stop func()) { stop() }},
		{"Close", func(ws *store.Watchers, _ func()) { ws.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ws store.Watchers
			entered, release := make(chan struct{}), make(chan struct{})
			calls, running := 0, false
			stop, err := ws.Watch(context.Background(), func(*store.Update) {
				calls++
				running = true
				if calls == 1 {
					close(entered)
					<-release
				}
				running = false
			})
			if err != nil {
				t.Fatal(err)
			}
			go ws.Notify(&store.Update{})
			<-entered
			ended := make(chan struct{})
			go func() { tc.end(&ws, stop); close(ended) }()
			select {
			case <-ended:
				t.Fatal("ended while fn was running")
			case <-time.After(50 * time.Millisecond):
			}
			close(release)
			<-ended
			if running {
				t.Fatal("fn still running after the end returned")
			}
			ws.Notify(&store.Update{})
			if calls != 1 {
				t.Fatalf("fn called %d times, want 1", calls)
			}
		})
	}
}

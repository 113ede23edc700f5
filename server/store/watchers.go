package store

import (
	"context"
	"slices"
	"sync"
)

// Watchers is the registry behind a Log's Watch for logs that learn of
// their updates in-process (memstore, boltstore): the log calls Notify for
// each update it appends, in Pos order, and Close when it closes. The zero
// value is ready to use.
//
// Notify calls every fn under the registry's lock, and stop and Close take
// that lock, which is what guarantees that once they return no fn is
// running or will run.
type Watchers struct {
	mu      sync.Mutex
	list    []*watchFn
	closed  bool
	closing chan struct{} // made by the first Watch, closed by Close
}

// A watchFn is one registration; its address tells two registrations of
// the same fn apart.
type watchFn struct{ fn func(*Update) }

// Watch registers fn until ctx ends, stop is called or Close: the
// contract of Log.Watch. A goroutine per registration waits for the first
// of the three to unregister fn.
func (ws *Watchers) Watch(ctx context.Context, fn func(*Update)) (stop func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w := &watchFn{fn: fn}
	ws.mu.Lock()
	if ws.closed {
		ws.mu.Unlock()
		return nil, ErrClosed
	}
	if ws.closing == nil {
		ws.closing = make(chan struct{})
	}
	closing := ws.closing
	ws.list = append(ws.list, w)
	ws.mu.Unlock()

	stopped := make(chan struct{})
	var once sync.Once
	stop = func() {
		once.Do(func() { close(stopped) })
		// Not only the goroutine: once stop returns, fn must be done.
		ws.remove(w)
	}
	go func() {
		select {
		case <-ctx.Done():
		case <-closing:
		case <-stopped:
		}
		ws.remove(w)
	}()
	return stop, nil
}

func (ws *Watchers) remove(w *watchFn) {
	ws.mu.Lock()
	if i := slices.Index(ws.list, w); i >= 0 {
		ws.list = slices.Delete(ws.list, i, i+1)
	}
	ws.mu.Unlock()
}

// Notify passes u to every registered fn.
func (ws *Watchers) Notify(u *Update) {
	ws.mu.Lock()
	for _, w := range ws.list {
		w.fn(u)
	}
	ws.mu.Unlock()
}

// Close unregisters every fn and refuses later Watches with ErrClosed.
// Closing twice is a no-op.
func (ws *Watchers) Close() {
	ws.mu.Lock()
	if !ws.closed {
		ws.closed = true
		if ws.closing != nil {
			close(ws.closing)
		}
		ws.list = nil
	}
	ws.mu.Unlock()
}

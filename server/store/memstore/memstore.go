// Package memstore is the hub library's default replay log: a bounded ring
// of updates in memory, lost when the process ends.
//
// Updates that Replay and Watch pass to their callbacks are the log's own
// copies, which it never changes after Append: callbacks may keep them but
// must not modify them.
package memstore

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/polysse/polysse/server/store"
)

// replayChunk is how many updates Replay takes per lock, so that a long
// replay neither holds up Append nor copies the whole ring at once.
const replayChunk = 256

// Log is an in-memory store.Log. It keeps at most Bounds.MaxCount updates
// and Bounds.MaxBytes of them; updates older than Bounds.MaxAge are dropped
// when the log is next used.
type Log struct {
	bounds store.Bounds
	now    func() time.Time
	ids    store.IDGen

	mu     sync.Mutex
	closed bool
	ring   []*store.Update // grows up to bounds.MaxCount, then wraps
	head   int             // ring index of the oldest update
	n      int             // updates kept
	bytes  int64           // their store.Size, together
	first  uint64          // Pos.Lo of the oldest update kept, if any
	next   uint64          // Pos.Lo of the next update
	index  map[string]uint64
	// Notified under mu in Append, so that they see updates in Pos order.
	watchers store.Watchers
}

// Option configures a Log.
type Option func(*Log)

// WithClock makes the log read the time from now instead of time.Now, for
// Update.Time, generated ids and the age bound.
func WithClock(now func() time.Time) Option {
	return func(l *Log) { l.now = now }
}

// New returns an empty log that keeps what b allows (zero fields mean the
// store package's defaults).
func New(b store.Bounds, opts ...Option) *Log {
	l := &Log{
		bounds: b.WithDefaults(),
		now:    time.Now,
		index:  make(map[string]uint64),
		first:  1,
		next:   1,
	}
	for _, o := range opts {
		o(l)
	}
	l.ids.Now = l.now
	return l
}

// Append stores a copy of u and passes it to every watcher before returning.
func (l *Log) Append(ctx context.Context, u *store.Update) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &store.Update{Topics: slices.Clone(u.Topics), Private: u.Private, Event: u.Event}

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return store.ErrClosed
	}
	now := l.now()
	l.expire(now)
	if c.Event.ID == "" {
		c.Event.ID = l.ids.New()
	} else if _, dup := l.index[c.Event.ID]; dup {
		l.mu.Unlock()
		return store.ErrDuplicateID
	}
	c.Time = now
	c.Pos = store.Pos{Lo: l.next}
	l.push(c)
	// Notifying under the lock that assigned Pos is what keeps every
	// watcher in Pos order when Appends race.
	l.watchers.Notify(c)
	l.mu.Unlock()

	u.Event.ID, u.Pos, u.Time = c.Event.ID, c.Pos, c.Time
	return nil
}

// push stores u as the newest update, evicting the oldest when full.
func (l *Log) push(u *store.Update) {
	if l.n == l.bounds.MaxCount {
		l.evict()
	}
	if l.n == len(l.ring) {
		// Grow instead of allocating MaxCount slots up front: most logs
		// never fill the default bound.
		grown := make([]*store.Update, min(max(2*len(l.ring), 64), l.bounds.MaxCount))
		m := copy(grown, l.ring[l.head:])
		copy(grown[m:], l.ring[:l.head])
		l.ring, l.head = grown, 0
	}
	l.ring[(l.head+l.n)%len(l.ring)] = u
	l.n++
	l.next++
	l.index[u.Event.ID] = u.Pos.Lo
	l.bytes += store.Size(u)
	for l.bytes > l.bounds.MaxBytes && l.n > 1 {
		l.evict()
	}
}

// evict drops the oldest update.
func (l *Log) evict() {
	u := l.ring[l.head]
	l.ring[l.head] = nil
	delete(l.index, u.Event.ID) // ids are unique (Append refuses a kept one)
	l.head = (l.head + 1) % len(l.ring)
	l.n--
	l.first++
	l.bytes -= store.Size(u)
}

// expire drops the updates older than the age bound.
func (l *Log) expire(now time.Time) {
	cutoff := now.Add(-l.bounds.MaxAge)
	for l.n > 0 && l.ring[l.head].Time.Before(cutoff) {
		l.evict()
	}
}

// at returns the update at Pos.Lo seq, which must be kept.
func (l *Log) at(seq uint64) *store.Update {
	return l.ring[(l.head+int(seq-l.first))%len(l.ring)]
}

// Replay passes fn the updates after afterID that were kept when Replay
// started. Updates evicted while a slow fn runs are skipped.
func (l *Log) Replay(ctx context.Context, afterID string, fn func(*store.Update) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return store.ErrClosed
	}
	l.expire(l.now())
	from, end := l.first, l.next
	if afterID != store.Earliest {
		// The index is evicted with the ring, so a hit is always kept. No
		// update has the empty id: Append fills it.
		seq, ok := l.index[afterID]
		if !ok || afterID == "" {
			l.mu.Unlock()
			return store.ErrUnknownID
		}
		from = seq + 1
	}
	l.mu.Unlock()

	var chunk [replayChunk]*store.Update
	for from < end {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return store.ErrClosed
		}
		from = max(from, l.first)
		if from >= end {
			l.mu.Unlock()
			break
		}
		n := int(min(end-from, replayChunk))
		for i := range n {
			chunk[i] = l.at(from + uint64(i))
		}
		l.mu.Unlock()
		from += uint64(n)

		if err := store.Feed(ctx, chunk[:n], fn); err != nil {
			return err
		}
		clear(chunk[:n])
	}
	return nil
}

// Watch calls fn for each update appended from now on, with the log's lock
// held: fn must return quickly and must not call the log, nor stop.
//
// A goroutine per Watch waits for ctx, Close or stop to unregister fn.
func (l *Log) Watch(ctx context.Context, fn func(*store.Update)) (stop func(), err error) {
	return l.watchers.Watch(ctx, fn)
}

// Last returns the id and position of the newest update kept.
func (l *Log) Last(ctx context.Context) (id string, pos store.Pos, err error) {
	if err := ctx.Err(); err != nil {
		return "", store.Pos{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return "", store.Pos{}, store.ErrClosed
	}
	l.expire(l.now())
	if l.n == 0 {
		return "", store.Pos{}, nil
	}
	u := l.at(l.next - 1)
	return u.Event.ID, u.Pos, nil
}

// LastUpdate returns a copy of the newest update kept, or nil.
func (l *Log) LastUpdate(ctx context.Context) (*store.Update, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, store.ErrClosed
	}
	l.expire(l.now())
	if l.n == 0 {
		return nil, nil
	}
	u := *l.at(l.next - 1)
	u.Topics = slices.Clone(u.Topics)
	return &u, nil
}

// Ready returns nil unless the log is closed.
func (l *Log) Ready(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return store.ErrClosed
	}
	return nil
}

// Close drops every update and stops every watcher: once it returns, no fn
// runs. Closing twice is a no-op.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		l.ring, l.index, l.n = nil, nil, 0
		l.watchers.Close()
	}
	return nil
}

var (
	_ store.Log         = (*Log)(nil)
	_ store.LastUpdater = (*Log)(nil)
)

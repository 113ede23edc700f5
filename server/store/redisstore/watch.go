package redisstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polysse/polysse/server/store"
)

// Watch reads the stream's newest entry id, registers fn to get every
// entry after it, and returns: an update appended, on any node, after Watch
// returns is delivered. One reader goroutine per Log, started by the first
// Watch, tails the stream with XREAD BLOCK and calls every watcher, in
// stream order, with the log's lock held: fn must return quickly and must
// not call the log, nor stop.
//
// Watch fails when Redis does not answer within the timeout; once it has
// returned, a Redis outage only delays deliveries (see the package doc).
func (l *Log) Watch(ctx context.Context, fn func(*store.Update)) (stop func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if l.closed.Load() {
		return nil, store.ErrClosed
	}
	start := "0-0"
	err = l.call(ctx, func(ctx context.Context) error {
		msgs, err := l.rdb.XRevRangeN(ctx, l.stream, "+", "-", 1).Result()
		if err == nil && len(msgs) == 1 {
			start = msgs[0].ID
		}
		return err
	})
	if err != nil {
		return nil, l.failed("watch", err)
	}
	after, ok := parseEntryID(start)
	if !ok {
		return nil, l.failed("watch", errors.New("bad entry id "+start))
	}

	w := &watcher{fn: fn, after: after}
	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		return nil, store.ErrClosed
	}
	l.watchers = append(l.watchers, w)
	if l.reader == nil {
		// The reader starts where the first watcher does; later watchers
		// may start behind it (they skip what came before they did) or
		// ahead of it (they skip what it read before they registered).
		l.reader = make(chan struct{})
		go l.read(start, l.reader)
	}
	l.mu.Unlock()

	stopAfter := context.AfterFunc(ctx, func() { l.unwatch(w) })
	return func() {
		stopAfter()
		// Not only the AfterFunc: once stop returns, fn must be done.
		l.unwatch(w)
	}, nil
}

// unwatch removes w, if still there. Once it returns, w.fn is neither
// running nor called again, since the reader calls it under the same lock.
func (l *Log) unwatch(w *watcher) {
	l.mu.Lock()
	if i := slices.Index(l.watchers, w); i >= 0 {
		l.watchers = slices.Delete(l.watchers, i, i+1)
	}
	l.mu.Unlock()
}

// read is the reader: it tails the stream after the entry id from until
// the log is closed, delivering every entry to the watchers. When Redis
// fails it waits (capped, jittered, growing backoff) and reads again from
// the last entry it delivered, so an outage loses nothing still kept.
//
// It logs once when reads start failing and once when one succeeds again,
// whatever the number of attempts in between.
func (l *Log) read(from string, done chan<- struct{}) {
	defer close(done)
	ctx := l.ctx
	var (
		failures int
		downAt   time.Time // when reads started failing; zero while they succeed
	)
	for ctx.Err() == nil {
		args := &redis.XReadArgs{Streams: []string{l.stream, from}, Count: replayChunk, Block: l.cfg.block}
		if failures > 0 {
			// Right after a failure, a read that does not block: when it
			// succeeds, Redis is back, and that is logged at once rather
			// than after a block timeout with nothing new.
			args.Block = -1
		}
		res, err := l.rdb.XRead(ctx, args).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			if ctx.Err() != nil || l.closed.Load() {
				return
			}
			failures++
			if failures == 1 {
				downAt = time.Now()
				l.cfg.logger.Warn("redisstore: cannot read the stream; watchers will resume from their last update when Redis is back",
					"redis", l.where, "key", l.stream, "after", from, "err", err)
			}
			if !sleep(ctx, backoff(l.cfg.minBackoff, l.cfg.maxBackoff, failures)) {
				return
			}
			continue
		}
		if failures > 0 {
			l.cfg.logger.Info("redisstore: reading the stream again",
				"redis", l.where, "key", l.stream, "after", from, "down", time.Since(downAt).Round(time.Millisecond))
			failures = 0
		}
		for _, s := range res {
			if len(s.Messages) > 0 {
				l.deliver(s.Messages)
				from = s.Messages[len(s.Messages)-1].ID
			}
		}
	}
}

// deliver decodes msgs and passes each to every watcher that registered
// before it was appended.
func (l *Log) deliver(msgs []redis.XMessage) {
	ups := make([]*store.Update, 0, len(msgs))
	for _, m := range msgs {
		u, err := decodeEntry(m.ID, m.Values)
		if err != nil {
			l.cfg.logger.Warn("redisstore: skipping an entry that is not an update", "key", l.stream, "err", err)
			continue
		}
		ups = append(ups, u)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, u := range ups {
		for _, w := range l.watchers {
			if w.after.Less(u.Pos) {
				w.fn(u)
			}
		}
	}
}

// backoff is the wait before attempt n+1 after n failures: lo doubled per
// failure up to hi, then a random point in its upper half, so that nodes
// that lost Redis together do not come back in step.
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := hi
	if n < 32 && lo<<(n-1) < hi && lo<<(n-1) > 0 {
		d = lo << (n - 1)
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d, or less when ctx ends; it reports whether ctx is still
// going.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

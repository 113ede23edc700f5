// Package boltstore is a replay log in one file, on go.etcd.io/bbolt: the
// polysse binary's default log ("bolt:PATH"). It survives restarts: a
// client that resumes with an id issued before a restart misses nothing.
//
// An update is acknowledged (Append returns nil) only once the bbolt
// transaction holding it has committed and been synced to disk. Concurrent
// Appends share transactions: one goroutine commits, in one transaction,
// every append that arrived while the previous commit was syncing, so a
// busy log pays one fsync per batch rather than one per update.
//
// Updates that Replay and Watch pass to their callbacks are fresh copies
// that the log never modifies: callbacks may keep them but must not modify
// them (every watcher gets the same copy).
package boltstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/polysse/polysse/server/store"
)

// Bucket and key names in the file.
const (
	logBucket   = "log"  // big-endian Pos.Lo → entry (see codec.go)
	idBucket    = "ids"  // event id → big-endian Pos.Lo
	metaBucket  = "meta" // the keys below
	versionKey  = "version"
	lastIDKey   = "lastid" // the last id generated, so ids sort across restarts
	bytesKey    = "bytes"  // the store.Size of the entries kept, big-endian
	fileVersion = "1"
)

const (
	// DefaultMaxBatch is how many appends one transaction takes at most
	// unless WithMaxBatch says otherwise.
	DefaultMaxBatch = 1024

	// maxTrimPerCommit keeps a commit that follows a long idle spell (or a
	// lowered bound) from deleting the whole file at once; Replay applies
	// the bounds itself, so what is left over is never replayed.
	maxTrimPerCommit = 10_000

	// replayChunk is how many entries Replay reads per read transaction:
	// a long-lived read transaction would keep bbolt from remapping the
	// file as it grows, which stalls every commit.
	replayChunk = 256
)

// Log is a store.Log in a bbolt file.
type Log struct {
	db       *bolt.DB
	path     string
	bounds   store.Bounds
	now      func() time.Time
	ids      store.IDGen
	maxBatch int

	reqs    chan *request
	closing chan struct{} // closed by Close: no new appends or watchers
	stopped chan struct{} // closed by the committer once it has exited

	closeOnce sync.Once
	closeErr  error

	// life is held for reading around read transactions and for writing
	// by Close around closing the file, so that no transaction starts on a
	// closed DB.
	life   sync.RWMutex
	closed bool

	// Owned by the committer: the Pos.Lo of the oldest and newest entries
	// kept (first > last when the log is empty).
	first, last uint64
	// bytes is the store.Size of the entries kept, for the byte bound.
	bytes int64

	// Notified by the committer alone, so in Pos order.
	watchers store.Watchers
}

// request is one Append (or a Ready probe) waiting for the committer.
type request struct {
	ctx   context.Context
	u     *store.Update // the log's copy; the committer fills ID, Pos and Time
	probe bool          // Ready: commit an empty transaction
	// refused is why the committer left this append out of its
	// transaction (ErrDuplicateID), or nil.
	refused error
	done    chan error // buffered; the committer sends exactly once
}

// Option configures a Log.
type Option func(*config)

type config struct {
	now      func() time.Time
	maxBatch int
	bolt     bolt.Options
}

// WithClock makes the log read the time from now instead of time.Now, for
// Update.Time, generated ids and the age bound.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithMaxBatch sets how many appends one transaction takes at most.
func WithMaxBatch(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxBatch = n
		}
	}
}

// WithBoltOptions replaces the options the file is opened with. The
// defaults are a one-second Timeout for the file lock (so that a second
// process fails instead of waiting forever), the hashmap freelist and
// NoFreelistSync. With ReadOnly, Replay works and Append fails. NoSync
// gives up the durability that Append promises.
func WithBoltOptions(o bolt.Options) Option {
	return func(c *config) { c.bolt = o }
}

// Open opens the log in the file at path, creating it if needed, keeping
// what b allows (zero fields mean the store package's defaults).
func Open(path string, b store.Bounds, opts ...Option) (*Log, error) {
	c := config{
		now:      time.Now,
		maxBatch: DefaultMaxBatch,
		bolt: bolt.Options{
			Timeout:        time.Second,
			FreelistType:   bolt.FreelistMapType,
			NoFreelistSync: true,
		},
	}
	for _, o := range opts {
		o(&c)
	}
	db, err := bolt.Open(path, 0o600, &c.bolt)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("boltstore: open %s: file locked (by another process?): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	l := &Log{
		db:       db,
		path:     path,
		bounds:   b.WithDefaults(),
		now:      c.now,
		maxBatch: c.maxBatch,
		reqs:     make(chan *request, c.maxBatch),
		closing:  make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	l.ids.Now = c.now
	if err := l.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	go l.run()
	return l, nil
}

// init creates the buckets of a new file, checks those of an old one,
// trims what the bounds no longer allow and loads the committer's state.
func (l *Log) init() error {
	tx := l.db.Update
	if l.db.IsReadOnly() {
		tx = l.db.View
	}
	return tx(func(tx *bolt.Tx) error {
		if tx.Writable() {
			for _, name := range []string{logBucket, idBucket, metaBucket} {
				if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
					return err
				}
			}
		}
		lb, ib, mb := tx.Bucket([]byte(logBucket)), tx.Bucket([]byte(idBucket)), tx.Bucket([]byte(metaBucket))
		if lb == nil || ib == nil || mb == nil {
			return errors.New("not a polysse log (buckets missing)")
		}
		switch v := mb.Get([]byte(versionKey)); {
		case v == nil && tx.Writable():
			if err := mb.Put([]byte(versionKey), []byte(fileVersion)); err != nil {
				return err
			}
		case string(v) != fileVersion:
			return fmt.Errorf("file format version %q, want %q", v, fileVersion)
		}

		l.last = lb.Sequence()
		l.first = l.last + 1
		if k, _ := lb.Cursor().First(); k != nil {
			l.first = seqOf(k)
		}
		if v := mb.Get([]byte(bytesKey)); len(v) == 8 {
			l.bytes = int64(binary.BigEndian.Uint64(v))
		} else {
			// A file from before the byte bound: count once.
			c := lb.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				n, err := entrySize(v)
				if err != nil {
					return fmt.Errorf("entry %d: %w", seqOf(k), err)
				}
				l.bytes += n
			}
		}
		if tx.Writable() {
			var err error
			if l.first, err = l.trim(lb, ib, l.first, l.last, l.now(), -1, &l.bytes); err != nil {
				return fmt.Errorf("trim: %w", err)
			}
			if err := putBytes(mb, l.bytes); err != nil {
				return err
			}
		}
		l.ids.Observe(string(mb.Get([]byte(lastIDKey))))
		return nil
	})
}

func keyOf(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

func seqOf(k []byte) uint64 { return binary.BigEndian.Uint64(k) }

// Append commits u and passes it to every watcher, then returns. When ctx ends
// first, Append returns ctx's error and u may or may not be committed.
func (l *Log) Append(ctx context.Context, u *store.Update) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("boltstore: append: %w", err)
	}
	if len(u.Event.ID) > bolt.MaxKeySize {
		return fmt.Errorf("boltstore: append: event id of %d bytes, over the limit of %d", len(u.Event.ID), bolt.MaxKeySize)
	}
	r := &request{
		ctx:  ctx,
		u:    &store.Update{Topics: slices.Clone(u.Topics), Private: u.Private, Event: u.Event},
		done: make(chan error, 1),
	}
	if err := l.do(ctx, r); err != nil {
		return fmt.Errorf("boltstore: append: %w", err)
	}
	u.Event.ID, u.Pos, u.Time = r.u.Event.ID, r.u.Pos, r.u.Time
	return nil
}

// do hands r to the committer and waits for its answer.
func (l *Log) do(ctx context.Context, r *request) error {
	select {
	case <-l.closing:
		return store.ErrClosed
	default:
	}
	select {
	case l.reqs <- r:
	case <-l.closing:
		return store.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// Prefer the truth when the answer raced the cancellation.
		select {
		case err := <-r.done:
			return err
		default:
			return ctx.Err()
		}
	case <-l.stopped:
		// The committer answers every request it takes before it exits.
		select {
		case err := <-r.done:
			return err
		default:
			return store.ErrClosed
		}
	}
}

// run is the committer: it takes whatever requests are waiting, commits
// them in one transaction, and goes again.
func (l *Log) run() {
	defer close(l.stopped)
	batch := make([]*request, 0, l.maxBatch)
	for {
		select {
		case r := <-l.reqs:
			batch = l.gather(append(batch, r))
			l.commit(batch)
			clear(batch)
			batch = batch[:0]
		case <-l.closing:
			// Appends queued before Close still get committed.
			if batch = l.gather(batch); len(batch) > 0 {
				l.commit(batch)
			}
			return
		}
	}
}

// gather adds to batch the requests waiting now, up to the batch size.
func (l *Log) gather(batch []*request) []*request {
	for len(batch) < l.maxBatch {
		select {
		case r := <-l.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// commit stores batch in one transaction and answers every request in it.
func (l *Log) commit(batch []*request) {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err // gave up waiting: not worth a write
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}

	now := l.now()
	first, last, bytes := l.first, l.last, l.bytes
	err := l.db.Update(func(tx *bolt.Tx) error {
		lb, ib := tx.Bucket([]byte(logBucket)), tx.Bucket([]byte(idBucket))
		// bbolt keeps values until the commit: each needs memory of its own.
		keys := make([]byte, 8*len(live))
		var lastID string
		for i, r := range live {
			if r.probe {
				continue
			}
			u := r.u
			if u.Event.ID == "" {
				u.Event.ID = l.ids.New()
				lastID = u.Event.ID
			} else if ib.Get([]byte(u.Event.ID)) != nil {
				// The index holds exactly the ids kept, this batch's
				// included: the transaction sees its own writes.
				r.refused = store.ErrDuplicateID
				continue
			}
			// NextSequence is rolled back with a failed transaction, so
			// positions stay gapless and never repeat.
			seq, err := lb.NextSequence()
			if err != nil {
				return err
			}
			u.Pos, u.Time = store.Pos{Lo: seq}, now
			k := binary.BigEndian.AppendUint64(keys[8*i:8*i:8*i+8], seq)
			if err := lb.Put(k, encode(u)); err != nil {
				return fmt.Errorf("put %d: %w", seq, err)
			}
			if err := ib.Put([]byte(u.Event.ID), k); err != nil {
				return fmt.Errorf("index %d: %w", seq, err)
			}
			bytes += store.Size(u)
			last = seq
		}
		if lastID != "" {
			if err := tx.Bucket([]byte(metaBucket)).Put([]byte(lastIDKey), []byte(lastID)); err != nil {
				return err
			}
		}
		var err error
		if first, err = l.trim(lb, ib, first, last, now, maxTrimPerCommit, &bytes); err != nil {
			return fmt.Errorf("trim: %w", err)
		}
		return putBytes(tx.Bucket([]byte(metaBucket)), bytes)
	})
	if err != nil {
		err = fmt.Errorf("commit to %s: %w", l.path, err)
		for _, r := range live {
			r.done <- err
		}
		return
	}
	l.first, l.last, l.bytes = first, last, bytes

	// Watchers hear of an update before its Append returns, in Pos order
	// since this goroutine alone commits.
	for _, r := range live {
		if !r.probe && r.refused == nil {
			l.watchers.Notify(r.u)
		}
	}
	for _, r := range live {
		r.done <- r.refused
	}
}

// putBytes records the size of the entries kept.
func putBytes(mb *bolt.Bucket, n int64) error {
	return mb.Put([]byte(bytesKey), binary.BigEndian.AppendUint64(nil, uint64(n)))
}

// trim deletes, oldest first, the entries beyond the count bound, older
// than the age bound or beyond the byte bound (all but the newest), at most
// limit of them (no limit when negative), and returns the new first;
// *bytes is kept up to date.
func (l *Log) trim(lb, ib *bolt.Bucket, first, last uint64, now time.Time, limit int, bytes *int64) (uint64, error) {
	cutoff := now.Add(-l.bounds.MaxAge).UnixNano()
	for ; first <= last && limit != 0; first, limit = first+1, limit-1 {
		k := keyOf(first)
		v := lb.Get(k)
		if v == nil {
			continue
		}
		t, err := entryTime(v)
		if err != nil {
			return first, fmt.Errorf("entry %d: %w", first, err)
		}
		if last-first < uint64(l.bounds.MaxCount) && t >= cutoff && (*bytes <= l.bounds.MaxBytes || first == last) {
			break
		}
		n, err := entrySize(v)
		if err != nil {
			return first, fmt.Errorf("entry %d: %w", first, err)
		}
		id, err := entryID(v)
		if err != nil {
			return first, fmt.Errorf("entry %d: %w", first, err)
		}
		// Files written before ids were unique may hold a reused id,
		// which points at its newest entry: leave that one be.
		if s := ib.Get(id); len(s) == 8 && seqOf(s) == first {
			if err := ib.Delete(id); err != nil {
				return first, err
			}
		}
		if err := lb.Delete(k); err != nil {
			return first, err
		}
		*bytes -= n
	}
	return first, nil
}

// Replay passes fn the updates kept after afterID, up to the newest one
// when Replay started. It reads a few hundred entries per read transaction
// and calls fn outside of it, so a slow fn holds up no commit; an update
// that fn keeps keeps the memory of its chunk alive.
func (l *Log) Replay(ctx context.Context, afterID string, fn func(*store.Update) error) error {
	done := ctx.Done()
	if err := ctx.Err(); err != nil {
		return err
	}
	var (
		started, finished, unknown bool
		next, end                  uint64 // Pos.Lo of the next entry, and of the last
	)
	for !finished {
		// Fresh memory for each chunk, since fn may keep what it gets;
		// one slice of updates and one of topics per chunk rather than
		// one of each per update.
		var (
			chunk  = make([]store.Update, 0, replayChunk)
			topics = make([]string, 0, 2*replayChunk)
		)
		err := l.view(func(tx *bolt.Tx) error {
			lb := tx.Bucket([]byte(logBucket))
			cutoff := l.now().Add(-l.bounds.MaxAge).UnixNano()
			c := lb.Cursor()
			if !started {
				started = true
				k, _ := c.Last()
				if k == nil {
					finished, unknown = true, afterID != store.Earliest
					return nil
				}
				end = seqOf(k)
				k, _ = c.First()
				// The count bound holds here even when trimming lags.
				next = max(seqOf(k), end-min(end, uint64(l.bounds.MaxCount))+1)
				if afterID != store.Earliest {
					// Decided before fn sees anything: an unknown id
					// replays nothing. No entry has the empty id.
					finished, unknown = true, true
					if s := tx.Bucket([]byte(idBucket)).Get([]byte(afterID)); afterID != "" && len(s) == 8 {
						if seq := seqOf(s); seq >= next && seq <= end {
							if t, err := entryTime(lb.Get(s)); err == nil && t >= cutoff {
								next, finished, unknown = seq+1, false, false
							}
						}
					}
					if unknown {
						return nil
					}
				}
			}
			k, v := c.Seek(keyOf(next))
			for n := 0; k != nil && n < replayChunk; n++ {
				seq := seqOf(k)
				if seq > end {
					break
				}
				next = seq + 1
				t, err := entryTime(v)
				if err != nil {
					return fmt.Errorf("entry %d: %w", seq, err)
				}
				if t >= cutoff {
					chunk = chunk[:len(chunk)+1]
					u := &chunk[len(chunk)-1]
					if topics, err = decodeInto(u, v, topics); err != nil {
						return fmt.Errorf("entry %d: %w", seq, err)
					}
					u.Pos = store.Pos{Lo: seq}
				}
				k, v = c.Next()
			}
			finished = k == nil || seqOf(k) > end
			return nil
		})
		if err != nil {
			if errors.Is(err, store.ErrClosed) {
				return err
			}
			return fmt.Errorf("boltstore: replay: %w", err)
		}
		if unknown {
			return store.ErrUnknownID
		}
		for i := range chunk {
			select {
			case <-done:
				return ctx.Err()
			default:
			}
			if err := fn(&chunk[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// view runs fn in a read transaction unless the log is closed.
func (l *Log) view(fn func(*bolt.Tx) error) error {
	l.life.RLock()
	defer l.life.RUnlock()
	if l.closed {
		return store.ErrClosed
	}
	return l.db.View(fn)
}

// Watch calls fn for each update committed from now on, from the committing
// goroutine: fn must return quickly (it holds up every Append) and must not
// call the log, nor stop.
//
// A goroutine per Watch waits for ctx, Close or stop to unregister fn.
func (l *Log) Watch(ctx context.Context, fn func(*store.Update)) (stop func(), err error) {
	select {
	case <-l.closing:
		return nil, store.ErrClosed
	default:
	}
	return l.watchers.Watch(ctx, fn)
}

// Last reads the newest entry kept: the file's last key, unless the age
// bound has expired it (and so every older one).
func (l *Log) Last(ctx context.Context) (id string, pos store.Pos, err error) {
	if err := ctx.Err(); err != nil {
		return "", store.Pos{}, err
	}
	err = l.view(func(tx *bolt.Tx) error {
		k, v := tx.Bucket([]byte(logBucket)).Cursor().Last()
		if k == nil {
			return nil
		}
		t, err := entryTime(v)
		if err != nil {
			return fmt.Errorf("entry %d: %w", seqOf(k), err)
		}
		if t < l.now().Add(-l.bounds.MaxAge).UnixNano() {
			return nil
		}
		b, err := entryID(v)
		if err != nil {
			return fmt.Errorf("entry %d: %w", seqOf(k), err)
		}
		id, pos = string(b), store.Pos{Lo: seqOf(k)}
		return nil
	})
	if err != nil {
		if errors.Is(err, store.ErrClosed) {
			return "", store.Pos{}, err
		}
		return "", store.Pos{}, fmt.Errorf("boltstore: last: %w", err)
	}
	return id, pos, nil
}

// LastUpdate reads the newest entry kept, unless the age bound has expired
// it, or returns nil.
func (l *Log) LastUpdate(ctx context.Context) (*store.Update, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var u *store.Update
	err := l.view(func(tx *bolt.Tx) error {
		k, v := tx.Bucket([]byte(logBucket)).Cursor().Last()
		if k == nil {
			return nil
		}
		t, err := entryTime(v)
		if err != nil {
			return fmt.Errorf("entry %d: %w", seqOf(k), err)
		}
		if t < l.now().Add(-l.bounds.MaxAge).UnixNano() {
			return nil
		}
		if u, err = decode(v); err != nil {
			return fmt.Errorf("entry %d: %w", seqOf(k), err)
		}
		u.Pos = store.Pos{Lo: seqOf(k)}
		return nil
	})
	if err != nil {
		if errors.Is(err, store.ErrClosed) {
			return nil, err
		}
		return nil, fmt.Errorf("boltstore: last update: %w", err)
	}
	return u, nil
}

// Ready commits an empty transaction, which proves that the file is open
// and can be written and synced; it returns why not otherwise.
func (l *Log) Ready(ctx context.Context) error {
	r := &request{ctx: ctx, probe: true, done: make(chan error, 1)}
	if err := l.do(ctx, r); err != nil {
		return fmt.Errorf("boltstore: %s not writable: %w", l.path, err)
	}
	return nil
}

// Close commits the appends already waiting (and passes them to the
// watchers), stops every watcher and closes the file: once it returns, no fn
// runs. Later calls return the first call's result.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		close(l.closing)
		<-l.stopped
		l.watchers.Close()
		l.life.Lock()
		l.closed = true
		err := l.db.Close()
		l.life.Unlock()
		if err != nil {
			l.closeErr = fmt.Errorf("boltstore: close %s: %w", l.path, err)
		}
	})
	return l.closeErr
}

var (
	_ store.Log         = (*Log)(nil)
	_ store.LastUpdater = (*Log)(nil)
)

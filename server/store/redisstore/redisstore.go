// Package redisstore is a replay log in Redis Streams, shared by every
// polysse node that uses the same Redis: an update published on any node
// reaches subscribers on all of them, and a client that reconnects to
// another node with its last event id gets exactly what it missed.
//
// # Layout
//
// All nodes share one stream, "{PREFIX}:stream" (PREFIX is "polysse"
// unless WithPrefix says otherwise), whatever the topics. Entry ids are
// Redis's "ms-seq" ids, and they are the event ids of updates published
// without one, so a cursor means the same on every node; Pos is {Hi: ms,
// Lo: seq} and Update.Time the ms part, Redis's clock. An update published
// with its own id (Mercure allows it) keeps that id in its entry, and the
// sorted set "{PREFIX}:ids" scores it by the millisecond of its newest entry,
// so that it works as a resume cursor on every node; each publish with an
// id drops from it the ids older than the stream's first entry. The braces are a Cluster hash tag: the keys live in
// one slot, so the Lua scripts that touch them work there too.
//
// One global stream rather than one per topic: the log has one order and
// one cursor, and measuring both layouts says the same (BenchmarkLayout:
// redis-server 7.0 on the same 2-core machine, 10,000 updates with two
// topics each, over 100 book topics and 10 shelf topics; run it with
// go test -run '^$' -bench Layout -benchtime 3000x -v):
//
//	                                      global stream        one stream per topic
//	publish (round trips, Redis commands) 1, 3    27 µs        1, 6      36 µs
//	Redis memory per update               143 B                280 B (a copy per topic)
//	live read per publish (XREAD keys)    1 key   51 µs        110 keys 163 µs, 1,000 keys 529 µs
//	replay 1,000 updates back, for a
//	connection with 1 / 5 / 50 topics     1.0 / 1.0 / 1.0 ms   0.05 / 0.09 / 0.83 ms
//
// Per topic wins only the replay of a connection with few topics, which
// happens once per reconnection; it loses on every publish, on every live
// delivery (a node's XREAD names every topic its subscribers use, again at
// each wake-up), and in memory. It also needs a shared counter so that a
// cursor means one place in one order, it cannot serve subscriptions by URI
// template or "*" (no key to read), and in a Cluster its streams would sit
// in different slots, so a publish would cost a round trip per topic. The
// global stream reads everything after a cursor and the hub filters it
// (Replay's fn), which costs about 1 µs per update skipped.
//
// # Bounds
//
// Appends trim with XADD MAXLEN ~ (count) and XTRIM MINID ~ (age), which
// free whole stream nodes only and cost next to nothing, and by bytes with
// XDEL of the oldest entries (each entry carries the running total of the
// sizes appended, kept in "{PREFIX}:bytes", and its own size, so what the
// stream holds is known without a scan); Replay and Last
// apply the bounds exactly, so they never return an update beyond the
// count or older than MaxAge, even while trimming lags. Every node using a
// stream should have the same bounds: each trims to its own.
//
// # URLs
//
// Open takes one of:
//
//	redis://[user:password@]host[:port][/db][?option=value&...]
//	rediss://...                   the same over TLS (skip_verify=true to not verify)
//	unix://[user:password@]/path/to/redis.sock[?db=N&...]
//	redis-sentinel://[user:password@]host1[:port1][,host2[:port2]...]/master[/db][?...]
//	rediss-sentinel://...          the same over TLS
//	redis://[sentinel-user:sentinel-password@]host[:port]?master_name=master[&addr=host2:port2...]
//	redis-cluster://[user:password@]host1[:port1][,host2[:port2]...][?...]
//	rediss-cluster://...           the same over TLS
//
// The options are go-redis's, in snake case (dial_timeout=2s, pool_size=20,
// max_retries=2, ...): see redis.ParseURL, redis.ParseFailoverURL and
// redis.ParseClusterURL. In the redis-sentinel form the user and password
// are the data nodes', the sentinels' go in sentinel_username and
// sentinel_password, and the port defaults to 26379; the plain redis://
// form with master_name is go-redis's own, where the user and password are
// the sentinels' and username and password options are the data nodes'.
// Sentinel replication is asynchronous: updates acknowledged just before a
// failover may be lost with the old master.
//
// Two go-redis defaults change unless the URL sets them: max_retries is -1
// (no retries), because a retried append whose reply was lost would store
// the update twice; and deadlines from contexts bound every command
// (context_timeout_enabled), which is what keeps an Append within its
// timeout when Redis does not answer.
//
// # Faults
//
// When Redis is unreachable, Append fails within WithTimeout (2 s by
// default) with the reason, and nothing it did not store is acknowledged;
// Ready fails too. Watchers keep going: the reader goroutine reconnects
// with capped, jittered backoff, logs once when Redis goes away and once
// when it is back, and resumes from the last entry it delivered, so nothing
// kept in the meantime is missed.
//
// go-redis logs by itself too, process-wide and once per failed dial: see
// DriverLogger.
//
// Updates that Replay and Watch pass to their callbacks are fresh copies
// that the log never modifies: callbacks may keep them but must not modify
// them (every watcher gets the same copy).
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polysse/polysse/server/store"
)

// Defaults for the options.
const (
	DefaultPrefix       = "polysse"
	DefaultTimeout      = 2 * time.Second
	DefaultBlockTimeout = 5 * time.Second
	DefaultMinBackoff   = 100 * time.Millisecond
	DefaultMaxBackoff   = 5 * time.Second
)

// replayChunk is how many entries one XRANGE of Replay reads: large enough
// that a long replay takes few round trips, small enough that neither Redis
// nor the node holds much at once.
const replayChunk = 512

// Log is a store.Log in a Redis stream. Create it with Open.
type Log struct {
	rdb    redis.UniversalClient
	where  string // the Redis servers, for messages (never a password)
	bounds store.Bounds
	cfg    config

	// Keys, all with the same hash tag.
	stream, ids, bytes           string
	maxCount, maxAgeMs, maxBytes string // script arguments

	closed  atomic.Bool
	ctx     context.Context // canceled by Close: ends the reader
	cancel  context.CancelFunc
	closing sync.Once

	// mu guards watchers and reader, and is held by the reader while it
	// calls watchers: removing one under mu is what guarantees that, once
	// removed, its fn is not running.
	mu       sync.Mutex
	watchers []*watcher
	reader   chan struct{} // closed when the reader goroutine ends; nil until the first Watch
}

type watcher struct {
	fn    func(*store.Update)
	after store.Pos // the newest entry when it registered: it gets only later ones
}

// Option configures a Log.
type Option func(*config)

type config struct {
	prefix     string
	logger     *slog.Logger
	timeout    time.Duration
	block      time.Duration
	minBackoff time.Duration
	maxBackoff time.Duration
}

// WithPrefix sets the prefix of the log's keys ("polysse" by default): logs
// with different prefixes on one Redis are independent. An empty prefix
// keeps the default: "{}" is no Cluster hash tag.
func WithPrefix(p string) Option {
	return func(c *config) {
		if p != "" {
			c.prefix = p
		}
	}
}

// WithLogger sets where the log reports that Redis went away and came back
// (slog.Default by default).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithTimeout bounds each call to Redis that Open, Append, Replay (per
// chunk), Last, Ready and Watch make, on top of their context (2 s by
// default): a Redis that does not answer makes them fail rather than hang.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithBlockTimeout sets how long the reader's XREAD BLOCK waits for new
// entries before asking again (5 s by default). go-redis gives up on a
// blocked read that long plus 10 s later, which is how a Redis lost without
// the connection breaking is noticed.
func WithBlockTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.block = d
		}
	}
}

// WithReconnectBackoff sets how long the reader waits before trying Redis
// again after a failure: lo at first, doubling up to hi, each wait
// jittered (100 ms and 5 s by default).
func WithReconnectBackoff(lo, hi time.Duration) Option {
	return func(c *config) {
		if lo > 0 {
			c.minBackoff = lo
		}
		if hi > 0 {
			c.maxBackoff = hi
		}
		c.maxBackoff = max(c.maxBackoff, c.minBackoff)
	}
}

// Open connects to the Redis that rawURL names (see the package doc for the
// forms) and returns a log in it that keeps what b allows (zero fields
// mean the store package's defaults). It fails when Redis does not answer
// within the timeout. Close closes the connections.
func Open(ctx context.Context, rawURL string, b store.Bounds, opts ...Option) (*Log, error) {
	c := config{
		prefix:     DefaultPrefix,
		logger:     slog.Default(),
		timeout:    DefaultTimeout,
		block:      DefaultBlockTimeout,
		minBackoff: DefaultMinBackoff,
		maxBackoff: DefaultMaxBackoff,
	}
	for _, o := range opts {
		o(&c)
	}
	co, err := parseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redisstore: open: %w", err)
	}
	b = b.WithDefaults()
	tag := "{" + c.prefix + "}:"
	l := &Log{
		rdb:      co.client(),
		where:    co.where,
		bounds:   b,
		cfg:      c,
		stream:   tag + "stream",
		ids:      tag + "ids",
		bytes:    tag + "bytes",
		maxBytes: strconv.FormatInt(b.MaxBytes, 10),
		maxCount: strconv.Itoa(b.MaxCount),
		maxAgeMs: strconv.FormatInt(max(b.MaxAge.Milliseconds(), 1), 10),
	}
	if err := l.call(ctx, func(ctx context.Context) error { return l.rdb.Ping(ctx).Err() }); err != nil {
		l.rdb.Close()
		return nil, fmt.Errorf("redisstore: open: %s: %w", l.where, err)
	}
	// Appends trim at most 100 stream nodes each (XADD's default LIMIT), and
	// the replay script walks what lies beyond the count bound: after the
	// bound was lowered, that could be most of the stream for a while. One
	// trim without a LIMIT now frees it all (whole nodes, cheap for Redis).
	err = l.call(ctx, func(ctx context.Context) error {
		return l.rdb.Do(ctx, "XTRIM", l.stream, "MAXLEN", "~", b.MaxCount, "LIMIT", 0).Err()
	})
	if err != nil {
		l.rdb.Close()
		return nil, fmt.Errorf("redisstore: open: trim %s: %s: %w", l.stream, l.where, err)
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	return l, nil
}

// call runs op with ctx bounded by the log's timeout, and says so when that
// timeout is why it failed.
func (l *Log) call(ctx context.Context, op func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tctx, cancel := context.WithTimeout(ctx, l.cfg.timeout)
	defer cancel()
	err := op(tctx)
	if err == nil {
		return nil
	}
	// Socket deadlines are the contexts': a read may fail a moment before
	// the context's own timer fires, so the deadlines are compared too.
	now := time.Now()
	if d, ok := ctx.Deadline(); ctx.Err() != nil || (ok && !now.Before(d)) {
		// The caller gave up: say so first, as other logs do.
		cerr := ctx.Err()
		if cerr == nil {
			cerr = context.DeadlineExceeded
		}
		if errors.Is(err, cerr) {
			return err
		}
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	if d, _ := tctx.Deadline(); tctx.Err() != nil || !now.Before(d) {
		return fmt.Errorf("no answer within %v: %w", l.cfg.timeout, err)
	}
	return err
}

// failed wraps err from an operation on the log: ErrClosed when the log was
// closed under it (go-redis then says only that its client is closed).
func (l *Log) failed(op string, err error) error {
	if l.closed.Load() {
		return fmt.Errorf("redisstore: %s: %w", op, store.ErrClosed)
	}
	return fmt.Errorf("redisstore: %s: %s: %w", op, l.where, err)
}

// Append stores u in the stream, trims it, and returns once Redis has
// answered: u is then in Redis's memory, and survives a Redis crash as
// Redis's persistence settings promise (appendonly, appendfsync). With an
// error, u was not stored (or, when ctx ended first or the answer was lost,
// may have been). It does not wait for watchers: u reaches them, on this
// node as on others, through the reader.
func (l *Log) Append(ctx context.Context, u *store.Update) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: append: %w", err)
	}
	if l.closed.Load() {
		return fmt.Errorf("redisstore: append: %w", store.ErrClosed)
	}
	payload := encodePayload(u)
	var id string
	err := l.call(ctx, func(ctx context.Context) error {
		var err error
		id, err = appendScript.Run(ctx, l.rdb,
			[]string{l.stream, l.ids, l.bytes},
			l.maxCount, l.maxAgeMs, payload, u.Event.ID, l.maxBytes, store.Size(u)).Text()
		return err
	})
	if err != nil {
		var reply redis.Error
		switch {
		case errors.As(err, &reply) && strings.Contains(reply.Error(), errDuplicateReply):
			return fmt.Errorf("redisstore: append: %w", store.ErrDuplicateID)
		case mayHaveRun(err):
			return l.failed("append", fmt.Errorf("%w: %w", store.ErrMaybeStored, err))
		}
		return l.failed("append", err)
	}
	pos, ok := parseEntryID(id)
	if !ok {
		return fmt.Errorf("redisstore: append: %s answered %q, not an entry id", l.where, id)
	}
	if u.Event.ID == "" {
		u.Event.ID = id
	}
	u.Pos, u.Time = pos, entryTime(pos)
	return nil
}

// mayHaveRun reports whether a command that failed with err may have run
// all the same: Redis refused it (an error reply) or it never left (the
// connection could not be made) only when it surely did not.
func mayHaveRun(err error) bool {
	var reply redis.Error
	if errors.As(err, &reply) {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	return !errors.Is(err, redis.ErrClosed) && !errors.Is(err, store.ErrClosed)
}

// head is what headScript answers.
type head struct {
	status    string
	cutoff    uint64 // entries whose ms part is below it are expired
	last      string // entry id of the newest entry
	lastGiven string // its publisher id, if any
	start     string // replay starts after it (from it for Earliest)
}

func (l *Log) head(ctx context.Context, cursor string) (head, error) {
	asEntry := "0"
	if _, ok := parseEntryID(cursor); ok {
		asEntry = "1"
	}
	var res []any
	err := l.call(ctx, func(ctx context.Context) error {
		var err error
		res, err = headScript.Run(ctx, l.rdb, []string{l.stream, l.ids},
			l.maxCount, l.maxAgeMs, cursor, asEntry).Slice()
		return err
	})
	if err != nil {
		return head{}, err
	}
	var h head
	strs := make([]string, 5)
	for i := range min(len(res), len(strs)) {
		switch v := res[i].(type) {
		case string:
			strs[i] = v
		case int64:
			strs[i] = strconv.FormatInt(v, 10)
		}
	}
	h.status, h.last, h.lastGiven, h.start = strs[0], strs[2], strs[3], strs[4]
	cutoff, err := strconv.ParseInt(strs[1], 10, 64)
	if err != nil || (h.status == "ok" && len(res) != 5) {
		return head{}, fmt.Errorf("unexpected answer %v", res)
	}
	h.cutoff = uint64(max(cutoff, 0))
	return h, nil
}

// Replay passes fn the updates kept after afterID, up to the newest one
// when Replay started, reading them 512 at a time (one XRANGE each, after
// one script call that resolves the cursor); fn runs between reads, never
// while a call to Redis is under way.
func (l *Log) Replay(ctx context.Context, afterID string, fn func(*store.Update) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if l.closed.Load() {
		return store.ErrClosed
	}
	if afterID == "" {
		// No entry has the empty id, and the script takes "" for Last.
		return store.ErrUnknownID
	}
	h, err := l.head(ctx, afterID)
	if err != nil {
		return l.failed("replay", err)
	}
	switch {
	case h.status == "unknown" || (h.status == "empty" && afterID != store.Earliest):
		return store.ErrUnknownID
	case h.status == "empty":
		return nil
	case h.status != "ok":
		return l.failed("replay", fmt.Errorf("unexpected status %q", h.status))
	}

	from := "(" + h.start
	if afterID == store.Earliest {
		from = h.start
	}
	if h.start == h.last && afterID != store.Earliest {
		return nil // the common resume of a client that missed nothing
	}
	var ups []*store.Update
	for {
		var msgs []redis.XMessage
		err := l.call(ctx, func(ctx context.Context) error {
			var err error
			msgs, err = l.rdb.XRangeN(ctx, l.stream, from, h.last, replayChunk).Result()
			return err
		})
		if err != nil {
			return l.failed("replay", err)
		}
		ups = ups[:0]
		for _, m := range msgs {
			u, err := decodeEntry(m.ID, m.Values)
			if err != nil {
				l.cfg.logger.Warn("redisstore: skipping an entry that is not an update", "key", l.stream, "err", err)
				continue
			}
			if u.Pos.Hi < h.cutoff {
				continue // expired, and trimming has not caught up yet
			}
			ups = append(ups, u)
		}
		if err := store.Feed(ctx, ups, fn); err != nil {
			return err
		}
		clear(ups)
		if len(msgs) < replayChunk || msgs[len(msgs)-1].ID == h.last {
			return nil
		}
		from = "(" + msgs[len(msgs)-1].ID
	}
}

// Last returns the newest entry, unless the age bound has expired it (and
// so every older one).
func (l *Log) Last(ctx context.Context) (id string, pos store.Pos, err error) {
	if err := ctx.Err(); err != nil {
		return "", store.Pos{}, err
	}
	if l.closed.Load() {
		return "", store.Pos{}, store.ErrClosed
	}
	h, err := l.head(ctx, "")
	if err != nil {
		return "", store.Pos{}, l.failed("last", err)
	}
	if h.status != "ok" {
		return "", store.Pos{}, nil
	}
	pos, ok := parseEntryID(h.last)
	if !ok {
		return "", store.Pos{}, l.failed("last", fmt.Errorf("bad entry id %q", h.last))
	}
	id = h.last
	if h.lastGiven != "" {
		id = h.lastGiven
	}
	return id, pos, nil
}

// LastUpdate returns the newest update kept (as Last finds it), or nil.
func (l *Log) LastUpdate(ctx context.Context) (*store.Update, error) {
	id, pos, err := l.Last(ctx)
	if err != nil || id == "" {
		return nil, err
	}
	entry := strconv.FormatUint(pos.Hi, 10) + "-" + strconv.FormatUint(pos.Lo, 10)
	var msgs []redis.XMessage
	err = l.call(ctx, func(ctx context.Context) error {
		var err error
		msgs, err = l.rdb.XRangeN(ctx, l.stream, entry, entry, 1).Result()
		return err
	})
	if err != nil {
		return nil, l.failed("last update", err)
	}
	if len(msgs) == 0 {
		return nil, nil // trimmed meanwhile
	}
	u, err := decodeEntry(msgs[0].ID, msgs[0].Values)
	if err != nil {
		return nil, l.failed("last update", err)
	}
	return u, nil
}

// Ready returns nil when Redis answers PING within the timeout, and why not
// otherwise.
func (l *Log) Ready(ctx context.Context) error {
	if l.closed.Load() {
		return store.ErrClosed
	}
	err := l.call(ctx, func(ctx context.Context) error { return l.rdb.Ping(ctx).Err() })
	if err != nil {
		return l.failed("not ready", err)
	}
	return nil
}

// Close stops the reader and every watcher, and closes the connections to
// Redis: once it returns, no fn runs. Later calls do nothing.
func (l *Log) Close() error {
	var err error
	l.closing.Do(func() {
		l.mu.Lock()
		l.closed.Store(true)
		reader := l.reader
		l.mu.Unlock()
		l.cancel()
		// Closing the client breaks the reader's blocked XREAD, which no
		// context cancellation does.
		if cerr := l.rdb.Close(); cerr != nil && !errors.Is(cerr, redis.ErrClosed) {
			err = fmt.Errorf("redisstore: close: %w", cerr)
		}
		if reader != nil {
			<-reader
		}
		l.mu.Lock()
		l.watchers = nil
		l.mu.Unlock()
	})
	return err
}

var (
	_ store.Log         = (*Log)(nil)
	_ store.LastUpdater = (*Log)(nil)
)

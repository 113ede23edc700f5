package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/internal/hijack"
	"github.com/polysse/polysse/server/internal/queue"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/memstore"
	"github.com/polysse/polysse/server/topic"
	"github.com/polysse/polysse/sse"
)

// Defaults for the zero fields of Config.
const (
	DefaultHeartbeat       = 15 * time.Second
	DefaultRetry           = 3 * time.Second
	DefaultPollTimeout     = 25 * time.Second
	DefaultPollRetry       = 10 * time.Millisecond
	DefaultWriteTimeout    = 30 * time.Second
	DefaultMaxPublishBytes = 1 << 20
	DefaultMaxEventBytes   = 512 << 10
	DefaultMaxTopics       = 64
	DefaultMaxTemplateVars = 64
	DefaultMaxQueueBytes   = 4 << 20
	DefaultMaxSubscribers  = 100_000 // the most MaxSubscribers is derived to
	DefaultPadding         = 2048
)

// Config configures a Hub. The zero value is usable: an in-memory log,
// anonymous subscribers refused and HTTP publishing refused (no keys).
type Config struct {
	// Log is the replay log; nil means an in-memory ring with default
	// bounds, owned and closed by the hub.
	Log store.Log
	// PublisherKey verifies publishers' tokens; nil refuses HTTP publishing.
	PublisherKey *auth.Verifier
	// SubscriberKey verifies subscribers' tokens; nil ignores them, so only
	// anonymous subscriptions (if allowed) are possible.
	SubscriberKey *auth.Verifier
	// AccessTokens verifies the access tokens of Mercure draft-08 clients
	// (RFC 9068 JWTs with authorization_details); nil refuses them. The
	// draft-07 keys above keep serving draft-07 clients at the same time.
	AccessTokens *auth.AccessVerifier
	// HubURL is the hub's public URL (draft-08: the base of relative
	// topics and URL patterns, and the path of its reserved namespace);
	// empty means the access tokens' audience when it is an http(s) URL,
	// else the URL each request reached the hub at.
	HubURL string
	// Subscriptions turns on Mercure's active subscriptions: an update
	// when a subscription starts and ends, and the subscriptions API under
	// the hub's path (see subscriptions.go).
	Subscriptions bool
	// Registry keeps the active subscriptions the API lists; nil means one
	// in memory, for one node. Nodes sharing a log share a registry too
	// (see server/cluster).
	Registry Registry
	// AllowAnonymous lets subscribers without a token receive public updates.
	AllowAnonymous bool
	// CORSOrigins lists the origins granted CORS, with credentials; "*"
	// grants every origin, without credentials.
	CORSOrigins []string
	// PublishOrigins lists the origins whose pages may publish with the
	// mercureAuthorization cookie ("*" for any), as Mercure's
	// publish_origins: a publish authorized by the cookie from another
	// origin, or without an Origin (or Referer), is refused with 403.
	// Publishes with a token in the Authorization header are not concerned.
	PublishOrigins []string
	// Heartbeat is the idle time after which a comment keeps a stream alive;
	// negative disables heartbeats.
	Heartbeat time.Duration
	// Retry is the reconnection time sent at the start of every stream.
	Retry time.Duration
	// PollTimeout bounds how long a long-poll request waits for an event.
	PollTimeout time.Duration
	// PollRetry is the reconnection time that ends a long-poll response.
	PollRetry time.Duration
	// WriteTimeout bounds one write to a subscriber; a client that does not
	// read for that long is cut off.
	WriteTimeout time.Duration
	// MaxPublishBytes bounds a publish request's body (413 beyond).
	MaxPublishBytes int64
	// MaxEventBytes bounds one event's data, id and type (413 beyond).
	MaxEventBytes int
	// MaxTopics bounds the topic parameters of one subscription.
	MaxTopics int
	// MaxTemplateVariables bounds the variables of the URI templates one
	// subscription names, together, weighed by what they cost to match on
	// every publish (topic.Variables: 1 alone in an expression, 2 among
	// several, 4 exploded); 400 beyond.
	MaxTemplateVariables int
	// MaxQueueBytes bounds what may wait for one subscriber; beyond it the
	// subscriber is cut off and resumes from the replay log.
	MaxQueueBytes int
	// MaxSubscribers bounds the subscriptions open at once (streams held
	// with HoldStream count too); beyond it a subscribe is answered 503
	// with Retry-After, so a client retries later (or on another node)
	// instead of exhausting the process. Zero derives it from the
	// process's open-file limit, leaving a tenth of it (at least 64) for
	// everything else, up to DefaultMaxSubscribers.
	MaxSubscribers int
	// MaxSubscribersPerClient bounds the subscriptions of one client: one
	// remote address, and one token subject; beyond it, 429 with
	// Retry-After. Zero means a tenth of MaxSubscribers, at least 16; a
	// negative value, no limit. Behind a reverse proxy every client has
	// the proxy's address: raise it there, or turn it off.
	MaxSubscribersPerClient int
	// Logger receives the hub's logs; nil means slog.Default().
	Logger *slog.Logger
	// DisableHijack keeps every stream on the ordinary handler path, one
	// goroutine per stream. By default an HTTP/1.1 stream's connection is
	// taken over once the request is accepted and served by a few shared
	// writers (see hijacked.go), which is what lets one process hold tens of
	// thousands of idle streams in a few kilobytes each.
	DisableHijack bool
	// Writers is the number of writer goroutines of the hijacked path;
	// zero means GOMAXPROCS.
	Writers int
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Heartbeat, DefaultHeartbeat)
	def(&c.Retry, DefaultRetry)
	def(&c.PollTimeout, DefaultPollTimeout)
	def(&c.PollRetry, DefaultPollRetry)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	if c.MaxPublishBytes <= 0 {
		c.MaxPublishBytes = DefaultMaxPublishBytes
	}
	if c.MaxEventBytes <= 0 {
		c.MaxEventBytes = DefaultMaxEventBytes
	}
	if c.MaxTopics <= 0 {
		c.MaxTopics = DefaultMaxTopics
	}
	if c.MaxTemplateVariables <= 0 {
		c.MaxTemplateVariables = DefaultMaxTemplateVars
	}
	if c.MaxSubscribers <= 0 {
		c.MaxSubscribers = capFromFileLimit(openFileLimit())
	}
	if c.MaxSubscribersPerClient == 0 {
		c.MaxSubscribersPerClient = max(16, c.MaxSubscribers/10)
	}
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// matcherCacheBytes bounds each of the caches of the matcher that answers
// publishers' claims.
const matcherCacheBytes = 8 << 20

// Hub is the publish/subscribe hub. Create it with New, serve it with
// ServeHTTP, and stop it with Shutdown then Close.
type Hub struct {
	cfg    Config
	log    store.Log
	ownLog bool
	// matcher answers publishers' claims; subscriptions keep theirs in sels.
	matcher *topic.Matcher
	sels    *selectorSet
	// selectors compiles draft-08 matchers, sharing URL patterns.
	selectors *topic.Matcher08Cache
	// epoch numbers fan-outs, for sharedSelector.matches.
	epoch atomic.Uint64
	// refused is the log's last refusal of an append, nil once one is
	// accepted (see Ready).
	refused  atomic.Pointer[refusal]
	logger   *slog.Logger
	counters *counters

	mu   sync.RWMutex
	subs map[*subscriber]struct{}
	// open counts the streams held against MaxSubscribers (subs, and
	// HoldStream's), perClient those of each client key (see clientKeys).
	open      int
	perClient map[string]int
	// last is the newest update the fan-out has seen; a new subscriber's
	// cursor, so that a stream that drops before its first event resumes
	// without a gap.
	last atomic.Pointer[cursor]

	// hijacked writes the hijacked HTTP/1.1 streams.
	hijacked *hijack.Pool
	// registry lists active subscriptions; nil unless Config.Subscriptions.
	registry Registry
	// announcing counts the subscription-end announcements under way.
	announcing sync.WaitGroup
	// ids names draft-08 updates published without an id: draft-08 wants
	// an IRI, which not every log generates (Redis's are stream ids).
	ids store.IDGen

	stopWatch func()
	drain     chan struct{}
	drainOnce sync.Once
	closeOnce sync.Once
	// serving counts the subscriptions not yet released, which Shutdown
	// waits for.
	serving sync.WaitGroup
}

type cursor struct {
	id  string
	pos store.Pos
	// known says whether the update's routing is known: not for the
	// newest update read from the log at start.
	known   bool
	private bool
	topics  []string
	// public is the newest cursor of a public update at or before this
	// one, or nil: what a subscriber who may not know this one's id gets.
	public *cursor
}

// New returns a hub that serves cfg. It starts watching the log at once, so
// every update appended after New returns reaches live subscribers.
func New(ctx context.Context, cfg Config) (*Hub, error) {
	cfg = cfg.withDefaults()
	h := &Hub{
		cfg:       cfg,
		log:       cfg.Log,
		matcher:   topic.NewMatcher(matcherCacheBytes),
		sels:      newSelectorSet(),
		selectors: topic.NewMatcher08Cache(matcherCacheBytes),
		logger:    cfg.Logger,
		counters:  newCounters(),
		subs:      make(map[*subscriber]struct{}),
		perClient: make(map[string]int),
		drain:     make(chan struct{}),
	}
	if h.log == nil {
		h.log = memstore.New(store.Bounds{})
		h.ownLog = true
	}
	stop, err := h.log.Watch(ctx, h.fanout)
	if err != nil {
		return nil, fmt.Errorf("server: watch log: %w", err)
	}
	h.stopWatch = stop
	if err := h.readHead(ctx); err != nil {
		stop()
		return nil, fmt.Errorf("server: read log head: %w", err)
	}
	writers := cfg.Writers
	if writers <= 0 {
		writers = runtime.GOMAXPROCS(0)
	}
	h.hijacked = newHijackPool(h, writers)
	if cfg.Subscriptions {
		h.registry = cfg.Registry
		if h.registry == nil {
			h.registry = NewMemoryRegistry()
		}
	}
	return h, nil
}

// readHead sets the hub's cursor to the log's newest update. A log that
// gives only its id leaves whether subscribers may know it unknown: they
// get no cursor until the next update.
func (h *Hub) readHead(ctx context.Context) error {
	if lu, ok := h.log.(store.LastUpdater); ok {
		u, err := lu.LastUpdate(ctx)
		if err == nil && u != nil {
			h.advance(&cursor{id: u.Event.ID, pos: u.Pos, known: true, private: u.Private, topics: u.Topics})
		}
		return err
	}
	id, pos, err := h.log.Last(ctx)
	if err == nil && id != "" {
		h.advance(&cursor{id: id, pos: pos})
	}
	return err
}

// advance moves the hub's cursor forward, never back: Watch and Last may
// race at start.
func (h *Hub) advance(c *cursor) {
	for {
		old := h.last.Load()
		if old != nil && !old.pos.Less(c.pos) {
			return
		}
		switch {
		case c.known && !c.private:
			c.public = c
		case old != nil:
			c.public = old.public
		}
		if h.last.CompareAndSwap(old, c) {
			return
		}
	}
}

// fanout encodes u once and queues it for every subscriber that wants it.
func (h *Hub) fanout(u *store.Update) {
	frame, err := sse.AppendEvent(make([]byte, 0, len(u.Event.Data)+len(u.Event.ID)+len(u.Event.Type)+32), &u.Event)
	if err != nil {
		// Validated at publish; only a foreign writer to a shared log gets here.
		h.logger.Warn("dropping an update that cannot be encoded", "id", u.Event.ID, "err", err)
		return
	}
	d := queue.Delivery{Pos: u.Pos, Frame: frame}
	h.counters.published.Add(1)
	epoch := h.epoch.Add(1)
	h.mu.RLock()
	h.advance(&cursor{id: u.Event.ID, pos: u.Pos, known: true, private: u.Private, topics: u.Topics})
	for s := range h.subs {
		if s.wants(u, epoch) {
			s.queue.Push(d)
		}
	}
	h.mu.RUnlock()
}

// register adds s to the fan-out and returns the cursor it starts after;
// it fails when the hub or the subscriber's client (s.keys) is at its limit.
func (h *Hub) register(s *subscriber) (start *cursor, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.reserveLocked(s.keys); err != nil {
		return nil, err
	}
	h.subs[s] = struct{}{}
	return h.last.Load(), nil
}

func (h *Hub) unregister(s *subscriber) {
	h.mu.Lock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		h.unreserveLocked(s.keys)
	}
	h.mu.Unlock()
}

// Subscribers returns the number of open subscriptions.
func (h *Hub) Subscribers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs)
}

// Publish validates u, appends it to the log and returns its event id once
// the log has stored it. It needs no token: it is for programs that embed
// the hub. The update reaches subscribers through the log's Watch.
func (h *Hub) Publish(ctx context.Context, u *store.Update) (string, error) {
	if err := h.validate(u); err != nil {
		return "", err
	}
	if err := h.store(ctx, u); err != nil {
		return "", fmt.Errorf("server: publish: %w", err)
	}
	return u.Event.ID, nil
}

// store appends a validated update to the log, timing and counting it.
func (h *Hub) store(ctx context.Context, u *store.Update) error {
	start := time.Now()
	if err := h.log.Append(ctx, u); err != nil {
		h.counters.publishFailures.Add(1)
		if !errors.Is(err, store.ErrDuplicateID) && ctx.Err() == nil {
			h.refused.Store(&refusal{err: err, at: time.Now()})
		}
		return err
	}
	h.refused.Store(nil)
	h.counters.observePublish(start)
	return nil
}

// refusedHold is how long after the log refused an append, with none
// accepted since, Ready fails: a log's own probe may pass while its appends
// fail (a full disk still takes an empty transaction), and the hold ends
// so that a node taken out of rotation gets publishes again to try.
const refusedHold = 10 * time.Second

// refusal is the log's last refusal of an append.
type refusal struct {
	err error
	at  time.Time
}

// ErrInvalidUpdate wraps every reason Publish refuses an update for.
var ErrInvalidUpdate = errors.New("invalid update")

// errTooLarge marks an update refused for its size (413 over HTTP).
var errTooLarge = errors.New("too large")

func (h *Hub) validate(u *store.Update) error {
	if len(u.Topics) == 0 {
		return fmt.Errorf("%w: at least one topic is required", ErrInvalidUpdate)
	}
	for _, t := range u.Topics {
		if t == "" {
			return fmt.Errorf("%w: empty topic", ErrInvalidUpdate)
		}
		if len(t) > topic.MaxLength {
			return fmt.Errorf("%w: topic longer than %d bytes", ErrInvalidUpdate, topic.MaxLength)
		}
	}
	if err := sse.ValidateID(u.Event.ID); err != nil {
		return fmt.Errorf("%w: id: %w", ErrInvalidUpdate, err)
	}
	if u.Event.ID == store.Earliest {
		return fmt.Errorf("%w: id %q is reserved", ErrInvalidUpdate, store.Earliest)
	}
	if err := sse.ValidateType(u.Event.Type); err != nil {
		return fmt.Errorf("%w: type: %w", ErrInvalidUpdate, err)
	}
	if u.Event.Retry < 0 {
		return fmt.Errorf("%w: retry must not be negative", ErrInvalidUpdate)
	}
	if n := len(u.Event.Data) + len(u.Event.ID) + len(u.Event.Type); n > h.cfg.MaxEventBytes {
		return fmt.Errorf("%w: %w: event of %d bytes exceeds the limit of %d", ErrInvalidUpdate, errTooLarge, n, h.cfg.MaxEventBytes)
	}
	return nil
}

// Ready reports whether the hub can take publishes: it is not draining, its
// log is ready, and the log has not refused an append in the last ten
// seconds without accepting one since (a full disk, Redis down).
func (h *Hub) Ready(ctx context.Context) error {
	select {
	case <-h.drain:
		return errors.New("server: draining")
	default:
	}
	if r := h.refused.Load(); r != nil && time.Since(r.at) < refusedHold {
		return fmt.Errorf("server: the log refused an append %v ago: %w", time.Since(r.at).Round(time.Millisecond), r.err)
	}
	return h.log.Ready(ctx)
}

// Shutdown ends every open stream so that clients reconnect (to another
// node, or to this one once restarted) and waits for their handlers to
// return, or for ctx. New subscriptions are refused from then on.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.drainOnce.Do(func() { close(h.drain) })
	h.hijacked.Drain()
	done := make(chan struct{})
	go func() { h.serving.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("server: shutdown: %w", ctx.Err())
	}
}

// Close stops watching the log, and closes it if the hub created it.
func (h *Hub) Close() error {
	h.drainOnce.Do(func() { close(h.drain) })
	h.announcing.Wait()
	h.stopWatch()
	h.closeOnce.Do(h.hijacked.Stop)
	if h.ownLog {
		if err := h.log.Close(); err != nil {
			return fmt.Errorf("server: close log: %w", err)
		}
	}
	return nil
}

// ServeHTTP serves subscriptions (GET), publishes (POST) and CORS
// preflights (OPTIONS) on whatever path the hub is mounted at.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.cors(w, r)
	if h.registry != nil && r.Method != http.MethodOptions {
		if hubPath, rest, ok := subscriptionsAPIPath(r.URL.EscapedPath()); ok {
			h.serveSubscriptionsAPI(w, r, hubPath, rest)
			return
		}
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, MethodQuery:
		h.subscribe(w, r)
	case http.MethodPost:
		if h.isDraft08Publish(r) {
			h.publish08(w, r)
			return
		}
		h.publish(w, r)
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, HEAD, QUERY, POST, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

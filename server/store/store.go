// Package store defines the replay log behind the hub: the Update that a
// publisher sends, its position in the log, and the Log interface that the
// in-memory ring, the embedded bbolt file and Redis Streams implement.
//
// A Log both keeps history (for clients that resume with a last event id)
// and carries live updates (Watch), so that on several nodes sharing one
// Redis, an update published on any node reaches subscribers on every node.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/polysse/polysse/sse"
)

// Earliest is the cursor that asks Replay for every update kept.
const Earliest = "earliest"

// ErrUnknownID is returned by Replay when the cursor is not in the log: it
// was trimmed away by the count or age bound, or this log never issued it.
var ErrUnknownID = errors.New("store: last event id not in the log")

// ErrDuplicateID is returned by Append when an update with the same event
// id is in the log: an id names one update, or a publisher allowed one topic
// could reuse the id of another topic's update and make its subscribers
// resume after the wrong one. It also makes a publisher's retry with its own
// id safe: a retry of an update that was stored is refused with it.
var ErrDuplicateID = errors.New("store: an update with this id is already in the log")

// ErrMaybeStored is matched by an Append error after which the update may
// have been stored all the same (the answer was lost or came too late). A
// retry with the same event id is then safe (see ErrDuplicateID); a retry
// of an update without one may store it twice.
var ErrMaybeStored = errors.New("store: the update may have been stored")

// ErrClosed is returned by a Log used after Close.
var ErrClosed = errors.New("store: log closed")

// Update is one published event with what routes it.
type Update struct {
	// Topics holds the canonical topic first, then any alternate topics.
	Topics []string
	// Private updates reach only subscribers authorized for one of Topics.
	Private bool
	// Event is what subscribers receive. Append fills Event.ID when empty.
	Event sse.Event
	// Pos is the update's place in the log, set by Append (or by the log
	// when the update arrives through Watch). Positions only grow.
	Pos Pos
	// Time is when the log stored the update; the age bound uses it.
	Time time.Time
}

// Pos is a position in a log. Local logs use Lo only; Redis Streams uses
// both halves of its "ms-seq" entry ids.
type Pos struct{ Hi, Lo uint64 }

// Less reports whether p comes before q in the log.
func (p Pos) Less(q Pos) bool {
	return p.Hi < q.Hi || (p.Hi == q.Hi && p.Lo < q.Lo)
}

// IsZero reports whether p is unset; no stored update has the zero Pos.
func (p Pos) IsZero() bool { return p.Hi == 0 && p.Lo == 0 }

// Log is the replay log. Implementations are safe for concurrent use.
//
// Updates passed to Replay's and Watch's callbacks may be shared (every
// watcher may get the same one): callbacks must not modify them, and must
// not call the Log, since a log may hold a lock around them.
type Log interface {
	// Append stores u, sets u.Pos and u.Time, and sets u.Event.ID when it
	// is empty. It returns only once u is durable as the log promises (for
	// a file, committed to disk): an update is acknowledged to a publisher
	// only after Append returns nil. When an update with u's event id is
	// kept, it returns ErrDuplicateID and stores nothing. When ctx ends
	// first, Append returns its error, but the update may still be stored
	// and delivered; so may it after an error matching ErrMaybeStored.
	Append(ctx context.Context, u *Update) error

	// Replay calls fn, in log order, for each update kept after the one
	// whose Event.ID is afterID, or for every update kept when afterID is Earliest, up to the
	// newest update kept when Replay started. When afterID is not in the
	// log it returns ErrUnknownID without calling fn: the caller decides
	// whether to replay Earliest. An error from fn stops the replay and is
	// returned; fn is never called once ctx is done.
	Replay(ctx context.Context, afterID string, fn func(*Update) error) error

	// Watch registers fn before it returns, and from then on calls it, in
	// log order, for every update appended, on this node or (for a shared
	// log) any other, until stop is called, ctx is done or the log is
	// closed. fn must return quickly: it is on the path of every publish.
	// After stop returns, fn is not running and is not called again.
	Watch(ctx context.Context, fn func(*Update)) (stop func(), err error)

	// Last returns the event id and position of the newest update kept,
	// or "" and the zero Pos when the log is empty.
	Last(ctx context.Context) (id string, pos Pos, err error)

	// Ready reports whether the log can take appends now (for readiness
	// checks); it returns a reason when it cannot.
	Ready(ctx context.Context) error

	// Close releases the log; it is safe to call twice. Every method fails
	// with ErrClosed afterwards, and watchers are stopped.
	Close() error
}

// LastUpdater is implemented by logs that can return the newest update
// kept, not only its id: the hub reads it at start, so that the cursor it
// gives new subscribers never names a private update they may not see.
type LastUpdater interface {
	// LastUpdate returns the newest update kept, or nil when the log is
	// empty. The update is the caller's.
	LastUpdate(ctx context.Context) (*Update, error)
}

// Bounds limits what a log keeps. Zero values mean the defaults below.
type Bounds struct {
	MaxCount int           // updates kept at most
	MaxAge   time.Duration // updates older than this are dropped
	// MaxBytes bounds the updates kept, each counted as Size says: the
	// oldest are dropped beyond it. The newest update is always kept.
	MaxBytes int64
}

// Default bounds. The byte bound keeps the default count of updates of
// about 2.5 KB each; the count bound alone would let 100,000 updates of
// the hub's largest event size (512 KB) take 50 GB.
const (
	DefaultMaxCount = 100_000
	DefaultMaxAge   = 24 * time.Hour
	DefaultMaxBytes = 256 << 20
)

// WithDefaults returns b with zero fields set to the defaults.
func (b Bounds) WithDefaults() Bounds {
	if b.MaxCount <= 0 {
		b.MaxCount = DefaultMaxCount
	}
	if b.MaxAge <= 0 {
		b.MaxAge = DefaultMaxAge
	}
	if b.MaxBytes <= 0 {
		b.MaxBytes = DefaultMaxBytes
	}
	return b
}

// updateOverhead is what Size adds to an update's strings: about what a
// log keeps beside them (positions, times, lengths, index entries).
const updateOverhead = 64

// Size is what u counts for against Bounds.MaxBytes: its event's data, id
// and type, its topics, and a fixed overhead. Every log counts the same.
func Size(u *Update) int64 {
	n := updateOverhead + len(u.Event.Data) + len(u.Event.ID) + len(u.Event.Type)
	for _, t := range u.Topics {
		n += len(t)
	}
	return int64(n)
}

// Package hijack is the hijacked way of writing a subscriber's stream: the
// hub's writers, timing wheel and raw socket I/O, for HTTP/1.1 streams
// taken over from net/http.
//
// An SSE stream is idle almost all of its life, yet on the ordinary
// net/http path it owns a goroutine (its handler, with a stack that has
// grown through the request's parsing), net/http's per-connection read and
// write buffers and a background-read goroutine, plus timers: some 20–40 KB
// per stream for doing nothing. On HTTP/1.1 the hub instead takes the
// connection over (http.Hijacker) once the request is accepted:
//
//   - the handler goroutine writes the response head, the initial retry,
//     cursor or replay with ordinary blocking writes (StartWriter), then
//     hands the stream to a Pool and returns, so net/http drops its
//     goroutines and buffers;
//   - what is left per stream is the socket, the subscriber with its queue
//     and a Stream (well under a kilobyte of heap);
//   - the fan-out queues deliveries as before, and the queue wakes the
//     Stream (it is the queue's Way), which puts itself on the ready list
//     of one of a small pool of writer goroutines (writer.go); the writer
//     encodes the pending events into its own scratch buffer and writes
//     them without blocking; only a client whose socket buffer is full
//     gets a goroutine of its own, for as long as it lags, bounded by the
//     write timeout;
//   - heartbeats, token expiry and dead-client detection come from one
//     shared timer wheel (wheel.go), not a timer per stream. Nobody reads
//     the connection, so a client that went away is found by a
//     non-blocking read at each heartbeat (EOF) or by a failed write.
//
// The response is HTTP/1.1 chunked, like the handler path's, so a proxy or
// browser sees the same thing on both paths, and a clean end (drain, token
// expiry, cut-off) is a terminating zero-length chunk that tells a proxy the
// response was complete rather than cut. "Connection: close" tells the
// client the connection will not be reused, since the hub does not read
// further requests from it.
//
// Which streams may take this way is the hub's decision (HTTP/2, HTTP/1.0,
// TLS, HEAD, long-poll and ResponseWriters that cannot be hijacked keep the
// handler path); this package only serves those it is handed.
package hijack

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/polysse/polysse/server/internal/queue"
	"github.com/polysse/polysse/server/store"
)

// Config is what a Pool needs of the hub.
type Config struct {
	// Writers is how many writer goroutines write the streams.
	Writers int
	// WriteTimeout bounds a blocking write to a client that lags.
	WriteTimeout time.Duration
	// Heartbeat is the interval of heartbeat comments; none when <= 0.
	Heartbeat time.Duration
	// Liveness is how often an idle stream is checked for a client that
	// went away.
	Liveness time.Duration
	// Delivered counts the events written.
	Delivered *atomic.Uint64
	// Ways calls fn with the Way of every subscriber's queue: the hub's
	// registry is the pool's, so that an idle stream costs no second
	// registry entry.
	Ways func(fn func(queue.Way))
}

// Stream states, guarded by Stream.mu.
const (
	stateIdle   = iota // nothing to write; the next wake queues it on its writer
	stateQueued        // on a writer's ready list, or being written by it
	stateSlow          // its socket was full: a goroutine of its own writes
	stateClosed        // the connection is closed
)

// Stream is a hijacked stream once its handler has returned. It is its
// queue's Way.
type Stream struct {
	p    *Pool
	q    *queue.Queue
	conn net.Conn
	raw  syscall.RawConn // nil when the connection has no raw socket
	wr   *writer         // the writer that serves it
	// after is the log position up to which the replay went: live
	// deliveries at or before it were sent already (or filtered out).
	after   store.Pos
	expires int64  // unix nanoseconds of the token's expiry; 0 for never
	release func() // called once the connection is closed

	// lastWrite is when bytes last went out, in unix nanoseconds; the
	// wheel sends a heartbeat when it is older than Config.Heartbeat.
	lastWrite atomic.Int64

	mu     sync.Mutex
	state  int8
	beat   bool   // a heartbeat is due
	ending bool   // end the response after what is being written
	endMsg string // a comment written before the end, if any
}

// Handoff is a stream whose start the handler goroutine has written.
type Handoff struct {
	Conn  net.Conn
	Queue *queue.Queue
	// After is the log position up to which the start replayed.
	After store.Pos
	// Expires is when the subscriber's token expires; zero for never.
	Expires time.Time
	// Release is called once, when the connection is closed.
	Release func()
}

// Pool is the machinery of the hijacked path: the writers, the wheel, and
// whether the hub is draining. Its streams are found through their queues
// (Config.Ways).
type Pool struct {
	cfg     Config
	writers []*writer
	next    atomic.Uint32
	wheel   *wheel

	mu       sync.Mutex
	draining bool
}

// NewPool starts cfg.Writers writers (at least one) and the wheel; Stop
// stops them.
func NewPool(cfg Config) *Pool {
	p := &Pool{cfg: cfg}
	for range max(cfg.Writers, 1) {
		wr := newWriter(p)
		p.writers = append(p.writers, wr)
		go wr.run()
	}
	p.wheel = newWheel(wheelTick(cfg.Heartbeat), p.visit)
	go p.wheel.run()
	return p
}

// wakeUnlock puts st on its writer's ready list if it was idle, marking it
// queued, and unlocks st.mu, which the caller holds; a stream on the list
// already, being written, or closed is left as it is.
func (st *Stream) wakeUnlock() {
	wake := st.state == stateIdle
	if wake {
		st.state = stateQueued
	}
	st.mu.Unlock()
	if wake {
		st.wr.enqueue(st)
	}
}

// Wake is the queue's call when something is pending.
func (st *Stream) Wake() {
	st.mu.Lock()
	st.wakeUnlock()
}

// End is the queue's call when it was cut off. A stream that a writer
// holds is closed, because the writer may be in, or about to start, a
// blocking write to a full socket, which would keep the stream for up to
// the write timeout; the writer gives up on the error. An idle stream is
// woken instead, to end the response with its last chunk.
func (st *Stream) End() {
	st.mu.Lock()
	if st.state != stateIdle {
		st.mu.Unlock()
		_ = st.conn.Close()
		return
	}
	st.wakeUnlock()
}

// HandOff makes the stream ho one of the pool's. From here on the handler
// goroutine is gone: only the queue, writers, the wheel and drain touch it.
func (p *Pool) HandOff(ho Handoff) {
	// A deadline left set by the start would fail the writers' raw writes.
	_ = ho.Conn.SetWriteDeadline(time.Time{})
	now := time.Now().UnixNano()
	st := &Stream{
		p:       p,
		q:       ho.Queue,
		conn:    ho.Conn,
		wr:      p.writers[int(p.next.Add(1))%len(p.writers)],
		after:   ho.After,
		release: ho.Release,
		// Held queued until it is decided below, so that a wake in
		// between leaves it to this goroutine.
		state: stateQueued,
	}
	if sc, ok := ho.Conn.(syscall.Conn); ok {
		st.raw, _ = sc.SyscallConn()
	}
	if !ho.Expires.IsZero() {
		st.expires = ho.Expires.UnixNano()
	}
	st.lastWrite.Store(now)
	// Attached under p.mu, so that Drain either finds this stream or this
	// stream sees draining.
	p.mu.Lock()
	draining := p.draining
	ho.Queue.Attach(st)
	p.mu.Unlock()
	st.mu.Lock()
	if draining && !st.ending {
		st.ending, st.endMsg = true, queue.EndDraining
	}
	wake := st.ending || st.q.Pending()
	if !wake {
		st.state = stateIdle
	}
	st.mu.Unlock()
	if wake {
		st.wr.enqueue(st)
	}
	if !draining {
		p.wheel.add(st, p.nextVisit(st, now))
	}
}

// end asks st's writer to end the response with msg (none when empty).
func (st *Stream) end(msg string) {
	st.mu.Lock()
	if st.state == stateClosed || st.ending {
		st.mu.Unlock()
		return
	}
	st.ending, st.endMsg = true, msg
	st.wakeUnlock()
}

// close closes the connection and releases the subscription, once.
func (st *Stream) close() {
	st.mu.Lock()
	if st.state == stateClosed {
		st.mu.Unlock()
		return
	}
	st.state = stateClosed
	st.mu.Unlock()
	// Cut, so that pushes racing with the release queue nothing.
	st.q.Cut()
	_ = st.conn.Close()
	st.release()
}

// streams returns the pool's streams open now.
func (p *Pool) streams() []*Stream {
	var all []*Stream
	p.cfg.Ways(func(w queue.Way) {
		st, ok := w.(*Stream)
		if !ok || st.p != p {
			return
		}
		st.mu.Lock()
		open := st.state != stateClosed
		st.mu.Unlock()
		if open {
			all = append(all, st)
		}
	})
	return all
}

// Drain ends every stream so that its client reconnects, and ends every
// stream handed off from now on.
func (p *Pool) Drain() {
	p.mu.Lock()
	p.draining = true
	p.mu.Unlock()
	for _, st := range p.streams() {
		st.end(queue.EndDraining)
	}
}

// Stop drains, closes what is left, and stops the writers and the wheel.
func (p *Pool) Stop() {
	p.Drain()
	for _, st := range p.streams() {
		st.close()
	}
	p.wheel.stop()
	for _, wr := range p.writers {
		wr.stop()
	}
}

// Open returns the number of streams open.
func (p *Pool) Open() int {
	return len(p.streams())
}

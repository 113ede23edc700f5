package server

import (
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/sse"
)

// The hijacked path.
//
// An SSE stream is idle almost all of its life, yet on the ordinary
// net/http path it owns a goroutine (its handler, with a stack that has
// grown through the request's parsing), net/http's per-connection read and
// write buffers and a background-read goroutine, plus timers: some 20–40 KB
// per stream for doing nothing. On HTTP/1.1 the hub instead takes the
// connection over (http.Hijacker) once the request is accepted:
//
//   - the handler goroutine writes the response head, the initial retry,
//     cursor or replay with ordinary blocking writes, then hands the stream
//     to the hub and returns, so net/http drops its goroutines and buffers;
//   - what is left per stream is the socket, the subscriber and an hstream
//     (well under a kilobyte of heap);
//   - the fan-out queues deliveries as before, and wakes one of a small
//     pool of writer goroutines (writer.go), which encodes the pending
//     events into its own scratch buffer and writes them without blocking;
//     only a client whose socket buffer is full gets a goroutine of its
//     own, for as long as it lags, bounded by WriteTimeout;
//   - heartbeats, token expiry and dead-client detection come from one
//     shared timer wheel (wheel.go), not a timer per stream. Nobody reads
//     the connection, so a client that went away is found by a
//     non-blocking read at each heartbeat (EOF) or by a failed write.
//
// The response is HTTP/1.1 chunked, like the ordinary path's, so a proxy or
// browser sees the same thing on both paths, and a clean end (drain, token
// expiry, cut-off) is a terminating zero-length chunk that tells a proxy the
// response was complete rather than cut. "Connection: close" tells the
// client the connection will not be reused, since the hub does not read
// further requests from it.
//
// HTTP/2 (streams share a connection), HTTP/1.0 (no chunked encoding),
// TLS (no raw socket to write without blocking), HEAD, long-poll (short
// lived) and ResponseWriters that cannot be hijacked keep the ordinary
// handler path, as does every stream when Config.DisableHijack is set.

// hstream states, guarded by the subscriber's mu.
const (
	stateIdle   = iota // nothing to write; the next push wakes a writer
	stateQueued        // on a writer's ready list, or being written by it
	stateSlow          // its socket was full: a goroutine of its own writes
	stateClosed        // the connection is closed
)

// hstream is a hijacked stream once its handler has returned.
type hstream struct {
	h    *Hub
	s    *subscriber
	conn net.Conn
	raw  syscall.RawConn // nil when the connection has no raw socket
	w    *writer         // the writer that serves it
	// after is the log position up to which the replay went: live
	// deliveries at or before it were sent already (or filtered out).
	after   store.Pos
	expires int64         // unix nanoseconds of the token's expiry; 0 for never
	open    *atomic.Int64 // the open-streams gauge it counts in

	// lastWrite is when bytes last went out, in unix nanoseconds; the
	// wheel sends a heartbeat when it is older than Config.Heartbeat.
	lastWrite atomic.Int64

	// Guarded by s.mu.
	state  int8
	beat   bool   // a heartbeat is due
	ending bool   // end the response after what is being written
	endMsg string // a comment written before the end, if any
}

// wakeLocked reports whether a writer must be woken for hs, marking it
// queued; the caller holds s.mu and enqueues hs when it returns true.
func (hs *hstream) wakeLocked() bool {
	if hs.state != stateIdle {
		return false
	}
	hs.state = stateQueued
	return true
}

// hijackable reports whether the stream can take the hijacked path.
func (h *Hub) hijackable(w http.ResponseWriter, r *http.Request, tr transport) bool {
	if h.cfg.DisableHijack || tr != transportStream || r.Method != http.MethodGet ||
		r.ProtoMajor != 1 || r.ProtoMinor != 1 || r.TLS != nil || !rawIOSupported {
		return false
	}
	for {
		switch x := w.(type) {
		case http.Hijacker:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return false
		}
	}
}

// hijackWriter writes the start of a hijacked response from the handler
// goroutine: the head, then each flush as one chunk, with blocking writes
// bounded by the write timeout.
type hijackWriter struct {
	h       *Hub
	s       *subscriber
	conn    net.Conn
	head    []byte // the response head, sent with the first chunk
	scratch []byte
}

func (hw *hijackWriter) write(p []byte) error {
	b := append(hw.scratch[:0], hw.head...)
	hw.head = nil
	b = appendChunk(b, p)
	hw.scratch = b
	_ = hw.conn.SetWriteDeadline(time.Now().Add(hw.h.cfg.WriteTimeout))
	_, err := hw.conn.Write(b)
	if err != nil {
		hw.s.writeFailed(err)
	}
	return err
}

// writeFailed marks s cut off when err is a write timeout: a client that
// stopped reading, cut off like one whose queue overflowed. Other write
// errors are clients that went away.
func (s *subscriber) writeFailed(err error) {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return
	}
	s.mu.Lock()
	first := !s.cut
	s.cut, s.queue, s.queued = true, nil, 0
	s.mu.Unlock()
	if first {
		s.h.cutOff("a write timed out")
	}
}

// cutOff counts and logs a subscriber cut off, once per subscriber: where
// it is marked cut.
func (h *Hub) cutOff(why string) {
	h.counters.cutOff.Add(1)
	h.logger.Info("subscriber cut off: "+why, "queue_limit", h.cfg.MaxQueueBytes, "write_timeout", h.cfg.WriteTimeout)
}

// appendChunk appends p as one chunk of a chunked body.
func appendChunk(dst, p []byte) []byte {
	dst = strconv.AppendUint(dst, uint64(len(p)), 16)
	dst = append(dst, '\r', '\n')
	dst = append(dst, p...)
	return append(dst, '\r', '\n')
}

// lastChunk ends a chunked body.
const lastChunk = "0\r\n\r\n"

// appendHead appends an HTTP/1.1 200 response head with hdr (the headers
// the hub and its CORS policy set), a chunked body and Connection: close.
func appendHead(dst []byte, hdr http.Header) []byte {
	dst = append(dst, "HTTP/1.1 200 OK\r\n"...)
	for _, k := range [...]string{"Content-Type", "Cache-Control", "X-Accel-Buffering"} {
		for _, v := range hdr[k] {
			dst = appendHeaderLine(dst, k, v)
		}
	}
	for k, vs := range hdr {
		switch k {
		case "Content-Type", "Cache-Control", "X-Accel-Buffering",
			"Content-Length", "Transfer-Encoding", "Connection", "Date":
			continue
		}
		for _, v := range vs {
			dst = appendHeaderLine(dst, k, v)
		}
	}
	dst = appendHeaderLine(dst, "Date", time.Now().UTC().Format(http.TimeFormat))
	dst = append(dst, "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"...)
	return dst
}

func appendHeaderLine(dst []byte, k, v string) []byte {
	dst = append(dst, k...)
	dst = append(dst, ':', ' ')
	for i := 0; i < len(v); i++ {
		// As net/http does: a CR or LF in a value must not start a header.
		if c := v[i]; c == '\r' || c == '\n' {
			dst = append(dst, ' ')
		} else {
			dst = append(dst, c)
		}
	}
	return append(dst, '\r', '\n')
}

// serveHijacked takes the connection over, writes the start of the
// response and hands the stream to the writers. It returns false, having
// written nothing, when the connection could not be hijacked; the caller
// then serves the stream on the ordinary path. On true, the subscription
// is released (unregistered, uncounted from open and from the hub's
// streams) once the connection is closed.
func (h *Hub) serveHijacked(w http.ResponseWriter, r *http.Request, s *subscriber, start *cursor, expires time.Time, padding, probe bool, open *atomic.Int64) bool {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	// What net/http had buffered of the connection (a pipelined request)
	// is dropped with its reader: an event stream is the last response.
	hw := &hijackWriter{h: h, s: s, conn: conn}
	hw.head = appendHead(nil, w.Header())
	st := &stream{h: h, s: s, tr: transportStream, out: hw.write}
	fail := func() {
		s.mu.Lock()
		s.cut, s.queue, s.queued = true, nil, 0
		s.mu.Unlock()
		_ = conn.Close()
		h.release(s, open)
	}
	st.begin(padding, probe)
	if err := st.flush(); err != nil {
		fail()
		return true
	}
	if _, err := st.resume(r.Context(), s.lastID, start); err != nil {
		h.logger.Debug("replay ended the stream", "err", err)
		fail()
		return true
	}
	_ = conn.SetWriteDeadline(time.Time{})

	hs := &hstream{
		h:     h,
		s:     s,
		conn:  conn,
		after: st.after,
		open:  open,
	}
	if sc, ok := conn.(syscall.Conn); ok {
		hs.raw, _ = sc.SyscallConn()
	}
	if !expires.IsZero() {
		hs.expires = expires.UnixNano()
	}
	hs.lastWrite.Store(time.Now().UnixNano())
	h.hj.handOff(hs)
	return true
}

// hijacked is the machinery of the hijacked path: the writers, the wheel,
// and whether the hub is draining. The streams themselves are found
// through the hub's subscribers (subscriber.hs), so that an idle stream
// costs no second registry entry.
type hijacked struct {
	h       *Hub
	writers []*writer
	next    atomic.Uint32
	wheel   *wheel

	mu       sync.Mutex
	draining bool
}

func newHijacked(h *Hub, writers int) *hijacked {
	hj := &hijacked{h: h}
	for range writers {
		w := newWriter(h)
		hj.writers = append(hj.writers, w)
		go w.run()
	}
	hj.wheel = newWheel(wheelTick(h.cfg.Heartbeat), h.visit)
	go hj.wheel.run()
	return hj
}

// streams returns the hijacked streams now open.
func (hj *hijacked) streams() []*hstream {
	h := hj.h
	h.mu.RLock()
	subs := make([]*subscriber, 0, len(h.subs))
	for s := range h.subs {
		subs = append(subs, s)
	}
	h.mu.RUnlock()
	var all []*hstream
	for _, s := range subs {
		s.mu.Lock()
		if s.hs != nil && s.hs.state != stateClosed {
			all = append(all, s.hs)
		}
		s.mu.Unlock()
	}
	return all
}

// handOff makes hs one of the hub's hijacked streams. From here on the
// handler goroutine is gone: only writers, the wheel and drain touch hs.
func (hj *hijacked) handOff(hs *hstream) {
	hs.w = hj.writers[int(hj.next.Add(1))%len(hj.writers)]
	s := hs.s
	// Under hj.mu, so that drain either sees this stream or this stream
	// sees draining.
	hj.mu.Lock()
	draining := hj.draining
	s.mu.Lock()
	s.hs = hs
	hs.state = stateQueued
	wake := len(s.queue) > 0 || s.cut
	if draining {
		hs.ending, hs.endMsg, wake = true, "hub restarting: reconnect", true
	}
	if !wake {
		hs.state = stateIdle
	}
	s.mu.Unlock()
	hj.mu.Unlock()
	if wake {
		hs.w.enqueue(hs)
	}
	if !draining {
		hj.wheel.add(hs, hj.h.nextVisit(hs, time.Now().UnixNano()))
	}
}

// end asks hs's writer to end the response with msg (none when empty).
func (hs *hstream) end(msg string) {
	s := hs.s
	s.mu.Lock()
	if hs.state == stateClosed || hs.ending {
		s.mu.Unlock()
		return
	}
	hs.ending, hs.endMsg = true, msg
	wake := hs.wakeLocked()
	s.mu.Unlock()
	if wake {
		hs.w.enqueue(hs)
	}
}

// close closes the connection and releases the subscription, once.
func (hs *hstream) close() {
	s := hs.s
	s.mu.Lock()
	if hs.state == stateClosed {
		s.mu.Unlock()
		return
	}
	hs.state = stateClosed
	// Cut, so that pushes racing with the unregistration queue nothing.
	s.cut, s.queue, s.queued = true, nil, 0
	s.mu.Unlock()
	_ = hs.conn.Close()
	hs.h.release(s, hs.open)
}

// drain ends every hijacked stream so that its client reconnects, and
// refuses new ones.
func (hj *hijacked) drain() {
	hj.mu.Lock()
	hj.draining = true
	hj.mu.Unlock()
	for _, hs := range hj.streams() {
		hs.end("hub restarting: reconnect")
	}
}

// stop closes what is left and stops the writers and the wheel.
func (hj *hijacked) stop() {
	hj.drain()
	for _, hs := range hj.streams() {
		hs.close()
	}
	hj.wheel.stop()
	for _, w := range hj.writers {
		w.stop()
	}
}

// open returns the number of hijacked streams, for tests.
func (hj *hijacked) open() int {
	return len(hj.streams())
}

// appendEnd appends the end of a response: the comment msg, if any, as a
// last chunk with data, then the terminating chunk.
func appendEnd(dst []byte, msg string) []byte {
	if msg != "" {
		var c [64]byte
		dst = appendChunk(dst, sse.AppendComment(c[:0], msg))
	}
	return append(dst, lastChunk...)
}

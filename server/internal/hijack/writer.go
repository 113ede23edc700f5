package hijack

import (
	"bytes"
	"strconv"
	"sync"
	"time"

	"github.com/polysse/polysse/server/internal/queue"
)

// A writer is one of the few goroutines that write every hijacked stream.
// A stream puts itself on a writer's ready list when it goes from nothing
// pending to something pending; the writer takes the stream's whole queue
// at once, so a stream that has several events pending gets them in one
// write, encodes them as one chunk into the writer's own scratch buffer (an
// idle stream holds no buffer), and writes it without blocking.
//
// A write that would block means the client's socket buffer is full: the
// rest is copied aside and a goroutine of the stream's own finishes it with
// ordinary blocking writes bounded by Config.WriteTimeout, then hands the
// stream back. One slow client thus never holds a writer, and while it lags
// its queue still fills up to its bound, past which it is cut off and
// resumes from the replay log, as on the handler path.
type writer struct {
	p *Pool

	mu      sync.Mutex
	cond    sync.Cond
	ready   []*Stream
	spare   []*Stream
	stopped bool

	buf []byte // scratch: the chunk being written
}

// maxScratch bounds the scratch buffer a writer keeps between writes.
const maxScratch = 256 << 10

func newWriter(p *Pool) *writer {
	wr := &writer{p: p}
	wr.cond.L = &wr.mu
	return wr
}

// enqueue puts st on the ready list; st must be in stateQueued.
func (wr *writer) enqueue(st *Stream) {
	wr.mu.Lock()
	wr.ready = append(wr.ready, st)
	wake := len(wr.ready) == 1
	wr.mu.Unlock()
	if wake {
		wr.cond.Signal()
	}
}

func (wr *writer) stop() {
	wr.mu.Lock()
	wr.stopped = true
	wr.mu.Unlock()
	wr.cond.Broadcast()
}

func (wr *writer) run() {
	for {
		wr.mu.Lock()
		for len(wr.ready) == 0 && !wr.stopped {
			wr.cond.Wait()
		}
		if wr.stopped {
			wr.mu.Unlock()
			return
		}
		batch := wr.ready
		wr.ready = wr.spare[:0]
		wr.mu.Unlock()
		for i, st := range batch {
			wr.serve(st)
			batch[i] = nil
		}
		wr.spare = batch
	}
}

// work is what a stream has to write, taken at once.
type work struct {
	batch  []queue.Delivery
	cut    bool   // the queue was cut off
	beat   bool   // a heartbeat is due
	ending bool   // the response ends
	endMsg string // with this comment, if any
}

// lockIn locks st.mu and reports whether st is in state: whether the
// goroutine that put it there still has it, nobody having closed it or
// taken it over meanwhile. It returns with st.mu held only when it
// reports true.
func (st *Stream) lockIn(state int8) bool {
	st.mu.Lock()
	if st.state != state {
		st.mu.Unlock()
		return false
	}
	return true
}

// pendingLocked reports whether st has something to write; st.mu is held.
func (st *Stream) pendingLocked() bool {
	return st.beat || st.ending || st.q.Pending()
}

// takeLocked takes what st has to write; st.mu is held.
func (st *Stream) takeLocked() work {
	wk := work{beat: st.beat, ending: st.ending, endMsg: st.endMsg}
	wk.batch, wk.cut = st.q.Take(nil)
	st.beat = false
	return wk
}

// chunkRoom is the room left at the start of a buffer for a chunk's size
// line, which is known only once the chunk is composed.
const chunkRoom = 18

// compose encodes wk into buf as one chunk, and reports the bytes to write
// (a suffix of the returned buffer, from start) and whether the response
// ends with them.
func (st *Stream) compose(buf []byte, wk work) (full []byte, start int, last bool) {
	buf = append(buf[:0], make([]byte, chunkRoom)...)
	if !wk.ending && !wk.cut && st.expires != 0 && time.Now().UnixNano() >= st.expires {
		// The wheel ends an expired stream at its next visit, which may
		// come after deliveries: none may go out once the token expired.
		wk.ending, wk.endMsg = true, queue.EndExpired
	}
	switch {
	case wk.cut:
		// The handler path ends the response when its queue overflowed;
		// so does this one (counted where it was cut off). The client
		// resumes from its last id.
		return append(buf, lastChunk...), chunkRoom, true
	case wk.ending:
		// Drain or token expiry: what is queued is not sent (after an
		// expiry it must not be), the client resumes from its last id.
		return appendEnd(buf, wk.endMsg), chunkRoom, true
	}
	buf, _ = queue.Append(buf, wk.batch, st.after, wk.beat, st.p.cfg.Delivered)
	size := len(buf) - chunkRoom
	if size == 0 {
		return buf, len(buf), false
	}
	var line [chunkRoom]byte
	l := strconv.AppendUint(line[:0], uint64(size), 16)
	l = append(l, '\r', '\n')
	start = chunkRoom - len(l)
	copy(buf[start:], l)
	return append(buf, '\r', '\n'), start, false
}

// serve writes what st has pending.
func (wr *writer) serve(st *Stream) {
	if !st.lockIn(stateQueued) {
		return
	}
	wk := st.takeLocked()
	st.mu.Unlock()

	full, start, last := st.compose(wr.buf, wk)
	out := full[start:]
	if cap(full) <= maxScratch {
		wr.buf = full[:0]
	} else {
		wr.buf = nil
	}
	if len(out) > 0 {
		n, err := st.writeNB(out)
		if err != nil {
			st.close()
			return
		}
		if n < len(out) {
			if wk.cut {
				// The last chunk is a courtesy: not worth a blocking write.
				st.close()
				return
			}
			rest := bytes.Clone(out[n:])
			if !st.lockIn(stateQueued) {
				return
			}
			st.state = stateSlow
			st.mu.Unlock()
			go st.slow(rest, last)
			return
		}
		st.lastWrite.Store(time.Now().UnixNano())
	}
	if last {
		st.close()
		return
	}
	if !st.lockIn(stateQueued) {
		return
	}
	if st.pendingLocked() {
		// More came while writing: back of the line, so that every ready
		// stream gets its turn.
		st.mu.Unlock()
		wr.enqueue(st)
		return
	}
	st.state = stateIdle
	st.mu.Unlock()
}

// slow finishes writing p, and whatever comes meanwhile, for a client whose
// socket buffer was full, with blocking writes bounded by the write
// timeout; once it has caught up the stream goes back to the writers.
func (st *Stream) slow(p []byte, last bool) {
	timeout := st.p.cfg.WriteTimeout
	for {
		if len(p) > 0 {
			_ = st.conn.SetWriteDeadline(time.Now().Add(timeout))
			if _, err := st.conn.Write(p); err != nil {
				st.q.WriteFailed(err)
				st.close()
				return
			}
			st.lastWrite.Store(time.Now().UnixNano())
		}
		if last {
			st.close()
			return
		}
		if !st.lockIn(stateSlow) {
			return
		}
		if !st.pendingLocked() {
			// A deadline left set would fail the writers' raw writes.
			_ = st.conn.SetWriteDeadline(time.Time{})
			st.state = stateIdle
			st.mu.Unlock()
			return
		}
		wk := st.takeLocked()
		st.mu.Unlock()
		var start int
		var full []byte
		full, start, last = st.compose(p, wk)
		p = full[start:]
	}
}

package server

import (
	"bytes"
	"strconv"
	"sync"
	"time"
)

// A writer is one of the few goroutines that write every hijacked stream
// (see hijack.go). The fan-out puts a stream on a writer's ready list when
// the stream goes from nothing pending to something pending; the writer
// takes the stream's whole queue at once, so a stream that has several
// events pending gets them in one write, encodes them as one chunk into the
// writer's own scratch buffer (an idle stream holds no buffer), and writes
// it without blocking.
//
// A write that would block means the client's socket buffer is full: the
// rest is copied aside and a goroutine of the stream's own finishes it with
// ordinary blocking writes bounded by Config.WriteTimeout, then hands the
// stream back. One slow client thus never holds a writer, and while it lags
// its queue still fills up to Config.MaxQueueBytes, past which it is cut off
// and resumes from the replay log, as on the ordinary path.
type writer struct {
	h *Hub

	mu      sync.Mutex
	cond    sync.Cond
	ready   []*hstream
	spare   []*hstream
	stopped bool

	buf []byte // scratch: the chunk being written
}

// maxScratch bounds the scratch buffer a writer keeps between writes.
const maxScratch = 256 << 10

func newWriter(h *Hub) *writer {
	w := &writer{h: h}
	w.cond.L = &w.mu
	return w
}

// enqueue puts hs on the ready list; hs must be in stateQueued.
func (w *writer) enqueue(hs *hstream) {
	w.mu.Lock()
	w.ready = append(w.ready, hs)
	wake := len(w.ready) == 1
	w.mu.Unlock()
	if wake {
		w.cond.Signal()
	}
}

func (w *writer) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	w.cond.Broadcast()
}

func (w *writer) run() {
	for {
		w.mu.Lock()
		for len(w.ready) == 0 && !w.stopped {
			w.cond.Wait()
		}
		if w.stopped {
			w.mu.Unlock()
			return
		}
		batch := w.ready
		w.ready = w.spare[:0]
		w.mu.Unlock()
		for i, hs := range batch {
			w.serve(hs)
			batch[i] = nil
		}
		w.spare = batch
	}
}

// pendingLocked reports whether hs has something to write; s.mu is held.
func (hs *hstream) pendingLocked() bool {
	return len(hs.s.queue) > 0 || hs.s.cut || hs.beat || hs.ending
}

// takeLocked takes what hs has to write; s.mu is held.
func (hs *hstream) takeLocked() (q []delivery, cut, beat, ending bool, msg string) {
	s := hs.s
	q, cut, beat, ending, msg = s.queue, s.cut, hs.beat, hs.ending, hs.endMsg
	s.queue, s.queued, hs.beat = nil, 0, false
	return q, cut, beat, ending, msg
}

// chunkRoom is the room left at the start of a buffer for a chunk's size
// line, which is known only once the chunk is composed.
const chunkRoom = 18

// compose encodes what hs has to write into buf as one chunk, and reports
// the bytes to write (a suffix of the returned buffer, from start), whether
// the response ends with them, and how many events they deliver.
func (hs *hstream) compose(buf []byte, q []delivery, cut, beat, ending bool, msg string) (full []byte, start int, last bool) {
	h := hs.h
	buf = append(buf[:0], make([]byte, chunkRoom)...)
	if !ending && !cut && hs.expires != 0 && time.Now().UnixNano() >= hs.expires {
		// The wheel ends an expired stream at its next visit, which may
		// come after deliveries: none may go out once the token expired.
		ending, msg = true, "token expired"
	}
	switch {
	case cut:
		// The ordinary path ends the response when its queue overflowed;
		// so does this one (counted where it was cut off). The client
		// resumes from its last id.
		return append(buf, lastChunk...), chunkRoom, true
	case ending:
		// Drain or token expiry: what is queued is not sent (after an
		// expiry it must not be), the client resumes from its last id.
		return appendEnd(buf, msg), chunkRoom, true
	}
	n := 0
	for _, d := range q {
		if !hs.after.Less(d.pos) {
			continue // replayed already
		}
		buf = append(buf, d.frame...)
		n++
	}
	if n > 0 {
		h.counters.delivered.Add(uint64(n))
	} else if beat {
		buf = append(buf, ":\n"...)
	}
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

// serve writes what hs has pending.
func (w *writer) serve(hs *hstream) {
	s := hs.s
	s.mu.Lock()
	if hs.state != stateQueued {
		s.mu.Unlock()
		return
	}
	q, cut, beat, ending, msg := hs.takeLocked()
	s.mu.Unlock()

	full, start, last := hs.compose(w.buf, q, cut, beat, ending, msg)
	out := full[start:]
	if cap(full) <= maxScratch {
		w.buf = full[:0]
	} else {
		w.buf = nil
	}
	if len(out) > 0 {
		n, err := hs.writeNB(out)
		if err != nil {
			hs.close()
			return
		}
		if n < len(out) {
			if cut {
				// The last chunk is a courtesy: not worth a blocking write.
				hs.close()
				return
			}
			rest := bytes.Clone(out[n:])
			s.mu.Lock()
			if hs.state != stateQueued {
				s.mu.Unlock()
				return
			}
			hs.state = stateSlow
			s.mu.Unlock()
			go hs.slow(rest, last)
			return
		}
		hs.lastWrite.Store(time.Now().UnixNano())
	}
	if last {
		hs.close()
		return
	}
	s.mu.Lock()
	if hs.state != stateQueued {
		s.mu.Unlock()
		return
	}
	if hs.pendingLocked() {
		// More came while writing: back of the line, so that every ready
		// stream gets its turn.
		s.mu.Unlock()
		w.enqueue(hs)
		return
	}
	hs.state = stateIdle
	s.mu.Unlock()
}

// slow finishes writing p, and whatever comes meanwhile, for a client whose
// socket buffer was full, with blocking writes bounded by the write
// timeout; once it has caught up the stream goes back to the writers.
func (hs *hstream) slow(p []byte, last bool) {
	s := hs.s
	timeout := hs.h.cfg.WriteTimeout
	for {
		if len(p) > 0 {
			_ = hs.conn.SetWriteDeadline(time.Now().Add(timeout))
			if _, err := hs.conn.Write(p); err != nil {
				hs.s.writeFailed(err)
				hs.close()
				return
			}
			hs.lastWrite.Store(time.Now().UnixNano())
		}
		if last {
			hs.close()
			return
		}
		s.mu.Lock()
		if hs.state != stateSlow {
			s.mu.Unlock()
			return
		}
		if !hs.pendingLocked() {
			// A deadline left set would fail the writers' raw writes.
			_ = hs.conn.SetWriteDeadline(time.Time{})
			hs.state = stateIdle
			s.mu.Unlock()
			return
		}
		q, cut, beat, ending, msg := hs.takeLocked()
		s.mu.Unlock()
		var start int
		var full []byte
		full, start, last = hs.compose(p, q, cut, beat, ending, msg)
		p = full[start:]
	}
}

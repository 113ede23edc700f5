package hijack

import (
	"sync"
	"time"

	"github.com/polysse/polysse/server/internal/queue"
)

// wheel is a hashed timing wheel: one goroutine and one ticker serve the
// heartbeats, token expiries and dead-client checks of every hijacked
// stream, instead of two timers per stream. A stream is in at most one
// slot, for the next time something may be due for it; visiting it there
// decides what is due (see Pool.visit) and when to come back. Deadlines
// further than the wheel's span land in its last slot and are simply
// re-added when visited early. Writes do not move a stream in the wheel:
// its visit reads when it was last written and comes back later if a
// heartbeat is not due yet.
type wheel struct {
	tick  int64 // nanoseconds per slot
	visit func(st *Stream, now int64) (next int64)

	mu    sync.Mutex
	slots [wheelSlots][]*Stream
	cur   int64 // the last tick visited

	quit chan struct{}
	done chan struct{}
}

const wheelSlots = 512

// wheelTick is the resolution of heartbeats: an eighth of the heartbeat
// interval, within [5ms, 250ms].
func wheelTick(heartbeat time.Duration) time.Duration {
	if heartbeat <= 0 {
		return 250 * time.Millisecond
	}
	return min(max(heartbeat/8, 5*time.Millisecond), 250*time.Millisecond)
}

func newWheel(tick time.Duration, visit func(*Stream, int64) int64) *wheel {
	return &wheel{
		tick:  int64(tick),
		visit: visit,
		cur:   time.Now().UnixNano() / int64(tick),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
}

// add schedules a visit of st at about at (unix nanoseconds).
func (wh *wheel) add(st *Stream, at int64) {
	t := at/wh.tick + 1 // round up: never visit before at
	wh.mu.Lock()
	t = min(max(t, wh.cur+1), wh.cur+wheelSlots-1)
	slot := &wh.slots[t%wheelSlots]
	*slot = append(*slot, st)
	wh.mu.Unlock()
}

func (wh *wheel) run() {
	defer close(wh.done)
	t := time.NewTicker(time.Duration(wh.tick))
	defer t.Stop()
	for {
		select {
		case <-wh.quit:
			return
		case <-t.C:
		}
		target := time.Now().UnixNano() / wh.tick
		for {
			wh.mu.Lock()
			if wh.cur >= target {
				wh.mu.Unlock()
				break
			}
			wh.cur++
			slot := &wh.slots[wh.cur%wheelSlots]
			due := *slot
			*slot = nil
			wh.mu.Unlock()
			now := time.Now().UnixNano()
			for i, st := range due {
				if next := wh.visit(st, now); next != 0 {
					wh.add(st, next)
				}
				due[i] = nil
			}
		}
	}
}

func (wh *wheel) stop() {
	close(wh.quit)
	<-wh.done
}

// visit is the wheel's call for st: it ends the stream if its token has
// expired, closes it if its client has gone, queues a heartbeat if it has
// been idle for a heartbeat interval, and returns when to come back (0:
// never, the stream is ending).
func (p *Pool) visit(st *Stream, now int64) int64 {
	st.mu.Lock()
	done := st.state == stateClosed || st.ending
	st.mu.Unlock()
	if done {
		return 0
	}
	if st.expires != 0 && now >= st.expires {
		st.end(queue.EndExpired)
		return 0
	}
	if now-st.lastWrite.Load() >= int64(p.cfg.Liveness) {
		// Nobody reads a hijacked connection, so this is where a client
		// that went away is noticed, without waiting for a write to fail.
		if st.peerGone() {
			st.close()
			return 0
		}
		if p.cfg.Heartbeat > 0 {
			st.mu.Lock()
			st.beat = true
			st.wakeUnlock()
		}
		return p.nextVisit(st, now)
	}
	return p.nextVisit(st, st.lastWrite.Load())
}

// nextVisit returns when st, last written at last, needs a visit.
func (p *Pool) nextVisit(st *Stream, last int64) int64 {
	next := last + int64(p.cfg.Liveness)
	if st.expires != 0 && st.expires < next {
		next = st.expires
	}
	return next
}

package server

import (
	"context"
	"net/http"
	"time"

	"github.com/polysse/polysse/server/internal/queue"
	"github.com/polysse/polysse/sse"
)

// The handler path: the subscription's own handler goroutine writes the
// whole response through net/http, for every stream that cannot, or may
// not, take the hijacked path (see hijacked.go).

// handlerWay is the handler path's queue.Way: the handler goroutine waits
// on wake.
type handlerWay struct {
	wake chan struct{}
	rc   *http.ResponseController
}

func newHandlerWay(w http.ResponseWriter) *handlerWay {
	return &handlerWay{wake: make(chan struct{}, 1), rc: http.NewResponseController(w)}
}

// Wake wakes the handler goroutine, unless a wake-up is pending already.
func (hw *handlerWay) Wake() {
	select {
	case hw.wake <- struct{}{}:
	default:
	}
}

// End ends a write in progress, which would see the cut only once the
// write ends: for a client reading slowly through megabytes of socket
// buffers, most of the write timeout. Then it wakes the handler, which
// finds the queue cut off and returns.
func (hw *handlerWay) End() {
	_ = hw.rc.SetWriteDeadline(time.Now())
	hw.Wake()
}

// serveHandler writes the whole response of s, woken through hw.
func (h *Hub) serveHandler(w http.ResponseWriter, r *http.Request, s *subscriber, o opening, hw *handlerWay) {
	rp := &reply{h: h, s: s, tr: o.tr, out: func(p []byte) error {
		// A deadline cuts off a client that stopped reading without
		// holding this goroutine forever; not every ResponseWriter
		// supports one.
		_ = hw.rc.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
		_, err := w.Write(p)
		if err == nil {
			err = hw.rc.Flush()
		}
		if err != nil {
			s.queue.WriteFailed(err)
		}
		return err
	}}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	rp.begin(o.padding, o.probe)
	if err := rp.flush(); err != nil {
		return
	}
	ctx := r.Context()
	sent, err := rp.resume(ctx, s.lastID, o.start)
	if err != nil {
		h.logger.Debug("replay ended the stream", "err", err)
		return
	}
	rp.serve(ctx, sent, o.expires, hw.wake)
}

// serve delivers live updates until the client goes, the hub drains, the
// subscriber's token expires or (long-poll) a response is complete.
func (rp *reply) serve(ctx context.Context, sent int, expires time.Time, wake <-chan struct{}) {
	h := rp.h
	var heartbeat <-chan time.Time
	var hb *time.Timer
	if h.cfg.Heartbeat > 0 && rp.tr == transportStream {
		hb = time.NewTimer(h.cfg.Heartbeat)
		defer hb.Stop()
		heartbeat = hb.C
	}
	var expiry <-chan time.Time
	if !expires.IsZero() {
		t := time.NewTimer(time.Until(expires))
		defer t.Stop()
		expiry = t.C
	}
	var pollEnd <-chan time.Time
	if rp.tr == transportPoll {
		if sent > 0 {
			rp.endPoll()
			return
		}
		t := time.NewTimer(h.cfg.PollTimeout)
		defer t.Stop()
		pollEnd = t.C
	}
	var spare []queue.Delivery
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.drain:
			// Ending the response is what makes clients reconnect, to
			// another node or to this one restarted.
			rp.buf = sse.AppendComment(rp.buf, queue.EndDraining)
			_ = rp.flush()
			return
		case <-expiry:
			rp.buf = sse.AppendComment(rp.buf, queue.EndExpired)
			_ = rp.flush()
			return
		case <-pollEnd:
			rp.endPoll()
			return
		case <-heartbeat:
			rp.buf = queue.AppendHeartbeat(rp.buf)
			if rp.flush() != nil {
				return
			}
			hb.Reset(h.cfg.Heartbeat)
		case <-wake:
			batch, cut := rp.s.queue.Take(spare)
			if cut {
				return // counted where it was cut off
			}
			if queue.Expired(expires, time.Now()) {
				// select picks at random among ready cases: the expiry
				// timer may have fired with a delivery waiting.
				rp.buf = sse.AppendComment(rp.buf, queue.EndExpired)
				_ = rp.flush()
				return
			}
			var n int
			rp.buf, n = queue.Append(rp.buf, batch, rp.after, false, &h.counters.delivered)
			clear(batch) // drop references to shared frames
			spare = batch
			if n == 0 {
				continue
			}
			if rp.flush() != nil {
				return
			}
			if rp.tr == transportPoll {
				rp.endPoll()
				return
			}
			if hb != nil {
				hb.Reset(h.cfg.Heartbeat)
			}
		}
	}
}

// endPoll ends a long-poll response with a short reconnection time, so the
// client's next request is the next poll.
func (rp *reply) endPoll() {
	rp.buf = sse.AppendRetry(rp.buf, int(rp.h.cfg.PollRetry/time.Millisecond))
	_ = rp.flush()
}

package server

import (
	"net/http"

	"github.com/polysse/polysse/server/internal/hijack"
	"github.com/polysse/polysse/server/internal/queue"
)

// The hijacked path: on HTTP/1.1 the hub takes the connection over once
// the request is accepted, writes the start of the response from the
// handler goroutine, and hands the stream to the writers of
// internal/hijack, whose package doc says why.
//
// HTTP/2 (streams share a connection), HTTP/1.0 (no chunked encoding),
// TLS (no raw socket to write without blocking), HEAD, long-poll (short
// lived) and ResponseWriters that cannot be hijacked keep the handler
// path, as does every stream when Config.DisableHijack is set.

// hijackable reports whether the stream can take the hijacked path.
func (h *Hub) hijackable(w http.ResponseWriter, r *http.Request, tr transport) bool {
	if h.cfg.DisableHijack || tr != transportStream || r.Method != http.MethodGet ||
		r.ProtoMajor != 1 || r.ProtoMinor != 1 || r.TLS != nil || !hijack.Supported {
		return false
	}
	return hijack.CanHijack(w)
}

// serveHijacked takes the connection over, writes the start of the
// response and hands the stream to the writers. It returns false, having
// written nothing, when the connection could not be hijacked; the caller
// then serves the stream on the handler path. On true, the subscription
// is released once the connection is closed.
func (h *Hub) serveHijacked(w http.ResponseWriter, r *http.Request, s *subscriber, o opening) bool {
	conn, err := hijack.Take(w)
	if err != nil {
		return false
	}
	sw := hijack.NewStartWriter(conn, w.Header(), h.cfg.WriteTimeout)
	rp := &reply{h: h, s: s, tr: transportStream, out: func(p []byte) error {
		err := sw.Write(p)
		if err != nil {
			s.queue.WriteFailed(err)
		}
		return err
	}}
	fail := func() {
		s.queue.Cut()
		_ = conn.Close()
		h.release(s, o.gauge)
	}
	rp.begin(o.padding, o.probe)
	if err := rp.flush(); err != nil {
		fail()
		return true
	}
	if _, err := rp.resume(r.Context(), s.lastID, o.start); err != nil {
		h.logger.Debug("replay ended the stream", "err", err)
		fail()
		return true
	}
	h.hijacked.HandOff(hijack.Handoff{
		Conn:    conn,
		Queue:   s.queue,
		After:   rp.after,
		Expires: o.expires,
		Release: func() { h.release(s, o.gauge) },
	})
	return true
}

// newHijackPool starts the hijacked path's writers and wheel.
func newHijackPool(h *Hub, writers int) *hijack.Pool {
	return hijack.NewPool(hijack.Config{
		Writers:      writers,
		WriteTimeout: h.cfg.WriteTimeout,
		Heartbeat:    h.cfg.Heartbeat,
		Liveness:     h.livenessPeriod(),
		Delivered:    &h.counters.delivered,
		Ways:         h.eachWay,
	})
}

// eachWay calls fn with the way of every subscriber's queue.
func (h *Hub) eachWay(fn func(queue.Way)) {
	h.mu.RLock()
	subs := make([]*subscriber, 0, len(h.subs))
	for s := range h.subs {
		subs = append(subs, s)
	}
	h.mu.RUnlock()
	for _, s := range subs {
		fn(s.queue.Way())
	}
}

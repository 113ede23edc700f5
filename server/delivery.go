package server

import "time"

// What both ways of writing a stream (handler.go, hijacked.go) get from
// the hub; the policy they share is in internal/queue.

// cutOff counts and logs a subscriber cut off (see queue.Queue), once per
// subscriber: where it is marked cut.
func (h *Hub) cutOff(why string) {
	h.counters.cutOff.Add(1)
	h.logger.Info("subscriber cut off: "+why, "queue_limit", h.cfg.MaxQueueBytes, "write_timeout", h.cfg.WriteTimeout)
}

// livenessPeriod is how often an idle hijacked stream is checked for a
// client that went away: the heartbeat interval, or the default one when
// heartbeats are off.
func (h *Hub) livenessPeriod() time.Duration {
	if h.cfg.Heartbeat > 0 {
		return h.cfg.Heartbeat
	}
	return DefaultHeartbeat
}

// Package queue is the seam between the hub and the ways a subscriber's
// stream is written. The fan-out pushes each encoded event into the
// subscriber's Queue without ever blocking; the Way that writes the stream
// (the subscription's handler goroutine in package server, or the writers
// of the hijacked path in server/internal/hijack) is told that something
// is pending, and takes all of it at once. The queue does not know which
// way serves it.
//
// What both ways share lives here too: the cut-off of a client that cannot
// keep up (cutoff.go), the delivery loop and the heartbeat (deliver.go),
// and why a response ends early: drain and token expiry (end.go).
package queue

import (
	"sync"

	"github.com/polysse/polysse/server/store"
)

// Delivery is one encoded event queued for a subscriber. Frame is shared by
// every subscriber that receives it and must not be modified.
type Delivery struct {
	Pos   store.Pos
	Frame []byte
}

// Way is one way a stream is written. The queue calls it without holding
// its lock, from the fan-out: neither method may block.
type Way interface {
	// Wake says that something is pending: deliveries, or the cut-off.
	Wake()
	// End says that the queue was cut off (see Queue.Push): a write under
	// way must end now rather than hold the stream until its timeout, and
	// the response ends; the client resumes from the log.
	End()
}

// Queue is a subscriber's bounded queue of deliveries.
type Queue struct {
	max   int
	onCut func(why string)

	mu    sync.Mutex
	items []Delivery
	bytes int
	cut   bool
	way   Way
}

// New returns a queue that holds up to max bytes of frames, and calls
// onCut once, with the reason, when it is cut off (see Cut).
func New(max int, onCut func(why string)) *Queue {
	return &Queue{max: max, onCut: onCut}
}

// Attach makes w the way that writes the queue from now on, and reports
// whether something is pending already: the caller then wakes w itself.
// Until a way is attached, pushes only queue.
func (q *Queue) Attach(w Way) (pending bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.way = w
	return len(q.items) > 0 || q.cut
}

// Way returns the way attached, or nil.
func (q *Queue) Way() Way {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.way
}

// Push queues d without blocking: the fan-out must never wait on one slow
// client, so a subscriber whose queue is full is cut off instead.
func (q *Queue) Push(d Delivery) {
	q.mu.Lock()
	if q.cut {
		q.mu.Unlock()
		return
	}
	overflow := q.bytes+len(d.Frame) > q.max
	if overflow {
		q.cutLocked()
	} else {
		q.items = append(q.items, d)
		q.bytes += len(d.Frame)
	}
	w := q.way
	q.mu.Unlock()
	switch {
	case overflow:
		q.onCut("its queue overflowed")
		if w != nil {
			w.End()
		}
	case w != nil:
		w.Wake()
	}
}

// Take hands the way what is queued, reusing spare as the next queue, and
// whether the queue was cut off.
func (q *Queue) Take(spare []Delivery) (batch []Delivery, cut bool) {
	q.mu.Lock()
	batch, cut = q.items, q.cut
	q.items, q.bytes = spare[:0], 0
	q.mu.Unlock()
	return batch, cut
}

// Pending reports whether something is queued, or the queue was cut off.
func (q *Queue) Pending() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) > 0 || q.cut
}

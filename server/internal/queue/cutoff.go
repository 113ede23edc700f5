package queue

import (
	"errors"
	"os"
)

// The cut-off. A subscriber that cannot keep up, on either way, is not
// waited for: its queue overflowing (Push) or a write to it timing out
// (WriteFailed) cuts it off. Its queue drops what it holds and takes
// nothing more, its response ends, and its client resumes from the replay
// log with its last event id. It is counted once, where it is marked cut.

// Cut marks the queue cut off without counting it: for a stream that ends
// for another reason, so that pushes racing with its end queue nothing.
func (q *Queue) Cut() {
	q.mu.Lock()
	q.cutLocked()
	q.mu.Unlock()
}

func (q *Queue) cutLocked() {
	q.cut, q.items, q.bytes = true, nil, 0
}

// WriteFailed cuts the queue off when err is a write timeout: a client that
// stopped reading, cut off like one whose queue overflowed. Other write
// errors are clients that went away.
func (q *Queue) WriteFailed(err error) {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return
	}
	q.mu.Lock()
	first := !q.cut
	q.cutLocked()
	q.mu.Unlock()
	if first {
		q.onCut("a write timed out")
	}
}

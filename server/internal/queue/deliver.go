package queue

import (
	"sync/atomic"

	"github.com/polysse/polysse/server/store"
)

// AppendHeartbeat appends a heartbeat: an empty comment, which keeps
// proxies from closing an idle stream and lets the hub find a client that
// went away.
func AppendHeartbeat(buf []byte) []byte {
	return append(buf, ":\n"...)
}

// Append is the delivery loop of every way: it appends to buf the frames
// of batch that come after the log position after (the replay sent those
// at or before it already, or filtered them out), counts them in delivered,
// and, when there were none and beat is set, appends a heartbeat instead.
// It returns buf and how many events it appended.
func Append(buf []byte, batch []Delivery, after store.Pos, beat bool, delivered *atomic.Uint64) ([]byte, int) {
	n := 0
	for _, d := range batch {
		if !after.Less(d.Pos) {
			continue
		}
		buf = append(buf, d.Frame...)
		n++
	}
	if n > 0 {
		delivered.Add(uint64(n))
	} else if beat {
		buf = AppendHeartbeat(buf)
	}
	return buf, n
}

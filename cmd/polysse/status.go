package main

import (
	"encoding/json"
	"net/http"
	"runtime"
	"runtime/metrics"
	"time"

	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/sse"
)

// statusSnapshot is what the status page draws, once a second.
type statusSnapshot struct {
	Time       int64                       `json:"time"` // unix ms
	Streams    map[string]map[string]int64 `json:"streams"`
	Published  uint64                      `json:"published"`
	Delivered  uint64                      `json:"delivered"`
	Replays    uint64                      `json:"replays"`
	Missed     uint64                      `json:"missed"`
	CutOff     uint64                      `json:"cutOff"`
	Goroutines int                         `json:"goroutines"`
	HeapBytes  uint64                      `json:"heapBytes"`
}

// statusHandler streams the hub's figures as server-sent events, straight
// from Hub.Stats rather than through the replay log: a tick a second would
// otherwise fill the log and every replay with figures nobody resumes.
func statusHandler(hub *server.Hub, interval time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A stream like the hub's own: counted against its caps.
		release, ok := hub.HoldStream(w, r)
		if !ok {
			return
		}
		defer release()
		rc := http.NewResponseController(w)
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		t := time.NewTicker(interval)
		defer t.Stop()
		var buf []byte
		// runtime/metrics reads the heap without stopping the world, as
		// ReadMemStats would once a second per viewer.
		heap := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			s := hub.Stats()
			metrics.Read(heap)
			data, err := json.Marshal(statusSnapshot{
				Time: time.Now().UnixMilli(), Streams: s.Streams,
				Published: s.Published, Delivered: s.Delivered,
				Replays: s.ReplayHits + s.ReplayMisses, Missed: s.ReplayMisses, CutOff: s.CutOff,
				Goroutines: runtime.NumGoroutine(), HeapBytes: heap[0].Value.Uint64(),
			})
			if err != nil {
				return
			}
			buf, _ = sse.AppendEvent(buf[:0], &sse.Event{Type: "status", Data: string(data)})
			if _, err := w.Write(buf); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-t.C:
			}
		}
	})
}

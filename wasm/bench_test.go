package main

import (
	"strings"
	"testing"

	"github.com/polysse/polysse/sse"
)

// nullHost is a host that does nothing, for benchmarks of a conn's own work.
type nullHost struct{ n int }

func (h *nullHost) request(c *conn, r *request)           {}
func (h *nullHost) abort(c *conn)                         {}
func (h *nullHost) setTimer(c *conn, k timerKind, ms int) {}
func (h *nullHost) clearTimer(c *conn, k timerKind)       {}
func (h *nullHost) now() float64                          { return 0 }
func (h *nullHost) random() float64                       { return 0.5 }
func (h *nullHost) headers(c *conn) []header              { return nil }
func (h *nullHost) authError(c *conn, status int) int     { return authFail }
func (h *nullHost) opened(c *conn, url string)            {}
func (h *nullHost) events(c *conn, b *batch)              { h.n += b.n }
func (h *nullHost) failed(c *conn, reconnecting bool)     {}

// BenchmarkBody measures what a conn does with a body, in the chunk sizes
// of a browser's fetch: decoding, and encoding the batches for the shim.
// BrowserBench's scenarios: 8-byte events, and 64 KiB ones in 63-byte lines;
// and shapes of BrowserMatrix (e2e/bench_matrix_test.go): 1 KiB events,
// UTF-8 text, and 1 MiB events in 4,096-byte lines handed over 1 KiB at a
// time.
func BenchmarkBody(b *testing.B) {
	line := strings.Repeat("x", 63)
	// Two-, three- and four-byte characters and ASCII, as the matrix's.
	utf8Line := strings.Repeat("é中😀x", 256)
	for _, bc := range []struct {
		name  string
		ev    sse.Event
		n     int
		chunk int
	}{
		{"small-burst", sse.Event{Data: "12345678"}, 100_000, 1 << 21},
		{"small-64k", sse.Event{Data: "12345678"}, 100_000, 64 << 10},
		{"1k", sse.Event{Data: strings.Repeat("a", 1<<10)}, 8192, 64 << 10},
		{"large", sse.Event{Data: strings.TrimSuffix(strings.Repeat(line+"\n", 1024), "\n")}, 64, 1 << 20},
		{"long-lines", sse.Event{Data: strings.TrimSuffix(strings.Repeat(strings.Repeat("y", 4096)+"\n", 16), "\n")}, 64, 64 << 10},
		{"one-line-64k", sse.Event{Data: strings.Repeat("z", 64<<10)}, 64, 64 << 10},
		{"one-line-1m", sse.Event{Data: strings.Repeat("z", 1<<20)}, 4, 64 << 10},
		{"utf8-64k", sse.Event{Data: strings.TrimSuffix(strings.Repeat(utf8Line+"\n", 64<<10/len(utf8Line)), "\n")}, 64, 64 << 10},
		{"pieces-1m", sse.Event{Data: strings.TrimSuffix(strings.Repeat(strings.Repeat("g", 4096)+"\n", 256), "\n")}, 4, 1 << 10},
	} {
		frame, _ := sse.AppendEvent(nil, &bc.ev)
		stream := []byte(strings.Repeat(string(frame), bc.n))
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			h := &nullHost{}
			c := newConn(1, "http://x/", config{}, h)
			c.start()
			c.response(c.attempt, 200, "text/event-stream", "")
			for b.Loop() {
				for p := stream; len(p) > 0; {
					n := min(len(p), bc.chunk)
					if !c.body(c.attempt, p[:n]) {
						b.Fatal("body stopped")
					}
					p = p[n:]
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(h.n), "ns/event")
		})
	}
}

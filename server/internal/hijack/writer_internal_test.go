package hijack

import (
	"bytes"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polysse/polysse/server/internal/queue"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/sse"
)

// A hijacked stream whose queue overflows while a writer holds it, its
// socket full, is closed at once: the writer must not start a blocking
// write (of the last chunk, or of what it had taken) that would keep the
// stream for the write timeout. The writer's hold is staged: the stream
// is marked queued without being put on a writer's list, the overflow is
// published, then the stream is handed to its writer.
func TestOverflowWhileAWriterHoldsTheStream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String()) // and never read
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	var delivered atomic.Uint64
	var cutOff, released atomic.Int32
	q := queue.New(8<<10, func(string) { cutOff.Add(1) })
	p := NewPool(Config{
		Writers:      1,
		WriteTimeout: time.Minute, // far past the bound below
		Liveness:     time.Minute,
		Delivered:    &delivered,
		Ways:         func(fn func(queue.Way)) { fn(q.Way()) },
	})
	defer p.Stop()
	p.HandOff(Handoff{Conn: conn, Queue: q, Release: func() { released.Add(1) }})

	var st *Stream
	waitUntil(t, "stream handed off and idle", func() bool {
		all := p.streams()
		if len(all) != 1 {
			return false
		}
		st = all[0]
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.state == stateIdle
	})
	// Fill the socket while no writer touches it (idle: nothing pending).
	junk := bytes.Repeat([]byte{':'}, 64<<10)
	for {
		n, err := st.writeNB(junk)
		if err != nil {
			t.Fatal(err)
		}
		if n < len(junk) {
			break
		}
	}
	st.mu.Lock()
	if st.state != stateIdle {
		st.mu.Unlock()
		t.Fatalf("state %d, want idle", st.state)
	}
	st.state = stateQueued // a writer has it
	st.mu.Unlock()

	data := string(bytes.Repeat([]byte{'x'}, 1024))
	for i := range 16 {
		frame, err := sse.AppendEvent(nil, &sse.Event{Data: data})
		if err != nil {
			t.Fatal(err)
		}
		q.Push(queue.Delivery{Pos: store.Pos{Lo: uint64(i + 1)}, Frame: frame})
	}
	waitUntil(t, "overflow counted", func() bool { return cutOff.Load() == 1 })
	st.wr.enqueue(st) // the writer goes on
	waitUntil(t, "stream released", func() bool { return released.Load() == 1 && p.Open() == 0 })
}

// waitUntil waits up to 5 s for cond.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

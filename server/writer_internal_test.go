package server

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/memstore"
	"github.com/polysse/polysse/sse"
)

// A hijacked stream whose queue overflows while a writer holds it, its
// socket full, is closed at once: the writer must not start a blocking
// write (of the last chunk, or of what it had taken) that would keep the
// stream for the write timeout. The writer's hold is staged: the stream
// is marked queued without being put on a writer's list, the overflow is
// published, then the stream is handed to its writer.
func TestOverflowWhileAWriterHoldsTheStream(t *testing.T) {
	log := memstore.New(store.Bounds{})
	defer log.Close()
	h, err := New(context.Background(), Config{
		Log:            log,
		AllowAnonymous: true,
		Heartbeat:      -1,
		MaxQueueBytes:  8 << 10,
		WriteTimeout:   time.Minute, // far past the bound below
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()
	u, _ := url.Parse(srv.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /?topic=t HTTP/1.1\r\nHost: %s\r\n\r\n", u.Host) // and never read

	var hs *hstream
	waitUntil(t, "stream hijacked and idle", func() bool {
		all := h.hj.streams()
		if len(all) != 1 {
			return false
		}
		hs = all[0]
		hs.s.mu.Lock()
		defer hs.s.mu.Unlock()
		return hs.state == stateIdle
	})
	// Fill the socket while no writer touches it (idle: nothing pending).
	junk := bytes.Repeat([]byte{':'}, 64<<10)
	for {
		n, err := hs.writeNB(junk)
		if err != nil {
			t.Fatal(err)
		}
		if n < len(junk) {
			break
		}
	}
	s := hs.s
	s.mu.Lock()
	if hs.state != stateIdle {
		s.mu.Unlock()
		t.Fatalf("state %d, want idle", hs.state)
	}
	hs.state = stateQueued // a writer has it
	s.mu.Unlock()

	data := string(bytes.Repeat([]byte{'x'}, 1024))
	for i := range 16 {
		if _, err := h.Publish(context.Background(), &store.Update{Topics: []string{"t"}, Event: sse.Event{Data: data, ID: fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "overflow counted", func() bool { return h.Stats().CutOff == 1 })
	hs.w.enqueue(hs) // the writer goes on
	waitUntil(t, "stream released", func() bool { return h.Subscribers() == 0 })
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

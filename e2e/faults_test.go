package e2e

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/polysse/polysse/client"
	"github.com/polysse/polysse/sse"
)

// TestKill9KeepsEveryAcknowledgedEvent kills the hub with SIGKILL during a
// publish burst on the bolt store, restarts it on the same file, and
// replays: every id a publisher got a 200 for must be there, once.
func TestKill9KeepsEveryAcknowledgedEvent(t *testing.T) {
	db := filepath.Join(t.TempDir(), "events.db")
	h := StartHub(t, "-store", "bolt:"+db)

	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hc := &http.Client{Timeout: 5 * time.Second}
	for p := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				id, err := client.Publish(ctx, hc, h.URL+"/.well-known/mercure", PublisherJWT(h.Key), client.Update{
					Topics: []string{"burst"}, Data: strconv.Itoa(p) + "/" + strconv.Itoa(i),
				})
				if err != nil {
					return // the hub is gone: this publish was never acknowledged
				}
				mu.Lock()
				acked[id] = true
				mu.Unlock()
			}
		}()
	}
	// Kill once the burst is well under way.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d publishes acknowledged in 5s", n)
		}
	}
	h.Kill()
	wg.Wait()
	t.Logf("%d publishes acknowledged before SIGKILL", len(acked))

	h2 := StartHub(t, "-store", "bolt:"+db)
	seen := map[string]int{}
	missing := len(acked)
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	err := (&client.Client{}).Subscribe(rctx, h2.URL+"/.well-known/mercure?topic=burst", "earliest", func(ev sse.Event) error {
		seen[ev.ID]++
		if seen[ev.ID] == 1 && acked[ev.ID] {
			missing--
		}
		if missing == 0 {
			return io.EOF
		}
		return nil
	})
	if !errors.Is(err, io.EOF) {
		t.Fatalf("replay after restart: %v; %d acknowledged ids missing of %d", err, missing, len(acked))
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("id %s replayed %d times", id, n)
		}
	}
}

// TestSIGTERMDrainsUnderLoad sends SIGTERM while streams are open and
// events flow: the hub must exit within its bound, and every stream must
// end (which is what tells a client to reconnect) rather than hang.
func TestSIGTERMDrainsUnderLoad(t *testing.T) {
	h := StartHub(t, "-shutdown-timeout", "5s")
	const streams = 200
	ended := make(chan error, streams)
	opened := make(chan struct{}, streams)
	for range streams {
		go func() {
			res, err := http.Get(h.URL + "/.well-known/mercure?topic=load")
			if err != nil {
				ended <- err
				return
			}
			defer res.Body.Close()
			opened <- struct{}{}
			_, err = io.Copy(io.Discard, res.Body)
			ended <- err
		}()
	}
	for range streams {
		select {
		case <-opened:
		case <-time.After(10 * time.Second):
			t.Fatal("streams did not open")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			_, _ = h.PublishContext(ctx, Update{Topics: []string{"load"}, Data: strconv.Itoa(i)})
		}
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	if err := h.proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.proc.Done():
	case <-time.After(8 * time.Second):
		t.Fatal("the hub did not exit within its 5s shutdown bound (+3s)")
	}
	t.Logf("exited %v after SIGTERM", time.Since(start))
	for i := range streams {
		select {
		case err := <-ended:
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Logf("stream %d ended with %v", i, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%d streams still open after the hub exited", streams-i)
		}
	}
	if err := h.proc.Wait(ctx); err != nil {
		t.Errorf("after SIGTERM: %v, want exit code 0", err)
	}
}

// cuttingProxy forwards TCP connections to target and cuts each one after
// a random number of bytes from the server, so streams end anywhere: in
// the middle of a line, of an event, or between events.
type cuttingProxy struct {
	ln   net.Listener
	cuts atomic.Int64
}

func startCuttingProxy(t *testing.T, target string, minBytes, maxBytes int) *cuttingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttingProxy{ln: ln}
	t.Cleanup(func() { ln.Close() })
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			budget := int64(minBytes + rng.IntN(maxBytes-minBytes))
			mu.Unlock()
			go p.serve(c, target, budget)
		}
	}()
	return p
}

func (p *cuttingProxy) serve(c net.Conn, target string, budget int64) {
	defer c.Close()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	go func() { _, _ = io.Copy(up, c) }()
	n, _ := io.CopyN(c, up, budget)
	if n == budget {
		p.cuts.Add(1)
	}
}

// TestCutConnectionsLoseNothing subscribes through a proxy that cuts every
// connection after a random few hundred bytes — mid-line, mid-event, or
// between events — while events are published: every client still gets
// every event exactly once, in order, by resuming with its last id.
//
// The guarantee starts once a client has a cursor. A fresh subscription
// cut before the first bytes of its body (the hub's cursor is the first
// thing in it) reconnects without a last event id, as any EventSource
// would, and is a fresh subscription again: what was published meanwhile
// is not its to get. So the clients are primed first, with events that
// are published until each has seen one.
func TestCutConnectionsLoseNothing(t *testing.T) {
	h := StartHub(t, "-retry", "5ms")
	proxy := startCuttingProxy(t, strings.TrimPrefix(h.URL, "http://"), 200, 1500)
	const clients, events = 8, 300
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var primed sync.WaitGroup
	primed.Add(clients)
	results := make(chan []string, clients)
	for range clients {
		go func() {
			var got []string
			once := sync.Once{}
			c := &client.Client{}
			_ = c.Subscribe(ctx, "http://"+proxy.ln.Addr().String()+"/.well-known/mercure?topic=cut", "", func(ev sse.Event) error {
				if strings.HasPrefix(ev.Data, "priming") {
					if len(got) > 0 {
						return errors.New("a priming event after counted ones")
					}
					once.Do(primed.Done)
					return nil
				}
				got = append(got, ev.Data)
				if len(got) == events {
					return io.EOF
				}
				return nil
			})
			results <- got
		}()
	}
	allPrimed := make(chan struct{})
	go func() { primed.Wait(); close(allPrimed) }()
	for i := 0; ; i++ {
		if _, err := h.PublishContext(ctx, Update{Topics: []string{"cut"}, Data: "priming " + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-allPrimed:
		case <-time.After(20 * time.Millisecond):
			continue
		}
		break
	}
	for i := range events {
		if _, err := h.PublishContext(ctx, Update{Topics: []string{"cut"}, Data: "event " + strconv.Itoa(i) + " " + strings.Repeat("·", i%40)}); err != nil {
			t.Fatal(err)
		}
	}
	for range clients {
		got := <-results
		if len(got) != events {
			t.Fatalf("a client got %d of %d events before the deadline", len(got), events)
		}
		for i, d := range got {
			if want := "event " + strconv.Itoa(i) + " "; !strings.HasPrefix(d, want) {
				t.Fatalf("event %d is %q: lost, repeated or out of order", i, d)
			}
		}
	}
	if proxy.cuts.Load() < clients {
		t.Fatalf("only %d connections were cut: the test did not exercise resumption", proxy.cuts.Load())
	}
	t.Logf("%d connections cut mid-stream", proxy.cuts.Load())
}

package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/sse"
)

// The hub serves HTTP/1.1 streams on the hijacked path and everything else
// on the ordinary one; these tests run the behaviours that differ between
// the two on both, and on HTTP/2.

func TestHijackedPathIsTakenForHTTP11Streams(t *testing.T) {
	e := newEnv(t, nil)
	s := e.subscribe("topic=t", nil)
	waitFor(t, func() bool { return server.HijackedStreams(e.hub) == 1 })
	id := e.publish("hello", "t")
	if ev := s.next(t); ev.Data != "hello" || ev.ID != id {
		t.Fatalf("got %+v", ev)
	}
	// Long-poll keeps the ordinary path.
	go e.publish("polled", "t")
	_, body := get(t, e.srv.URL+"?topic=t&transport=poll&lastEventID="+url.QueryEscape(id))
	if !strings.Contains(body, "data: polled\n") {
		t.Fatalf("poll: %q", body)
	}
	if n := server.HijackedStreams(e.hub); n != 1 {
		t.Fatalf("%d hijacked streams, want 1", n)
	}
}

func TestDisableHijackKeepsTheHandlerPath(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.DisableHijack = true })
	s := e.subscribe("topic=t", nil)
	e.publish("hello", "t")
	if ev := s.next(t); ev.Data != "hello" {
		t.Fatalf("got %+v", ev)
	}
	if n := server.HijackedStreams(e.hub); n != 0 {
		t.Fatalf("%d hijacked streams, want none", n)
	}
}

// TestHijackedResponseHead reads the response head as bytes: the same
// headers as the ordinary path, CORS included, a chunked body and
// Connection: close, and a chunked terminator when the hub drains.
func TestHijackedResponseHead(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.CORSOrigins = []string{"https://app.example"} })
	u, _ := url.Parse(e.srv.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /?topic=t HTTP/1.1\r\nHost: %s\r\nOrigin: https://app.example\r\n\r\n", u.Host)
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkStreamHeaders(t, res, map[string]string{
		"Access-Control-Allow-Origin":      "https://app.example",
		"Access-Control-Allow-Credentials": "true",
		"Vary":                             "Origin",
	})
	if len(res.TransferEncoding) != 1 || res.TransferEncoding[0] != "chunked" || !res.Close {
		t.Errorf("transfer encoding %v, close %v; want chunked and close", res.TransferEncoding, res.Close)
	}
	if res.Header.Get("Date") == "" {
		t.Error("no Date header")
	}
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(res.Body); done <- b }()
	waitFor(t, func() bool { return server.HijackedStreams(e.hub) == 1 })
	e.publish("x", "t")
	waitFor(t, func() bool { return e.hub.Stats().Delivered == 1 }) // a drain drops what is queued
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := e.hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-done:
		// ReadAll returns without error only if the chunked body ended
		// with its terminator.
		if !strings.Contains(string(b), "data: x\n") || !strings.HasSuffix(string(b), ": hub restarting: reconnect\n") {
			t.Fatalf("body %q", b)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the response did not end at shutdown")
	}
}

// TestHijackedDeadClientIsDropped: nobody reads a hijacked connection, so
// a client that leaves is found by the liveness check at heartbeat time.
func TestHijackedDeadClientIsDropped(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.Heartbeat = 50 * time.Millisecond })
	u, _ := url.Parse(e.srv.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /?topic=t HTTP/1.1\r\nHost: %s\r\n\r\n", u.Host)
	waitFor(t, func() bool { return e.hub.Subscribers() == 1 && server.HijackedStreams(e.hub) == 1 })
	conn.Close()
	waitFor(t, func() bool { return e.hub.Subscribers() == 0 })
}

// TestStreamPathsBehaveAlike runs the stream behaviours on the hijacked
// path, the ordinary HTTP/1.1 path and HTTP/2.
func TestStreamPathsBehaveAlike(t *testing.T) {
	for _, mode := range []string{"hijacked", "handler", "http2"} {
		t.Run(mode, func(t *testing.T) {
			t.Run("replay then live, no gap or duplicate", func(t *testing.T) {
				// Published during the resume, so the replay and the live
				// events meet mid-stream.
				e := newEnv(t, nil, onPath(mode))
				const total = 400
				first := e.publishDirect("0")
				var wg sync.WaitGroup
				wg.Go(func() {
					for i := 1; i < total; i++ {
						if _, err := e.hub.Publish(context.Background(), &store.Update{Topics: []string{"t"}, Event: sse.Event{Data: strconv.Itoa(i)}}); err != nil {
							t.Error(err)
							return
						}
					}
				})
				time.Sleep(time.Millisecond)
				s := e.subscribe("topic=t", http.Header{"Last-Event-ID": {first}})
				for i := 1; i < total; i++ {
					if ev := s.next(t); ev.Data != strconv.Itoa(i) {
						t.Fatalf("event %d: got %q", i, ev.Data)
					}
				}
				wg.Wait()
				s.none(t, 50*time.Millisecond)
			})
			t.Run("heartbeat", func(t *testing.T) {
				e := newEnv(t, func(c *server.Config) { c.Heartbeat = 30 * time.Millisecond }, onPath(mode))
				res := e.open("topic=t")
				r := bufio.NewReader(res.Body)
				deadline := time.Now().Add(3 * time.Second)
				for time.Now().Before(deadline) {
					line, err := r.ReadString('\n')
					if err != nil {
						t.Fatal(err)
					}
					if line == ":\n" {
						return
					}
				}
				t.Fatal("no heartbeat")
			})
			t.Run("token expiry ends the stream", func(t *testing.T) {
				e := newEnv(t, nil, onPath(mode))
				tok, _ := e.sig.Sign(auth.Claims{Subscribe: []string{"*"}}, 1200*time.Millisecond)
				s := e.subscribe("topic=t", http.Header{"Authorization": {"Bearer " + tok}})
				select {
				case _, ok := <-s.ch:
					if ok {
						t.Fatal("unexpected event")
					}
				case <-time.After(5 * time.Second):
					t.Fatal("stream still open after its token expired")
				}
			})
			t.Run("shutdown drains", func(t *testing.T) {
				e := newEnv(t, nil, onPath(mode))
				s := e.subscribe("topic=t", nil)
				e.publishDirect("before")
				if ev := s.next(t); ev.Data != "before" {
					t.Fatalf("got %q", ev.Data)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				if err := e.hub.Shutdown(ctx); err != nil {
					t.Fatal(err)
				}
				if _, ok := <-s.ch; ok {
					t.Fatal("event after shutdown")
				}
				if res := e.open("topic=t"); res.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("subscribe while draining: %d, want 503", res.StatusCode)
				}
			})
			t.Run("a subscriber that stops reading is cut off alone", func(t *testing.T) {
				// Its queue overflows while a write to it is blocked; the
				// write timeout is too long to be what ends it.
				e := newEnv(t, func(c *server.Config) {
					c.MaxQueueBytes = 512 << 10 // eight times a burst below
					c.WriteTimeout = time.Minute
				}, onPath(mode))
				before := e.hub.Subscribers() // HTTP/2's probe is one
				e.open("topic=t")             // never read
				s := e.subscribe("topic=t", nil)
				data := strings.Repeat("x", 1024)
				const n = 8000 // more than HTTP/2's 4 MB stream window
				for i := range n {
					if _, err := e.hub.Publish(context.Background(), &store.Update{Topics: []string{"t"}, Event: sse.Event{Data: data, ID: strconv.Itoa(i)}}); err != nil {
						t.Fatal(err)
					}
					if i%64 == 63 {
						for j := i - 63; j <= i; j++ {
							if ev := s.next(t); ev.ID != strconv.Itoa(j) {
								t.Fatalf("reading subscriber: got %q, want %d", ev.ID, j)
							}
						}
					}
				}
				waitFor(t, func() bool { return e.hub.Subscribers() == before+1 })
				if got := e.hub.Stats().CutOff; got != 1 {
					t.Fatalf("Stats().CutOff = %d, want 1", got)
				}
			})
			t.Run("padding", func(t *testing.T) {
				e := newEnv(t, nil, onPath(mode))
				res := e.open("topic=t&padding=true")
				line, _ := bufio.NewReaderSize(res.Body, 8192).ReadString('\n')
				if !strings.HasPrefix(line, ":") || len(line) < 2048 {
					t.Fatalf("first line is %d bytes", len(line))
				}
			})
		})
	}
}

// TestManyIdleHijackedStreams keeps the hijacked path honest at scale, in
// process: a few thousand idle streams, one event, and every stream gets it
// exactly once.
func TestManyIdleHijackedStreams(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 500
	}
	// One client opens every stream here.
	e := newEnv(t, func(c *server.Config) { c.MaxSubscribersPerClient = -1 })
	u, _ := url.Parse(e.srv.URL)
	type result struct {
		i   int
		err error
	}
	results := make(chan result, n)
	var ready sync.WaitGroup
	ready.Add(n)
	conns := make([]net.Conn, n)
	for i := range n {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = conn
		fmt.Fprintf(conn, "GET /?topic=t HTTP/1.1\r\nHost: %s\r\n\r\n", u.Host)
		go func() {
			res, err := http.ReadResponse(bufio.NewReaderSize(conn, 1024), nil)
			if err != nil {
				ready.Done()
				results <- result{i, err}
				return
			}
			rd := sse.NewReader(res.Body, sse.Limits{})
			ready.Done()
			got := 0
			for {
				ev, err := rd.Next()
				if err != nil {
					if got != 1 {
						err = fmt.Errorf("%d events: %v", got, err)
					} else {
						err = nil
					}
					results <- result{i, err}
					return
				}
				if ev.Data == "to all" {
					got++
				}
			}
		}()
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	ready.Wait()
	waitFor(t, func() bool { return server.HijackedStreams(e.hub) == n })
	e.publish("to all", "t")
	// A drain drops what is still queued (the clients resume from the
	// log), so shut down only once every stream has taken the event.
	waitFor(t, func() bool { return e.hub.Stats().Delivered == uint64(n) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for range n {
		select {
		case r := <-results:
			if r.err != nil {
				t.Fatalf("stream %d: %v", r.i, r.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("streams did not end")
		}
	}
	if got := e.hub.Stats().Delivered; got != uint64(n) {
		t.Fatalf("delivered %d, want %d", got, n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

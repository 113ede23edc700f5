package server_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/memstore"
)

// failingLog is a real in-memory log whose appends fail while broken is
// set, the way a file log fails when its disk is full or read-only (the
// bolt log's own tests break a real file; this checks what the hub does).
type failingLog struct {
	store.Log
	broken atomic.Bool
}

var errDiskFull = errors.New("write events.db: no space left on device")

func (l *failingLog) Append(ctx context.Context, u *store.Update) error {
	if l.broken.Load() {
		return errDiskFull
	}
	return l.Log.Append(ctx, u)
}

func TestUnwritableLogFailsPublishesAndKeepsStreams(t *testing.T) {
	log := &failingLog{Log: memstore.New(store.Bounds{})}
	e := newEnv(t, func(c *server.Config) {
		c.Log = log
		c.Heartbeat = 30 * time.Millisecond
	})
	s := e.subscribe("topic=t", nil)
	e.publish("before", "t")
	if ev := s.next(t); ev.Data != "before" {
		t.Fatalf("got %q", ev.Data)
	}

	log.broken.Store(true)
	code, body := e.post(e.token(auth.Claims{Publish: []string{"*"}}), url.Values{"topic": {"t"}, "data": {"lost"}})
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "no space left on device") {
		t.Fatalf("publish to a broken log: %d %q; want 503 with the reason", code, body)
	}
	if _, err := e.hub.Publish(context.Background(), &store.Update{Topics: []string{"t"}}); !errors.Is(err, errDiskFull) {
		t.Fatalf("Go publish to a broken log: %v", err)
	}
	// The open stream is still alive: heartbeats flow on a raw stream.
	res, err := http.Get(e.srv.URL + "?topic=t")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r := bufio.NewReader(res.Body)
	deadline := time.Now().Add(2 * time.Second)
	for heartbeat := false; !heartbeat; {
		if time.Now().After(deadline) {
			t.Fatal("no heartbeat while the log is broken")
		}
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		heartbeat = line == ":\n"
	}

	log.broken.Store(false)
	e.publish("after", "t")
	if ev := s.next(t); ev.Data != "after" {
		t.Fatalf("after the log recovered the stream got %q; the refused update must never arrive", ev.Data)
	}
}

// TestReadyFailsWhileLogRefusesAppends: a log whose own probe passes while
// it refuses appends (a full disk takes an empty transaction) makes the hub
// unready until an append is accepted again (issue 15, item 5).
func TestReadyFailsWhileLogRefusesAppends(t *testing.T) {
	log := &failingLog{Log: memstore.New(store.Bounds{})}
	e := newEnv(t, func(c *server.Config) { c.Log = log })
	if err := e.hub.Ready(t.Context()); err != nil {
		t.Fatalf("Ready before: %v", err)
	}
	log.broken.Store(true)
	if code, _ := e.post(e.token(auth.Claims{Publish: []string{"*"}}), url.Values{"topic": {"t"}, "data": {"x"}}); code != http.StatusServiceUnavailable {
		t.Fatalf("publish to a broken log: %d", code)
	}
	if err := e.hub.Ready(t.Context()); err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("Ready while the log refuses appends = %v, want the reason", err)
	}
	// A duplicate id is the publisher's fault, not the log's.
	log.broken.Store(false)
	e.publish("x", "t")
	if err := e.hub.Ready(t.Context()); err != nil {
		t.Fatalf("Ready once an append was accepted: %v", err)
	}
	f := url.Values{"topic": {"t"}, "data": {"x"}, "id": {"dup"}}
	e.post(e.token(auth.Claims{Publish: []string{"*"}}), f)
	if code, _ := e.post(e.token(auth.Claims{Publish: []string{"*"}}), f); code != http.StatusConflict {
		t.Fatalf("duplicate: %d", code)
	}
	if err := e.hub.Ready(t.Context()); err != nil {
		t.Fatalf("Ready after a refused duplicate: %v", err)
	}
}

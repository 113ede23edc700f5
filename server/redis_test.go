package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/redisstore"
	"github.com/polysse/polysse/server/store/redisstore/redistest"
)

// TestRedisLatePublishMayHaveBeenStored: when Redis answers a publish too
// late, the hub says the update may have been stored and how to retry
// safely, not that it was not stored (issue 15, item 10); the retry with
// the publisher's own id then leaves exactly one copy in the log.
func TestRedisLatePublishMayHaveBeenStored(t *testing.T) {
	srv := redistest.Start(t)
	log, err := redisstore.Open(t.Context(), srv.URL(), store.Bounds{}, redisstore.WithTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *server.Config) { c.Log = log })
	tok := e.token(auth.Claims{Publish: []string{"*"}})
	form := url.Values{"topic": {"t"}, "data": {"x"}, "id": {"mine-1"}}

	srv.Pause()
	code, body := e.post(tok, form)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "may have been stored") || !strings.Contains(body, "409") {
		srv.Resume()
		t.Fatalf("publish to a hung Redis: %d %q; want 503 saying it may have been stored, pointing at a retry with the id", code, body)
	}
	if c, b := e.post(tok, url.Values{"topic": {"t"}, "data": {"y"}}); c != http.StatusServiceUnavailable || !strings.Contains(b, "id of your own") {
		srv.Resume()
		t.Fatalf("publish without an id to a hung Redis: %d %q; want 503 advising an id of one's own", c, b)
	}
	srv.Resume()

	// Redis runs the delayed append once it wakes; the retry comes after or
	// before it, and either way one of the two is refused.
	code, body = e.post(tok, form)
	if code != http.StatusConflict && code != http.StatusOK {
		t.Fatalf("retry: %d %q, want 409 (or 200 if it came first)", code, body)
	}
	n := 0
	deadline := time.Now().Add(5 * time.Second)
	for {
		n = 0
		err := log.Replay(context.Background(), store.Earliest, func(u *store.Update) error {
			if u.Event.ID == "mine-1" {
				n++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n != 1 {
		t.Fatalf("the log holds %d updates of id mine-1 after a late answer and a retry, want 1", n)
	}
}

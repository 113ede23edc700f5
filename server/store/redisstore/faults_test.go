package redisstore_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/redisstore"
	"github.com/polysse/polysse/server/store/redisstore/redistest"
)

// A Redis that accepts connections but answers nothing (a hung server, a
// lost network): Append and Ready fail within the timeout and say so;
// watchers go on once it answers again.
func TestRedisHung(t *testing.T) {
	srv := redistest.Start(t)
	const timeout = 300 * time.Millisecond
	l := open(t, srv.URL(), store.Bounds{}, redisstore.WithTimeout(timeout))
	defer l.Close()
	w := watch(t, l)
	acked := []store.Update{appendOne(t, l, "t", "", 0)}

	srv.Pause()
	u := newUpdate("t", "", 1)
	start := time.Now()
	err := l.Append(t.Context(), &u)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Errorf("Append to a hung Redis = %v, want it to say there was no answer within %v", err, timeout)
	}
	if took > timeout+time.Second {
		t.Errorf("Append took %v to fail, want about %v", took, timeout)
	}
	if err := l.Ready(t.Context()); err == nil {
		t.Error("Ready = nil with Redis hung")
	}
	// The caller's context still counts, and its error comes first.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := l.Append(ctx, &u); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Append with a short context to a hung Redis = %v, want DeadlineExceeded", err)
	}
	srv.Resume()

	acked = append(acked, appendOne(t, l, "t", "", 2))
	// The appends that timed out may have been stored after all (Redis
	// read them once it woke): what was acknowledged arrives, in order.
	last := acked[len(acked)-1]
	if !waitFor(5*time.Second, func() bool {
		got := w.updates()
		return len(got) > 0 && got[len(got)-1].Event.ID == last.Event.ID
	}) {
		t.Fatalf("watcher got %v, want it to end with %q", ids(w.updates()), last.Event.ID)
	}
	got := w.updates()
	if got[0].Event.ID != acked[0].Event.ID {
		t.Fatalf("watcher got %v, want it to start with %q", ids(got), acked[0].Event.ID)
	}
}

// Close ends the reader at once, even while Redis is away and the reader
// waits to try again, or is blocked reading from a Redis that does not
// answer.
func TestCloseWhileDown(t *testing.T) {
	for _, how := range []string{"stopped", "hung"} {
		t.Run(how, func(t *testing.T) {
			srv := redistest.Start(t)
			l := open(t, srv.URL(), store.Bounds{}, redisstore.WithReconnectBackoff(time.Second, 5*time.Second),
				redisstore.WithLogger(slog.New(slog.DiscardHandler)))
			watch(t, l)
			if how == "stopped" {
				srv.Stop()
				time.Sleep(100 * time.Millisecond) // the reader fails and waits
			} else {
				srv.Pause()
				defer srv.Resume()
			}
			start := time.Now()
			if err := l.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("Close took %v", d)
			}
		})
	}
}

// Open fails, and says why, on a bad URL or a Redis that is not there.
func TestOpenFails(t *testing.T) {
	// A port nothing listens on: taken, then released.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().String()
	ln.Close()
	// A port that accepts and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()

	for _, tt := range []struct {
		url, want string
	}{
		{"redis://" + free, "connection refused"},
		{"redis://" + silent.Addr().String(), "no answer within"},
		{"http://localhost", "unknown scheme"},
		{"localhost:6379", "scheme"},
		{"redis://localhost/x", "database"},
		{"redis://localhost?bogus=1", "bogus"},
		{"redis-sentinel://localhost", "master"},
		{"redis-cluster://localhost/1", "database 0"},
		{"redis://user:s3cret@%zz", "invalid"},
	} {
		start := time.Now()
		// The default timeout: within it, go-redis's dial attempts (5, 100 ms
		// apart) end with their reason.
		l, err := redisstore.Open(t.Context(), tt.url, store.Bounds{})
		if err == nil {
			l.Close()
			t.Errorf("Open(%q) succeeded", tt.url)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "redisstore: open: ") {
			t.Errorf("Open(%q) = %v, want an error about %q", tt.url, err, tt.want)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) = %v: the password shows", tt.url, err)
		}
		if d := time.Since(start); d > redisstore.DefaultTimeout+200*time.Millisecond {
			t.Errorf("Open(%q) took %v to fail", tt.url, d)
		}
	}
}

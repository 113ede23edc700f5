package client

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/polysse/polysse/internal/connrules"
	"github.com/polysse/polysse/sse"
)

// loadRules loads the one table of connection rules every polysse client
// runs (internal/connrules).
func loadRules(t *testing.T) *connrules.Table {
	t.Helper()
	r, err := connrules.Load("../testdata/connection-rules.json")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRulesResponses(t *testing.T) {
	for _, tc := range loadRules(t).Responses {
		srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if n > 0 {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			if tc.ContentType == "" {
				w.Header()["Content-Type"] = nil
			} else {
				w.Header().Set("Content-Type", tc.ContentType)
			}
			w.WriteHeader(tc.Status)
			w.Write([]byte("data: x\n\n"))
		})
		evs, err := collect(t, &Client{Retry: time.Millisecond}, srv.URL, "")
		var got string
		var se *StatusError
		switch n := len(srv.requests()); {
		case errors.As(err, &se):
			got = "fail"
		case err != nil:
			got = "error " + err.Error()
		case len(evs) > 0:
			got = "open"
		case n == 1:
			got = "stop"
		default:
			got = "reconnect"
		}
		if got != tc.Client {
			t.Errorf("%d %q: %s, want %s", tc.Status, tc.ContentType, got, tc.Client)
		}
	}
}

func TestRulesRetryField(t *testing.T) {
	for _, tc := range loadRules(t).RetryFields {
		srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if n > 0 {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			stream(w, "retry: "+tc.Value+"\ndata: x\n\n")
		})
		// The first wait is read from OnReconnect, which ends the
		// subscription: a huge retry: would make the test wait.
		ctx, cancel := context.WithTimeout(t.Context(), bound)
		var waits []time.Duration
		c := &Client{Retry: 7 * time.Millisecond, OnReconnect: func(err error, d time.Duration) {
			waits = append(waits, d)
			cancel()
		}}
		c.Subscribe(ctx, srv.URL, "", func(ev sse.Event) error { return nil })
		cancel()
		want := 7 * time.Millisecond
		if tc.MS != nil {
			want = time.Duration(*tc.MS) * time.Millisecond
		}
		if len(waits) == 0 || waits[0] != want {
			t.Errorf("retry: %q: waits %v, want %v first", tc.Value, waits, want)
		}
	}
}

func TestRulesBackoff(t *testing.T) {
	ms := time.Millisecond
	n := 0
	for _, tc := range loadRules(t).Backoff {
		// The client's policy is fixed: doubling, half the added part as
		// jitter, at least minBackoff.
		if tc.Factor != 2 || tc.Jitter != backoffJitter || time.Duration(tc.Base)*ms < minBackoff {
			continue
		}
		n++
		got := backoff(time.Duration(tc.Base)*ms, time.Duration(tc.Max)*ms, tc.Failures, tc.Random, 0)
		if want := time.Duration(tc.Wait) * ms; got.Truncate(ms) != want {
			t.Errorf("%+v: %v", tc, got)
		}
	}
	if n < 3 {
		t.Fatalf("only %d backoff rows apply to the client", n)
	}
}

package main

import (
	"testing"

	"github.com/polysse/polysse/internal/connrules"
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

// outcome is what a conn did with a response: open, fail or reconnect.
func outcome(c *conn, h *fakeHost, accepted bool) string {
	switch {
	case accepted && c.state == open:
		return "open"
	case c.state == closed:
		return "fail"
	case c.state == connecting:
		if _, ok := h.timers[reconnectTimer]; ok {
			return "reconnect"
		}
	}
	return "unknown"
}

func TestRulesResponses(t *testing.T) {
	for _, tc := range loadRules(t).Responses {
		for _, col := range []struct {
			name    string
			lenient bool
			want    string
		}{{"standard", false, tc.Standard}, {"polyfill", true, tc.Polyfill}} {
			c, h := testConn(config{gatewayErrors: col.lenient, retryMS: 100})
			got := outcome(c, h, c.response(1, tc.Status, tc.ContentType, ""))
			if got != col.want {
				t.Errorf("%s: %d %q: %s, want %s", col.name, tc.Status, tc.ContentType, got, col.want)
			}
		}
	}
}

func TestRulesRetryField(t *testing.T) {
	for _, tc := range loadRules(t).RetryFields {
		c, h := testConn(config{retryMS: 1234})
		c.response(1, 200, "text/event-stream", "")
		c.body(1, []byte("retry: "+tc.Value+"\ndata: x\n\n"))
		c.end(1, endNetwork)
		want := 1234
		if tc.MS != nil {
			want = clampTimer(*tc.MS)
		}
		if got := h.timers[reconnectTimer]; got != want {
			t.Errorf("retry: %q: reconnected after %d ms, want %d", tc.Value, got, want)
		}
	}
}

func TestRulesBackoff(t *testing.T) {
	for _, tc := range loadRules(t).Backoff {
		p := policy{max: tc.Max, factor: tc.Factor, jitter: tc.Jitter}
		if got := p.delay(tc.Base, tc.Failures, tc.Random); got != tc.Wait {
			t.Errorf("%+v: %d ms", tc, got)
		}
	}
}

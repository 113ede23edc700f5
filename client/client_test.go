package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polysse/polysse/sse"
)

// bound is the most any test waits for something that should happen at
// once; it only matters when a test fails.
const bound = 5 * time.Second

// request is what the test server saw of one connection attempt.
type request struct {
	header http.Header
	query  string
	at     time.Time
}

// server is a scripted event stream server: handle answers the n-th
// request (from 0); it records every request and when each handler
// returned.
type server struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []request
	ended []time.Time
}

func newServer(t *testing.T, handle func(n int, w http.ResponseWriter, r *http.Request)) *server {
	t.Helper()
	s := new(server)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		n := len(s.reqs)
		s.reqs = append(s.reqs, request{r.Header.Clone(), r.URL.RawQuery, time.Now()})
		s.mu.Unlock()
		handle(n, w, r)
		s.mu.Lock()
		s.ended = append(s.ended, time.Now())
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// stream answers 200 text/event-stream with body, flushed.
func stream(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, body)
	w.(http.Flusher).Flush()
}

// enc encodes an event with package sse's encoder.
func enc(t *testing.T, id, data string) string {
	t.Helper()
	b, err := sse.AppendEvent(nil, &sse.Event{ID: id, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func status(code int, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) { http.Error(w, body, code) }
}

// collect subscribes with c and returns the events and the result, within
// bound.
func collect(t *testing.T, c *Client, url, lastID string) ([]sse.Event, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), bound)
	defer cancel()
	var evs []sse.Event
	err := c.Subscribe(ctx, url, lastID, func(ev sse.Event) error {
		evs = append(evs, ev)
		return nil
	})
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Subscribe did not end within %v; events %v", bound, evs)
	}
	return evs, err
}

func TestSubscribeResumes(t *testing.T) {
	for _, tc := range []struct {
		name, param string
	}{
		{"header only", ""},
		{"header and query", "lastEventID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
				switch n {
				case 0:
					body := "retry: 10\n\n"
					for i := 1; i <= 5; i++ {
						body += enc(t, fmt.Sprint(i), fmt.Sprint("e", i))
					}
					stream(w, body)
				case 1:
					stream(w, enc(t, "6", "e6")+enc(t, "7", "e7"))
				default:
					w.WriteHeader(http.StatusNoContent)
				}
			})
			c := &Client{LastEventIDParam: tc.param}
			evs, err := collect(t, c, srv.URL+"/s?topic=a%2Fb&lastEventID=stale", "0")
			if err != nil {
				t.Fatalf("Subscribe: %v", err)
			}
			var got []string
			for _, ev := range evs {
				got = append(got, ev.ID+":"+ev.Type+":"+ev.Data)
			}
			want := []string{"1:message:e1", "2:message:e2", "3:message:e3", "4:message:e4", "5:message:e5", "6:message:e6", "7:message:e7"}
			if !slices.Equal(got, want) {
				t.Fatalf("events %v, want %v", got, want)
			}
			reqs := srv.requests()
			if len(reqs) != 3 {
				t.Fatalf("%d requests, want 3", len(reqs))
			}
			for i, id := range []string{"0", "5", "7"} {
				h := reqs[i].header
				if got := h.Get("Last-Event-ID"); got != id {
					t.Errorf("request %d: Last-Event-ID %q, want %q", i, got, id)
				}
				if h.Get("Accept") != "text/event-stream" || h.Get("Cache-Control") != "no-cache" {
					t.Errorf("request %d: Accept %q, Cache-Control %q", i, h.Get("Accept"), h.Get("Cache-Control"))
				}
				wantQuery := "topic=a%2Fb&lastEventID=stale"
				if tc.param != "" {
					wantQuery = "topic=a%2Fb&lastEventID=" + id
				}
				if reqs[i].query != wantQuery {
					t.Errorf("request %d: query %q, want %q", i, reqs[i].query, wantQuery)
				}
			}
		})
	}
}

func TestRetryFieldHonoured(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			stream(w, "retry: 50\n\n"+enc(t, "", "x"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	var reasons []error
	var delays []time.Duration
	// The default reconnection time is 3 s, far above the bound checked.
	c := &Client{OnReconnect: func(err error, d time.Duration) {
		reasons, delays = append(reasons, err), append(delays, d)
	}}
	if _, err := collect(t, c, srv.URL, ""); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(delays, []time.Duration{50 * time.Millisecond}) || reasons[0] != io.EOF {
		t.Fatalf("OnReconnect got %v %v, want [EOF] [50ms]", reasons, delays)
	}
	srv.mu.Lock()
	gap := srv.reqs[1].at.Sub(srv.ended[0])
	srv.mu.Unlock()
	if gap < 40*time.Millisecond || gap >= time.Second {
		t.Fatalf("reconnected %v after the stream ended, want about 50ms", gap)
	}
}

func TestHeaderCalledPerConnect(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n < 2 {
			stream(w, "retry: 1\n\n"+enc(t, fmt.Sprint(n), "x"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	calls := 0
	c := &Client{Header: func(ctx context.Context) (http.Header, error) {
		calls++
		return http.Header{
			"Authorization": {fmt.Sprint("Bearer t", calls)},
			"Accept":        {"text/html"},       // the client's own wins
			"Last-Event-ID": {"from the header"}, // so does its cursor
		}, nil
	}}
	if _, err := collect(t, c, srv.URL, ""); err != nil {
		t.Fatal(err)
	}
	reqs := srv.requests()
	if calls != 3 || len(reqs) != 3 {
		t.Fatalf("Header called %d times for %d requests, want 3 and 3", calls, len(reqs))
	}
	for i, r := range reqs {
		if got, want := r.header.Get("Authorization"), fmt.Sprint("Bearer t", i+1); got != want {
			t.Errorf("request %d: Authorization %q, want %q", i, got, want)
		}
		if got := r.header.Values("Accept"); !slices.Equal(got, []string{"text/event-stream"}) {
			t.Errorf("request %d: Accept %q", i, got)
		}
	}
	if got := reqs[0].header.Values("Last-Event-ID"); got != nil {
		t.Errorf("first request: Last-Event-ID %q, want none", got)
	}
	if got := reqs[2].header.Values("Last-Event-ID"); !slices.Equal(got, []string{"1"}) {
		t.Errorf("third request: Last-Event-ID %q, want [1]", got)
	}
}

func TestHeaderErrorEnds(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) { stream(w, "") })
	boom := errors.New("token service down")
	c := &Client{Header: func(context.Context) (http.Header, error) { return nil, boom }}
	_, err := collect(t, c, srv.URL, "")
	if !errors.Is(err, boom) {
		t.Fatalf("Subscribe: %v, want it to wrap %v", err, boom)
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("%d requests, want none", n)
	}
}

func TestResponses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter)
		// What Subscribe should return: nil, or a *StatusError with code,
		// content type and body.
		code          int
		ctype, body   string
		events, conns int
	}{
		{name: "204 stops", answer: func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }, conns: 1},
		{name: "404 fails", answer: status(404, "no such topic"), code: 404, ctype: "text/plain; charset=utf-8", body: "no such topic", conns: 1},
		{name: "401 fails", answer: status(401, "invalid token"), code: 401, ctype: "text/plain; charset=utf-8", body: "invalid token", conns: 1},
		{name: "wrong content type fails", answer: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<p>\nlog in\n</p>")
		}, code: 200, ctype: "text/html", body: "<p> log in </p>", conns: 1},
		{name: "no content type fails", answer: func(w http.ResponseWriter) {
			w.Header()["Content-Type"] = nil
			w.WriteHeader(200)
		}, code: 200, conns: 1},
		{name: "201 fails", answer: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusCreated)
		}, code: 201, ctype: "text/event-stream", conns: 1},
		{name: "content type parameters and case ignored", answer: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "Text/Event-Stream ; charset=iso-8859-1")
			io.WriteString(w, "retry: 1\ndata: \xe9t\xc3\xa9\n\n")
		}, events: 1, conns: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 0 {
					tc.answer(w)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			})
			evs, err := collect(t, &Client{}, srv.URL, "")
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("Subscribe: %v, want nil", err)
				}
			} else {
				var se *StatusError
				if !errors.As(err, &se) {
					t.Fatalf("Subscribe: %v, want a *StatusError", err)
				}
				if se.StatusCode != tc.code || se.ContentType != tc.ctype || se.Body != tc.body {
					t.Fatalf("StatusError %+v, want code %d, type %q, body %q", se, tc.code, tc.ctype, tc.body)
				}
				if !strings.HasPrefix(err.Error(), fmt.Sprint("client: subscribe: ", tc.code)) {
					t.Fatalf("error %q does not say the status", err)
				}
			}
			if len(evs) != tc.events {
				t.Fatalf("%d events, want %d", len(evs), tc.events)
			}
			if tc.events > 0 && evs[0].Data != "\uFFFDt\u00e9" {
				t.Fatalf("data %q: the stream is UTF-8 whatever its charset", evs[0].Data)
			}
			if n := len(srv.requests()); n != tc.conns {
				t.Fatalf("%d requests, want %d", n, tc.conns)
			}
		})
	}
}

func TestTransientErrorsRetried(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 0:
			// A fresh connection for the next request, or the transport
			// would retry it on another when it fails, hiding the error.
			w.Header().Set("Connection", "close")
			status(http.StatusServiceUnavailable, "restarting")(w)
		case 1:
			// A network error: the connection closes with no answer.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case 2:
			status(http.StatusBadGateway, "bad gateway")(w)
		case 3:
			status(http.StatusTooManyRequests, "slow down")(w)
		default:
			stream(w, enc(t, "1", "finally"))
		}
	})
	var reasons []error
	c := &Client{Retry: 5 * time.Millisecond, OnReconnect: func(err error, d time.Duration) { reasons = append(reasons, err) }}
	stop := errors.New("stop")
	var got []string
	ctx, cancel := context.WithTimeout(t.Context(), bound)
	defer cancel()
	err := c.Subscribe(ctx, srv.URL, "", func(ev sse.Event) error {
		got = append(got, ev.Data)
		return stop
	})
	if err != stop {
		t.Fatalf("Subscribe: %v, want fn's error as is", err)
	}
	if !slices.Equal(got, []string{"finally"}) {
		t.Fatalf("events %q", got)
	}
	if len(reasons) != 4 {
		t.Fatalf("OnReconnect reasons %v, want 4", reasons)
	}
	for i, code := range []int{503, 0, 502, 429} {
		var se *StatusError
		isStatus := errors.As(reasons[i], &se)
		if code == 0 {
			if isStatus || !strings.HasPrefix(reasons[i].Error(), "client: subscribe: Get ") {
				t.Errorf("reason %d: %v, want a network error", i, reasons[i])
			}
		} else if !isStatus || se.StatusCode != code {
			t.Errorf("reason %d: %v, want status %d", i, reasons[i], code)
		}
	}
	if n := len(srv.requests()); n != 5 {
		t.Fatalf("%d requests, want 5 (no reconnection after fn failed)", n)
	}
}

func TestRetryStatusConfigurable(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 0:
			status(http.StatusUnauthorized, "expired")(w)
		case 1:
			status(http.StatusServiceUnavailable, "down")(w)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	c := &Client{Retry: time.Millisecond, RetryStatus: func(code int) bool { return code == http.StatusUnauthorized }}
	_, err := collect(t, c, srv.URL, "")
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 503 {
		t.Fatalf("Subscribe: %v, want 401 retried and 503 failing", err)
	}
}

func TestBackoff(t *testing.T) {
	const base, maxRetry = 20 * time.Millisecond, 70 * time.Millisecond
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 0, 1, 2, 3, 5, 6:
			status(http.StatusServiceUnavailable, "down")(w)
		case 4:
			stream(w, enc(t, "", "up"))
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	var delays []time.Duration
	var reasons []error
	c := &Client{Retry: base, MaxRetry: maxRetry, OnReconnect: func(err error, d time.Duration) {
		reasons, delays = append(reasons, err), append(delays, d)
	}}
	if _, err := collect(t, c, srv.URL, ""); err != nil {
		t.Fatal(err)
	}
	// A single failure waits the reconnection time; each further one
	// doubles the wait, less up to half of what the doubling added,
	// capped; the stream that opened resets the count, and its end waits
	// the reconnection time exactly.
	want := []struct{ lo, hi time.Duration }{
		{base, base},
		{base * 3 / 2, 2 * base},
		{(maxRetry + base) / 2, maxRetry},
		{(maxRetry + base) / 2, maxRetry},
		{base, base},
		{base, base},
		{base * 3 / 2, 2 * base},
	}
	if len(delays) != len(want) {
		t.Fatalf("delays %v, want %d", delays, len(want))
	}
	for i, w := range want {
		if delays[i] < w.lo || delays[i] > w.hi {
			t.Errorf("delay %d: %v, want in [%v, %v]", i, delays[i], w.lo, w.hi)
		}
	}
	if reasons[4] != io.EOF {
		t.Errorf("reason 4: %v, want io.EOF for the clean end", reasons[4])
	}
}

func TestBackoffFunc(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		retry, maxRetry time.Duration
		n               int
		r               float64
		after, want     time.Duration
	}{
		{retry: 100 * ms, maxRetry: time.Second, n: 1, r: 0, want: 100 * ms},
		{retry: 100 * ms, maxRetry: time.Second, n: 1, r: 0.999999, want: 100 * ms},
		{retry: 100 * ms, maxRetry: time.Second, n: 3, r: 0, want: 400 * ms},
		{retry: 100 * ms, maxRetry: time.Second, n: 5, r: 0, want: time.Second},
		{retry: 100 * ms, maxRetry: time.Second, n: 1000, r: 0.5, want: 775 * ms},
		{retry: 0, maxRetry: time.Second, n: 1, r: 0, want: minBackoff},
		{retry: 0, maxRetry: time.Second, n: 2, r: 0, want: 2 * minBackoff},
		{retry: 5 * time.Second, maxRetry: time.Second, n: 3, r: 0, want: 5 * time.Second},
		{retry: 100 * ms, maxRetry: time.Second, n: 1, r: 0, after: 300 * ms, want: 300 * ms},
		{retry: 100 * ms, maxRetry: time.Second, n: 1, r: 0, after: time.Hour, want: time.Second},
		{retry: 100 * ms, maxRetry: time.Second, n: 4, r: 0, after: 10 * ms, want: 800 * ms},
	} {
		if got := backoff(tc.retry, tc.maxRetry, tc.n, tc.r, tc.after); got != tc.want {
			t.Errorf("backoff(%v, %v, %d, %v, %v) = %v, want %v", tc.retry, tc.maxRetry, tc.n, tc.r, tc.after, got, tc.want)
		}
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		status(http.StatusServiceUnavailable, "down")(w)
	})
	ctx, cancel := context.WithTimeout(t.Context(), bound)
	defer cancel()
	var delay time.Duration
	c := &Client{Retry: 10 * time.Millisecond, MaxRetry: 200 * time.Millisecond, OnReconnect: func(err error, d time.Duration) {
		delay = d
		cancel()
	}}
	err := c.Subscribe(ctx, srv.URL, "", func(sse.Event) error { return nil })
	if err != context.Canceled {
		t.Fatalf("Subscribe: %v", err)
	}
	if delay != 200*time.Millisecond {
		t.Fatalf("delay %v, want Retry-After capped at MaxRetry, 200ms", delay)
	}
}

func TestCancel(t *testing.T) {
	// Each case cancels a little after the client reaches the state it
	// names, so that the client is blocked there.
	const after = 20 * time.Millisecond
	for _, tc := range []struct {
		name   string
		handle func(w http.ResponseWriter, r *http.Request, cancel func())
	}{
		{"while streaming", func(w http.ResponseWriter, r *http.Request, cancel func()) {
			stream(w, enc(t, "1", "first"))
			<-r.Context().Done()
		}},
		{"while connecting", func(w http.ResponseWriter, r *http.Request, cancel func()) {
			time.AfterFunc(after, cancel)
			<-r.Context().Done()
		}},
		{"while backing off", func(w http.ResponseWriter, r *http.Request, cancel func()) {
			status(http.StatusServiceUnavailable, "down")(w)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			handlerDone := make(chan struct{}, 10)
			srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
				tc.handle(w, r, cancel)
				handlerDone <- struct{}{}
			})
			c := &Client{Retry: time.Hour, OnReconnect: func(error, time.Duration) { time.AfterFunc(after, cancel) }}
			result := make(chan error, 1)
			go func() {
				result <- c.Subscribe(ctx, srv.URL, "", func(sse.Event) error {
					time.AfterFunc(after, cancel)
					return nil
				})
			}()
			select {
			case err := <-result:
				if err != context.Canceled {
					t.Fatalf("Subscribe: %v, want context.Canceled", err)
				}
			case <-time.After(bound):
				cancel()
				t.Fatal("Subscribe did not return after cancel")
			}
			// The connection was closed: the server sees its request end.
			select {
			case <-handlerDone:
			case <-time.After(bound):
				t.Fatal("the server's request did not end")
			}
			if n := len(srv.requests()); n != 1 {
				t.Fatalf("%d requests, want 1", n)
			}
		})
	}
}

func TestFnErrorStops(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		stream(w, enc(t, "1", "a")+enc(t, "2", "b")+enc(t, "3", "c"))
	})
	stop := errors.New("enough")
	var got []string
	err := (&Client{}).Subscribe(t.Context(), srv.URL, "", func(ev sse.Event) error {
		got = append(got, ev.Data)
		if ev.ID == "2" {
			return stop
		}
		return nil
	})
	if err != stop || !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Subscribe: %v after %q, want %v after [a b]", err, got, stop)
	}
}

func TestLastEventID(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 0:
			// An event without id carries the id the client resumed
			// from.
			stream(w, "retry: 1\n\n"+enc(t, "", "seeded"))
		case 1:
			// The id-only cursor frame moves the last id past the
			// event.
			stream(w, enc(t, "1", "a")+"id: 5\n\n")
		case 2:
			// The last id survives a reconnection; an empty id field
			// clears it.
			stream(w, enc(t, "", "b")+"id\n\n")
		case 3:
			stream(w, enc(t, "", "c"))
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	evs, err := collect(t, &Client{LastEventIDParam: "lastEventId"}, srv.URL, "7")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Data+"@"+ev.ID)
	}
	if want := []string{"seeded@7", "a@1", "b@5", "c@"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	reqs := srv.requests()
	for i, want := range []string{"7", "7", "5", "", ""} {
		if got := reqs[i].header.Get("Last-Event-ID"); got != want {
			t.Errorf("request %d: Last-Event-ID %q, want %q", i, got, want)
		}
		wantQuery := ""
		if want != "" {
			wantQuery = "lastEventId=" + want
		}
		if reqs[i].query != wantQuery {
			t.Errorf("request %d: query %q, want %q", i, reqs[i].query, wantQuery)
		}
	}
}

func TestLastEventIDNotAHeader(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		stream(w, "retry: 1\nid: a\x01b\ndata: x\n\n")
	})
	evs, err := collect(t, &Client{}, srv.URL, "")
	if len(evs) != 1 || err == nil || !strings.Contains(err.Error(), "cannot be sent in a header") {
		t.Fatalf("Subscribe: %d events, %v; want 1 and a fatal error", len(evs), err)
	}
}

func TestLimitEnds(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		stream(w, enc(t, "1", "ok")+enc(t, "2", strings.Repeat("x", 100)))
	})
	evs, err := collect(t, &Client{Limits: sse.Limits{MaxLine: 32}}, srv.URL, "")
	var le *sse.LimitError
	if len(evs) != 1 || evs[0].Data != "ok" || !errors.As(err, &le) {
		t.Fatalf("Subscribe: %v after %v, want a *sse.LimitError after the first event", err, evs)
	}
	if n := len(srv.requests()); n != 1 {
		t.Fatalf("%d requests, want 1: reconnecting would meet the same event", n)
	}
}

func TestNetworkErrorRedacted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused
	ctx, cancel := context.WithTimeout(t.Context(), bound)
	defer cancel()
	var reason error
	c := &Client{OnReconnect: func(err error, _ time.Duration) { reason = err; cancel() }}
	err = c.Subscribe(ctx, "http://"+addr+"/s?topic=t&authorization=secret-jwt", "", func(sse.Event) error { return nil })
	if err != context.Canceled {
		t.Fatalf("Subscribe: %v", err)
	}
	if reason == nil || strings.Contains(reason.Error(), "secret-jwt") || !strings.Contains(reason.Error(), "topic=t") {
		t.Fatalf("reason %v: want the URL without the token", reason)
	}
}

func TestBadURL(t *testing.T) {
	for _, u := range []string{"ftp://127.0.0.1/", "://nope", "http://127.0.0.1/%zz"} {
		_, err := collect(t, &Client{}, u, "")
		if err == nil || !strings.HasPrefix(err.Error(), "client: subscribe: ") {
			t.Errorf("Subscribe(%q): %v, want an error", u, err)
		}
	}
}

func TestStream(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		stream(w, enc(t, "1", "a")+enc(t, "2", "b"))
		<-r.Context().Done()
	})
	opened := 0
	c := &Client{OnOpen: func(resp *http.Response) { opened++ }}
	s := c.Open(t.Context(), srv.URL, "0")
	if got := s.LastEventID(); got != "0" {
		t.Fatalf("LastEventID before Next: %q", got)
	}
	for _, want := range []string{"a", "b"} {
		ev, err := s.Next()
		if err != nil || ev.Data != want {
			t.Fatalf("Next: %v %v, want %q", ev, err, want)
		}
		if s.LastEventID() != ev.ID {
			t.Fatalf("LastEventID %q after event %q", s.LastEventID(), ev.ID)
		}
	}
	if opened != 1 {
		t.Fatalf("OnOpen called %d times", opened)
	}
	// Close from another goroutine unblocks Next.
	time.AfterFunc(10*time.Millisecond, func() { s.Close() })
	result := make(chan error, 1)
	go func() {
		_, err := s.Next()
		result <- err
	}()
	select {
	case err := <-result:
		if err != ErrClosed {
			t.Fatalf("Next after Close: %v, want ErrClosed", err)
		}
	case <-time.After(bound):
		t.Fatal("Next did not return after Close")
	}
	if _, err := s.Next(); err != ErrClosed {
		t.Fatalf("Next again: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestStreamClosedBeforeNext(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) { stream(w, "") })
	s := (&Client{}).Open(t.Context(), srv.URL, "")
	s.Close()
	if _, err := s.Next(); err != ErrClosed {
		t.Fatalf("Next: %v, want ErrClosed", err)
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("%d requests after Close", n)
	}
}

func TestSetParam(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"", "lastEventID=a+b%26c"},
		{"topic=x", "topic=x&lastEventID=a+b%26c"},
		{"lastEventID=old&topic=x&lastEventID=older", "topic=x&lastEventID=a+b%26c"},
		{"topic=%7Bid%7D&&lastEvent%49D=old", "topic=%7Bid%7D&lastEventID=a+b%26c"},
	} {
		if got := setParam(tc.raw, "lastEventID", "a b&c"); got != tc.want {
			t.Errorf("setParam(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

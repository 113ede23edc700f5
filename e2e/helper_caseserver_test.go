package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file is the fault-injecting server side of the conformance suite:
// a pair of loopback servers per case and column, whose stream handlers
// write raw bytes, in timed chunks, differently per connection attempt.

// holdLimit bounds how long a stream handler keeps a response open when the
// client never goes away; no case needs a stream longer than this.
const holdLimit = 20 * time.Second

// eventStream is the content type of a valid event stream.
const eventStream = "text/event-stream"

// A caseServer serves one conformance case to one column: the page, the
// polyfill files, and the case's stream handler, on a same-origin server
// and on a second, cross-origin one (another port of 127.0.0.1: a different
// origin but the same site, so the browser's cookies reach it and the
// credentials cases can see whether they were sent).
type caseServer struct {
	self, cross *httptest.Server
	closing     chan struct{} // closed at cleanup to release held handlers

	mu       sync.Mutex
	attempts map[string]int       // requests per path (both servers)
	ended    map[string]time.Time // when the last response per path ended
}

// A stream is one request to a case's stream handler.
type stream struct {
	w       http.ResponseWriter
	r       *http.Request
	rc      *http.ResponseController
	srv     *caseServer
	attempt int           // 1 for the first request to this path
	gap     time.Duration // since the previous response to this path ended; 0 on the first
	cross   bool          // served by the cross-origin server
}

// newCaseServer starts both servers. page serves "/"; everything else but
// /polyfill/ goes to handle.
func newCaseServer(t *testing.T, page func(s *stream), handle func(s *stream), polyfill http.Handler) *caseServer {
	cs := &caseServer{
		closing:  make(chan struct{}),
		attempts: map[string]int{},
		ended:    map[string]time.Time{},
	}
	mux := func(cross bool) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == "/" && !cross:
				page(cs.newStream(w, r, cross))
			case strings.HasPrefix(r.URL.Path, "/polyfill/") && polyfill != nil:
				http.StripPrefix("/polyfill", polyfill).ServeHTTP(w, r)
			case r.URL.Path == "/favicon.ico":
				w.WriteHeader(http.StatusNoContent)
			default:
				s := cs.newStream(w, r, cross)
				defer cs.end(s)
				handle(s)
			}
		})
	}
	cs.self = httptest.NewServer(mux(false))
	cs.cross = httptest.NewServer(mux(true))
	t.Cleanup(func() {
		close(cs.closing)
		cs.self.CloseClientConnections()
		cs.cross.CloseClientConnections()
		cs.self.Close()
		cs.cross.Close()
	})
	return cs
}

func (cs *caseServer) newStream(w http.ResponseWriter, r *http.Request, cross bool) *stream {
	key := r.URL.Path
	if cross {
		key = "cross" + key
	}
	cs.mu.Lock()
	cs.attempts[key]++
	n := cs.attempts[key]
	var gap time.Duration
	if t, ok := cs.ended[key]; ok {
		gap = time.Since(t)
	}
	cs.mu.Unlock()
	return &stream{w: w, r: r, rc: http.NewResponseController(w), srv: cs, attempt: n, gap: gap, cross: cross}
}

func (cs *caseServer) end(s *stream) {
	key := s.r.URL.Path
	if s.cross {
		key = "cross" + key
	}
	cs.mu.Lock()
	cs.ended[key] = time.Now()
	cs.mu.Unlock()
}

// start sends a 200 response head with the content type (none when empty)
// and flushes it, so the client sees the response before any body.
func (s *stream) start(contentType string) { s.startStatus(http.StatusOK, contentType) }

func (s *stream) startStatus(code int, contentType string) {
	h := s.w.Header()
	if contentType == "" {
		// Without this net/http would sniff a type from the body.
		h["Content-Type"] = nil
	} else {
		h.Set("Content-Type", contentType)
	}
	h.Set("Cache-Control", "no-store")
	s.w.WriteHeader(code)
	s.rc.Flush()
}

// send writes text and flushes it as one chunk.
func (s *stream) send(text string) {
	fmt.Fprint(s.w, text)
	s.rc.Flush()
}

// pause waits d, or less when the client leaves.
func (s *stream) pause(d time.Duration) {
	select {
	case <-time.After(d):
	case <-s.r.Context().Done():
	case <-s.srv.closing:
	}
}

// hold keeps the response open until the client leaves (close(), a closed
// tab) or the case ends: a stream that ended would make the client
// reconnect and replay, which only the reconnection cases want.
func (s *stream) hold() { s.pause(holdLimit) }

// lastEventID reports the id the client resumed from: the Last-Event-ID
// header, or the query parameters polysse's polyfill may use instead
// (design: a polyfill avoiding a CORS preflight sends the id in the query,
// and the hub accepts both), or "<none>".
func (s *stream) lastEventID() string {
	if v, ok := s.r.Header["Last-Event-Id"]; ok {
		return strings.Join(v, ",")
	}
	q := s.r.URL.Query()
	for _, k := range []string{"lastEventId", "lastEventID"} {
		if q.Has(k) {
			return q.Get(k)
		}
	}
	return "<none>"
}

// cors adds the headers that let the page's origin read the response;
// with credentials, the exact origin is echoed as the Fetch standard
// requires.
func (s *stream) cors(credentials bool) {
	h := s.w.Header()
	if credentials {
		h.Set("Access-Control-Allow-Origin", s.r.Header.Get("Origin"))
		h.Set("Access-Control-Allow-Credentials", "true")
	} else {
		h.Set("Access-Control-Allow-Origin", "*")
	}
}

// Handlers for the case table.

// events serves body as one chunk of a valid event stream, then holds.
func events(body string) func(*stream) {
	return func(s *stream) {
		s.start(eventStream)
		s.send(body)
		s.hold()
	}
}

// chunks serves a valid event stream in parts: a string is written and
// flushed, a time.Duration pauses; then it holds.
func chunks(parts ...any) func(*stream) {
	return func(s *stream) {
		s.start(eventStream)
		for _, p := range parts {
			switch p := p.(type) {
			case string:
				s.send(p)
			case time.Duration:
				s.pause(p)
			default:
				panic(fmt.Sprintf("chunks: %T", p))
			}
		}
		s.hold()
	}
}

// thenEnd serves body as a valid event stream and ends the response
// cleanly, which makes the client reconnect.
func thenEnd(body string) func(*stream) {
	return func(s *stream) {
		s.start(eventStream)
		s.send(body)
	}
}

// perAttempt serves the i-th handler to the i-th connection attempt; the
// last one serves every later attempt.
func perAttempt(hs ...func(*stream)) func(*stream) {
	return func(s *stream) {
		i := min(s.attempt, len(hs)) - 1
		hs[i](s)
	}
}

// respond serves a complete response with a status, a content type and a
// body.
func respond(code int, contentType, body string) func(*stream) {
	return func(s *stream) {
		s.startStatus(code, contentType)
		s.send(body)
	}
}

// redirect answers every request to from with a redirect to the path (or
// URL, given a cross-origin target) to, and serves final there. A target
// beginning with "cross:" points at the cross-origin server.
func redirect(code int, from, to string, final func(*stream)) func(*stream) {
	return func(s *stream) {
		if s.r.URL.Path != from {
			final(s)
			return
		}
		target := to
		if rest, ok := strings.CutPrefix(to, "cross:"); ok {
			target = s.srv.cross.URL + rest
		}
		http.Redirect(s.w, s.r, target, code)
	}
}

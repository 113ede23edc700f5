package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/polysse/polysse/sse"
)

const (
	// DefaultRetry is the reconnection time until the server sets one, as
	// in browsers.
	DefaultRetry = 3 * time.Second
	// DefaultMaxRetry caps the backoff after consecutive failed attempts:
	// long enough to spare a struggling hub, short enough that a client
	// is back within half a minute of the hub.
	DefaultMaxRetry = 30 * time.Second
)

// minBackoff is the least wait after a failed attempt: a server may set
// retry: 0, and doubling zero would make a tight loop of requests against
// a failing hub.
const minBackoff = 10 * time.Millisecond

// readSize is the read buffer of a stream. The transport already buffers
// the connection, and a load test holds thousands of streams, so it is
// small.
const readSize = 4 << 10

// ErrClosed is returned by Stream.Next once Close was called.
var ErrClosed = errors.New("client: stream closed")

// errNoContent marks a 204 answer, which ends a subscription normally.
var errNoContent = errors.New("client: 204 No Content")

// A Client subscribes to event streams. Its zero value is usable: it uses
// http.DefaultClient, the default reconnection time and backoff, and the
// default limits of package sse.
//
// A Client is safe for concurrent use once its fields are set: Subscribe
// and Open take a copy of them, so changing a field affects only streams
// opened afterwards.
type Client struct {
	// HTTPClient sends the requests; nil means http.DefaultClient. Its
	// Timeout must be zero, as it would cut every stream after that
	// long; bound the time to connect with its Transport instead.
	HTTPClient *http.Client

	// Header, when set, is called before every connection attempt and its
	// headers are added to the request, so that a token can be refreshed
	// between connections. An error from it ends the subscription: it
	// knows best whether to wait and try again before returning. The
	// client's own Accept, Cache-Control and Last-Event-ID headers
	// replace any it returns.
	Header func(ctx context.Context) (http.Header, error)

	// Retry is the reconnection time until the server sends a retry
	// field; zero means DefaultRetry.
	Retry time.Duration

	// MaxRetry caps the wait after consecutive failed attempts; zero
	// means DefaultMaxRetry. It never shortens the reconnection time the
	// server asked for.
	MaxRetry time.Duration

	// RetryStatus reports whether a response with the given status code
	// (neither 200 nor 204) is transient, so that the client tries again
	// with backoff instead of failing. Nil means DefaultRetryStatus.
	RetryStatus func(code int) bool

	// Limits bound the size of lines and events the client accepts. A
	// stream that exceeds them ends the subscription with an error
	// wrapping an *sse.LimitError: reconnecting would meet the same event.
	Limits sse.Limits

	// LastEventIDParam, when set, names a query parameter that carries
	// the last event ID too, for servers or proxies that do not see the
	// header (polysse accepts lastEventID and lastEventId).
	LastEventIDParam string

	// OnOpen, when set, is called each time a stream opens, with the
	// response; it must not read or close the body.
	OnOpen func(resp *http.Response)

	// OnReconnect, when set, is called each time the client is about to
	// wait before connecting again, with why and for how long: io.EOF for
	// a clean end of the stream, otherwise the network error or an error
	// wrapping a *StatusError.
	OnReconnect func(err error, delay time.Duration)
}

// DefaultRetryStatus reports whether a status code is transient: 408
// Request Timeout, 429 Too Many Requests and every 5xx, which a restarting
// hub or a proxy in front of it answers.
func DefaultRetryStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code/100 == 5
}

// Subscribe connects to the event stream at url and calls fn with each
// event until the subscription ends, reconnecting as the package
// documentation describes. lastEventID, when not empty, resumes a stream
// where an earlier subscription stopped.
//
// It returns nil when the server answers 204 No Content, the error of fn
// as is when fn fails, ctx.Err() when ctx is done, and otherwise an error
// that ended the subscription: one wrapping a *StatusError for a response
// it cannot use, an *sse.LimitError, or the error of c.Header.
func (c *Client) Subscribe(ctx context.Context, url, lastEventID string, fn func(sse.Event) error) error {
	s := c.Open(ctx, url, lastEventID)
	defer s.Close()
	for {
		ev, err := s.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
}

// Open returns a Stream of the events at url, resuming after lastEventID
// when it is not empty. It connects at the first call to Next. The caller
// must call Close when done with the stream.
func (c *Client) Open(ctx context.Context, url, lastEventID string) *Stream {
	s := &Stream{cfg: *c, parent: ctx, rawURL: url, lastID: lastEventID, retry: c.Retry}
	if s.cfg.HTTPClient == nil {
		s.cfg.HTTPClient = http.DefaultClient
	}
	if s.cfg.MaxRetry <= 0 {
		s.cfg.MaxRetry = DefaultMaxRetry
	}
	if s.cfg.RetryStatus == nil {
		s.cfg.RetryStatus = DefaultRetryStatus
	}
	if s.retry <= 0 {
		s.retry = DefaultRetry
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.dec = sse.NewDecoder(c.Limits,
		func(ev sse.Event) { s.queue = append(s.queue, ev) },
		func(ms int) { s.retry = time.Duration(ms) * time.Millisecond })
	s.dec.SetLastEventID(lastEventID)
	return s
}

// A Stream is a subscription read one event at a time. Next and
// LastEventID must be called from one goroutine; Close may be called from
// any, also while Next is blocked.
type Stream struct {
	cfg    Client
	parent context.Context // the caller's, to tell its end from Close
	ctx    context.Context
	cancel context.CancelFunc
	rawURL string
	u      *url.URL // parsed at the first connection

	mu     sync.Mutex // guards body and closed, which Close uses
	body   io.ReadCloser
	closed bool

	dec   *sse.Decoder
	queue []sse.Event // decoded and not yet returned by Next, from queue[next]
	next  int
	buf   []byte
	// readErr is an error Read returned with bytes, held until the
	// events of those bytes are returned.
	readErr error

	lastID   string        // the last event ID up to what Next returned
	retry    time.Duration // the reconnection time
	failures int           // consecutive failed attempts
	delay    time.Duration // the wait before the next attempt
	err      error         // what ended the stream, returned from then on
}

// Next returns the next event, connecting and reconnecting as needed. It
// returns io.EOF when the server answered 204 No Content, ErrClosed after
// Close, the context's error when it is done, and otherwise an error that
// ended the stream, as Subscribe does. Once it returns an error it returns
// the same error at every call.
func (s *Stream) Next() (sse.Event, error) {
	for {
		if s.next < len(s.queue) {
			ev := s.queue[s.next]
			s.queue[s.next] = sse.Event{}
			s.next++
			if s.next == len(s.queue) {
				// The chunk is used up: an id-only frame after its last
				// event moved the cursor too.
				s.queue, s.next = s.queue[:0], 0
				s.lastID = s.dec.LastEventID()
			} else {
				s.lastID = ev.ID
			}
			return ev, nil
		}
		if s.err != nil {
			return sse.Event{}, s.err
		}
		s.mu.Lock()
		body := s.body
		s.mu.Unlock()
		if body == nil {
			s.connect()
			continue
		}
		if s.buf == nil {
			s.buf = make([]byte, readSize)
		}
		var n int
		err := s.readErr
		if err != nil {
			s.readErr = nil
		} else {
			n, err = body.Read(s.buf)
		}
		if n > 0 {
			if _, werr := s.dec.Write(s.buf[:n]); werr != nil {
				// The events decoded before the limit was hit are
				// returned first: they came before it.
				s.end(fmt.Errorf("client: subscribe: %w", werr))
				continue
			}
			if len(s.queue) == 0 {
				s.lastID = s.dec.LastEventID()
			}
			// The end of the stream comes after the events of the last
			// bytes: they are returned before it is acted on.
			s.readErr = err
			continue
		}
		if err == nil {
			continue
		}
		s.dropBody()
		if s.ctx.Err() != nil {
			s.end(s.ctxErr())
			continue
		}
		// As in browsers, a stream that ends, cleanly or not, is asked
		// for again after the reconnection time, exactly: it opened, so
		// this is no failure to back off from.
		if err != io.EOF {
			err = fmt.Errorf("client: subscribe: %w", err)
		}
		s.dec.Reset()
		s.delay = s.retry
		if s.cfg.OnReconnect != nil {
			s.cfg.OnReconnect(err, s.delay)
		}
	}
}

// LastEventID returns the last event ID of the stream up to the event Next
// returned last: what the stream would resume from. It starts as the
// lastEventID given to Open.
func (s *Stream) LastEventID() string { return s.lastID }

// Close ends the stream, closing its connection, and makes Next return
// ErrClosed. It always returns nil.
func (s *Stream) Close() error {
	s.mu.Lock()
	s.closed = true
	body := s.body
	s.body = nil
	s.mu.Unlock()
	s.cancel()
	if body != nil {
		body.Close()
	}
	return nil
}

// end records the error that ends the stream and closes what is open.
func (s *Stream) end(err error) {
	if s.err == nil {
		s.err = err
	}
	s.dropBody()
}

func (s *Stream) dropBody() {
	s.mu.Lock()
	body := s.body
	s.body = nil
	s.mu.Unlock()
	if body != nil {
		body.Close()
	}
}

// ctxErr says why s.ctx is done: the caller's context, or Close.
func (s *Stream) ctxErr() error {
	if err := s.parent.Err(); err != nil {
		return err
	}
	return ErrClosed
}

// connect waits s.delay and tries to open the stream until it opens, or
// ends the stream.
func (s *Stream) connect() {
	for {
		if s.ctx.Err() != nil || s.delay > 0 && !s.sleep(s.delay) {
			s.end(s.ctxErr())
			return
		}
		resp, transient, err := s.attempt()
		if err == nil {
			s.failures = 0
			s.mu.Lock()
			closed := s.closed
			if !closed {
				s.body = resp.Body
			}
			s.mu.Unlock()
			if closed {
				resp.Body.Close()
				s.end(ErrClosed)
				return
			}
			if s.cfg.OnOpen != nil {
				s.cfg.OnOpen(resp)
			}
			return
		}
		switch {
		case s.ctx.Err() != nil:
			s.end(s.ctxErr())
			return
		case err == errNoContent:
			s.end(io.EOF)
			return
		case !transient:
			s.end(fmt.Errorf("client: subscribe: %w", err))
			return
		}
		s.failures++
		var after time.Duration
		if se := (*StatusError)(nil); errors.As(err, &se) {
			after = se.RetryAfter
		}
		s.delay = backoff(s.retry, s.cfg.MaxRetry, s.failures, rand.Float64(), after)
		if s.cfg.OnReconnect != nil {
			s.cfg.OnReconnect(fmt.Errorf("client: subscribe: %w", err), s.delay)
		}
	}
}

// sleep waits d, and reports false if the stream's context ends first.
func (s *Stream) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// attempt makes one connection attempt. It returns the response when the
// stream opened, and otherwise the error and whether it is transient.
func (s *Stream) attempt() (resp *http.Response, transient bool, err error) {
	if s.u == nil {
		u, err := url.Parse(s.rawURL)
		if err != nil {
			return nil, false, err
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, false, fmt.Errorf("unsupported URL scheme %q", u.Scheme)
		}
		s.u = u
	}
	u := *s.u
	if s.cfg.LastEventIDParam != "" && s.lastID != "" {
		u.RawQuery = setParam(u.RawQuery, s.cfg.LastEventIDParam, s.lastID)
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, false, err
	}
	if s.cfg.Header != nil {
		h, err := s.cfg.Header(s.ctx)
		if err != nil {
			return nil, false, fmt.Errorf("header: %w", err)
		}
		for k, vs := range h {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Del("Last-Event-ID")
	if s.lastID != "" {
		if !validHeaderValue(s.lastID) {
			// Sending nothing would silently restart the stream from
			// the beginning.
			return nil, false, fmt.Errorf("last event id %q cannot be sent in a header", s.lastID)
		}
		req.Header.Set("Last-Event-ID", s.lastID)
	}
	resp, err = s.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, true, redact(err)
	}
	if resp.StatusCode == http.StatusOK && isEventStream(resp.Header.Get("Content-Type")) {
		return resp, false, nil
	}
	se := newStatusError(resp)
	if se.StatusCode == http.StatusNoContent {
		return nil, false, errNoContent
	}
	return nil, se.StatusCode/100 != 2 && s.cfg.RetryStatus(se.StatusCode), se
}

// backoff returns the wait after the n-th consecutive failed attempt, by
// the retry policy every polysse client follows (testdata/connection-rules.json):
// the reconnection time (at least minBackoff) after a single failure, as
// the standard says; then doubled for each further failure, capped at
// maxRetry or the reconnection time if larger, less a random part (r in
// [0, 1)) of up to half of what the doubling added, so that clients that
// failed together do not return together. A Retry-After from the server
// lengthens it, up to the same cap.
func backoff(retry, maxRetry time.Duration, n int, r float64, after time.Duration) time.Duration {
	base := max(retry, minBackoff)
	limit := max(maxRetry, base)
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	d -= time.Duration(r * backoffJitter * float64(d-base))
	return max(d, min(after, limit))
}

// backoffJitter is the fraction of a backed-off wait above the
// reconnection time that may be taken off at random.
const backoffJitter = 0.5

// isEventStream reports whether a Content-Type's essence is
// text/event-stream, whatever its parameters: the standard decodes the
// stream as UTF-8 whatever charset it names.
func isEventStream(ct string) bool {
	essence, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(essence), "text/event-stream")
}

// validHeaderValue reports whether net/http will send v as a header value:
// no control characters other than tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// setParam returns the query raw with every name parameter replaced by one
// with value, leaving the other parameters as they were written.
func setParam(raw, name, value string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, _, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil && uk == name {
			continue
		}
		b.WriteString(part)
		b.WriteByte('&')
	}
	b.WriteString(url.QueryEscape(name) + "=" + url.QueryEscape(value))
	return b.String()
}

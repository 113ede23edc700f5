package main

import "github.com/polysse/polysse/sse"

// readyState is EventSource.readyState.
type readyState int

const (
	connecting readyState = iota
	open
	closed
)

// timerKind names a conn's two timers. The shim keeps a slot for each
// (conn.timers in web/src/engines/wasm/bridge.js; bridge_test.go counts them).
type timerKind int

const (
	reconnectTimer timerKind = iota // waiting to reconnect
	watchdogTimer                   // inactivity watchdog of the attempt in flight
)

// What the page's 401/403 hook asks for, besides a wait in milliseconds (≥ 0):
// A_* in web/src/engines/wasm/bridge.js, which bridge_test.go holds to these.
const (
	authFail  = -1 // fail the connection, as without a hook
	authRetry = -2 // reconnect after the retry policy's wait
	authWait  = -3 // reconnect when the shim calls resume (the hook returned a promise)
)

// host is the world a conn acts on: the transports, the timers and the page.
// The js/wasm build implements it with syscall/js; tests implement it with
// recorders. Every method is called synchronously from a conn method, and
// the page's listeners run inside opened, events and failed, so any of them
// may call back into the conn (close, in particular): a conn re-checks its
// state after each of them.
type host interface {
	// request starts an attempt; the transport reports back through
	// response, body and end, with req.attempt.
	request(c *conn, req *request)
	// abort stops the attempt in flight; nothing more is reported for it.
	abort(c *conn)
	setTimer(c *conn, k timerKind, ms int)
	clearTimer(c *conn, k timerKind)
	now() float64    // milliseconds, monotonic
	random() float64 // in [0, 1)
	headers(c *conn) []header
	authError(c *conn, status int) int // authFail, authRetry, authWait or a wait in ms

	// opened announces the connection: readyState OPEN and an open event.
	// url is the response's URL, after redirects.
	opened(c *conn, url string)
	// events dispatches the events of b. It must not keep b.
	events(c *conn, b *batch)
	// failed fires an error event with readyState CONNECTING when
	// reconnecting, else CLOSED; the conn is finished in that case.
	failed(c *conn, reconnecting bool)
}

// config is a conn's share of the page's options.
type config struct {
	withCredentials  bool
	sameOrigin       bool      // the URL is the page's origin: Cache-Control costs no preflight
	gatewayErrors    bool      // 502, 503 and 504 are network errors (EventSourcePolyfill's leniency)
	lastEventIDParam string    // when set, the last event ID goes in this query parameter, not a header
	watchdogMS       int       // inactivity watchdog; 0 is none
	retryMS          int       // initial reconnection time; 0 is the default
	transport        transport //
	policy           policy    //
	userHeaders      bool      // the page gave headers: ask the host at every attempt
	authHook         bool      // the page gave a 401/403 hook
	limits           sse.Limits
}

// conn is the state machine of one EventSource.
type conn struct {
	id  int
	url string
	cfg config
	h   host

	state    readyState
	attempt  int    // number of the latest attempt; callbacks of older ones are ignored
	inFlight bool   // attempt has a request that has not ended
	waiting  bool   // a 401/403 hook's promise is pending
	retryMS  int    // the reconnection time
	failures int    // consecutive attempts that failed
	received bool   // the attempt in flight got body bytes
	recycled bool   // the attempt in flight replaces an XHR that had grown too big
	plain    bool   // send no header of ours but Accept: the server refused one
	extra    bool   // the attempt in flight carries Cache-Control or Last-Event-ID
	answered bool   // the attempt in flight got a response
	reqURL   string // the URL the attempt in flight asked for
	// redirected: a response came from another URL than the one asked
	// for. XMLHttpRequest follows redirects before script sees them, so an
	// XHR attempt then goes without the page's headers, as fetch's do
	// after a redirect (see web/src/transports.js).
	redirected bool
	lastSeen   float64

	dec   *sse.Decoder
	batch batch
}

func newConn(id int, url string, cfg config, h host) *conn {
	c := &conn{id: id, url: url, cfg: cfg, h: h, retryMS: cfg.retryMS}
	if c.retryMS <= 0 {
		c.retryMS = defaultRetryMS
	}
	c.dec = sse.NewDecoder(cfg.limits, nil, c.setRetry)
	// The batch copies the data of small events and keeps the decoder's
	// buffer of big ones: a string of each would be one more allocation and
	// copy.
	c.dec.SetEventFunc(c.batch.add)
	// The shim decodes the data with TextDecoder, which replaces what is
	// not UTF-8 as the standard says (see batch): decoding it here first
	// cost a fifth of the time of a UTF-8 stream.
	c.dec.SetRawData(true)
	return c
}

func (c *conn) setRetry(ms int) { c.retryMS = ms }

// current reports whether callbacks of attempt still matter.
func (c *conn) current(attempt int) bool {
	return c.state != closed && c.inFlight && attempt == c.attempt
}

// connect starts a new attempt.
func (c *conn) connect() {
	c.attempt++
	c.received, c.answered, c.extra = false, false, false
	c.dec.Reset()
	req := &request{
		attempt:         c.attempt,
		url:             c.url,
		withCredentials: c.cfg.withCredentials,
		transport:       c.cfg.transport,
	}
	hs := []header{{"Accept", "text/event-stream"}}
	// Cache-Control is not a CORS-safelisted header: cross-origin it would
	// cost a preflight that native EventSource never makes. fetch asks for
	// an uncached response through its cache mode instead, which makes the
	// browser add the header itself; XHR has no such mode, so there it is
	// sent to the page's own origin only.
	if c.cfg.sameOrigin && c.cfg.transport == transportXHR && !c.plain {
		hs = append(hs, header{"Cache-Control", "no-cache"})
		c.extra = true
	}
	if c.cfg.userHeaders && !(c.redirected && c.cfg.transport == transportXHR) {
		for _, uh := range c.h.headers(c) {
			hs = setHeader(hs, uh.name, uh.value)
		}
		if c.state == closed { // the page's header function closed it
			return
		}
	}
	// The last event ID goes where the page asked (a query parameter) or
	// in the standard's header, which a server that refuses the preflight
	// it costs cross-origin (or after a redirect) never sees: after such a
	// refusal it goes in the query, as the hub and the common polyfills read
	// it (see end).
	if id := c.dec.LastEventID(); id != "" {
		switch {
		case c.cfg.lastEventIDParam != "":
			req.url = setQuery(req.url, c.cfg.lastEventIDParam, id)
		case c.plain:
			req.url = setQuery(req.url, fallbackIDParam, id)
		default:
			hs = setHeader(hs, "Last-Event-ID", byteString(id))
			c.extra = true
		}
	}
	req.headers = hs
	c.reqURL = req.url
	c.inFlight = true
	if c.cfg.watchdogMS > 0 {
		c.lastSeen = c.h.now()
		c.h.setTimer(c, watchdogTimer, c.cfg.watchdogMS)
	}
	c.h.request(c, req)
}

// start makes the first attempt.
func (c *conn) start() {
	if c.state == connecting && !c.inFlight && c.attempt == 0 {
		c.connect()
	}
}

// How a connection that the shim's lite engine served reaches this
// engine (see adopt): the lite engine serves a page's first connections
// while the WebAssembly engine boots, and hands each over at an event
// boundary, or between two attempts. D_* in
// web/src/engines/wasm/bridge.js, which bridge_test.go holds to these.
const (
	adoptConnect  = 0 // between attempts, readyState CONNECTING: make the next attempt now
	adoptResume   = 1 // between attempts with the page's stream open (an XHR replaced for its budget): the next attempt, unseen
	adoptInFlight = 2 // the lite engine's attempt in flight, its response open, at an event boundary: read on from there
)

// handover is what the lite engine knew of a connection it hands over.
type handover struct {
	lastID   string // the last event ID string
	retryMS  int    // the reconnection time, as retry fields set it
	failures int    // consecutive failed attempts, for the backoff
	plain    bool   // the server refused a header of ours: send none
	how      int    // adoptConnect, adoptResume or adoptInFlight
}

// adopt takes over a connection from the lite engine, in place of start,
// and returns the number of the attempt in flight: for adoptInFlight, the
// one whose transport callbacks (response body, end) now come here, with
// the body from the event boundary on. The page saw that response's open
// event already, and its events up to the boundary.
func (c *conn) adopt(hd handover) int {
	if c.state != connecting || c.attempt != 0 {
		return 0
	}
	c.dec.SetLastEventID(hd.lastID)
	if hd.retryMS >= 0 {
		c.retryMS = hd.retryMS
	}
	c.failures = hd.failures
	c.plain = hd.plain
	switch hd.how {
	case adoptInFlight:
		c.attempt++
		c.dec.Reset()
		// The text from the boundary on is not the start of a stream: a
		// byte order mark there is part of a field name, as the lite
		// parser took it. The decoder is given the one leading mark it
		// skips.
		c.dec.Write(bomBytes)
		c.state = open
		c.inFlight, c.answered, c.received = true, true, true
		c.reqURL = c.url
		if c.cfg.watchdogMS > 0 {
			c.lastSeen = c.h.now()
			c.h.setTimer(c, watchdogTimer, c.cfg.watchdogMS)
		}
	case adoptResume:
		c.state = open
		c.recycled = true
		c.connect()
	default:
		c.connect()
	}
	return c.attempt
}

// response handles the status and Content-Type of attempt and reports
// whether its body is to be read.
func (c *conn) response(attempt, status int, contentType, url string) bool {
	if !c.current(attempt) {
		return false
	}
	if c.cfg.watchdogMS > 0 {
		c.lastSeen = c.h.now()
	}
	c.answered = true
	c.noteURL(url)
	if c.cfg.gatewayErrors && status >= 502 && status <= 504 {
		// The network error a proxy without its upstream, or a hub
		// restarting, stands for: reconnect with backoff.
		c.recycled = false
		c.stop()
		c.ended()
		return false
	}
	if status == 200 && isEventStream(contentType) {
		if c.recycled {
			// The page saw no break: no second open event.
			c.recycled = false
			return true
		}
		c.state = open
		if url == "" {
			url = c.url
		}
		c.h.opened(c, url)
		return c.current(attempt)
	}
	c.recycled = false
	c.stop()
	if (status == 401 || status == 403) && c.cfg.authHook {
		c.failures++
		switch d := c.h.authError(c, status); {
		case c.state == closed:
		case d == authFail:
			c.fail()
		case d == authWait:
			c.waiting = true
			c.state = connecting
			c.h.failed(c, true)
		case d == authRetry:
			c.reestablish(c.cfg.policy.delay(c.retryMS, c.failures, c.h.random()))
		default:
			c.reestablish(clampTimer(d))
		}
		return false
	}
	// 204 asks the client to stop; any other status or type is a failure
	// the standard does not retry.
	c.fail()
	return false
}

// body decodes a chunk of attempt's body, dispatches the events it
// completes and reports whether to keep reading.
func (c *conn) body(attempt int, p []byte) bool {
	if !c.current(attempt) || c.state != open {
		return false
	}
	if len(p) == 0 {
		return true
	}
	if !c.received && c.cfg.transport == transportXHR {
		// XMLHttpRequest's decoding of responseText took the one leading
		// byte order mark the standard skips; the decoder would skip
		// another. It is given one to skip instead.
		c.dec.Write(bomBytes)
	}
	c.received = true
	if c.cfg.watchdogMS > 0 {
		c.lastSeen = c.h.now()
	}
	for len(p) > 0 {
		n := min(len(p), writeSlice)
		c.batch.reserve(n)
		_, err := c.dec.Write(p[:n])
		p = p[n:]
		if c.batch.n > 0 {
			c.h.events(c, &c.batch)
			// The shim has decoded the big events' data: their buffers
			// can take the data of events to come.
			for _, b := range c.batch.big {
				c.dec.Reuse(b)
			}
			c.batch.reset()
			if !c.current(attempt) {
				return false
			}
		}
		if err != nil {
			// Beyond the limits the stream is hostile or broken, and the
			// same request would get the same answer: fail rather than
			// reconnect.
			c.stop()
			c.fail()
			return false
		}
	}
	return true
}

// writeSlice is the most of a chunk decoded at once, its events dispatched
// before the rest is decoded. A browser hands over whatever arrived, which
// after a burst is megabytes: in slices the page sees the first events
// sooner, the shim's batches stay small, and the browser, which optimises
// a WebAssembly function only between two calls, gets to optimise the
// decoder while it works through the chunk rather than after.
const writeSlice = 32 << 10

// How an attempt ended without a response, as the transport tells it:
// NETWORK … RECYCLED in web/src/transports.js, which bridge_test.go holds to
// these.
const (
	endNetwork = 0 // a network error (or, after a response, the end of the body)
	endRefused = 1 // the server answered, and CORS refused the response or the preflight
	endUnknown = 2 // either: XMLHttpRequest cannot tell them apart
	endAborted = 3 // the page aborted the request (window.stop()), before or after the response
	// endRecycled: the XHR transport ended the response at an event
	// boundary because responseText held its budget (see xhrStream in
	// web/src/transports.js); everything up to the boundary was delivered.
	endRecycled = 4
)

// fallbackIDParam is the query parameter the last event ID goes in once a
// server refused the Last-Event-ID header's preflight: the name the hub,
// and the widespread polyfills' servers, read.
const fallbackIDParam = "lastEventId"

// bomBytes is U+FEFF in UTF-8.
var bomBytes = []byte{0xEF, 0xBB, 0xBF}

// end handles the end of attempt's response: a clean end of the body or a
// network error, before or after the response arrived. Both reconnect; a
// CORS refusal fails the connection, as in the browser's EventSource,
// unless a header of ours caused it, and so does an aborted request.
func (c *conn) end(attempt, how int) {
	if !c.current(attempt) {
		return
	}
	c.inFlight = false
	c.clearWatchdog()
	if how == endRecycled && c.state == open {
		// responseText only grows, and the browser fills it as fast as the
		// network delivers, however slowly the page decodes: a fresh XHR
		// resumes from the last event ID, with nothing for the page to see,
		// and the server resends what came after the boundary.
		c.recycled = true
		c.failures = 0
		c.connect()
		return
	}
	if how == endAborted {
		// The standard fails the connection after an aborted network
		// error.
		c.fail()
		return
	}
	if !c.answered && c.extra && how != endNetwork {
		// A header of ours may have cost a preflight the server refused:
		// at once again, and from now on, without them.
		c.plain = true
		c.connect()
		return
	}
	if !c.answered && how == endRefused {
		c.fail()
		return
	}
	c.ended()
}

// ended counts the attempt just over and schedules the next.
func (c *conn) ended() {
	// A connection that opened and carried bytes was a success. One that
	// ended without a byte counts as a failure, so that a server that
	// accepts and hangs up at once is backed off like one that refuses.
	c.recycled = false
	if c.state == open && c.received {
		c.failures = 0
	} else {
		c.failures++
	}
	c.reestablish(c.cfg.policy.delay(c.retryMS, c.failures, c.h.random()))
}

// retransport abandons attempt without counting it, for a transport that
// found it cannot stream and switched conn to another; the new attempt
// starts at once.
func (c *conn) retransport(attempt int, t transport, url string) {
	if !c.current(attempt) {
		return
	}
	c.noteURL(url)
	c.stop()
	c.cfg.transport = t
	c.connect()
}

// noteURL notes whether the response of the attempt in flight, from url,
// came after a redirect.
func (c *conn) noteURL(url string) {
	asked := c.reqURL
	for i := 0; i < len(asked); i++ {
		if asked[i] == '#' {
			asked = asked[:i]
			break
		}
	}
	if url != "" && url != asked {
		c.redirected = true
	}
}

// timer handles the expiry of a conn timer.
func (c *conn) timer(k timerKind) {
	if c.state == closed {
		return
	}
	switch k {
	case reconnectTimer:
		if c.state == connecting && !c.inFlight && !c.waiting {
			c.connect()
		}
	case watchdogTimer:
		if !c.inFlight || c.cfg.watchdogMS <= 0 {
			return
		}
		idle := c.h.now() - c.lastSeen
		if left := float64(c.cfg.watchdogMS) - idle; left > watchdogSlackMS {
			c.h.setTimer(c, watchdogTimer, int(left)+1)
			return
		}
		// Nothing came in for the whole period, not even a comment: the
		// connection is presumed dead though no error reached us, and is
		// replaced as a dropped one would be.
		c.stop()
		c.ended()
	}
}

// resume reconnects after ms, once the promise a 401/403 hook returned has
// resolved.
func (c *conn) resume(ms int) {
	if c.state != connecting || !c.waiting {
		return
	}
	c.waiting = false
	c.h.setTimer(c, reconnectTimer, clampTimer(ms))
}

// authFailed fails the connection once the promise a 401/403 hook returned
// has rejected.
func (c *conn) authFailed() {
	if c.state != connecting || !c.waiting {
		return
	}
	c.waiting = false
	c.fail()
}

// close is EventSource.close: no more requests, no more events.
func (c *conn) close() {
	if c.state == closed {
		return
	}
	c.state = closed
	if c.inFlight {
		c.inFlight = false
		c.h.abort(c)
	}
	c.clearWatchdog()
	c.h.clearTimer(c, reconnectTimer)
}

// stop ends the attempt in flight from our side.
func (c *conn) stop() {
	if c.inFlight {
		c.inFlight = false
		c.h.abort(c)
	}
	c.clearWatchdog()
}

func (c *conn) clearWatchdog() {
	if c.cfg.watchdogMS > 0 {
		c.h.clearTimer(c, watchdogTimer)
	}
}

// reestablish is the standard's "reestablish the connection": readyState
// CONNECTING, an error event, and a new attempt after ms.
func (c *conn) reestablish(ms int) {
	c.state = connecting
	c.h.failed(c, true)
	if c.state == closed { // an error listener closed it
		return
	}
	c.h.setTimer(c, reconnectTimer, ms)
}

// fail is the standard's "fail the connection": readyState CLOSED and an
// error event; nothing follows.
func (c *conn) fail() {
	c.state = closed
	c.h.clearTimer(c, reconnectTimer)
	c.h.failed(c, false)
}

//go:build js && wasm

package main

import (
	"strconv"
	"syscall/js"
	"unsafe"
)

// Calls from the engine to the shim: the first argument of __polysse.host.
// The numbers are the bridge contract with web/src/engines/wasm/bridge.js; bridge_test.go checks both.
const (
	hostRequest = 1  // (id, attempt, xhr, url, headers, withCredentials): start an attempt
	hostAbort   = 2  // (id): abort the attempt in flight
	hostTimer   = 3  // (id, kind, ms): arm a timer, ms < 0 clears it
	hostNow     = 4  // (): performance.now()
	hostRandom  = 5  // (): Math.random()
	hostHeaders = 6  // (id): the page's headers as [name, value, …]
	hostAuth    = 7  // (id, status): the page's 401/403 hook's decision
	hostOpen    = 8  // (id, url): announce the connection
	hostEvents  = 9  // (id, length, big): dispatch the events in __polysse.buf (see batch)
	hostError   = 10 // (id, reconnecting): error event; CLOSED when not reconnecting
)

// Calls from the shim to the engine: the first argument of __polysse.engine.
const (
	engineOpen   = 1 // (id, args): the connection's URL and options, args[open…]
	engineClose  = 2 // (id)
	engineResume = 3 // (id, ms): the 401/403 hook's promise resolved
	engineFail   = 4 // (id): the 401/403 hook's promise rejected
	engineHead   = 5 // (id, attempt, status, contentType, url, streams) → read on?
	engineChunk  = 6 // (id, attempt, n): n bytes of body in the input buffer → read on?
	engineEnd    = 7 // (id, attempt, how): end of body or network error; how is endNetwork, endRefused, endUnknown, endAborted or endRecycled
	engineTimer  = 8 // (id, kind)
	// (id, options, lastID, retryMS, failures, how) → the attempt in flight:
	// a connection the lite engine served (see conn.adopt); options as
	// engineOpen's
	engineAdopt = 9
)

// Where engineOpen's args are: O_* in web/src/engines/wasm/bridge.js, which
// bridge_test.go holds to these (and to each being written and read).
const (
	openURL       = iota // the absolute URL
	openFlags            // flag… bits
	openWatchdog         // config.watchdogMS
	openRetry            // config.retryMS
	openMax              // policy.max
	openFactor           // policy.factor
	openJitter           // policy.jitter
	openTransport        // transportFetch or transportXHR
	openParam            // config.lastEventIDParam
)

// Bits of engineOpen's flags: F_* in web/src/engines/wasm/bridge.js, which
// bridge_test.go holds to these.
const (
	flagCredentials = 1 << iota
	flagSameOrigin
	flagHeaders
	flagAuthHook
	flagGatewayErrors
	flagPlain // engineAdopt: the lite engine sends no header of ours but Accept (a server refused one)
)

func main() {
	e := &engine{bridge: js.Global().Get("__polysse")}
	e.host = e.bridge.Get("host")
	e.bytes = e.bridge.Get("Uint8Array")
	// The shim writes each chunk of a body straight into e.in, in pieces of
	// at most its size: one copy, with no syscall/js value in between.
	e.in = make([]byte, inSize)
	e.bridge.Set("inAt", uintptr(unsafe.Pointer(unsafe.SliceData(e.in))))
	e.bridge.Set("inCap", inSize)
	e.bridge.Set("engine", js.FuncOf(e.call))
	// From now on everything happens in calls from JavaScript; the runtime
	// hands control back to the page while main waits here.
	select {}
}

// engine holds the page's conns. Only the js.Func registered in main
// reaches it: the one piece of lasting state syscall/js forces on a program
// that JavaScript calls into.
type engine struct {
	bridge, host, bytes js.Value
	conns               []*jsConn // few per page: a scan beats a map's code size

	buf    js.Value // the shim's Uint8Array that batches are copied into
	bufLen int
	in     []byte // where the shim writes a chunk of a body (engineChunk)
}

// inSize is the size of the input buffer, and so the most of a chunk one
// call into Go takes (conn.body decodes it in writeSlice pieces). A call
// from JavaScript into Go costs tens of microseconds (it resumes Go's
// scheduler): 32 KiB per call cost a large burst a fifth of its time.
// Before, the engine kept a copy of the largest chunk the browser had
// handed over, which after a burst was megabytes.
const inSize = 512 << 10

// call dispatches a call from the shim.
func (e *engine) call(_ js.Value, args []js.Value) any {
	id := args[1].Int()
	switch args[0].Int() {
	case engineOpen:
		e.open(id, args[2]).start()
		return nil
	case engineAdopt:
		return e.open(id, args[2]).adopt(handover{
			lastID:   str(args[3]),
			retryMS:  args[4].Int(),
			failures: args[5].Int(),
			how:      args[6].Int(),
			plain:    args[2].Index(openFlags).Int()&flagPlain != 0,
		})
	}
	var jc *jsConn
	for _, x := range e.conns {
		if x.c.id == id {
			jc = x
		}
	}
	if jc == nil {
		return false
	}
	c := jc.c
	switch args[0].Int() {
	case engineClose:
		e.remove(id)
		c.close()
	case engineResume:
		c.resume(args[2].Int())
	case engineFail:
		c.authFailed()
	case engineHead:
		attempt, status := args[2].Int(), args[3].Int()
		ct, url := str(args[4]), str(args[5])
		if !args[6].Truthy() && c.current(attempt) && status == 200 && isEventStream(ct) {
			// A fetch without a streaming body (EdgeHTML's) would hold the
			// whole endless stream before handing over a byte.
			c.retransport(attempt, transportXHR, url)
			return false
		}
		return c.response(attempt, status, ct, url)
	case engineChunk:
		attempt := args[2].Int()
		if !c.current(attempt) {
			return false
		}
		n := args[3].Int()
		if n < 0 || n > len(e.in) {
			return false
		}
		return c.body(attempt, e.in[:n])
	case engineEnd:
		c.end(args[2].Int(), args[3].Int())
	case engineTimer:
		c.timer(timerKind(args[2].Int()))
	}
	return nil
}

// open makes a conn with the shim's normalised options, a[open…], for the
// caller to start or adopt.
func (e *engine) open(id int, a js.Value) *conn {
	flags := a.Index(openFlags).Int()
	cfg := config{
		withCredentials:  flags&flagCredentials != 0,
		sameOrigin:       flags&flagSameOrigin != 0,
		userHeaders:      flags&flagHeaders != 0,
		authHook:         flags&flagAuthHook != 0,
		gatewayErrors:    flags&flagGatewayErrors != 0,
		watchdogMS:       a.Index(openWatchdog).Int(),
		retryMS:          a.Index(openRetry).Int(),
		policy:           policy{max: a.Index(openMax).Int(), factor: a.Index(openFactor).Float(), jitter: a.Index(openJitter).Float()},
		transport:        transport(a.Index(openTransport).Int()),
		lastEventIDParam: str(a.Index(openParam)),
	}
	jc := &jsConn{e: e}
	jc.c = newConn(id, a.Index(openURL).String(), cfg, jc)
	e.conns = append(e.conns, jc)
	return jc.c
}

func (e *engine) remove(id int) {
	for i, x := range e.conns {
		if x.c.id == id {
			last := len(e.conns) - 1
			e.conns[i] = e.conns[last]
			e.conns[last] = nil
			e.conns = e.conns[:last]
			return
		}
	}
}

// jsConn is a conn's host: every method is one call to the shim.
type jsConn struct {
	e *engine
	c *conn
}

func (jc *jsConn) request(c *conn, r *request) {
	hs := make([]any, 0, 2*len(r.headers))
	for _, h := range r.headers {
		hs = append(hs, h.name, h.value)
	}
	jc.e.host.Invoke(hostRequest, c.id, r.attempt, r.transport == transportXHR, r.url, hs, r.withCredentials)
}

func (jc *jsConn) abort(c *conn) { jc.e.host.Invoke(hostAbort, c.id) }

func (jc *jsConn) setTimer(c *conn, k timerKind, ms int) {
	jc.e.host.Invoke(hostTimer, c.id, int(k), ms)
}

func (jc *jsConn) clearTimer(c *conn, k timerKind) {
	jc.e.host.Invoke(hostTimer, c.id, int(k), -1)
}

func (jc *jsConn) now() float64    { return jc.e.host.Invoke(hostNow).Float() }
func (jc *jsConn) random() float64 { return jc.e.host.Invoke(hostRandom).Float() }

func (jc *jsConn) headers(c *conn) []header {
	a := jc.e.host.Invoke(hostHeaders, c.id)
	n := a.Length()
	hs := make([]header, 0, n/2)
	for i := 0; i+1 < n; i += 2 {
		hs = append(hs, header{a.Index(i).String(), a.Index(i + 1).String()})
	}
	return hs
}

func (jc *jsConn) authError(c *conn, status int) int {
	return jc.e.host.Invoke(hostAuth, c.id, status).Int()
}

func (jc *jsConn) opened(c *conn, url string) { jc.e.host.Invoke(hostOpen, c.id, url) }

func (jc *jsConn) events(c *conn, b *batch) {
	e := jc.e
	// The big events' data stay where they are: the batch ends with index
	// CR address CR length CR of each, in decimal, for the shim to decode
	// them from the engine's memory. b.big keeps them alive until then.
	for i, s := range b.big {
		b.buf = strconv.AppendInt(b.buf, int64(b.bigAt[i]), 10)
		b.buf = append(b.buf, '\r')
		b.buf = strconv.AppendUint(b.buf, uint64(uintptr(unsafe.Pointer(unsafe.SliceData(s)))), 10)
		b.buf = append(b.buf, '\r')
		b.buf = strconv.AppendInt(b.buf, int64(len(s)), 10)
		b.buf = append(b.buf, '\r')
	}
	buf := b.buf
	if len(buf) > e.bufLen {
		n := 64 << 10
		for n < len(buf) {
			n *= 2
		}
		e.buf, e.bufLen = e.bytes.New(n), n
		e.bridge.Set("buf", e.buf)
	}
	js.CopyBytesToJS(e.buf, buf)
	e.host.Invoke(hostEvents, c.id, len(buf), len(b.big))
}

func (jc *jsConn) failed(c *conn, reconnecting bool) {
	if !reconnecting {
		jc.e.remove(c.id)
	}
	jc.e.host.Invoke(hostError, c.id, reconnecting)
}

func str(v js.Value) string {
	if v.Type() == js.TypeString {
		return v.String()
	}
	return ""
}

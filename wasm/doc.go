// Command wasm is polysse's EventSource engine, built with GOOS=js
// GOARCH=wasm into web/dist/eventsource.<hash>.wasm and started by the
// polyfill's ES5 shim (web/src) in pages whose browser has no EventSource.
//
// One Go runtime serves every EventSource of a page. Each is a conn: the
// connection state machine of the WHATWG HTML standard's server-sent events
// section (CONNECTING, OPEN, CLOSED; reconnection after the reconnection
// time with Last-Event-ID; failure on 204, on any other status but 200 and
// on any type but text/event-stream), with the stream interpreted by the sse
// package's Decoder and nothing else. On top of the standard a conn has the
// polyfill's extensions: a retry policy (policy.go), the last event ID in a
// query parameter, an inactivity watchdog, a hook for 401 and 403, and the
// replacement of an XMLHttpRequest whose responseText has grown too big.
//
// The state machine (conn.go, policy.go, request.go, batch.go) is plain Go
// that acts on the world only through the host interface, so that go test
// runs it anywhere. main_js.go implements host with syscall/js.
//
// # The bridge
//
// Every crossing between Go and JavaScript costs more than decoding an event
// does, so the bridge is two functions and a buffer, on the __polysse object
// of what Go's glue takes for the global object (the shim gives the glue a
// scope object of its own, so nothing of Go's reaches the page's window):
//
//   - __polysse.engine(op, id, …), registered by main, is every call from
//     the shim: open and close an EventSource, and what the transports
//     report (the head of a response, a chunk of its body, its end) and the
//     timers.
//   - __polysse.host(op, id, …), provided by the shim, is every call to it:
//     start or abort a request, arm a timer, ask the page's headers and
//     401/403 hook, and announce the connection, events and errors.
//   - __polysse.inAt and inCap locate a 512 KiB buffer in the engine's
//     memory that main sets aside: the shim writes each chunk of a body
//     straight into it (fetch's bytes with Uint8Array.set, XHR's text with
//     TextEncoder.encodeInto, or the shim's own encoder where there is
//     none), a piece of at most inCap bytes per call, so that a body is
//     copied once and no chunk crosses as a syscall/js value.
//   - __polysse.buf is a Uint8Array owned by the shim. All events decoded
//     from one chunk (from each 32 KiB of a bigger one) are appended to one
//     Go buffer as type CR data CR id CR, the type left empty when it is the
//     previous event's (the decoder never leaves a CR in any of the three),
//     copied into buf at once and announced with one host call; the shim
//     decodes the lot with one TextDecoder call and splits it on CR. A chunk
//     of any number of events costs one call into Go and two out of it. The
//     data of an event of 2 KiB or more is not copied: the batch ends with
//     its index, address and length, and the shim decodes it from the
//     engine's memory before any listener runs (see batch); its buffer then
//     goes back to the decoder for the data of later events. The data
//     crosses as the stream sent it (sse.Decoder.SetRawData): TextDecoder
//     replaces what is not UTF-8 as the standard says, so decoding it in Go
//     first only did that work twice.
//
// The numbers that cross the bridge (the operations, engineOpen's flags and
// transport, the 401/403 hook's answers, how an attempt ended, the timer
// kinds) are Go constants here and variables of the same names in
// web/src/engines/wasm/bridge.js and web/src/transports.js; bridge_test.go
// holds the JavaScript to the Go. The calls are positional, except
// engineOpen's many options, which cross as one array indexed by named
// constants on both sides (open… here, O_… there), which the test holds
// to each being written and read.
//
// The engine also adopts connections (engineAdopt, conn.adopt): until it
// has booted, the shim's ES5 lite engine serves a page's connections, and
// hands each over at an event boundary of the response in flight (the same
// XHR, its later text coming here) or before its next attempt, with the
// last event ID, the retry time and the failure count (see
// web/src/engines/handover.js).
//
// Past the bridge, what an event costs the page is mostly the browser's: a
// MessageEvent built with its data and dispatched by dispatchEvent costs
// Chromium several times what the engine spends decoding it. So the engine
// script (web/src/fastevents.js) builds each as a MessageEvent
// of a subclass that serves data, lastEventId, origin and the dispatch
// fields from script, and calls the EventSource's listeners itself, from the
// listener lists the shim keeps (web/src/eventtarget.js).
//
// The transports themselves (fetch with a streaming body, else
// XMLHttpRequest reading what responseText gained at each progress) are
// small JavaScript functions in the shim's engine script that only move
// bytes: which transport, which URL and headers, what a status means, when
// to abort and when to reconnect are decided here. Written with syscall/js
// they cost some 25 KB of brotli more, in a module whose size is its first
// cost.
//
// # Size
//
// web/build.sh compiles the runtime without inlining (-gcflags=runtime=-l),
// which takes some 25 KB of brotli off the module for a cost in the runtime's
// hot paths that the throughput benchmarks do not show, and replaces the
// byte-at-a-time memmove and memset that lowering to WebAssembly MVP brings
// with faster ones (web/tools/memops.mjs). Imports are kept to what sse needs
// and syscall/js: no fmt, no reflection, no Unicode tables of our own.
package main

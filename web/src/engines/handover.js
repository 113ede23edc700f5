// Lite first: the WebAssembly engine, as the shim sees it where the
// browser runs it, without the wait for it to boot. Until the engine is
// ready (its module downloaded and compiled, Go's runtime started: most of
// a first visit's wait for its first event, see docs/benchmarks.md), a
// connection is served by the ES5 lite engine (engines/lite/, a small file
// that loads sooner) over XMLHttpRequest. Once the WebAssembly engine is
// ready, the lite engine hands the connection over to it on the same
// response, at the next event boundary (engines/lite/engine.js: the live
// XHR and the text after the boundary, the last event ID, the retry time;
// nothing is requested again, lost or repeated), or before its next
// attempt, which the WebAssembly engine then makes (wasm/conn.go, adopt).
// Connections made once the engine is ready go to it directly; should it
// never start, the lite engine serves on.
//
// The engine option 'wasm' asks for the WebAssembly engine alone, as
// before: connections wait for it.
//
// The registry's handover (../registry.js), a function that only the tests
// set, holds the hand-over of each connection made while it is set, whether or
// not the engine is ready, until the function it is called with is called
// (web/test/handover.test.mjs forces the hand-over at every point of a
// stream with it).

import { root, isFunction } from '../env.js';
import { shim } from '../registry.js';
import { modes } from './supervisor.js';
import { origin as originOf } from '../url.js';
import { sendEarly } from '../transports.js';

var EVENT_STREAM = 'text/event-stream';

// The WebAssembly engine's start (instantiating the module and running Go's
// runtime: tens of milliseconds on the page's thread) waits while a
// connection made before it was ready has yet to deliver its first event
// or error (on the lite engine, or waiting for it to load), at most a
// second: the page's first event is not kept behind it.
var waiting = 0;
var parked = [];

export function park(f) {
  if (!waiting) return f();
  parked.push(f);
  root.setTimeout(unpark, 1000);
}

function unpark() {
  var p = parked;
  parked = [];
  for (var i = 0; i < p.length; i++) p[i]();
}

export function liteFirst(wasm, lite) {
  return {
    name: 'wasm',
    available: wasm.available,
    connect: function (url, opts, sink) {
      var gate = shim.handover;
      if (!isFunction(gate)) gate = null;
      // Request headers of the page's go to the WebAssembly engine alone: XHR
      // follows a redirect with them, which the standard's fetch would not
      // let a page's headers do (../transports.js, fetchStream).
      if (!lite.available || opts.engine === 'wasm' || opts.headers || opts.transport === 'fetch' || (wasm.impl() && !gate)) return wasm.connect(url, opts, sink);
      var closed = false;
      var sync = true;
      var released = !gate;
      var cur = null; // the handle of the engine serving the connection
      var served = null; // the lite engine's, until the hand-over
      // The wait for a first event (see park).
      var first = true;
      var seen = function () {
        if (first) {
          first = false;
          if (!--waiting) unpark();
        }
      };
      waiting++;
      // The lite engine makes no fallback of its own here: the supervisor
      // around this engine makes the WebAssembly engine's.
      var lopts = Object.create(opts);
      lopts.fallback = false;
      // The stream's request goes out now, as the browser's own
      // EventSource's would, not once the lite engine's file has loaded:
      // the lite engine takes it as its first request when that is the
      // same one (engines/lite/engine.js), else aborts it. Not where the
      // page's fallbacks change the request (engines/supervisor.js).
      if (!modes[originOf(url)]) {
        try {
          lopts.sent = sendEarly(url, opts.local ? ['Accept', EVENT_STREAM, 'Cache-Control', 'no-cache'] : ['Accept', EVENT_STREAM], opts.withCredentials);
        } catch (err) { /* the lite engine's own request will say */ }
      }
      var unsend = function () {
        if (lopts.sent) lopts.sent.xhr.abort();
        lopts.sent = null;
      };
      var held = null; // an undecided attempt, until the release
      // An attempt that got no response (a network error or a CORS
      // refusal: XHR cannot tell) is the WebAssembly engine's to make
      // again, whose fetch can; without it, the lite engine's again.
      lopts.undecided = function (s) {
        served = null;
        held = function () {
          held = null;
          wasm.when(function (engine) {
            if (closed) return;
            if (engine) {
              cur = engine.adopt(url, opts, sink, s);
            } else {
              var again = Object.create(lopts);
              again.undecided = null;
              again.from = s;
              cur = lite.impl().connect(url, again, sink);
            }
          });
        };
        if (released) held();
        return false;
      };

      function begin() {
        if (closed || cur) return;
        var w = released ? wasm.impl() : null;
        if (w) {
          unsend();
          seen();
          cur = w.connect(url, opts, sink);
        } else {
          // After the page's listeners: the engine starts on the next task.
          cur = served = lite.impl().connect(url, lopts, {
            target: sink.target,
            open: function (u) { sink.open(u); },
            messages: function (f) {
              sink.messages(f);
              root.setTimeout(seen, 0);
            },
            error: function (r) {
              sink.error(r);
              seen();
            }
          });
        }
        // A connection that waited for an engine starts only now: a sink
        // timing it (the supervisor's fallback bound) is told.
        if (!sync && sink.started) sink.started();
        if (served && released) wasm.when(handOver);
      }

      function handOver(engine) {
        if (!engine || closed || !served || cur !== served) return;
        served.handover(function (s) {
          served = null;
          if (closed) {
            if (s.tr) s.tr.abort();
            return false;
          }
          cur = engine.adopt(url, opts, sink, s);
          return cur.feed(s.rest);
        });
      }

      wasm.load();
      lite.load();
      lite.when(function (l) {
        if (closed || cur) return;
        // Without the lite engine, the connection waits for the other.
        if (!l) {
          unsend();
          seen();
          cur = wasm.connect(url, opts, sink);
        } else {
          begin();
        }
      });
      wasm.when(function (w) {
        if (w && released) begin();
      });
      if (gate) {
        gate(function () {
          if (released) return;
          released = true;
          if (held) held();
          else if (served) wasm.when(handOver);
          else if (lite.impl() || wasm.impl()) begin();
        });
      }
      sync = false;
      return {
        close: function () {
          closed = true;
          unsend();
          seen();
          if (cur) cur.close();
        }
      };
    }
  };
}

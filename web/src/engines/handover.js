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
// never start, the lite engine serves on. Where the browser has no
// WebAssembly (IE), or where the lite engine reads with fetch (../index.js
// says when), the lite engine serves the connection alone, the same way:
// the stream's request still goes out in the constructor, over fetch in
// the second case.
//
// This file is the shim's part: it sends the stream's request as the page
// constructs the EventSource, as the browser's own EventSource does, and
// hands the connection to the lite engine's file once it has loaded
// (engines/lite/first.js, which serves it and hands it over). The engine
// option 'wasm' asks for the WebAssembly engine alone, as before:
// connections wait for it.
//
// The registry's handover (../registry.js), a function that only the tests
// set, holds the hand-over of each connection made while it is set, whether or
// not the engine is ready, until the function it is called with is called
// (web/test/handover.test.mjs forces the hand-over at every point of a
// stream with it).

import { root, isFunction, schedule } from '../env.js';
import { shim } from '../registry.js';
import { modes } from './supervisor.js';
import { origin as originOf } from '../url.js';
import { sendEarly, fetchText } from '../transports.js';

var EVENT_STREAM = 'text/event-stream';

// The WebAssembly engine's download, compile and start (instantiating the
// module and running Go's runtime: tens of milliseconds on the page's
// thread) wait for a connection that needs the engine: none while no
// connection is open (a page whose streams are closed downloads nothing
// more), and while one made before the engine was ready has yet to deliver
// its first event or error (on the lite engine, or waiting for its file),
// at most a second, so that the page's first event is not kept behind
// them.
var live = 0; // open connections of this engine's
var waiting = 0; // of those, the ones yet to see a first event or error
var parked = [];

export function park(f) {
  parked.push(f);
  kick();
}

function kick() {
  if (live && !waiting) unpark();
  else if (parked.length) root.setTimeout(function () { if (live) unpark(); }, 1000);
}

function unpark() {
  var p = parked;
  parked = [];
  for (var i = 0; i < p.length; i++) p[i]();
}

// opened counts a connection as open until its handle's close.
function opened(h) {
  var close = h.close;
  live++;
  kick();
  h.close = function () {
    if (close) {
      live--;
      close.call(h);
      close = null;
    }
  };
  return h;
}

export function liteFirst(wasm, lite) {
  return {
    name: wasm.available ? 'wasm' : 'lite',
    available: wasm.available || lite.available,
    connect: function (url, opts, sink) {
      var gate = shim.handover;
      if (!isFunction(gate)) gate = null;
      // Request headers of the page's go to the WebAssembly engine alone: XHR
      // follows a redirect with them, which the standard's fetch would not
      // let a page's headers do (../transports.js, fetchStream).
      if (wasm.available && (!lite.available || opts.engine === 'wasm' || opts.headers || opts.transport === 'fetch' || (wasm.impl() && !gate))) {
        return opened(wasm.connect(url, opts, sink));
      }
      // Shared with the lite engine's part (engines/lite/first.js says what
      // each is).
      var c = { released: !gate, closed: false, late: false, sent: null };
      var handle = null;
      var first = true;
      // On a later task: the page's close() in its first listener, which
      // calls this, does not also run the engine's load.
      c.seen = function () {
        if (first) {
          first = false;
          if (!--waiting) schedule(kick);
        }
      };
      waiting++;
      // Not where the page's fallbacks change the request
      // (engines/supervisor.js); the lite engine takes this request as its
      // first when it is the same one, else aborts it.
      if (!modes[originOf(url)]) {
        // Over fetch where the lite engine will read with it (alone: a
        // connection to be handed over is read with XHR).
        var viaFetch = !wasm.available && fetchText(opts);
        try {
          c.sent = sendEarly(url, opts.local && !viaFetch ? ['Accept', EVENT_STREAM, 'Cache-Control', 'no-cache'] : ['Accept', EVENT_STREAM], opts.withCredentials, viaFetch, opts.stops);
        } catch (err) { /* the lite engine's own request will say */ }
      }
      var unsend = function () {
        if (c.sent) c.sent.abort();
        c.sent = null;
      };
      if (wasm.available) wasm.load();
      lite.load();
      lite.when(function (l) {
        if (c.closed) return;
        if (l) {
          handle = l.first(wasm, url, opts, sink, c);
        } else if (c.sent && opts.stops() !== c.sent.stopped) {
          // The page stopped loading (window.stop()), which aborted the
          // request sent in the constructor with the lite engine's file:
          // the standard fails the connection.
          unsend();
          c.seen();
          schedule(function () {
            if (!c.closed) sink.error(false);
          });
        } else {
          // Without the lite engine, the connection waits for the other,
          // or fails where there is none.
          unsend();
          c.seen();
          handle = (wasm.available ? wasm : lite).connect(url, opts, sink);
        }
      });
      if (gate) {
        gate(function () {
          if (c.released) return;
          c.released = true;
          if (c.release) c.release();
        });
      }
      c.late = true;
      return opened({
        close: function () {
          c.closed = true;
          unsend();
          c.seen();
          if (handle) handle.close();
        }
      });
    }
  };
}

// Lite first, the part in this engine's file: how a connection that the
// shim's page made before the WebAssembly engine was ready is served by
// this engine, then handed over to that one on the same response
// (../handover.js is the shim's part, which only sends the stream's request
// and waits for this file; the hand-over itself is engine.js's handover).
// Keeping it here keeps it out of the shim that every browser downloads.
//
// first(modes, wasm, url, opts, sink, c) serves the connection:
//   wasm  the shim's WebAssembly engine loader (../../loaders/lazy.js:
//         available, impl(), when(f)); not available in IE, where this
//         engine serves the connection alone
//   c     what the shim's part shares with this one: sent (the request it
//         sent in the constructor, transports.js sendEarly), seen() (the
//         connection's first event or error, which the engine's start
//         waits for), late (the connection waited for this file: a sink
//         timing it is told when it starts), released (false while the
//         test hook holds the hand-over), closed; this part sets
//         c.release, which the shim's part calls when the hook lets go.

import { connect } from './engine.js';

export function first(modes, wasm, url, opts, sink, c) {
  var cur = null; // the handle of the engine serving the connection
  var served = null; // this engine's, until the hand-over
  var held = null; // an undecided attempt, until the release
  var lopts = Object.create(opts);
  if (wasm.available) {
    // No fallback of this engine's: the supervisor around the WebAssembly
    // engine makes that one's (../supervisor.js).
    lopts.fallback = false;
    // Over XHR, whose live response the hand-over passes on.
    lopts.handsOver = true;
    // An attempt that got no response (a network error or a CORS refusal:
    // XHR cannot tell) is the WebAssembly engine's to make again, whose
    // fetch can; without it, this engine's again.
    lopts.undecided = function (s) {
      served = null;
      held = function () {
        held = null;
        wasm.when(function (engine) {
          if (c.closed) return;
          if (engine) {
            cur = engine.adopt(url, opts, sink, s);
          } else {
            var again = Object.create(lopts);
            again.undecided = null;
            again.from = s;
            cur = connect(modes, url, again, sink);
          }
        });
      };
      if (c.released) held();
      return false;
    };
  }

  function begin() {
    if (c.closed || cur) return;
    var w = c.released ? wasm.impl() : null;
    if (w) {
      if (c.sent) c.sent.abort();
      c.sent = null;
      c.seen();
      cur = w.connect(url, opts, sink);
    } else {
      // The request sent in the constructor is this engine's from now on.
      lopts.sent = c.sent;
      c.sent = null;
      // After the page's listeners: the engine starts on the next task.
      cur = served = connect(modes, url, lopts, {
        target: sink.target,
        open: function (u) { sink.open(u); },
        messages: function (f) {
          sink.messages(f);
          c.seen();
        },
        error: function (r) {
          sink.error(r);
          c.seen();
        }
      });
    }
    if (c.late && sink.started) sink.started();
    if (served && c.released && wasm.available) wasm.when(handOver);
  }

  function handOver(engine) {
    if (!engine || c.closed || !served || cur !== served) return;
    served.handover(function (s) {
      served = null;
      if (c.closed) {
        if (s.tr) s.tr.abort();
        return false;
      }
      cur = engine.adopt(url, opts, sink, s);
      return cur.feed(s.rest);
    });
  }

  c.release = function () {
    if (held) held();
    else if (served) wasm.when(handOver);
    else begin();
  };
  begin();
  return {
    close: function () {
      if (cur) cur.close();
    }
  };
}

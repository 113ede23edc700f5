// lazy makes an engine whose implementation arrives later, from a file of
// its own (the WebAssembly engine, the lite engine): connections opened
// meanwhile wait in a queue, and one closed meanwhile never starts.
// load(ready, broken) is called on the first connection: ready(impl) runs
// the queue on impl; broken(err), at any time, fails the queue and every
// later connection.
//
// For the lite-first hand-over (handover.js) an engine also says where it
// is: load() starts loading without a connection (a preload), impl() is
// the engine once ready, and when(f) calls f(engine) once it is ready, or
// f(null) once it broke.
//
// A load that fails after the page called window.stop() was stopped by the
// page, which aborts every load in flight (../script.js fails a script's
// load at the stop): the connections waiting fail, as the page's abort of
// their requests would fail them, but the engine is not broken, and the
// next connection loads it again.

import { warn, schedule } from '../env.js';
import { stops } from '../pagestop.js';

export function lazy(name, available, load) {
  var impl = null;
  var queue = [];
  var state = 0; // 0 idle, 1 loading or running, 2 broken
  var waiters = [];
  var attempt = 0; // the load in progress: a stopped one's calls are ignored
  var stopped = 0; // stops() when it began

  function tell(engine) {
    var w = waiters;
    waiters = [];
    for (var i = 0; i < w.length; i++) w[i](engine);
  }

  function begin() {
    if (!state) {
      state = 1;
      stopped = stops();
      var n = ++attempt;
      load(function (engine) {
        if (n === attempt) ready(engine);
      }, function (err) {
        if (n === attempt) broken(err);
      });
    }
  }

  function ready(engine) {
    impl = engine;
    var q = queue;
    queue = [];
    for (var i = 0; i < q.length; i++) {
      if (!q[i].closed) {
        q[i].handle = engine.connect(q[i].url, q[i].opts, q[i].sink);
        // The connection starts only now: a sink timing it is told.
        if (q[i].sink.started) q[i].sink.started();
      }
    }
    tell(engine);
  }

  function broken(err) {
    impl = null;
    if (stops() !== stopped) {
      // The page stopped the load: idle again, and this attempt forgotten.
      state = 0;
      attempt++;
    } else {
      state = 2;
      warn(name + ' engine: ' + (err && err.message || err) + '; connections fail');
    }
    var q = queue;
    queue = [];
    // On a later task, as a browser fails a connection it cannot make.
    schedule(function () {
      for (var i = 0; i < q.length; i++) {
        if (!q[i].closed) q[i].sink.error(false);
      }
    });
    tell(null);
  }

  return {
    name: name,
    available: available,
    connect: function (url, opts, sink) {
      if (impl) return impl.connect(url, opts, sink);
      var q = { url: url, opts: opts, sink: sink, closed: false, handle: null };
      if (state === 2) {
        schedule(function () { if (!q.closed) sink.error(false); });
      } else {
        queue.push(q);
        begin();
      }
      return {
        close: function () {
          q.closed = true;
          if (q.handle) q.handle.close();
        }
      };
    },
    load: begin,
    impl: function () {
      return impl;
    },
    when: function (f) {
      if (impl) f(impl);
      else if (state === 2) f(null);
      else waiters.push(f);
    }
  };
}

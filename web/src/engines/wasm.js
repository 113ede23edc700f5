// The WebAssembly engine, as the shim sees it: a loader and a queue. The
// engine itself (Go compiled to WebAssembly) and its JavaScript half (Go's
// glue, the bridge, the transports: src/wasm/) are fetched from this
// script's folder on the first connection that needs them, once per page;
// connections opened meanwhile wait in the queue, and a connection closed
// meanwhile never starts.

import { root, doc, isFunction, warn, schedule, hidden } from '../env.js';
import { scriptBase, scriptNonce } from '../script.js';
import { EventSourcePolyfill } from '../eventsource.js';

/* global __POLYSSE_WASM__, __POLYSSE_GLUE__ */
// File names, with their content hashes, written in by the build.
var WASM_FILE = typeof __POLYSSE_WASM__ === 'string' ? __POLYSSE_WASM__ : 'eventsource.wasm';
var GLUE_FILE = typeof __POLYSSE_GLUE__ === 'string' ? __POLYSSE_GLUE__ : 'wasm_exec.js';

var IDLE = 0;
var LOADING = 1;
var RUNNING = 2;
var BROKEN = 3;

var status = IDLE;
var impl = null; // the loaded engine
var queue = [];

export var wasmEngine = {
  available: typeof root.WebAssembly === 'object' && !!root.WebAssembly && isFunction(root.Promise),
  connect: function (url, opts, sink) {
    if (status === RUNNING) return impl.connect(url, opts, sink);
    var q = { url: url, opts: opts, sink: sink, closed: false, handle: null };
    if (status === BROKEN) {
      schedule(function () { if (!q.closed) sink.error(false); });
    } else {
      queue.push(q);
      load();
    }
    return {
      close: function () {
        q.closed = true;
        if (q.handle) q.handle.close();
      }
    };
  }
};

function broken(err) {
  status = BROKEN;
  warn('the WebAssembly engine could not run: ' + (err && err.message || err));
  var q = queue;
  queue = [];
  for (var i = 0; i < q.length; i++) {
    if (!q[i].closed) q[i].sink.error(false);
  }
}

function load() {
  if (status !== IDLE) return;
  status = LOADING;
  var W = root.WebAssembly;
  var url = scriptBase + WASM_FILE;
  // The module downloads and compiles while the script loads: compiling
  // needs no imports, only instantiating does.
  var module = null;
  if (isFunction(root.fetch)) {
    var response = root.fetch(url, { credentials: 'same-origin' });
    module = isFunction(W.compileStreaming) ? W.compileStreaming(response) : response.then(function (res) {
      if (!res.ok) throw new Error(url + ': HTTP ' + res.status);
      return res.arrayBuffer();
    }).then(function (bytes) {
      return W.compile(bytes);
    });
    module.then(null, function () {}); // seen by the engine; not "unhandled" meanwhile
  }
  hidden(EventSourcePolyfill, '__engine', function (boot) {
    delete EventSourcePolyfill.__engine;
    var started;
    try {
      started = boot(module, url, broken);
    } catch (err) {
      broken(err);
      return;
    }
    started.then(function (engine) {
      impl = engine;
      status = RUNNING;
      var q = queue;
      queue = [];
      for (var i = 0; i < q.length; i++) {
        if (!q[i].closed) q[i].handle = engine.connect(q[i].url, q[i].opts, q[i].sink);
      }
    }).then(null, broken);
  });
  loadScript(scriptBase + GLUE_FILE, function (err) {
    if (status === LOADING && (err || EventSourcePolyfill.__engine)) {
      broken(err || new Error(GLUE_FILE + ' did not start the engine'));
    }
  });
}

function loadScript(src, done) {
  if (!doc) {
    if (isFunction(root.importScripts)) { // a worker
      try {
        root.importScripts(src);
      } catch (err) {
        done(err);
        return;
      }
      done(null);
    } else {
      done(new Error('no document to load ' + src + ' into'));
    }
    return;
  }
  var s = doc.createElement('script');
  s.src = src;
  s.async = true;
  if (scriptNonce) s.nonce = scriptNonce;
  s.onload = function () { done(null); };
  s.onerror = function () { done(new Error('could not load ' + src)); };
  (doc.head || doc.getElementsByTagName('head')[0] || doc.documentElement).appendChild(s);
}

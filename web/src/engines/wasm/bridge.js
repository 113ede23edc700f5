// The WebAssembly engine's JavaScript half, bundled with Go's glue into
// wasm_exec.<hash>.js, which only browsers that run the engine load: the
// bridge between the shim's EventSources and Go's connection state machines
// (wasm/), the transports, and the TextEncoder/TextDecoder the glue needs.
//
// Go's glue (wasm_exec.js) runs inside runGlue, with the scope object below
// as what it takes for the global object: the fs, process, path and Go
// globals it would otherwise define never reach the page, and it finds
// TextEncoder and TextDecoder where the browser has none.
//
// The bridge (see wasm/main_js.go): Go calls bridge.host(op, id, …) and the
// shim calls bridge.engine(op, id, …); op numbers below match the Go
// constants. Events arrive in batches: Go copies them into bridge.buf as
// "type\rdata\rid\r" triples (the type empty when it is the previous
// event's, the data empty when it is big and follows as "index\raddress\r
// length\r" at the end) and calls host(EVENTS, id, length, big).

import { root, isFunction, report, schedule } from '../../env.js';
import { headerList } from '../../options.js';
import { fetchStream, xhrStream, streamingFetch, NETWORK } from '../../transports.js';
import { TextEncoder_, TextDecoder_, encodeInto } from '../../textcodec.js';
import { runGlue } from 'go:wasm_exec';

// The op numbers: wasm/bridge_test.go fails when wasm/main_js.go's differ.
// host ops (Go → shim)
var H_REQUEST = 1;
var H_ABORT = 2;
var H_TIMER = 3;
var H_NOW = 4;
var H_RANDOM = 5;
var H_HEADERS = 6;
var H_AUTH = 7;
var H_OPEN = 8;
var H_EVENTS = 9;
var H_ERROR = 10;
// engine ops (shim → Go)
var E_OPEN = 1;
var E_CLOSE = 2;
var E_RESUME = 3;
var E_FAIL = 4;
var E_HEAD = 5;
var E_CHUNK = 6;
var E_END = 7;
var E_TIMER = 8;
var E_ADOPT = 9;
// The other numbers that cross the bridge, each named as its Go twin, which
// wasm/bridge_test.go holds them to: E_OPEN's flags (flag* in
// wasm/main_js.go) and transport (transport* in wasm/request.go; the shim
// resolves auto itself); H_AUTH's answers besides a wait in ms (auth* in
// wasm/conn.go); E_END's how (NETWORK … in ../../transports.js, end* in
// wasm/conn.go); H_TIMER's and E_TIMER's kind, an index of conn.timers,
// which has a slot for each timerKind in wasm/conn.go.
var F_CREDENTIALS = 1;
var F_SAME_ORIGIN = 2;
var F_HEADERS = 4;
var F_AUTH_HOOK = 8;
var F_GATEWAY_ERRORS = 16;
var F_PLAIN = 32;
var T_FETCH = 1;
var T_XHR = 2;
var A_FAIL = -1;
var A_RETRY = -2;
var A_WAIT = -3;
// E_ADOPT's how (adopt* in wasm/conn.go): what the lite engine hands over.
var D_CONNECT = 0;
var D_RESUME = 1;
var D_IN_FLIGHT = 2;
// Where E_OPEN's arguments are, in the one array it passes after the id
// (open* in wasm/main_js.go).
var O_URL = 0;
var O_FLAGS = 1;
var O_WATCHDOG = 2;
var O_RETRY = 3;
var O_MAX = 4;
var O_FACTOR = 5;
var O_JITTER = 6;
var O_TRANSPORT = 7;
var O_PARAM = 8;

var running = false;
var onBroken = null;
var conns = {};
var nextId = 1;
var encoder = new TextEncoder_('utf-8');
var decoder = new TextDecoder_('utf-8');

var perf = root.performance;
var now = perf && isFunction(perf.now) ? function () { return perf.now(); } : function () { return +new Date(); };

var bridge = { host: host, buf: null, Uint8Array: root.Uint8Array };

// scope is what Go's glue takes for the global object.
var scope = {
  Object: Object,
  Array: Array,
  console: root.console || { log: function () {}, warn: function () {}, error: function () {} },
  crypto: root.crypto || root.msCrypto || {
    // Go seeds its map hashes from here; nothing secret depends on it.
    getRandomValues: function (a) {
      for (var i = 0; i < a.length; i++) a[i] = Math.floor(Math.random() * 256);
      return a;
    }
  },
  performance: perf && isFunction(perf.now) ? perf : { now: now },
  TextEncoder: TextEncoder_,
  TextDecoder: TextDecoder_,
  __polysse: bridge
};
// Where Go's runtime prints (a panic's message, say): the console.
var pending = '';
scope.fs = {
  writeSync: function (fd, buf) {
    pending += decoder.decode(buf);
    var nl = pending.lastIndexOf('\n');
    if (nl >= 0) {
      scope.console.log(pending.substring(0, nl));
      pending = pending.substring(nl + 1);
    }
    return buf.length;
  }
};

var engine = {
  connect: function (url, opts, sink) {
    var c = { id: nextId++, url: url, opts: opts, sink: sink, closed: false, started: false, tr: null, timers: [null, null] };
    if (!running) {
      schedule(function () { if (!c.closed) sink.error(false); });
    } else {
      conns[c.id] = c;
      start(c);
    }
    return { close: function () { close(c); } };
  },
  // adopt takes over a connection the lite engine served while this one
  // booted (engines/handover.js): s is what the lite engine knew (last
  // event ID, retry time, failures, plain) and, when it hands over at an
  // event boundary, its XHR in flight (tr), whose callbacks come here from
  // now on. The handle's feed(text) gives the engine the text of that
  // response after the boundary and says whether to read on.
  adopt: function (url, opts, sink, s) {
    var c = { id: nextId++, url: url, opts: opts, sink: sink, closed: false, started: true, tr: null, timers: [null, null] };
    var h = null;
    if (!running) {
      if (s.tr) s.tr.abort();
      schedule(function () { if (!c.closed) sink.error(false); });
    } else {
      conns[c.id] = c;
      var how = s.tr ? D_IN_FLIGHT : s.open ? D_RESUME : D_CONNECT;
      var attempt = 0;
      try {
        attempt = bridge.engine(E_ADOPT, c.id, openArgs(c, s.plain), s.lastId, s.retry, s.failures, how);
      } catch (err) {
        broken(err);
      }
      if (s.tr) {
        if (attempt > 0 && !c.closed) {
          h = handlers(c, attempt);
          c.tr = s.tr;
          s.tr.handler(h);
        } else {
          s.tr.abort();
        }
      }
    }
    return {
      close: function () { close(c); },
      feed: function (text) {
        if (!h || c.closed || !c.tr) return false;
        return text === '' || h.text(text);
      }
    };
  }
};

// boot starts Go and resolves to the engine once Go's main has registered
// bridge.engine. module is the compiled engine (a promise the shim started
// while this file loaded) or null; url is where the engine is; broken(err)
// is called should the engine ever stop.
export function boot(module, url, broken) {
  onBroken = broken;
  runGlue(scope, scope.fs, scope.crypto, scope.performance, scope.TextEncoder, scope.TextDecoder);
  var go = new scope.Go();
  go.importObject.polysse = { copy: copy, fill: fill };
  return instantiate(root.WebAssembly, module, url, go.importObject).then(function (instance) {
    memory = instance.exports.mem;
    // run executes Go's main up to the point where it waits for calls.
    go.run(instance);
    if (!isFunction(bridge.engine)) throw new Error('the engine did not start');
    running = true;
    return engine;
  });
}

// The engine's memmove and memset for long runs (see tools/memops.mjs): the
// browser's own beat any loop in WebAssembly MVP.
var memory = null;
var bytes = null;

// heap is a view of the engine's memory. Growing the memory detaches the
// old buffer, which leaves the old view empty: checking that is much
// cheaper than reading memory.buffer at every copy (a tenth of the page's
// time on 1 KiB events).
function heap() {
  if (!bytes || !bytes.length) bytes = new Uint8Array(memory.buffer);
  return bytes;
}

function copy(dst, src, n) {
  src >>>= 0;
  heap().copyWithin(dst >>> 0, src, src + (n >>> 0));
}

function fill(dst, value, n) {
  dst >>>= 0;
  heap().fill(value, dst, dst + (n >>> 0));
}

var nativeInto = isFunction(encoder.encodeInto) ? encoder : null;

// call is a call into Go. Should Go ever fail (a panic ends its program),
// every connection fails instead of hanging.
function call(op, id, a, b, c, d, e) {
  if (!running) return false;
  try {
    return bridge.engine(op, id, a, b, c, d, e);
  } catch (err) {
    broken(err);
    return false;
  }
}

// openArgs is the one array E_OPEN and E_ADOPT take after the id, at the
// O_* indexes. plain (F_PLAIN) is E_ADOPT's: the lite engine had stopped
// sending headers of ours.
function openArgs(c, plain) {
  var o = c.opts;
  var r = o.retry;
  var flags = (o.withCredentials ? F_CREDENTIALS : 0) | (o.local ? F_SAME_ORIGIN : 0) | (o.headers ? F_HEADERS : 0) |
    (r.onAuthError ? F_AUTH_HOOK : 0) | (o.gatewayErrors ? F_GATEWAY_ERRORS : 0) | (plain ? F_PLAIN : 0);
  var transport = o.transport === 'fetch' ? T_FETCH : o.transport === 'xhr' ? T_XHR : streamingFetch() ? T_FETCH : T_XHR;
  var a = [];
  a[O_URL] = c.url;
  a[O_FLAGS] = flags;
  a[O_WATCHDOG] = o.heartbeatTimeout;
  a[O_RETRY] = r.initial;
  a[O_MAX] = r.max;
  a[O_FACTOR] = r.factor;
  a[O_JITTER] = r.jitter;
  a[O_TRANSPORT] = transport;
  a[O_PARAM] = o.lastEventIdQueryParameterName;
  return a;
}

function start(c) {
  if (c.closed) return;
  c.started = true;
  try {
    bridge.engine(E_OPEN, c.id, openArgs(c));
  } catch (err) {
    broken(err);
  }
}

function close(c) {
  if (c.closed) return;
  c.closed = true;
  if (c.started) call(E_CLOSE, c.id);
  release(c);
}

// release lets go of what a finished conn holds, whatever Go did.
function release(c) {
  c.closed = true;
  if (c.tr) {
    c.tr.abort();
    c.tr = null;
  }
  for (var k = 0; k < c.timers.length; k++) {
    if (c.timers[k] !== null) {
      root.clearTimeout(c.timers[k]);
      c.timers[k] = null;
    }
  }
  delete conns[c.id];
}

// host answers Go. It must never throw: an exception would panic Go.
function host(op, id, a, b, c, d, e) {
  try {
    if (op === H_NOW) return now();
    if (op === H_RANDOM) return Math.random();
    var conn = conns[id];
    if (!conn) return op === H_HEADERS ? [] : op === H_AUTH ? A_FAIL : undefined;
    switch (op) {
      case H_REQUEST: request(conn, a, b, c, d, e); break;
      case H_ABORT:
        if (conn.tr) {
          var tr = conn.tr;
          conn.tr = null;
          tr.abort();
        }
        break;
      case H_TIMER: timer(conn, a, b); break;
      case H_HEADERS: return headerList(conn.opts);
      case H_AUTH: return auth(conn, a);
      case H_OPEN: conn.sink.open(a); break;
      case H_EVENTS: conn.sink.messages(fields(bridge.buf.subarray(0, a), b)); break;
      case H_ERROR:
        if (!a) release(conn);
        conn.sink.error(!!a);
        break;
    }
  } catch (err) {
    report(err);
    if (op === H_HEADERS) return [];
    if (op === H_AUTH) return A_FAIL;
  }
  return undefined;
}

// fields decodes a batch (see wasm/batch.go) into [type, data, id, …]: one
// TextDecoder call and one split for all its events, then the data of the
// big ones from the engine's memory (before any listener runs: one could
// call into Go, which could grow the memory), then the types left empty as
// the previous event's, one string for all of them.
function fields(bytes, big) {
  var f = decoder.decode(bytes).split('\r');
  f.length--; // after the last CR
  var n = f.length - 3 * big;
  for (var k = n; k < f.length; k += 3) {
    f[3 * f[k] + 1] = decoder.decode(new Uint8Array(memory.buffer, +f[k + 1], +f[k + 2]));
  }
  f.length = n;
  var type = '';
  for (var i = 0; i < n; i += 3) {
    if (f[i] === '') f[i] = type;
    else type = f[i];
  }
  return f;
}

function request(conn, attempt, xhr, url, headers, withCredentials) {
  var h = handlers(conn, attempt);
  try {
    conn.tr = (xhr ? xhrStream : fetchStream)(url, headers, withCredentials, h, null, conn.opts.stops);
  } catch (err) {
    // A header the browser refuses, say: a request that never went out is
    // a network error, reported on a later task as one would be.
    report(err);
    schedule(function () { h.end(NETWORK); });
  }
}

// handlers are a transport's callbacks for attempt: each one a call into Go.
function handlers(conn, attempt) {
  var id = conn.id;
  return {
    head: function (code, type, url, streams) {
      return !!call(E_HEAD, id, attempt, code, type, url, streams);
    },
    chunk: function (bytes) {
      // In pieces of the engine's input buffer, each copied there once.
      for (var at = 0, n = bytes.length; at < n;) {
        var k = Math.min(n - at, bridge.inCap);
        heap().set(k === n ? bytes : bytes.subarray(at, at + k), bridge.inAt);
        at += k;
        if (!call(E_CHUNK, id, attempt, k)) return false;
      }
      return true;
    },
    text: function (text) {
      // Encoded as UTF-8 straight into the engine's input buffer, a piece
      // at a time; never a character split between two pieces.
      for (var at = 0, n = text.length; at < n;) {
        var r = encodeInto(nativeInto, text, at, heap(), bridge.inAt, bridge.inCap);
        at += r.read;
        if (!call(E_CHUNK, id, attempt, r.written)) return false;
      }
      return true;
    },
    end: function (how) {
      call(E_END, id, attempt, how | 0);
    }
  };
}

function timer(conn, kind, ms) {
  if (conn.timers[kind] !== null) {
    root.clearTimeout(conn.timers[kind]);
    conn.timers[kind] = null;
  }
  if (ms >= 0) {
    conn.timers[kind] = root.setTimeout(function () {
      conn.timers[kind] = null;
      call(E_TIMER, conn.id, kind);
    }, ms);
  }
}

// auth asks the page's onAuthError hook what to do after a 401 or 403:
// true for the retry policy's wait, a number of milliseconds, a promise
// (reconnect when it resolves, fail when it rejects), anything else to fail.
function auth(conn, code) {
  var r;
  try {
    r = conn.opts.retry.onAuthError.call(null, code, conn.sink.target);
  } catch (err) {
    report(err);
    return A_FAIL;
  }
  if (r && isFunction(r.then)) {
    r.then(function (ms) {
      if (!conn.closed) call(E_RESUME, conn.id, typeof ms === 'number' && ms >= 0 ? Math.min(ms, 2147483647) : 0);
    }, function () {
      if (!conn.closed) call(E_FAIL, conn.id);
    });
    return A_WAIT;
  }
  if (r === true) return A_RETRY;
  if (typeof r === 'number' && r >= 0) return Math.min(Math.floor(r), 2147483647);
  return A_FAIL;
}

function broken(err) {
  running = false;
  var all = [];
  for (var id in conns) {
    if (Object.prototype.hasOwnProperty.call(conns, id)) all.push(conns[id]);
  }
  for (var i = 0; i < all.length; i++) {
    release(all[i]);
    all[i].sink.error(false);
  }
  if (onBroken) onBroken(err);
}

function instantiate(W, module, url, imports) {
  // A server that does not say application/wasm makes compileStreaming
  // refuse: the bytes are fetched again (from cache) and compiled whole.
  var compiled = module ? module.then(null, refetch) : refetch();
  function refetch() {
    return fetchBytes(url).then(function (bytes) { return W.compile(bytes); });
  }
  return compiled.then(function (m) { return W.instantiate(m, imports); });
}

function fetchBytes(url) {
  if (isFunction(root.fetch)) {
    return root.fetch(url, { credentials: 'same-origin' }).then(function (res) {
      if (!res.ok) throw new Error(url + ': HTTP ' + res.status);
      return res.arrayBuffer();
    });
  }
  return new root.Promise(function (resolve, reject) {
    var x = new root.XMLHttpRequest();
    x.open('GET', url, true);
    x.responseType = 'arraybuffer';
    x.onload = function () {
      if (x.status === 200) resolve(x.response);
      else reject(new Error(url + ': HTTP ' + x.status));
    };
    x.onerror = function () { reject(new Error(url + ': network error')); };
    x.send();
  });
}

// HTTP transports that stream a response body to an engine. They only move
// bytes: which transport, which URL and headers, what a status means and
// when to stop are the engine's decisions.
//
//   start(url, headers, withCredentials, h) → { abort(), handler(h2) (XHR only) }
//     headers  flat [name, value, …] array
//     h.head(status, contentType, responseURL, streams) → read on?
//         streams is false when the body cannot be read as it arrives
//     h.chunk(Uint8Array) → read on?      (fetch)
//     h.text(string) → read on?            (XHR: what responseText gained)
//     h.end(how)  the body ended, cleanly or with a network error; before
//                 a response, how says what the failure was: NETWORK,
//                 REFUSED (the server answered but CORS refused the
//                 response, or the preflight) or UNKNOWN (XHR cannot tell);
//                 at any time, ABORTED: the page aborted the request
//                 (window.stop()), which the standard fails the connection
//                 for: XHR tells it; fetch rejects as for a network error,
//                 so fetchStream tells it when it has stops (see
//                 pagestop.js); RECYCLED (XHR only): responseText held BUDGET,
//                 the request was aborted and what it held was delivered up
//                 to its last event boundary: reconnect at once from the
//                 last event ID, unseen by the page
//
// After abort, or once a callback has said to stop, nothing more is called.

import { root, isFunction } from './env.js';
import { origin as originOf, documentOrigin } from './url.js';

// The browser's classes are looked up at each use, not once, so that a page
// (or a test) that wraps fetch or XMLHttpRequest later is obeyed.

// The ends, as the WebAssembly engine gets them too: end* in wasm/conn.go,
// which wasm/bridge_test.go holds these to.
export var NETWORK = 0;
export var REFUSED = 1;
export var UNKNOWN = 2;
export var ABORTED = 3;
export var RECYCLED = 4;

// BUDGET is how many characters an XHR's responseText may hold before the
// request is replaced: it only grows for the life of a response, and the
// browser fills it as fast as the network delivers, however slowly the page
// decodes, so the count is of what it holds, not of what was decoded.
export var BUDGET = 4 << 20;

// blankEnd returns the index just after the last blank line that ends at or
// after from in text (a line terminator right after another: LF LF, LF CR,
// CR CR, an LF after the second taken with it), or -1. A CR ending the text
// is passed over: the LF that may follow it is not there yet.
export function blankEnd(text, from) {
  var n = text.length;
  var start = from > 1 ? from - 1 : 0;
  if (text.indexOf('\r', start) < 0) {
    // No CR: a blank line is LF LF, which the browser's own search finds
    // several times faster than the loop below (a progress that ends inside
    // a long event has all its text searched).
    var k = text.substring(start).lastIndexOf('\n\n');
    return k < 0 ? -1 : start + k + 2;
  }
  for (var i = n - 1; i >= from && i >= 1; i--) {
    var c = text.charCodeAt(i);
    if (c !== 10 && c !== 13) continue;
    var b = text.charCodeAt(i - 1);
    if (b === 10 || b === 13 && c === 13) {
      if (c === 13) {
        if (i + 1 === n) continue;
        if (text.charCodeAt(i + 1) === 10) return i + 2;
      }
      return i + 1;
    }
  }
  return -1;
}

// The engines' own request headers: anything else came from the page's
// headers option, and is never sent to where a redirect leads.
var OWN = /^(accept|cache-control|last-event-id)$/i;

// xhrOpen makes an XMLHttpRequest for the stream at url, ready to send.
export function xhrOpen(url, headers, withCredentials) {
  var x = new root.XMLHttpRequest();
  x.open('GET', url, true);
  // After open: IE10-11 throw when it is set before.
  if (withCredentials) x.withCredentials = true;
  for (var i = 0; i + 1 < headers.length; i += 2) x.setRequestHeader(headers[i], headers[i + 1]);
  // The standard decodes the stream as UTF-8 whatever charset it names.
  if (x.overrideMimeType) x.overrideMimeType('text/plain; charset=utf-8');
  return x;
}

// sendEarly sends the request that an engine still loading will make
// first (engines/handover.js), over fetch when viaFetch (fetchText), else
// XHR: { url, headers, fetch, abort(), stopped (the count of stops,
// pagestop.js, when it went out), and xhr, aborted (XHR) or res, ctrl
// (fetch) }, which the engine passes to xhrStream or fetchStream as sent
// when its first request is the same (sameRequest), or aborts. Until then
// the response waits: in the XHR, responseText keeping all of it; in the
// fetch's body, which the browser stops reading once its buffer is full.
export function sendEarly(url, headers, withCredentials, viaFetch, stops) {
  var s = { url: url, headers: headers, fetch: viaFetch, stopped: stops ? stops() : 0 };
  if (viaFetch) {
    var hs = {};
    for (var i = 0; i + 1 < headers.length; i += 2) hs[headers[i]] = headers[i + 1];
    // fetchStream's request (GET, CORS, redirects followed: the defaults);
    // the shim does not carry fetchStream.
    var ctrl = s.ctrl = isFunction(root.AbortController) ? new root.AbortController() : null;
    s.res = root.fetch(url, {
      headers: hs,
      credentials: withCredentials ? 'include' : 'same-origin',
      cache: 'no-store',
      signal: ctrl ? ctrl.signal : undefined
    });
    // Handled: a page that closes the stream before the engine takes the
    // request gets no unhandled rejection in its console.
    s.res.then(null, function () {});
    s.abort = function () {
      if (s.ctrl) s.ctrl.abort();
    };
    return s;
  }
  var x = s.xhr = xhrOpen(url, headers, withCredentials);
  s.aborted = false;
  x.onabort = function () { s.aborted = true; };
  x.send();
  s.abort = function () { x.abort(); };
  return s;
}

// sameRequest reports whether sent is the request for url with headers,
// over fetch when viaFetch.
export function sameRequest(sent, url, headers, viaFetch) {
  if (sent.fetch !== viaFetch || sent.url !== url || sent.headers.length !== headers.length) return false;
  for (var i = 0; i < headers.length; i++) {
    if (sent.headers[i] !== headers[i]) return false;
  }
  return true;
}

// fetchText reports whether the lite engine reads the stream with fetch
// rather than XMLHttpRequest for a connection with options opts: where
// fetch streams and TextDecoder decodes what it reads, unless the page
// asked for XHR or the connection is to be handed over to the WebAssembly
// engine (opts.handsOver: engines/lite/first.js hands over a live XHR).
// XHR's responseText is paced by progress events and only grows; the lite
// engine over fetch keeps up with the browser's own EventSource
// (docs/benchmarks.md).
export function fetchText(opts) {
  return opts.transport !== 'xhr' && !opts.handsOver && streamingFetch() && isFunction(root.TextDecoder);
}

// readSlice is how long, in milliseconds, fetchStream reads and hands over a
// body with no task between (RAIL's long task). A read of a body that has
// data ready resolves on a microtask (Chromium: whenever the network keeps
// its data pipe full, that is whenever the stream is faster than the engine
// decodes it), so reading on from each read's callback would hold the page's
// thread for as long as the stream stays ahead: no timer, input, rendering
// or DevTools evaluation ran for seconds (e2e's BenchmarkBrowserMemory).
export var readSlice = 50;

// now looks the clock up at each call: a lookup at the top of this file
// would stay in the shim and the lite engine, which bundle this file too.
function now() {
  var perf = root.performance;
  return perf && isFunction(perf.now) ? perf.now() : new Date().getTime();
}

// streamingFetch reports whether fetch can hand over a body as it arrives.
export function streamingFetch() {
  return isFunction(root.fetch) && isFunction(root.ReadableStream) &&
    !!root.Response && 'body' in root.Response.prototype;
}

// fetchStream reads the stream with fetch; sent, when given, is the
// request sendEarly made over fetch, the same one (sameRequest). stops,
// when given, counts the page's calls of window.stop() (pagestop.js): a
// request or a read that fails after one was the page's abort.
export function fetchStream(url, headers, withCredentials, h, sent, stops) {
  var done = false;
  var stopped = sent ? sent.stopped : stops ? stops() : 0;
  var reader = null;
  var ctrl = null;
  var hs = {};
  var own = {};
  var secret = false;
  var cors = originOf(url) !== documentOrigin();
  for (var i = 0; i + 1 < headers.length; i += 2) {
    hs[headers[i]] = headers[i + 1];
    if (OWN.test(headers[i])) own[headers[i]] = headers[i + 1]; else secret = true;
    // Any header but Accept makes a cross-origin request preflighted.
    if (!/^accept$/i.test(headers[i])) cors = true;
  }
  var credentials = withCredentials ? 'include' : 'same-origin';

  function init(headers, redirect, mode) {
    ctrl = isFunction(root.AbortController) ? new root.AbortController() : null;
    var o = {
      method: 'GET',
      headers: headers,
      mode: mode,
      credentials: credentials,
      // Never from or into the HTTP cache, as EventSource's own request;
      // the browser adds Cache-Control: no-cache itself, which a header set
      // here could not do without a CORS preflight.
      cache: 'no-store',
      redirect: redirect
    };
    if (ctrl) o.signal = ctrl.signal;
    return o;
  }

  function stop() {
    if (done) return;
    done = true;
    if (ctrl) {
      ctrl.abort();
    } else if (reader) {
      reader.cancel();
    }
  }
  function end(how) {
    if (!done) {
      done = true;
      h.end(how);
    }
  }
  // failed ends on a rejected request or read.
  function failed() {
    end(stops && stops() !== stopped ? ABORTED : NETWORK);
  }
  // since is when the current run of reads with no task between began, or
  // -1 once a task (ran, posted at its start) has run.
  var since = -1;
  function ran() { since = -1; }
  function pump() {
    if (done) return;
    reader.read().then(function (r) {
      if (done) return;
      if (since < 0) {
        since = now();
        root.setTimeout(ran, 0);
      }
      if (r.done) {
        end(NETWORK);
      } else if (!h.chunk(r.value)) {
        stop();
      } else if (now() - since >= readSlice) {
        // The next read on a task of its own, after the tasks waiting
        // (ran first: timers of equal delay run in order).
        root.setTimeout(pump, 0);
      } else {
        pump();
      }
    }, failed);
  }
  // refusedOrDown tells a CORS refusal from a network error: both reject
  // fetch alike, but a no-cors request to the same URL, which CORS cannot
  // refuse, gets an (opaque) response exactly when the server answered.
  // Only a request that CORS could refuse is probed.
  function refusedOrDown() {
    if (done) return;
    if (!cors || stops && stops() !== stopped) {
      failed();
      return;
    }
    root.fetch(url, init({}, 'follow', 'no-cors')).then(function () {
      if (ctrl) ctrl.abort(); // the answer is all the probe wanted
      end(REFUSED);
    }, function () { end(NETWORK); });
  }
  function response(res) {
    if (done) return;
    if (secret && (res.type === 'opaqueredirect' || (res.status > 300 && res.status < 400))) {
      // A redirect, which the page's headers must not follow: a script
      // cannot see where it leads before following it (browsers answer
      // an opaque redirect; Node, the redirect itself), so it is followed
      // with the engine's own headers only.
      root.fetch(url, init(own, 'follow', 'cors')).then(response, refusedOrDown);
      return;
    }
    var body = res.body;
    var streams = !!(body && isFunction(body.getReader));
    if (!h.head(res.status, res.headers.get('Content-Type') || '', res.url || '', streams) || !streams) {
      stop();
      return;
    }
    reader = body.getReader();
    pump();
  }
  if (sent) {
    ctrl = sent.ctrl;
    sent.res.then(response, refusedOrDown);
  } else {
    root.fetch(url, init(hs, secret ? 'manual' : 'follow', 'cors')).then(response, refusedOrDown);
  }
  return { abort: stop };
}

export function xhrStream(url, headers, withCredentials, h, sent) {
  var done = false;
  var ending = false;
  var pageAbort = false;
  var seen = 0;
  var safe = 0; // responseText up to its last blank line
  var announced = false;
  var x = sent ? sent.xhr : xhrOpen(url, headers, withCredentials);

  function stop() {
    if (done) return;
    done = true;
    x.abort();
  }
  // finish tells the end on the next task: when the page aborted the
  // request (window.stop()), the abort event comes after this
  // readystatechange.
  function finish(how) {
    ending = true;
    root.setTimeout(function () {
      if (!done) {
        done = true;
        h.end(pageAbort ? ABORTED : how);
      }
    }, 0);
  }
  function change() {
    if (done || ending) return;
    var rs = x.readyState;
    if (rs < 2) return;
    if (!announced) {
      var status = x.status;
      if (!status) {
        // No response at all: a network error, or a CORS refusal, which
        // XMLHttpRequest does not tell apart.
        if (rs === 4) finish(UNKNOWN);
        return;
      }
      announced = true;
      if (!h.head(status, x.getResponseHeader('Content-Type') || '', x.responseURL || '', true)) {
        stop();
        return;
      }
    }
    if (rs >= 3) {
      var text = x.responseText;
      var n = text.length;
      if (n > seen) {
        var b = blankEnd(text, seen > 0 ? seen : 1);
        if (b > 0) safe = b;
        // Past the budget, with at least half of it in complete events (so
        // that each response moves the stream on, and an event bigger than
        // the budget still arrives whole): the request stops receiving at
        // once, and its complete events are delivered; the server resends
        // the rest after the last event ID.
        if (n >= BUDGET && safe >= BUDGET / 2) {
          done = true;
          x.abort();
          var rest = safe > seen ? text.substring(seen, safe) : '';
          seen = n;
          text = null;
          if (rest === '' || h.text(rest)) h.end(RECYCLED);
          return;
        }
        var part = text.substring(seen);
        seen = n;
        if (!h.text(part)) {
          stop();
          return;
        }
      }
    }
    if (rs === 4 && !done) finish(NETWORK);
  }
  x.onreadystatechange = change;
  x.onprogress = change;
  // Only the page aborts a request that is not done: stop() marks it done
  // first.
  x.onabort = function () {
    pageAbort = true;
    if (!done && !ending) finish(ABORTED);
  };
  if (!sent) {
    x.send();
  } else {
    // What it did before these handlers, told on a later task, as an XHR
    // tells it.
    pageAbort = sent.aborted;
    root.setTimeout(function () {
      if (pageAbort) x.onabort(); else change();
    }, 0);
  }
  // handler(h2) sends every later callback to h2: the lite engine hands a
  // live response over to the WebAssembly engine with it
  // (engines/handover.js), and what this XHR held and delivered, its byte
  // budget included, goes on as it was.
  return {
    abort: stop,
    handler: function (h2) { h = h2; }
  };
}

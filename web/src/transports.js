// HTTP transports that stream a response body to an engine. They only move
// bytes: which transport, which URL and headers, what a status means and
// when to stop are the engine's decisions, but for one: a 502, 503 or 504
// is reported as the network error it stands for (a proxy without its
// upstream, a server that is down or draining), so that every engine
// reconnects with backoff where the standard would fail the connection, as
// polysse's supervisor does for the browser's own EventSource. A server that
// wants its clients to stop answers 204.
//
//   start(url, headers, withCredentials, h) → { abort() }
//     headers  flat [name, value, …] array
//     h.head(status, contentType, responseURL, streams) → read on?
//         streams is false when the body cannot be read as it arrives
//     h.chunk(Uint8Array) → read on?      (fetch)
//     h.text(string) → read on?            (XHR: what responseText gained)
//     h.end()   the body ended, cleanly or with a network error
//
// After abort, or once a callback has said to stop, nothing more is called.

import { root, isFunction } from './env.js';

// The browser's classes are looked up at each use, not once, so that a page
// (or a test) that wraps fetch or XMLHttpRequest later is obeyed.

function gatewayError(status) {
  return status >= 502 && status <= 504;
}

// streamingFetch reports whether fetch can hand over a body as it arrives.
export function streamingFetch() {
  return isFunction(root.fetch) && isFunction(root.ReadableStream) &&
    !!root.Response && 'body' in root.Response.prototype;
}

export function fetchStream(url, headers, withCredentials, h) {
  var done = false;
  var reader = null;
  var ctrl = isFunction(root.AbortController) ? new root.AbortController() : null;
  var hs = {};
  for (var i = 0; i + 1 < headers.length; i += 2) hs[headers[i]] = headers[i + 1];
  var init = {
    method: 'GET',
    headers: hs,
    mode: 'cors',
    credentials: withCredentials ? 'include' : 'same-origin',
    // Never from or into the HTTP cache, as EventSource's own request;
    // the browser adds Cache-Control: no-cache itself, which a header set
    // here could not do without a CORS preflight.
    cache: 'no-store',
    redirect: 'follow'
  };
  if (ctrl) init.signal = ctrl.signal;

  function stop() {
    if (done) return;
    done = true;
    if (ctrl) {
      ctrl.abort();
    } else if (reader) {
      reader.cancel();
    }
  }
  function fail() {
    if (!done) {
      done = true;
      h.end();
    }
  }
  function pump() {
    reader.read().then(function (r) {
      if (done) return;
      if (r.done) {
        done = true;
        h.end();
      } else if (!h.chunk(r.value)) {
        stop();
      } else {
        pump();
      }
    }, fail);
  }
  root.fetch(url, init).then(function (res) {
    if (done) return;
    if (gatewayError(res.status)) {
      stop();
      h.end();
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
  }, fail);
  return { abort: stop };
}

export function xhrStream(url, headers, withCredentials, h) {
  var done = false;
  var seen = 0;
  var announced = false;
  var x = new root.XMLHttpRequest();
  x.open('GET', url, true);
  // After open: IE10-11 throw when it is set before.
  if (withCredentials) x.withCredentials = true;
  for (var i = 0; i + 1 < headers.length; i += 2) x.setRequestHeader(headers[i], headers[i + 1]);
  // The standard decodes the stream as UTF-8 whatever charset it names.
  if (x.overrideMimeType) x.overrideMimeType('text/plain; charset=utf-8');

  function stop() {
    if (done) return;
    done = true;
    x.abort();
  }
  function change() {
    if (done) return;
    var rs = x.readyState;
    if (rs < 2) return;
    if (!announced) {
      var status = x.status;
      if (!status) { // no response at all: a network error
        if (rs === 4) {
          done = true;
          h.end();
        }
        return;
      }
      announced = true;
      if (gatewayError(status)) {
        done = true;
        x.abort();
        h.end();
        return;
      }
      if (!h.head(status, x.getResponseHeader('Content-Type') || '', x.responseURL || '', true)) {
        stop();
        return;
      }
    }
    if (rs >= 3) {
      var text = x.responseText;
      if (text.length > seen) {
        var part = text.substring(seen);
        seen = text.length;
        if (!h.text(part)) {
          stop();
          return;
        }
      }
    }
    if (rs === 4 && !done) {
      done = true;
      h.end();
    }
  }
  x.onreadystatechange = change;
  x.onprogress = change;
  x.send();
  return { abort: stop };
}

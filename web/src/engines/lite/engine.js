// The lite engine: EventSource for browsers without WebAssembly (IE10-11),
// in ES5, over XMLHttpRequest streaming (what responseText gained at each
// progress). It follows the WebAssembly engine (wasm/conn.go): the same
// connection states, the standard's reconnection with the last event ID and
// the retry field, the same retry policy and 401/403 hook, the inactivity
// watchdog, and the byte budget. On top of it:
//
//   - The request headers of the standard: Last-Event-ID on a
//     reconnection, Cache-Control: no-cache to the page's own origin (a
//     header XHR has no other way to ask for). Either costs a CORS preflight
//     cross-origin (after a redirect, for Cache-Control): an attempt that
//     carried one and got no response is made again at once without them,
//     the last event ID then in the query (lastEventId), and so on for the
//     rest of the connection. lastEventIdQueryParameterName puts the id in
//     the query from the start.
//   - The byte budget: responseText only grows for the life of a response,
//     so once it holds BUDGET characters (see xhrStream in transports.js,
//     which delivers what it holds up to an event boundary and ends with
//     RECYCLED), the XHR is replaced by a fresh one that resumes from the
//     last event ID, unseen by the page.
//     polysse enforces the budget on the client: the hub need not know which
//     clients read with XHR.
//   - Fallback: a response that delivers no byte within fallbackTimeout
//     (the hub sends retry: and id: at once, so only a buffering proxy
//     explains it) is replaced by the next transport: streaming, then padded
//     streaming (padding=true: a 2 KB comment first), then long-poll
//     (transport=poll). The step is remembered for the page, by origin.
//   - In long-poll mode each response ends and the next request follows
//     at once (the hub ends each with retry: 10), unseen by the page.
//   - Hand-over: where the WebAssembly engine runs, this engine serves a
//     page's connections while that one boots (engines/handover.js), and
//     hands each over once asked (handle.handover(take)): at the next event
//     boundary of the response in flight, with the live XHR and the text
//     after the boundary, or before its next request, which the other
//     engine then makes. take(state) gets what the connection knows and
//     answers whether to read on; from then on this engine does nothing
//     for the connection. An attempt that got no response, which XHR
//     cannot tell a network error from a CORS refusal by, goes to
//     opts.undecided(state) the same way, without an error event: the
//     WebAssembly engine's fetch tells them apart, as the standard
//     requires (a refusal fails the connection, an error reconnects).
//     opts.from, a state given so, starts a connection from it.

import { root, report, isFunction } from '../../env.js';
import { setQuery, origin as originOf } from '../../url.js';
import { headerList, backoff } from '../../options.js';
import { xhrStream, fetchStream, fetchText, sameRequest, NETWORK, REFUSED, UNKNOWN, ABORTED, RECYCLED } from '../../transports.js';
import { parser } from './parser.js';
import { lines } from './bytes.js';
import { finder } from './find.js';

/* global __POLYSSE_FETCH__ */
// What only reading with fetch needs. The build makes this file twice
// (tools/assets.mjs): as eventsource-lite.<hash>.js, and without these as
// eventsource-lite.xhr.<hash>.js, which the shim loads where the browser
// cannot stream fetch into TextDecoder (IE, EdgeHTML: loaders/lite.js), so
// that those browsers never read with fetch and never download its reader.
var withFetch = typeof __POLYSSE_FETCH__ !== 'boolean' || __POLYSSE_FETCH__ ? { stream: fetchStream, lines: lines, finder: finder } : null;

var PADDED = 1;
var POLL = 2;

var EVENT_STREAM = /^[ \t]*text\/event-stream[ \t]*(;|$)/i;

// utf8Bytes returns s as a string of its UTF-8 bytes, one character each:
// the form in which XMLHttpRequest sends a header value byte for byte, as
// native EventSource sends Last-Event-ID.
function utf8Bytes(s) {
  return unescape(encodeURIComponent(s));
}

function clear(t) {
  if (t) root.clearTimeout(t);
  return null;
}

function later(f, ms) {
  return root.setTimeout(f, ms);
}

export function connect(modes, url, opts, sink) {
  var o = originOf(url);
  var r = opts.retry;
  var dead = false;
  var tr = null; // the XHR in flight
  var attempt = 0;
  var timer = null; // waiting to reconnect
  var guard = null; // the fallback bound
  var dog = null; // the inactivity watchdog
  // The standard EventSource makes no fallback, nor follows one.
  var mode = opts.transport === 'poll' ? POLL : opts.standard ? 0 : modes[o] || 0;
  var shown = false; // the page saw open since its last error event
  var quiet = false; // the next response continues the page's stream
  var failures = 0;
  var retryMs = r.initial;
  var plain = false; // no request header of ours but Accept, after a refusal
  var extra = false; // the attempt in flight carries one
  var head = false; // the attempt in flight got a response
  var got = false; // … and body text
  var batch = [];
  var want = null; // the hand-over asked for: take(state) at the next boundary
  var busy = false; // inside a transport callback
  var p = parser(function (type, data, id) {
    batch.push(type, data, id);
  }, function (ms) {
    retryMs = ms;
  });
  var bytes = null; // the lines of a response read with fetch (bytes.js)
  var from = opts.from;
  if (from) {
    p.lastId = from.lastId;
    retryMs = from.retry;
    failures = from.failures;
    plain = from.plain;
    shown = quiet = from.open;
  }

  function stop() {
    attempt++;
    guard = clear(guard);
    dog = clear(dog);
    var t = tr;
    tr = null;
    if (t) t.abort();
  }

  function start() {
    timer = null;
    // The request the shim sent before this file had loaded
    // (engines/handover.js), when it is this first one; aborted on any
    // other way out.
    var sent = opts.sent;
    if (sent) opts.sent = null;
    if (sent && (dead || want)) sent.abort();
    if (dead) return;
    if (want) {
      // Between two attempts: the other engine makes the next one.
      give(null, '');
      return;
    }
    stop();
    var n = attempt;
    head = got = false;
    p.reset();
    var viaFetch = withFetch !== null && fetchText(opts);
    if (viaFetch && !bytes) bytes = withFetch.lines(p, new root.TextDecoder('utf-8', { ignoreBOM: true }), true, withFetch.finder);
    if (bytes) bytes.reset();
    var u = url;
    if (mode === PADDED) u = setQuery(u, 'padding', 'true');
    if (mode === POLL) u = setQuery(u, 'transport', 'poll');
    var hs = [];
    var add = function (name, value) {
      for (var i = 0; i < hs.length; i += 2) {
        if (hs[i].toLowerCase() === name.toLowerCase()) {
          hs[i + 1] = value;
          return;
        }
      }
      hs.push(name, value);
    };
    add('Accept', 'text/event-stream');
    extra = false;
    // fetch asks the HTTP cache to keep out itself (transports.js).
    if (opts.local && !plain && !viaFetch) {
      add('Cache-Control', 'no-cache');
      extra = true;
    }
    var uh = headerList(opts);
    if (dead) { // the page's headers function closed it
      if (sent) sent.abort();
      return;
    }
    for (var i = 0; i + 1 < uh.length; i += 2) add(uh[i], uh[i + 1]);
    if (p.lastId) {
      var param = opts.lastEventIdQueryParameterName;
      // The hub's own transports (padded, poll) read it in the query.
      if (!param && !plain && !mode) {
        add('Last-Event-ID', utf8Bytes(p.lastId));
        extra = true;
      } else {
        u = setQuery(u, param || 'lastEventId', p.lastId);
      }
    }
    if (opts.fallback && mode < POLL) guard = later(escalate, opts.fallbackTimeout);
    watchdog();
    var h = {
      head: function (status, type, rurl, streams) {
        if (n !== attempt) return false;
        busy = true;
        var on;
        try {
          on = response(status, type, rurl);
        } finally {
          busy = false;
        }
        if (on && streams === false) {
          // An event stream whose body fetch cannot read as it arrives
          // (fetchText checks that it can: only a browser that says
          // otherwise): a network error.
          later(function () { h.end(NETWORK); }, 0);
          return false;
        }
        return on;
      },
      text: function (s) {
        if (n !== attempt) return false;
        busy = true;
        try {
          return body(s, null);
        } finally {
          busy = false;
        }
      },
      // fetch's bytes (bytes.js finds the lines).
      chunk: function (b) {
        if (n !== attempt) return false;
        busy = true;
        try {
          return body(null, b);
        } finally {
          busy = false;
        }
      },
      end: function (how) {
        if (n === attempt) end(how);
      }
    };
    if (sent && !sameRequest(sent, u, hs, viaFetch)) {
      sent.abort();
      sent = null;
    }
    try {
      tr = (viaFetch ? withFetch.stream : xhrStream)(u, hs, opts.withCredentials, h, sent, opts.stops);
    } catch (err) {
      // A header the browser refuses, say: a request that never went out
      // is a network error, reported on a later task as one would be.
      report(err);
      later(function () { h.end(NETWORK); }, 0);
    }
  }

  function watchdog() {
    dog = clear(dog);
    if (opts.heartbeatTimeout > 0) {
      dog = later(function () {
        // Nothing came in for the whole period, not even a comment: the
        // connection is presumed dead and replaced as a dropped one.
        dog = null;
        stop();
        ended();
      }, opts.heartbeatTimeout);
    }
  }

  function response(status, type, rurl) {
    head = true;
    watchdog();
    if (opts.gatewayErrors && status >= 502 && status <= 504) {
      // EventSourcePolyfill's leniency: the network error it stands for.
      stop();
      ended();
      return false;
    }
    if (status === 200 && EVENT_STREAM.test(type)) {
      if (quiet) {
        quiet = false;
      } else {
        shown = true;
        sink.open(rurl);
      }
      // Nothing of the body read yet: a boundary.
      if (want && !dead) return give(tr, '');
      return !dead;
    }
    stop();
    if ((status === 401 || status === 403) && r.onAuthError) {
      auth(status);
    } else {
      // 204 asks the client to stop; any other status or type is a
      // failure the standard does not retry.
      fail();
    }
    return false;
  }

  // body reads what the response gained: text s over XHR, bytes u over
  // fetch (never handed over: first.js reads with XHR a connection it may
  // hand over).
  function body(s, u) {
    got = true;
    guard = clear(guard);
    watchdog();
    var at = -1;
    if (u) {
      bytes.feed(u);
    } else {
      // Asked to hand over: the parser stops at the first event boundary,
      // and the rest of s is the other engine's.
      at = want ? p.feed(s, true) : p.feed(s);
    }
    if (batch.length) {
      var b = batch;
      batch = [];
      var n = attempt;
      sink.messages(b);
      if (dead || n !== attempt) return false;
    }
    if (want && !u) {
      // A listener may have asked for it after the parser finished.
      if (at >= 0) return give(tr, s.substring(at));
      if (p.clean()) return give(tr, '');
    }
    return true;
  }

  // give hands the connection over (see handover below): tr is the XHR in
  // flight at an event boundary, rest its text after the boundary; without
  // tr, the other engine makes the next attempt. Returns whether to read on.
  function give(t, rest) {
    var take = want;
    want = null;
    dead = true;
    attempt++;
    tr = null;
    timer = clear(timer);
    guard = clear(guard);
    dog = clear(dog);
    return take({
      lastId: p.lastId,
      retry: retryMs,
      failures: failures,
      plain: plain,
      open: quiet, // between attempts, the page's stream open
      tr: t,
      rest: rest
    });
  }

  function end(how) {
    tr = null;
    guard = clear(guard);
    dog = clear(dog);
    if (dead) return;
    if (how === RECYCLED && shown) {
      // responseText held the budget: a fresh XHR resumes from the last
      // event ID (a partial event the parser held is resent by the server)
      // and the page sees no break.
      failures = 0;
      quiet = true;
      start();
      return;
    }
    if (how === ABORTED) {
      // The page aborted the request (window.stop()): the standard fails
      // the connection.
      fail();
      return;
    }
    if (!head && how === UNKNOWN && opts.undecided) {
      want = opts.undecided;
      give(null, '');
      return;
    }
    if (!head && extra && how !== NETWORK) {
      // No response, with a header of ours that costs a preflight the
      // server may refuse (XHR cannot say whether it did): at once again,
      // and from now on, without them.
      plain = true;
      start();
      return;
    }
    if (!head && how === REFUSED) {
      // CORS refused the response: the standard fails the connection.
      fail();
      return;
    }
    if (mode === POLL && got && shown && !quiet) {
      // A long-poll response is complete: the next one, as the hub asked.
      failures = 0;
      quiet = true;
      timer = later(start, retryMs);
      return;
    }
    ended();
  }

  // ended counts the attempt just over and schedules the next, as the
  // standard's "reestablish the connection" does.
  function ended() {
    if (shown && got) {
      failures = 0;
    } else {
      failures++;
    }
    var base = mode === POLL && retryMs < r.initial ? r.initial : retryMs;
    reestablish(backoff(r, base, failures, Math.random()));
  }

  function reestablish(ms) {
    if (opts.maxAttempts && failures > opts.maxAttempts) {
      fail();
      return;
    }
    shown = quiet = false;
    sink.error(true);
    if (!dead) timer = later(start, ms);
  }

  function fail() {
    dead = true;
    stop();
    timer = clear(timer);
    sink.error(false);
  }

  // escalate moves to the next transport when the response in flight has
  // delivered nothing within the bound.
  function escalate() {
    guard = null;
    if (dead || got) return;
    mode++;
    if (!(modes[o] >= mode)) modes[o] = mode;
    quiet = shown;
    start();
  }

  // auth asks the page's onAuthError hook what to do after a 401 or 403:
  // true for the retry policy's wait, a number of milliseconds, a promise
  // (reconnect when it resolves, fail when it rejects), anything else to
  // fail.
  function auth(code) {
    failures++;
    var v;
    try {
      v = r.onAuthError.call(null, code, sink.target);
    } catch (err) {
      report(err);
    }
    if (dead) return;
    if (v && isFunction(v.then)) {
      shown = quiet = false;
      sink.error(true);
      v.then(function (ms) {
        if (!dead) timer = later(start, typeof ms === 'number' && ms >= 0 ? ms : 0);
      }, function () {
        if (!dead) fail();
      });
    } else if (v === true) {
      reestablish(backoff(r, retryMs, failures, Math.random()));
    } else if (typeof v === 'number' && v >= 0) {
      reestablish(v);
    } else {
      fail();
    }
  }

  start();
  return {
    close: function () {
      dead = true;
      want = null;
      timer = clear(timer);
      stop();
    },
    // handover asks for the hand-over: at once when the response in flight
    // is open with nothing of an event held, else at its next event
    // boundary or before the next attempt.
    handover: function (take) {
      if (dead) return;
      want = take;
      if (tr && head && !busy && p.clean()) give(tr, '');
    }
  };
}

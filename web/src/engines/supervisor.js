// The supervisor: what polysse adds around an engine that runs a whole
// connection by itself (the browser's EventSource, the WebAssembly engine).
//
//   - A connection the inner engine gave up on (readyState CLOSED without
//     close() having been called: Firefox does it for errors Chrome retries,
//     every browser after a 5xx or a proxy's 502) is re-established with the
//     retry policy's backoff and jitter, up to maxAttempts, keeping the
//     listeners, the on… handlers and the last event ID, which goes in the
//     query (lastEventIdQueryParameterName, default lastEventId) since a new
//     native EventSource cannot send the header. A native EventSource that
//     went CLOSED without an error event is noticed within a second.
//     Only for the native engine: the WebAssembly engine's failures are the
//     standard's (204, a wrong type), which it already tells from errors.
//   - A stream that a buffering proxy holds back falls back to long-poll
//     (transport=poll), remembered for the page by origin. The native engine
//     shows no bytes, so it asks the hub for a probe (_probe=1: an event of
//     type polysse-probe right after the stream's first frames) and falls
//     back when neither the probe nor any event came within fallbackTimeout
//     of the request or of open. The WebAssembly engine falls back when the
//     response has not even started within the bound.
//   - In long-poll mode each response ends and the inner engine reconnects,
//     which it reports as an error and an open: the supervisor keeps those
//     from the page, so that the page sees one open stream.

import { root } from '../env.js';
import { setQuery, origin as originOf } from '../url.js';
import { backoff } from '../options.js';

var PROBE = 'polysse-probe';

// modes is the page's memory of fallbacks, by origin: 1 for padded
// streaming (the lite engine's middle step), 2 for long-poll.
export var modes = {};
var POLL = 2;

export function supervise(inner, name, native) {
  return {
    name: name,
    available: inner.available,
    connect: function (url, opts, sink) {
      var o = originOf(url);
      var dead = false;
      var conn = null; // the inner connection
      var cur = null; // the sink it reports to
      var gen = 0;
      var timer = null; // waiting to restart
      var guard = null; // the fallback bound
      var check = null; // the silent-close check
      var lastId = '';
      var failures = 0;
      var shown = false; // the page saw open since its last error event
      var quiet = false; // the next open continues the page's stream
      var poll = false;
      var probing = false;
      var types = [];

      function clear(t) {
        if (t) root.clearTimeout(t);
        return null;
      }
      function arm() {
        guard = clear(guard);
        if (!poll && opts.fallback) guard = root.setTimeout(fallback, opts.fallbackTimeout);
      }
      function stop() {
        gen++;
        guard = clear(guard);
        if (check) root.clearInterval(check);
        check = null;
        var c = conn;
        conn = cur = null;
        if (c) c.close();
      }

      function start() {
        timer = null;
        if (dead) return;
        poll = opts.transport === 'poll' || modes[o] === POLL;
        probing = native && !poll && opts.fallback;
        var u = url;
        if (lastId) u = setQuery(u, opts.lastEventIdQueryParameterName || 'lastEventId', lastId);
        if (poll) u = setQuery(u, 'transport', 'poll');
        if (probing) u = setQuery(u, '_probe', '1');
        arm();
        cur = relay(++gen);
        conn = inner.connect(u, opts, cur);
        if (conn.watch) {
          for (var i = 0; i < types.length; i++) conn.watch(types[i]);
          if (probing) conn.watch(PROBE);
        }
        if (conn.readyState) {
          check = root.setInterval(function () {
            if (conn && conn.readyState() === 2) cur.error(false);
          }, 1000);
        }
      }

      function fallback() {
        guard = null;
        if (dead || !conn) return;
        modes[o] = POLL;
        stop();
        quiet = shown;
        start();
      }

      // seen notes an event's id and reports whether the page gets it. A
      // probe is not the page's; its id is the stream's cursor when the hub
      // sends the probe after it, and no news when before.
      function seen(type, id) {
        guard = clear(guard);
        if (type !== PROBE) {
          lastId = id;
          return true;
        }
        if (id) lastId = id;
        return false;
      }

      function relay(g) {
        function live() {
          return g === gen && !dead;
        }
        return {
          target: sink.target,
          // A connection queued while its engine loaded starts now: the
          // bound counts from here.
          started: function () {
            if (live()) arm();
          },
          open: function (u) {
            if (!live()) return;
            failures = 0;
            if (probing) arm(); else guard = clear(guard);
            if (quiet) {
              quiet = false;
              return;
            }
            shown = true;
            sink.open(u);
          },
          message: function (type, data, id, origin) {
            if (live() && seen(type, id)) sink.message(type, data, id, origin);
          },
          messages: function (f) {
            for (var i = 0; i + 2 < f.length; i += 3) this.message(f[i], f[i + 1], f[i + 2]);
          },
          error: function (reconnecting) {
            if (!live()) return;
            guard = clear(guard);
            if (reconnecting && poll && shown && !quiet) {
              quiet = true; // a long-poll response ended: the next one follows
              return;
            }
            quiet = shown = false;
            if (reconnecting) {
              sink.error(true);
              return;
            }
            stop();
            var max = opts.maxAttempts;
            if (native && !(max && failures >= max)) {
              failures++;
              sink.error(true);
              if (!dead) timer = root.setTimeout(start, backoff(opts.retry, opts.retry.initial, failures, Math.random()));
              return;
            }
            dead = true;
            sink.error(false);
          }
        };
      }

      start();
      return {
        close: function () {
          dead = true;
          timer = clear(timer);
          stop();
        },
        watch: function (type) {
          types.push(type);
          if (conn && conn.watch) conn.watch(type);
        }
      };
    }
  };
}

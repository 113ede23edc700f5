// The page's calls of window.stop(), counted for the fetch transport and
// the engines' loads.
//
// window.stop() aborts every fetch the page has in flight, and fetch
// rejects such a request, and the read of its body, as it rejects one that
// met a network error (a TypeError in Chromium). The standard tells the two
// apart: it fails a connection whose request was aborted, and reconnects
// after a network error. XHR tells an abort by its abort event
// (transports.js, xhrStream); fetchStream compares this count when its
// request fails with the count when the request went out. An engine's
// file whose load the page stopped is not a broken engine either
// (loaders/lazy.js).
//
// The count is kept by a wrapper around window.stop that calls the
// browser's with the same this and arguments. It is put in place at the
// first stops() call, that is at the first request a connection sends with
// fetch or the first load of an engine: a page that needs neither keeps
// its own window.stop, and a call before then cannot have aborted either.
// A page that then replaces window.stop with a function of its own that
// does not call ours is not counted: its aborts are then taken for network
// errors.
//
// onStop is for loads that may never end once stopped: Firefox fires
// neither load nor error for a script element whose request window.stop()
// cancelled before it went out (seen under load in e2e's
// request-cancellation cases), so script.js ends such a load itself.

import { root, isFunction } from './env.js';

var count = 0;
var installed = false;
var listeners = []; // onStop's, all called at the next stop

// stops returns how many times the page has called window.stop() since
// the first call of stops.
export function stops() {
  if (!installed) {
    installed = true;
    var browsers = root.stop;
    if (isFunction(browsers)) {
      try {
        root.stop = function stop() {
          count++;
          var r = browsers.apply(this, arguments);
          var l = listeners;
          listeners = [];
          for (var i = 0; i < l.length; i++) l[i]();
          return r;
        };
      } catch (err) { /* not writable: not counted */ }
    }
  }
  return count;
}

// onStop calls f once, right after the browser's window.stop() at the
// page's next call.
export function onStop(f) {
  stops();
  listeners.push(f);
}

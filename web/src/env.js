// The global object and the browser features the polyfill looks for, read
// once when the script runs. ES5 only: this file is part of what IE loads.

/* global self, window, globalThis */
export var root =
  typeof window !== 'undefined' ? window :
  typeof self !== 'undefined' ? self :
  typeof globalThis !== 'undefined' ? globalThis : {};

export var doc = root.document;

// The browser's own EventSource, captured before this script installs the
// polyfill under the same name.
export var NativeEventSource = root.EventSource;

export function isFunction(f) {
  return typeof f === 'function';
}

// schedule runs f on a later task, as the standard does for the events a
// connection fires, so that listeners added right after the constructor see
// them.
export function schedule(f) {
  root.setTimeout(f, 0);
}

// report hands an exception thrown by a page's listener or hook to the
// page's error handling (window.onerror, the console) without interrupting
// the caller, as the browser does for its own listeners.
export function report(err) {
  if (isFunction(root.reportError)) {
    try {
      root.reportError(err);
      return;
    } catch (e) { /* fall through */ }
  }
  // Without reportError (EdgeHTML, IE), the exception is thrown by a
  // listener that the browser's own dispatch calls: the browser reports it
  // at once (window.onerror, the console), as it does a native listener's,
  // and the dispatch returns normally, so the next listener still runs
  // after it, as natively.
  var doc = root.document;
  if (doc && isFunction(doc.createEvent)) {
    try {
      var el = doc.createElement('span');
      var ev = doc.createEvent('Event');
      ev.initEvent('polysse-report', false, false);
      el.addEventListener('polysse-report', function () { throw err; }, false);
      el.dispatchEvent(ev);
      return;
    } catch (e) { /* a dispatch that lets it through: fall through */ }
  }
  root.setTimeout(function () { throw err; }, 0);
}

export function warn(msg) {
  var c = root.console;
  if (c && c.warn) c.warn('polysse: ' + msg);
}

export var defineProperty = Object.defineProperty;

// hidden defines a non-enumerable data property, so that the polyfill's
// state does not show in for-in loops or JSON.
export function hidden(obj, name, value) {
  defineProperty(obj, name, { value: value, writable: true, configurable: true });
}

// Entry point of eventsource-lite.<hash>.js: hands the lite engine to the
// shim that loaded this file (see ../../registry.js), with the page's
// fallbacks that the shim keeps, and the engine's events to the shim's
// listener lists. ES5, one IIFE: IE loads it.

/* global self */
import { connect } from './engine.js';
import { first } from './first.js';
// Building and dispatching a MessageEvent the usual way was 60% of the lite
// engine's time on small events in Chromium (docs/benchmarks.md). install
// takes effect only where a script can subclass MessageEvent
// (Reflect.construct): never in IE.
import { install } from '../../fastevents.js';

var shim = self.EventSourcePolyfill.__shim;
install(shim.events);
shim.register('lite', {
  connect: function (url, opts, sink) {
    return connect(shim.modes, url, opts, sink);
  },
  // A connection the page made before this file had loaded (first.js).
  first: function (wasm, url, opts, sink, c) {
    return first(shim.modes, wasm, url, opts, sink, c);
  }
});

// Entry point of eventsource-lite.<hash>.js: hands the lite engine to the
// shim that loaded this file. ES5, one IIFE: IE loads it.

/* global self */
import { connect } from './engine.js';
// The WebAssembly engine's MessageEvents and dispatch (see its comment):
// building and dispatching a MessageEvent the usual way was 60% of the lite
// engine's time on small events in Chromium. It installs only where a
// script can subclass MessageEvent (Reflect.construct): never in IE.
import { install } from '../../wasm/events.js';

self.EventSourcePolyfill.__lite(function (modes) {
  return {
    connect: function (url, opts, sink) {
      install(sink.target);
      return connect(modes, url, opts, sink);
    }
  };
});

// Entry point of eventsource-lite.<hash>.js: hands the lite engine to the
// shim that loaded this file. ES5, one IIFE: IE loads it.

/* global self */
import { connect } from './engine.js';

self.EventSourcePolyfill.__lite(function (modes) {
  return {
    connect: function (url, opts, sink) {
      return connect(modes, url, opts, sink);
    }
  };
});

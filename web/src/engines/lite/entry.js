// Entry point of eventsource-lite.<hash>.js: hands the lite engine to the
// shim that loaded this file (see ../../registry.js), with the page's
// fallbacks that the shim keeps. ES5, one IIFE: IE loads it.

/* global self */
import { connect } from './engine.js';

var shim = self.EventSourcePolyfill.__shim;
shim.register('lite', {
  connect: function (url, opts, sink) {
    return connect(shim.modes, url, opts, sink);
  }
});

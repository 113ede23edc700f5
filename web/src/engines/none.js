// The engine for browsers that no other engine can serve: it fails every
// connection as a browser fails one it cannot make (an error event,
// readyState CLOSED). The ES5 engine for IE10-11 replaces it.

import { schedule, warn } from '../env.js';

var warned = false;

export var noneEngine = {
  connect: function (url, opts, sink) {
    var closed = false;
    schedule(function () {
      if (!warned) {
        warned = true;
        warn('no EventSource engine for this browser (no WebAssembly); connections fail');
      }
      if (!closed) sink.error(false);
    });
    return { close: function () { closed = true; } };
  }
};

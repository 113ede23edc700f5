// The engine that hands the connection to the browser's own EventSource and
// relays what it reports, for pages that create an EventSourcePolyfill in a
// browser that has EventSource. Native event objects cannot be dispatched a
// second time, so each is copied.

import { NativeEventSource } from '../env.js';

export var nativeEngine = {
  available: !!NativeEventSource,
  connect: function (url, opts, sink) {
    var es = new NativeEventSource(url, { withCredentials: opts.withCredentials });
    var closed = false;
    es.onopen = function () {
      if (!closed) sink.open('');
    };
    es.onerror = function () {
      if (!closed) sink.error(es.readyState !== 2);
    };
    return {
      close: function () {
        closed = true;
        es.close();
      },
      watch: function (type) {
        if (type === 'open' || type === 'error') return;
        es.addEventListener(type, function (e) {
          if (!closed) sink.message(e.type, e.data, e.lastEventId, e.origin);
        });
      }
    };
  }
};

// The engine that hands the connection to the browser's own EventSource and
// relays what it reports, for pages that create an EventSourcePolyfill in a
// browser that has EventSource. Native event objects cannot be dispatched a
// second time, so each is copied. On its own (the supervise: false option)
// it is the browser's behaviour exactly; supervisor.js wraps it by default.

import { NativeEventSource } from '../env.js';

export var nativeEngine = {
  name: 'native',
  available: !!NativeEventSource,
  connect: function (url, opts, sink) {
    var es = new NativeEventSource(url, { withCredentials: opts.withCredentials });
    var closed = false;
    es.onopen = function () {
      if (!closed) sink.open('');
    };
    es.onerror = function () {
      if (closed) return;
      var reconnecting = es.readyState !== 2;
      if (!reconnecting) closed = true;
      sink.error(reconnecting);
    };
    return {
      close: function () {
        closed = true;
        es.close();
      },
      // readyState lets the supervisor notice a stream that went CLOSED
      // without an error event.
      readyState: function () {
        return es.readyState;
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

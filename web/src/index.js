// polysse's EventSource polyfill: the entry point of web/dist/eventsource.js.
//
// It defines window.EventSourcePolyfill always, and window.EventSource when
// the browser has none, then picks an engine for each new EventSource:
//   - the browser's own EventSource, when it has one and the options ask
//     for nothing it cannot do (request headers, the last event ID in the
//     query, a transport);
//   - the WebAssembly engine, when the browser has WebAssembly;
//   - otherwise none yet: the connection fails with a console warning.
// The engine option ('auto', 'native', 'wasm', 'lite') forces a choice.

import { root, NativeEventSource } from './env.js';
import { EventSourcePolyfill, setEngineSelector } from './eventsource.js';
import { nativeEngine } from './engines/native.js';
import { wasmEngine } from './engines/wasm.js';
import { noneEngine } from './engines/none.js';

function needsPolyfill(opts) {
  return !!opts.headers || !!opts.lastEventIdQueryParameterName || opts.transport !== 'auto';
}

setEngineSelector(function (opts) {
  var want = opts.engine;
  if (nativeEngine.available && (want === 'native' || (want === 'auto' && !needsPolyfill(opts)))) {
    return nativeEngine;
  }
  if (wasmEngine.available && (want === 'wasm' || want === 'auto' || want === 'native')) {
    return wasmEngine;
  }
  return noneEngine;
});

root.EventSourcePolyfill = EventSourcePolyfill;
if (!NativeEventSource) root.EventSource = EventSourcePolyfill;

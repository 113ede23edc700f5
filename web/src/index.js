// polysse's EventSource polyfill: the entry point of web/dist/eventsource.js.
//
// It defines window.EventSourcePolyfill always, and window.EventSource when
// the browser has none (the standard's EventSource, exactly: no options, no
// leniencies; EventSourcePolyfill has both), then picks an engine for each
// new EventSource:
//   - the browser's own EventSource, supervised (engines/supervisor.js),
//     when it has one and the options ask for nothing it cannot do (request
//     headers, a fetch or XHR transport); unsupervised with supervise: false;
//   - the ES5 lite engine (engines/lite/, loaded by loaders/lite.js from
//     this script's folder) reading with fetch, where the browser streams
//     fetch and has TextDecoder (transports.js, fetchText): it keeps up
//     with the browser's own EventSource, and starts as soon as its small
//     file has loaded, so nothing else is downloaded; the stream's request
//     goes out in the constructor (engines/handover.js);
//   - the WebAssembly engine (engines/wasm/ and Go's wasm/, loaded by
//     loaders/wasm.js), where the browser has WebAssembly but the lite
//     engine would read with XHR (EdgeHTML: no TextDecoder), with the
//     supervisor's long-poll fallback; until it has booted, the lite engine
//     serves the connection and then hands it over on the same response
//     (engines/handover.js);
//   - the lite engine over XMLHttpRequest where there is no WebAssembly:
//     IE10-11 (for the standard EventSource, with the stream's request
//     sent in the constructor, engines/handover.js);
//   - otherwise none: the connection fails with a console warning.
// The engine option ('auto', 'native', 'wasm', 'lite') forces a choice
// among those the browser can run ('wasm': without the lite engine first).
//
// A page without a native EventSource will need an engine: the script
// starts loading the lite engine as it runs, so that the first connection
// waits less. The WebAssembly engine (where the browser runs it) loads once
// a connection that is still open has had its first event. A browser with
// a native EventSource downloads nothing more.

import { root, NativeEventSource } from './env.js';
import { EventSourcePolyfill, EventSource, setEngineSelector } from './eventsource.js';
import { nativeEngine } from './engines/native.js';
import { wasmEngine } from './loaders/wasm.js';
import { liteEngine } from './loaders/lite.js';
import { supervise } from './engines/supervisor.js';
import { noneEngine } from './engines/none.js';
import { liteFirst } from './engines/handover.js';
import { setEngineBase, preloadable } from './script.js';
import { fetchText } from './transports.js';

var supervised = supervise(nativeEngine, 'supervised', true);
var first = liteFirst(wasmEngine, liteEngine);
var wasm = supervise(first, 'wasm', false);
// The lite engine alone, its first request sent in the constructor.
var lone = liteFirst({ available: false, impl: function () { return null; } }, liteEngine);

function needsPolyfill(opts) {
  return !!opts.headers || opts.transport === 'fetch' || opts.transport === 'xhr';
}

setEngineSelector(function (opts) {
  setEngineBase(opts.engineBase);
  var want = opts.engine;
  if (nativeEngine.available && (want === 'native' || (want === 'auto' && !needsPolyfill(opts)))) {
    return opts.supervise || opts.transport === 'poll' ? supervised : nativeEngine;
  }
  if (liteEngine.available && want !== 'wasm') {
    var viaFetch = fetchText(opts);
    if (want === 'lite' || !wasmEngine.available || viaFetch) {
      // Not for the page's own headers, which the request sent in the
      // constructor cannot carry.
      return opts.standard || (viaFetch && !opts.headers) ? lone : liteEngine;
    }
  }
  if (wasmEngine.available) return opts.standard ? first : wasm;
  return noneEngine;
});

root.EventSourcePolyfill = EventSourcePolyfill;
// The standard constructor, where the browser has none: the WHATWG
// behaviour, no options, no leniencies (see eventsource.js).
if (!NativeEventSource) root.EventSource = EventSource;

// The preload. Only from the script's own folder (or data-engine-base): a
// bundle that names the folder in the engineBase option loads the engines
// at its first connection. The WebAssembly engine is not preloaded: it
// loads once a connection needs it (engines/handover.js, park).
if (!NativeEventSource && preloadable && liteEngine.available) liteEngine.load();

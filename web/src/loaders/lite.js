// The ES5 lite engine, as the shim sees it: a loader and a queue (lazy.js).
// The engine itself (src/engines/lite/: XHR streaming, the event-stream parser,
// reconnection, the fallback to padded streaming and long-poll) is the file
// eventsource-lite.<hash>.js in this script's folder, fetched on the first
// connection that needs it, once per page, and only by browsers with
// XMLHttpRequest but no WebAssembly (IE10-11).

import { root } from '../env.js';
import { engineBase, loadScript } from '../script.js';
import { expect, expecting } from '../registry.js';
import { lazy } from './lazy.js';

/* global __POLYSSE_LITE__ */
// The file name, with its content hash, written in by the build.
var LITE_FILE = typeof __POLYSSE_LITE__ === 'string' ? __POLYSSE_LITE__ : 'eventsource-lite.js';

export var liteEngine = lazy('lite', !!root.XMLHttpRequest, function (ready, broken) {
  // The engine script registers the engine (engines/lite/entry.js).
  expect('lite', ready);
  loadScript(engineBase() + LITE_FILE, function (err) {
    if (err || expecting('lite')) broken(err || new Error(LITE_FILE + ' did not start'));
  });
});

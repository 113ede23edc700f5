// The ES5 lite engine, as the shim sees it: a loader and a queue (lazy.js).
// The engine itself (src/engines/lite/: fetch or XHR streaming, the
// event-stream parser, reconnection, the fallback to padded streaming and
// long-poll) is a file in this script's folder, fetched on the first
// connection that needs it (or by the preload, index.js), once per page,
// only by browsers without EventSource or whose page asks for it.

import { root, isFunction } from '../env.js';
import { engineBase, loadScript } from '../script.js';
import { expect, expecting } from '../registry.js';
import { streamingFetch } from '../transports.js';
import { lazy } from './lazy.js';

/* global __POLYSSE_LITE__, __POLYSSE_LITE_XHR__ */
// The file names, with their content hashes, written in by the build: the
// engine, and the same without its fetch reader (engines/lite/engine.js)
// for a browser that cannot read with it (transports.js, fetchText: IE,
// EdgeHTML), which so downloads a third less.
var LITE_FILE = typeof __POLYSSE_LITE__ === 'string' ? __POLYSSE_LITE__ : 'eventsource-lite.js';
var LITE_XHR_FILE = typeof __POLYSSE_LITE_XHR__ === 'string' ? __POLYSSE_LITE_XHR__ : 'eventsource-lite.xhr.js';

export var liteEngine = lazy('lite', !!root.XMLHttpRequest, function (ready, broken) {
  var file = streamingFetch() && isFunction(root.TextDecoder) ? LITE_FILE : LITE_XHR_FILE;
  // The engine script registers the engine (engines/lite/entry.js).
  expect('lite', ready);
  loadScript(engineBase() + file, function (err) {
    if (err || expecting('lite')) broken(err || new Error(file + ' did not start'));
  }, true);
});

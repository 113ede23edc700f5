// The WebAssembly engine, as the shim sees it: a loader and a queue
// (lazy.js). The engine itself (Go compiled to WebAssembly) and its
// JavaScript half (Go's glue, the bridge, the transports: src/engines/wasm/) are
// fetched from this script's folder on the first connection that needs
// them, once per page.

import { root, isFunction } from '../env.js';
import { engineBase, loadScript } from '../script.js';
import { expect, expecting } from '../registry.js';
import { lazy } from './lazy.js';
import { park } from '../engines/handover.js';

/* global __POLYSSE_WASM__, __POLYSSE_GLUE__ */
// File names, with their content hashes, written in by the build.
var WASM_FILE = typeof __POLYSSE_WASM__ === 'string' ? __POLYSSE_WASM__ : 'eventsource.wasm';
var GLUE_FILE = typeof __POLYSSE_GLUE__ === 'string' ? __POLYSSE_GLUE__ : 'wasm_exec.js';

export var wasmEngine = lazy('WebAssembly', typeof root.WebAssembly === 'object' && !!root.WebAssembly && isFunction(root.Promise), function (ready, broken) {
  park(function () { load(ready, broken); });
});
wasmEngine.name = 'wasm';

function load(ready, broken) {
  var W = root.WebAssembly;
  var url = engineBase() + WASM_FILE;
  // The module downloads and compiles while the script loads: compiling
  // needs no imports, only instantiating does.
  var module = null;
  if (isFunction(root.fetch)) {
    var response = root.fetch(url, { credentials: 'same-origin' });
    module = isFunction(W.compileStreaming) ? W.compileStreaming(response) : response.then(function (res) {
      if (!res.ok) throw new Error(url + ': HTTP ' + res.status);
      return res.arrayBuffer();
    }).then(function (bytes) {
      return W.compile(bytes);
    });
    module.then(null, function () {}); // seen by the engine; not "unhandled" meanwhile
  }
  // The engine script registers its boot function (engines/wasm/entry.js);
  // the boot waits for park (engines/handover.js).
  expect('wasm', function (boot) {
    park(function () {
      var started;
      try {
        started = boot(module, url, broken);
      } catch (err) {
        broken(err);
        return;
      }
      started.then(ready).then(null, broken);
    });
  });
  loadScript(engineBase() + GLUE_FILE, function (err) {
    if (err || expecting('wasm')) broken(err || new Error(GLUE_FILE + ' did not start the engine'));
  });
}

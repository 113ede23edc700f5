// Entry point of wasm_exec.<hash>.js: hands the engine's boot function to
// the shim that loaded this file (see ../../registry.js), and, once the
// engine runs, the engine's events to the shim's listener lists.

/* global self */
import { boot } from './bridge.js';
import { install } from '../../fastevents.js';

var shim = self.EventSourcePolyfill.__shim;
shim.register('wasm', function (module, url, broken) {
  return boot(module, url, broken).then(function (engine) {
    install(shim.events);
    return engine;
  });
});

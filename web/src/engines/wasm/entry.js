// Entry point of wasm_exec.<hash>.js: hands the engine's boot function to
// the shim that loaded this file.

/* global self */
import { boot } from './bridge.js';

self.EventSourcePolyfill.__engine(boot);

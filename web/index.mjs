// The package's ES module entry: `import { EventSourcePolyfill } from
// 'polysse-eventsource'`. dist/eventsource.js is a plain script (one ES5
// IIFE, for IE) that defines EventSourcePolyfill on the global object;
// importing it runs it once, and this re-exports what it defined. Bundled,
// the engine files are not beside the bundle: say where they are with the
// engineBase option (README.md, "With a bundler").
import './dist/eventsource.js';

/* global window, self */
const root = typeof window !== 'undefined' ? window : typeof self !== 'undefined' ? self : globalThis;

export const EventSourcePolyfill = root.EventSourcePolyfill;

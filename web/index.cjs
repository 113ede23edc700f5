// The package's CommonJS entry: `const { EventSourcePolyfill } =
// require('polysse-eventsource')`. See index.mjs.
'use strict';
require('./dist/eventsource.js');

/* global window, self */
const root = typeof window !== 'undefined' ? window : typeof self !== 'undefined' ? self : globalThis;

module.exports = { EventSourcePolyfill: root.EventSourcePolyfill };

// testdata/connection-rules.json, the one table of connection rules every
// polysse client runs (wasm/rules_test.go and client/rules_test.go run it
// too): here the lite engine (IE's: XHR, its own parser) for window.EventSource
// and EventSourcePolyfill, and the backoff that the lite engine and the
// supervisor share (options.js).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { installBrowser, loadShim, sources } from './lib/browser.mjs';
import { rules, responseRules } from './lib/rules.mjs';
import { parser } from '../src/engines/lite/parser.js';
import { backoff } from '../src/options.js';

const srv = await startServer();
// Node's own fetch, which loads the engine files here, needs WebAssembly
// once, to start: let it, then take it away from the page.
await (await fetch(srv.origin + '/dist/eventsource.js')).text();
// IE's path: no WebAssembly and no fetch, so every connection runs on the
// lite engine over XHR (rules-fetch.test.mjs: over fetch).
installBrowser(srv.origin, { remove: ['WebAssembly', 'fetch'] });
loadShim();
after(() => srv.close());
const source = sources(after);

test('the table is not empty', () => {
  assert.ok(rules.responses.length > 10 && rules.retryFields.length > 5 && rules.backoff.length > 5);
});

test('responses: what each status and Content-Type leads to, standard and polyfill', () => responseRules(srv, source));

test('retry fields: the lite engine\'s parser', () => {
  for (const row of rules.retryFields) {
    const set = [];
    const p = parser(() => {}, (ms) => set.push(ms));
    p.feed('retry: ' + row.value + '\ndata: x\n\n');
    assert.deepEqual(set, row.ms === null ? [] : [row.ms], 'retry: ' + JSON.stringify(row.value));
  }
});

test('backoff: the lite engine\'s and the supervisor\'s waits', () => {
  for (const row of rules.backoff) {
    const got = backoff({ max: row.max, factor: row.factor, jitter: row.jitter }, row.base, row.failures, row.random);
    assert.equal(got, row.wait, JSON.stringify(row));
  }
});

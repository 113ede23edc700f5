// testdata/connection-rules.json, the one table of connection rules every
// polysse client runs (wasm/rules_test.go and client/rules_test.go run it
// too): here the lite engine (IE's: XHR, its own parser) for window.EventSource
// and EventSourcePolyfill, and the backoff that the lite engine and the
// supervisor share (options.js).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer } from './lib/server.mjs';
import { installBrowser, loadShim, recorder, sleep, sources } from './lib/browser.mjs';
import { parser } from '../src/engines/lite/parser.js';
import { backoff } from '../src/options.js';

const rules = JSON.parse(readFileSync(new URL('../../testdata/connection-rules.json', import.meta.url), 'utf8'));

const srv = await startServer();
// Node's own fetch, which loads the engine files here, needs WebAssembly
// once, to start: let it, then take it away from the page.
await (await fetch(srv.origin + '/dist/eventsource.js')).text();
// IE's path: no WebAssembly, so every connection runs on the lite engine.
installBrowser(srv.origin, { remove: ['WebAssembly'] });
loadShim();
after(() => srv.close());
const source = sources(after);

test('the table is not empty', () => {
  assert.ok(rules.responses.length > 10 && rules.retryFields.length > 5 && rules.backoff.length > 5);
});

test('responses: what each status and Content-Type leads to, standard and polyfill', async () => {
  const results = await Promise.all(rules.responses.flatMap((row, i) => ['standard', 'polyfill'].map(async (col) => {
    const path = `/rule-${col}-${i}`;
    srv.route(path, (req, res) => {
      const h = {};
      if (row.contentType) h['Content-Type'] = row.contentType;
      res.writeHead(row.status, h);
      res.end(row.status === 204 || row.status === 304 ? undefined : 'data: x\n\n');
    });
    const es = col === 'standard' ? source(path) : source(path, { retry: { initial: 10000 }, fallback: false });
    const r = recorder(es);
    await r.until((l) => l.length >= 1, 5000, path);
    const first = r.log[0];
    es.close();
    const got = first.type === 'open' ? 'open' : first.readyState === 2 ? 'fail' : 'reconnect';
    return [`${col}: ${row.status} ${JSON.stringify(row.contentType)}`, got, row[col]];
  })));
  const wrong = results.filter(([, got, want]) => got !== want);
  assert.deepEqual(wrong, [], 'rows whose outcome differs: [row, got, want]');
});

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

// The preload on a page without EventSource (src/index.js): the lite
// engine's file as the script runs, at high priority (src/script.js); the
// WebAssembly engine's files not before a connection needs them
// (src/engines/handover.js, park), however long the page stays.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { installBrowser, loadShim, sleep, wasmScripts } from './lib/browser.mjs';

const srv = await startServer();
const page = installBrowser(srv.origin);
after(() => srv.close());
loadShim();
const [lite] = wasmScripts(srv.origin);

test('the lite engine is asked for at high priority', () => {
  assert.equal(page.added.length, 1);
  assert.equal(page.added[0].fetchPriority, 'high');
});

test('only the lite engine is preloaded; without a connection, nothing more', async () => {
  assert.match(lite, /eventsource-lite\./);
  assert.deepEqual(page.loaded, [lite], 'as the script runs');
  // Past the second that a connection waits for its first event at most.
  await sleep(1300);
  assert.deepEqual(page.loaded, [lite]);
});

// The preload on a page without EventSource that is still loading
// (src/index.js): the lite engine's file as the script runs, the
// WebAssembly engine's only after the page's load event. A timer set by the
// script could fire between it and the page's next script, before the page
// has made its connection, and put the engine's download, compile and
// start before that connection's first event.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { installBrowser, loadShim, sleep, wasmScripts } from './lib/browser.mjs';

const srv = await startServer();
const page = installBrowser(srv.origin);
after(() => srv.close());

// The page's load event is the test's to fire.
const onload = [];
document.readyState = 'loading';
globalThis.addEventListener = (type, f) => {
  if (type === 'load') onload.push(f);
};
loadShim();
const [lite, glue] = wasmScripts(srv.origin);

test('while the page loads, only the lite engine is preloaded', async () => {
  assert.match(lite, /eventsource-lite\./);
  await sleep(100);
  assert.deepEqual(page.loaded, [lite]);
  assert.equal(onload.length, 1, 'the WebAssembly engine waits for the load event');
});

test('the WebAssembly engine is preloaded once the page has loaded', async () => {
  document.readyState = 'complete';
  for (const f of onload) f();
  const end = performance.now() + 5000;
  while (!page.loaded.includes(glue)) {
    if (performance.now() > end) throw new Error('the engine was not preloaded after load: ' + page.loaded);
    await sleep(5);
  }
  assert.deepEqual(page.loaded, [lite, glue]);
  // Time for the glue to run before the server closes.
  await sleep(200);
});

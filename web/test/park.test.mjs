// The WebAssembly engine waits for the first event of a connection made
// before it was ready (src/engines/handover.js, park): on a page still
// loading, a connection served by the lite engine gets its first event
// before the engine's files are requested, and a page that closes the
// connection in that event's listener does not run the engine's load
// inside its listener: the load follows on a later task.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, sse } from './lib/server.mjs';
import { installBrowser, loadShim, sleep, wasmScripts } from './lib/browser.mjs';

const srv = await startServer();
const page = installBrowser(srv.origin);
after(() => srv.close());
document.readyState = 'loading';
globalThis.addEventListener = () => {}; // the load event never comes
loadShim();
const [, glue] = wasmScripts(srv.origin);

srv.route('/first', (req, res) => {
  sse(res);
  res.write('data: one\n\n');
});

test('the engine loads after the first event, not inside the listener that closes the connection', async () => {
  const es = new EventSource('/first');
  const seen = await new Promise((resolve) => {
    es.onmessage = (e) => {
      const loaded = page.loaded.slice();
      es.close();
      resolve({ data: e.data, loaded, closed: page.loaded.slice() });
    };
  });
  assert.equal(seen.data, 'one');
  assert.ok(!seen.loaded.includes(glue), 'not before the first event: ' + seen.loaded);
  assert.ok(!seen.closed.includes(glue), 'not inside the listener, by close()');
  const end = performance.now() + 5000;
  while (!page.loaded.includes(glue)) {
    if (performance.now() > end) throw new Error('the engine did not load after the first event');
    await sleep(5);
  }
  // Time for the glue to run before the server closes.
  await sleep(200);
});

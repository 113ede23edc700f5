// The WebAssembly engine loads once a connection needs it
// (src/engines/handover.js, park): a connection served by the lite engine
// gets its first event before the engine's files are requested; a page that
// closes the connection in that event's listener downloads nothing more,
// and does not run the engine's load inside its listener; a connection that
// stays open gets the engine after its first event, on the same response.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, sse } from './lib/server.mjs';
import { installBrowser, loadShim, sleep, until, wasmScripts, recorder } from './lib/browser.mjs';

const srv = await startServer();
// A page whose lite engine cannot read with fetch (no TextDecoder, as in
// EdgeHTML; src/transports.js, fetchText): the WebAssembly engine's. Node's
// own fetch needs TextDecoder once, to start: let it, then take it away.
await (await fetch(srv.origin + '/dist/manifest.json')).text();
const page = installBrowser(srv.origin, { remove: ['TextDecoder'] });
after(() => srv.close());
loadShim();
const [, glue] = wasmScripts(srv.origin);

srv.route('/first', (req, res) => {
  sse(res);
  res.write('data: one\n\n');
  setTimeout(() => res.write('data: two\n\n'), 1500);
});


test('a connection closed in its first listener: the engine is not loaded, then or later', async () => {
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
  await sleep(1300);
  assert.ok(!page.loaded.includes(glue), 'nothing needs it: ' + page.loaded);
});

test('a connection that stays open: the engine loads after its first event, on the same response', async () => {
  const es = new EventSource('/first');
  const r = recorder(es);
  let atFirst = null;
  es.addEventListener('message', () => { if (!atFirst) atFirst = page.loaded.slice(); });
  await r.until((l) => l.some((e) => e.type === 'message'), 5000, 'the first event');
  assert.ok(!atFirst.includes(glue), 'not before the first event');
  await until(() => page.loaded.includes(glue), 'the engine to load');
  await until(() => r.log.filter((e) => e.type === 'message').length >= 2, 'the second event');
  assert.deepEqual(r.log.filter((e) => e.type === 'message').map((e) => e.data), ['one', 'two']);
  assert.equal(srv.hits('/first').length, 2, 'one request for each of the two connections: the hand-over is on the same response');
  es.close();
});

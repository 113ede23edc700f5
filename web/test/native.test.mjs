// A browser with its own EventSource: window.EventSource stays the
// browser's, and EventSourcePolyfill hands connections to it unless the
// options ask for what it cannot do.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installBrowser, loadShim, recorder, sleep } from './lib/browser.mjs';
import { fakeNative } from './lib/native.mjs';

const { NativeES, created } = fakeNative();

const page = installBrowser('http://page.test');
globalThis.EventSource = NativeES;
loadShim();

test('a page with a native EventSource preloads no engine', async () => {
  new EventSourcePolyfill('/pre', { supervise: false }).close();
  await sleep(20);
  assert.deepEqual(page.loaded, []);
});

test('the browser\'s EventSource stays, the polyfill is beside it', () => {
  assert.equal(window.EventSource, NativeES);
  assert.equal(typeof window.EventSourcePolyfill, 'function');
});

test('EventSourcePolyfill relays the native connection', async () => {
  // Unsupervised: the browser's behaviour exactly (supervisor.test.mjs has
  // the default).
  const es = new EventSourcePolyfill('/s', { withCredentials: true, supervise: false });
  const r = recorder(es, ['open', 'message', 'error']);
  es.addEventListener('custom', () => r.log.push({ type: 'custom-listener' }));
  const n = created.at(-1);
  assert.equal(n.url, 'http://page.test/s');
  assert.equal(n.withCredentials, true);
  n.readyState = 1;
  n.emit('open');
  n.emit('message', { data: 'd', lastEventId: '3', origin: 'http://other.test' });
  n.emit('custom', { data: 'c' });
  n.readyState = 0;
  n.emit('error');
  es.close();
  assert.ok(n.closed, 'close() reaches the native EventSource');
  n.emit('message', { data: 'late' });
  assert.deepEqual(r.log.map((e) => [e.type, e.data, e.lastEventId, e.origin, e.readyState]), [
    ['open', undefined, undefined, undefined, 1],
    ['message', 'd', '3', 'http://other.test', 1],
    ['custom-listener', undefined, undefined, undefined, undefined],
    ['error', undefined, undefined, undefined, 0],
  ]);
  // The browser giving up shows as CLOSED.
  const es2 = new EventSourcePolyfill('/t', { supervise: false });
  const n2 = created.at(-1);
  n2.readyState = 2;
  n2.emit('error');
  assert.equal(es2.readyState, 2);
});

test('options the browser cannot honour choose a polyfill engine', async () => {
  const before = created.length;
  const es = new EventSourcePolyfill('/s', { headers: { Authorization: 'x' } });
  await sleep(10);
  assert.equal(created.length, before, 'no native EventSource');
  es.close();
  const forced = new EventSourcePolyfill('/s', { engine: 'wasm' });
  assert.equal(created.length, before);
  forced.close();
});

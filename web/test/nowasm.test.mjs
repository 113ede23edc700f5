// A browser with no engine at all: no WebAssembly and no XMLHttpRequest
// (nor EventTarget, Event or MessageEvent constructors). The API is there,
// the connection fails with an error event and a console warning, and
// nothing beyond eventsource.js is ever fetched. (IE10-11, which have
// XMLHttpRequest, get the lite engine: lite.test.mjs.)

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { installBrowser, loadShim, recorder, sleep } from './lib/browser.mjs';

const srv = await startServer();
const page = installBrowser(srv.origin, { remove: ['WebAssembly', 'EventTarget', 'Event', 'MessageEvent'], xhr: false });
const warnings = [];
console.warn = (...a) => warnings.push(a.join(' '));
const fetched = [];
const realFetch = globalThis.fetch;
globalThis.fetch = (url, init) => { fetched.push(String(url)); return realFetch(url, init); };
loadShim();
after(() => srv.close());

test('the API is there, synchronously', () => {
  assert.equal(typeof window.EventSourcePolyfill, 'function');
  // Two classes: the standard's, and the polyfill's with options.
  assert.equal(typeof window.EventSource, 'function');
  assert.notEqual(window.EventSource, window.EventSourcePolyfill);
  assert.equal(EventSource.name, 'EventSource');
  assert.equal(EventSource.prototype.constructor, EventSource);
  assert.equal(EventSourcePolyfill.prototype.constructor, EventSourcePolyfill);
  assert.equal(EventSource.length, 1);
  assert.equal(EventSourcePolyfill.length, 1);
  for (const [name, v] of [['CONNECTING', 0], ['OPEN', 1], ['CLOSED', 2]]) {
    assert.equal(EventSource[name], v);
    assert.equal(EventSource.prototype[name], v);
  }
  const es = new EventSource('rel/path?x=1', { withCredentials: 1 });
  assert.equal(es.url, srv.origin + '/rel/path?x=1');
  assert.equal(es.withCredentials, true);
  assert.equal(es.readyState, 0);
  assert.equal(es.onmessage, null);
  assert.equal(Object.prototype.toString.call(es), '[object EventSource]');
  assert.deepEqual(Object.keys(es), []);
  es.close();
  assert.throws(() => EventSource('/x'), TypeError);
  assert.throws(() => new EventSource(), TypeError);
  assert.throws(() => new EventSource('http://[bad'), (e) => e.name === 'SyntaxError');
});

test('without WebAssembly the connection fails, with a warning', async () => {
  const es = new EventSource('/events');
  let onerror = 0;
  es.onerror = () => onerror++;
  const r = recorder(es);
  await r.until((l) => l.length >= 1, 2000, 'error');
  assert.equal(r.log[0].type, 'error');
  assert.equal(r.log[0].readyState, 2);
  assert.equal(onerror, 1);
  assert.equal(typeof r.log[0].event, 'object', 'a plain event object');
  assert.equal(r.log[0].event.target, es);
  assert.ok(warnings.some((w) => /WebAssembly/.test(w)), warnings.join('\n'));
  await sleep(50);
  assert.deepEqual(page.loaded, [], 'no engine script');
  assert.deepEqual(fetched, [], 'nothing fetched');
  assert.equal(srv.requests.length, 0);
});

// The supervisor around the browser's own EventSource (the default engine
// of EventSourcePolyfill where there is one): a stream that ends CLOSED
// without close() is re-established with backoff, keeping listeners,
// handlers and the last event ID (in the query); a silent close is noticed;
// attempts can be capped; a stream whose probe never comes falls back to
// long-poll, whose reconnections the page does not see.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installBrowser, loadShim, recorder, sleep } from './lib/browser.mjs';
import { fakeNative } from './lib/native.mjs';

const { NativeES, created } = fakeNative();

installBrowser('http://page.test');
globalThis.EventSource = NativeES;
loadShim();

const latest = () => created.at(-1);
const query = (es) => Object.fromEntries(new URL(es.url).searchParams);

test('a stream that ends CLOSED is re-established with the last event ID, listeners kept', async () => {
  const es = new EventSourcePolyfill('/s?topic=t', { retry: { initial: 30 } });
  const r = recorder(es, ['open', 'message', 'error', 'custom']);
  let handled = 0;
  es.onmessage = () => handled++;
  assert.equal(es.__polysse.engine, 'supervised');
  const n1 = latest();
  assert.deepEqual(query(n1), { topic: 't', _probe: '1' });
  n1.open();
  n1.send('polysse-probe', '', 'cursor');
  n1.send('message', 'a', '1');
  n1.send('custom', 'c', '2');
  n1.fail(); // as Firefox does where Chromium would retry
  assert.equal(es.readyState, 0, 'CONNECTING, not CLOSED');
  await sleep(80);
  const n2 = latest();
  assert.notEqual(n2, n1);
  assert.deepEqual(query(n2), { topic: 't', lastEventId: '2', _probe: '1' });
  assert.ok(n2.at - n1.at >= 25, 'after the retry time');
  n2.open();
  n2.send('message', 'b', '3');
  n2.send('custom', 'd', '4');
  assert.deepEqual(r.log.map((e) => [e.type, e.data, e.lastEventId, e.readyState]), [
    ['open', undefined, undefined, 1],
    ['message', 'a', '1', 1],
    ['custom', 'c', '2', 1],
    ['error', undefined, undefined, 0],
    ['open', undefined, undefined, 1],
    ['message', 'b', '3', 1],
    ['custom', 'd', '4', 1],
  ], 'the probe is not shown');
  assert.equal(handled, 2, 'onmessage kept');
  es.close();
  assert.ok(n2.closed);
});

test('a cursor from the probe alone is enough to resume', async () => {
  const es = new EventSourcePolyfill('/s', { retry: { initial: 10 } });
  const n1 = latest();
  n1.open();
  n1.send('polysse-probe', '', 'cursor-7');
  n1.fail();
  await sleep(50);
  const n2 = latest();
  assert.equal(query(n2).lastEventId, 'cursor-7');
  // A probe sent before the stream's cursor carries no id: the one known
  // stays.
  n2.open();
  n2.send('polysse-probe', '', '');
  n2.fail();
  await sleep(50);
  assert.equal(query(latest()).lastEventId, 'cursor-7');
  es.close();
});

test('a stream that goes CLOSED without an error event is noticed', async () => {
  const es = new EventSourcePolyfill('/s', { retry: { initial: 10 } });
  const r = recorder(es);
  const n1 = latest();
  n1.open();
  n1.send('message', 'a', '1');
  n1.readyState = 2; // silently
  await sleep(1300);
  assert.notEqual(latest(), n1);
  assert.equal(query(latest()).lastEventId, '1');
  assert.deepEqual(r.log.map((e) => e.type), ['open', 'message', 'error']);
  es.close();
});

test('backoff grows, and maxAttempts ends in CLOSED', async () => {
  const es = new EventSourcePolyfill('/s', { retry: { initial: 20, factor: 2, jitter: 0 }, maxAttempts: 3 });
  const r = recorder(es);
  const times = [];
  for (let i = 0; i < 4; i++) {
    const n = latest();
    times.push(n.at);
    n.fail();
    for (let w = 0; i < 3 && latest() === n && w < 200; w++) await sleep(5);
  }
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  assert.ok(gaps[0] >= 18 && gaps[1] >= 38 && gaps[2] >= 78, 'waits 20, 40, 80: ' + gaps);
  await sleep(200);
  assert.equal(es.readyState, 2);
  assert.deepEqual(r.log.map((e) => [e.type, e.readyState]), [['error', 0], ['error', 0], ['error', 0], ['error', 2]]);
});

test('supervise: false leaves the browser alone', async () => {
  const es = new EventSourcePolyfill('/s', { supervise: false });
  assert.equal(es.__polysse.engine, 'native');
  const n = latest();
  assert.deepEqual(query(n), {});
  n.fail();
  await sleep(50);
  assert.equal(latest(), n);
  assert.equal(es.readyState, 2);
});

test('no probe within the bound: long-poll, remembered, with one open for the page', async () => {
  const es = new EventSourcePolyfill('http://held.test/s', { fallbackTimeout: 50, reportEngine: true });
  const r = recorder(es);
  const n1 = latest();
  assert.deepEqual(query(n1), { _engine: 'supervised', _probe: '1' });
  n1.open(); // a proxy that passes the head and holds the body
  await sleep(120);
  const n2 = latest();
  assert.ok(n1.closed);
  assert.deepEqual(query(n2), { _engine: 'supervised', transport: 'poll' });
  // Each poll response ends and the browser reconnects by itself.
  n2.open();
  n2.send('message', 'a', '1');
  n2.readyState = 0;
  n2.emit('error');
  n2.open();
  n2.send('message', 'b', '2');
  assert.deepEqual(r.log.map((e) => [e.type, e.data]), [['open', undefined], ['message', 'a'], ['message', 'b']]);
  assert.equal(es.readyState, 1);
  // Twice in a row is a real error, which the page sees.
  n2.readyState = 0;
  n2.emit('error');
  n2.emit('error');
  assert.deepEqual(r.log.slice(3).map((e) => [e.type, e.readyState]), [['error', 0]]);
  es.close();
  const es2 = new EventSourcePolyfill('http://held.test/other');
  assert.equal(query(latest()).transport, 'poll', 'the page remembers');
  es2.close();
  const es3 = new EventSourcePolyfill('http://elsewhere.test/s');
  assert.equal(query(latest())._probe, '1', 'by origin');
  es3.close();
});

test('any event within the bound proves the stream; fallback: false never probes', async () => {
  const es = new EventSourcePolyfill('http://quiet.test/s', { fallbackTimeout: 50 });
  const n1 = latest();
  n1.open();
  n1.send('message', 'x', '');
  await sleep(120);
  assert.equal(latest(), n1);
  es.close();
  const es2 = new EventSourcePolyfill('http://quiet2.test/s', { fallback: false });
  assert.deepEqual(query(latest()), {});
  es2.close();
});

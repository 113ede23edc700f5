// The fetch transport on a body that always has more data ready: a
// ReadableStream's read() then resolves on a microtask, never on a task, as
// Chromium's does for a fetch body whose data pipe the network keeps full
// (a stream faster than the engine decodes it). The transport must still
// let the page's tasks run (timers, input, rendering; DevTools' evaluations,
// which e2e's BenchmarkBrowserMemory lost a page to), and deliver every
// chunk once, in order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fetchStream, NETWORK, readSlice } from '../src/transports.js';

// readyBody is a body of n chunks of size bytes, each numbered in its first
// byte, whose next chunk is always ready when read.
function readyBody(n, size) {
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (i === n) {
        c.close();
        return;
      }
      const b = new Uint8Array(size);
      b[0] = i++ & 0xff;
      c.enqueue(b);
    }
  });
}

function spin(ms) {
  const t = performance.now();
  while (performance.now() - t < ms) { /* the engine decoding */ }
}

test('fetchStream lets tasks run while the body always has data ready', async (t) => {
  const n = 400;
  const saved = globalThis.fetch;
  t.after(() => { globalThis.fetch = saved; });
  globalThis.fetch = () => Promise.resolve({
    status: 200,
    type: 'basic',
    url: 'http://127.0.0.1/s',
    headers: new Headers({ 'Content-Type': 'text/event-stream' }),
    body: readyBody(n, 1024),
  });

  let chunks = 0;
  let order = true;
  let longest = 0; // the longest run of chunks with no task between them, in ms
  let runStart = -1;
  let ticks = 0; // tasks that ran while the body was read
  let tick = null;
  const onTask = () => {
    runStart = -1;
    ticks++;
    tick = setTimeout(onTask, 0);
  };
  const ended = new Promise((resolve) => {
    fetchStream('http://127.0.0.1/s', [], false, {
      head: (status, type) => status === 200 && type === 'text/event-stream',
      chunk(bytes) {
        const now = performance.now();
        if (runStart < 0) runStart = now;
        longest = Math.max(longest, now - runStart);
        if (bytes[0] !== (chunks & 0xff)) order = false;
        chunks++;
        spin(1);
        return true;
      },
      end: resolve,
    });
  });
  tick = setTimeout(onTask, 0);
  const how = await ended;
  clearTimeout(tick);

  assert.equal(how, NETWORK, 'the body ended: a network error, as the standard says of a stream that ends');
  assert.equal(chunks, n, 'every chunk delivered');
  assert.ok(order, 'chunks delivered in order');
  // Before the transport yielded, the whole body (some 400 ms of decoding)
  // was read in one run, with no task between.
  assert.ok(ticks >= 4, `${ticks} tasks ran while ${n} chunks were read over ${n} ms or more`);
  assert.ok(longest < 3 * readSlice, `${longest.toFixed(0)} ms of chunks with no task between them`);
});

test('fetchStream stops at once when a chunk says so, also between two slices', async (t) => {
  const saved = globalThis.fetch;
  t.after(() => { globalThis.fetch = saved; });
  let cancelled = false;
  globalThis.fetch = (url, init) => {
    init.signal.addEventListener('abort', () => { cancelled = true; });
    return Promise.resolve({
      status: 200,
      type: 'basic',
      url: 'http://127.0.0.1/s',
      headers: new Headers({ 'Content-Type': 'text/event-stream' }),
      body: readyBody(1000, 1024),
    });
  };
  for (const stopAt of [1, 30, 120]) {
    cancelled = false;
    let chunks = 0;
    let ended = false;
    await new Promise((resolve) => {
      fetchStream('http://127.0.0.1/s', [], false, {
        head: () => true,
        chunk() {
          chunks++;
          spin(1);
          if (chunks === stopAt) setTimeout(resolve, 200);
          return chunks < stopAt;
        },
        end: () => { ended = true; },
      });
    });
    assert.equal(chunks, stopAt, `no chunk after the one that said stop (${stopAt})`);
    assert.ok(cancelled, 'the request aborted');
    assert.ok(!ended, 'no end after a stop');
  }
});

test('fetchStream: a request or read that fails after the page called window.stop() was aborted', async (t) => {
  // The browser's window.stop, before the first stops() puts the wrapper
  // around it (src/pagestop.js).
  const calls = [];
  globalThis.stop = function (...args) { calls.push([this, args]); return 'stopped'; };
  t.after(() => { delete globalThis.stop; });
  const { stops } = await import('../src/pagestop.js');
  const { sendEarly, ABORTED } = await import('../src/transports.js');
  const saved = globalThis.fetch;
  t.after(() => { globalThis.fetch = saved; });

  // run starts a fetchStream whose fetch fails as fail says, calls
  // window.stop() first when stop says, and resolves with how it ended.
  const run = (fail, stop, early) => new Promise((resolve) => {
    let reject;
    globalThis.fetch = (url, init) => {
      if (init.mode === 'no-cors') return Promise.reject(new TypeError('down')); // the probe
      if (fail === 'request') return new Promise((_, r) => { reject = r; });
      return Promise.resolve({
        status: 200,
        type: 'basic',
        url,
        headers: new Headers({ 'Content-Type': 'text/event-stream' }),
        body: new ReadableStream({ pull() { return new Promise((_, r) => { reject = r; }); } }),
      });
    };
    const sent = early ? sendEarly('http://127.0.0.1/s', ['Accept', 'text/event-stream'], false, true, stops) : null;
    fetchStream('http://127.0.0.1/s', ['Accept', 'text/event-stream'], false, {
      head: () => true,
      chunk: () => true,
      end: resolve,
    }, sent, stops);
    setTimeout(() => {
      if (stop) assert.equal(globalThis.stop(), 'stopped');
      reject(new TypeError('Failed to fetch'));
    }, 10);
  });
  for (const fail of ['request', 'read']) {
    for (const early of [false, true]) {
      if (early && fail === 'read') continue;
      const what = `${fail}${early ? ', sent early' : ''}`;
      assert.equal(await run(fail, false, early), NETWORK, `${what}: a network error`);
      assert.equal(await run(fail, true, early), ABORTED, `${what}: window.stop()`);
      // A stop before the request went out did not abort it.
      assert.equal(await run(fail, false, early), NETWORK, `${what}: a network error after a stop`);
    }
  }
  assert.equal(calls.length, 3, "the browser's window.stop ran at each call");
  assert.deepEqual(calls[0], [globalThis, []], 'with the same this and arguments');
});

// The WebAssembly engine, run under Node as a page would run it (see
// lib/browser.mjs), against a local SSE server: fetch transport.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, sse } from './lib/server.mjs';
import { installBrowser, loadShim, recorder, sleep, sources, wasmScripts } from './lib/browser.mjs';

const srv = await startServer();
// A page whose lite engine cannot read with fetch (no TextDecoder, as in
// EdgeHTML; src/transports.js, fetchText): the WebAssembly engine's. Node's
// own fetch needs TextDecoder once, to start: let it, then take it away.
await (await fetch(srv.origin + '/dist/manifest.json')).text();
const page = installBrowser(srv.origin, { remove: ['TextDecoder'] });
loadShim();
after(() => srv.close());

const source = sources(after);

test('connections made before the engine loads are queued, and events arrive with type, data, id and origin', async () => {
  srv.route('/basic', (req, res) => {
    sse(res);
    res.write('id: 1\ndata: hello\n\nevent: custom\ndata: a\ndata: b\n\n: comment\ndata: ünï€😀\n\n');
  });
  const es = source('/basic');
  assert.equal(es.readyState, EventSource.CONNECTING);
  assert.equal(es.url, srv.origin + '/basic');
  const r = recorder(es, ['open', 'message', 'error', 'custom']);
  await r.until((l) => l.length >= 4, 10000, 'four events');
  const [o, m1, c, m2] = r.log;
  assert.equal(o.type, 'open');
  assert.equal(o.readyState, EventSource.OPEN);
  assert.deepEqual([m1.type, m1.data, m1.lastEventId, m1.origin], ['message', 'hello', '1', srv.origin]);
  assert.deepEqual([c.type, c.data, c.lastEventId], ['custom', 'a\nb', '1']);
  assert.deepEqual([m2.type, m2.data, m2.lastEventId], ['message', 'ünï€😀', '1']);
  assert.ok(m1.event instanceof MessageEvent, 'a real MessageEvent');
  assert.equal(m1.event.target, es);
  // The lite engine's file first; the WebAssembly engine's once the first
  // event is in (src/engines/handover.js, park): each once.
  assert.equal(page.loaded[0], wasmScripts(srv.origin).find((u) => u.includes('eventsource-lite.')));
  assert.ok(page.loaded.every((u) => wasmScripts(srv.origin).includes(u)), 'only the engines\' scripts');
  assert.equal(new Set(page.loaded).size, page.loaded.length, 'each once');
  es.close();
  assert.equal(es.readyState, EventSource.CLOSED);
});

test('the request asks for an event stream, uncached', async () => {
  srv.route('/head', (req, res) => sse(res));
  const es = source('/head');
  const r = recorder(es);
  await r.until((l) => l.length >= 1, 5000, 'open');
  const q = srv.hits('/head')[0];
  assert.equal(q.headers.accept, 'text/event-stream');
  assert.equal(q.headers['cache-control'], 'no-cache');
  assert.equal(q.headers['last-event-id'], undefined);
  es.close();
});

test('a clean end reconnects after the retry field\'s time, with Last-Event-ID', async () => {
  let ended = 0;
  srv.route('/retry', (req, res) => {
    sse(res);
    if (srv.hits('/retry').length === 1) {
      res.write('retry: 300\nid: 42\ndata: one\n\n');
      setTimeout(() => { ended = performance.now(); res.end(); }, 20);
    } else {
      res.write('data: two\n\n');
    }
  });
  const es = source('/retry');
  const r = recorder(es);
  await r.until((l) => l.filter((e) => e.type === 'message').length >= 2, 5000, 'two messages');
  assert.deepEqual(r.log.map((e) => e.type + ':' + e.readyState), ['open:1', 'message:1', 'error:0', 'open:1', 'message:1']);
  const [first, second] = srv.hits('/retry');
  assert.equal(first.headers['last-event-id'], undefined);
  assert.equal(second.headers['last-event-id'], '42');
  const waited = second.time - ended;
  assert.ok(waited >= 295 && waited < 900, `reconnected after ${waited} ms, want 300`);
  assert.equal(r.log[4].lastEventId, '42');
  es.close();
});

test('lastEventIdQueryParameterName carries the id in the query instead of a header', async () => {
  srv.route('/query', (req, res) => {
    sse(res);
    if (srv.hits('/query').length === 1) {
      res.end('retry: 10\nid: a&b é\ndata: x\n\n');
    } else {
      res.write(': hi\n\n');
    }
  });
  const es = source('/query?topic=t', { lastEventIdQueryParameterName: 'lastEventId' });
  const r = recorder(es);
  await r.until(() => srv.hits('/query').length >= 2, 5000, 'a reconnection');
  const second = srv.hits('/query')[1];
  assert.equal(second.url, '/query?topic=t&lastEventId=a%26b%20%C3%A9');
  assert.equal(second.headers['last-event-id'], undefined);
  es.close();
});

for (const [name, status, type] of [
  ['204', 204, 'text/event-stream'],
  ['500', 500, 'text/event-stream'],
  ['a wrong content type', 200, 'text/plain'],
]) {
  test(`${name} fails the connection for good`, async () => {
    const path = '/fail' + status + type.length;
    srv.route(path, (req, res) => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(status === 204 ? undefined : 'data: no\n\n');
    });
    const es = source(path, { retry: { initial: 10 } });
    const r = recorder(es);
    await r.until((l) => l.length >= 1, 5000, 'error');
    assert.deepEqual(r.log.map((e) => e.type + ':' + e.readyState), ['error:2']);
    assert.equal(es.readyState, EventSource.CLOSED);
    await sleep(100);
    assert.equal(srv.hits(path).length, 1, 'no reconnection');
    assert.equal(r.log.length, 1);
  });
}

test('text/event-stream with parameters opens', async () => {
  srv.route('/params', (req, res) => {
    res.writeHead(200, { 'Content-Type': 'Text/Event-Stream; charset=ISO-8859-1' });
    res.write('data: é\n\n');
  });
  const es = source('/params');
  const r = recorder(es);
  await r.until((l) => l.length >= 2, 5000, 'a message');
  assert.equal(r.log[1].data, 'é', 'decoded as UTF-8 whatever the charset');
  es.close();
});

test('network errors reconnect, backing off after consecutive failures', async () => {
  srv.route('/refuse', (req) => req.socket.destroy());
  const es = source('/refuse', { retry: { initial: 40, factor: 2, jitter: 0, max: 1000 } });
  const r = recorder(es);
  await r.until(() => srv.hits('/refuse').length >= 4, 5000, 'four attempts');
  es.close();
  const t = srv.hits('/refuse').map((q) => q.time);
  const gaps = [t[1] - t[0], t[2] - t[1], t[3] - t[2]];
  assert.ok(gaps[0] >= 38 && gaps[1] >= 78 && gaps[2] >= 158, `gaps ${gaps}`);
  assert.ok(gaps[2] > gaps[0] * 2.5, `gaps ${gaps} do not grow`);
  assert.ok(r.log.every((e) => e.type === 'error' && e.readyState === 0));
});

test('the headers option: an object, or a function called at every connection', async () => {
  let n = 0;
  srv.route('/auth', (req, res) => {
    sse(res);
    res.end('retry: 5\ndata: x\n\n');
  });
  const es = source('/auth', { headers: () => ({ Authorization: 'Bearer ' + (++n), 'X-Other': 'y' }) });
  recorder(es);
  await new Promise((resolve) => { const i = setInterval(() => { if (srv.hits('/auth').length >= 3) { clearInterval(i); resolve(); } }, 10); });
  es.close();
  const hs = srv.hits('/auth').map((q) => q.headers.authorization);
  assert.deepEqual(hs.slice(0, 3), ['Bearer 1', 'Bearer 2', 'Bearer 3']);
  assert.equal(srv.hits('/auth')[0].headers['x-other'], 'y');
  const es2 = source('/auth', { headers: { Authorization: 'Basic zz' } });
  await recorder(es2).until((l) => l.length >= 1, 5000, 'open');
  es2.close();
  assert.equal(srv.hits('/auth').at(-1).headers.authorization, 'Basic zz');
});

test('close() aborts the request and stops everything', async () => {
  srv.route('/close', (req, res) => {
    sse(res);
    res.write('data: first\n\n');
    setTimeout(() => res.write('data: late\n\n'), 100);
  });
  const es = source('/close');
  const r = recorder(es);
  await r.until((l) => l.length >= 2, 5000, 'a message');
  es.close();
  assert.equal(es.readyState, 2);
  await sleep(200);
  assert.equal(r.log.length, 2, 'nothing after close');
  assert.ok(srv.hits('/close')[0].closed, 'the server saw the connection close');
  assert.equal(srv.hits('/close').length, 1);
});

test('close() from a listener stops the rest of a batch', async () => {
  srv.route('/batch', (req, res) => {
    sse(res);
    res.write('data: 1\n\ndata: 2\n\ndata: 3\n\n');
  });
  const es = source('/batch');
  const got = [];
  es.onmessage = (e) => { got.push(e.data); if (e.data === '2') es.close(); };
  await sleep(50);
  await new Promise((resolve) => { const i = setInterval(() => { if (got.length >= 2) { clearInterval(i); resolve(); } }, 5); });
  await sleep(50);
  assert.deepEqual(got, ['1', '2']);
});

test('heartbeatTimeout replaces a connection that went quiet', async () => {
  srv.route('/quiet', (req, res) => {
    sse(res);
    res.write('id: 5\ndata: x\n\n'); // then nothing
  });
  const es = source('/quiet', { heartbeatTimeout: 200, retry: { initial: 10 } });
  const r = recorder(es);
  await r.until(() => srv.hits('/quiet').length >= 2, 5000, 'a second attempt');
  const [a, b] = srv.hits('/quiet');
  assert.ok(b.time - a.time >= 200 && b.time - a.time < 700, `replaced after ${b.time - a.time} ms`);
  assert.equal(b.headers['last-event-id'], '5');
  assert.ok(a.closed, 'the quiet connection was aborted');
  assert.deepEqual(r.log.slice(0, 3).map((e) => e.type), ['open', 'message', 'error']);
  es.close();
});

test('onAuthError: a promise resolving reconnects with fresh headers', async () => {
  let token = 'old';
  srv.route('/token', (req, res) => {
    if (req.headers.authorization !== 'Bearer new') {
      res.writeHead(401).end();
      return;
    }
    sse(res);
    res.write('data: in\n\n');
  });
  const calls = [];
  const es = source('/token', {
    headers: () => ({ Authorization: 'Bearer ' + token }),
    retry: {
      onAuthError(status, target) {
        calls.push([status, target === es]);
        return new Promise((resolve) => setTimeout(() => { token = 'new'; resolve(); }, 30));
      },
    },
  });
  const r = recorder(es);
  await r.until((l) => l.some((e) => e.type === 'message'), 5000, 'a message');
  assert.deepEqual(calls, [[401, true]]);
  assert.deepEqual(r.log.map((e) => e.type + ':' + e.readyState), ['error:0', 'open:1', 'message:1']);
  es.close();
  // Without the hook a 401 fails.
  const es2 = source('/token');
  const r2 = recorder(es2);
  await r2.until((l) => l.length >= 1, 5000, 'error');
  assert.equal(es2.readyState, 2);
});

test('large events and characters split across chunks', async () => {
  const big = 'x'.repeat(64 * 1024) + '€';
  srv.route('/big', async (req, res) => {
    sse(res);
    const body = Buffer.from('data: ' + big + '\n\ndata: é😀\r\n\r\n', 'utf8');
    // Odd chunk sizes, cutting through the multi-byte characters.
    for (let i = 0; i < body.length; i += 7777) {
      res.write(body.subarray(i, i + 7777));
      await sleep(1);
    }
    const tail = Buffer.from('data: 😀\n\n', 'utf8');
    for (let i = 0; i < tail.length; i++) {
      res.write(tail.subarray(i, i + 1));
      await sleep(1);
    }
  });
  const es = source('/big');
  const r = recorder(es);
  await r.until((l) => l.filter((e) => e.type === 'message').length >= 3, 5000, 'three messages');
  const m = r.log.filter((e) => e.type === 'message').map((e) => e.data);
  assert.equal(m[0], big);
  assert.equal(m[1], 'é😀');
  assert.equal(m[2], '😀');
  es.close();
});

// The engine hands data over as the stream sent it, and the shim's
// TextDecoder replaces what is not UTF-8 (wasm/doc.go): as the standard's
// decoder would, one U+FFFD per maximal subpart, a sequence cut by a line
// end replaced on each side, in small events (decoded with their batch) and
// big ones (decoded from the engine's memory), however the network cuts
// the stream.
test('invalid UTF-8 in data decodes to U+FFFD as the standard says', async () => {
  const bad = (s) => Buffer.from(s, 'latin1');
  const big = 'y'.repeat(3000);
  const sent = [
    bad('data: a\xFFb\xC3(\n\n'),
    bad('data: \xE2\x82\ndata: \xAC\xF0\x9F\x98\n\n'),
    Buffer.concat([Buffer.from('data: ' + big), bad('\xF4\x90\x80\x80\xED\xA0\x80'), Buffer.from('é\n\n', 'utf8')]),
    bad('event: t\xFF\nid: \xC3\ndata: \xC0\xAF\n\n'),
  ];
  const want = [
    ['message', 'a\uFFFDb\uFFFD(', ''],
    ['message', '\uFFFD\n\uFFFD\uFFFD', ''],
    ['message', big + '\uFFFD'.repeat(7) + 'é', ''],
    ['t\uFFFD', '\uFFFD\uFFFD', '\uFFFD'],
  ];
  srv.route('/invalid', async (req, res) => {
    sse(res);
    const body = Buffer.concat(sent);
    for (let i = 0; i < body.length; i += 1001) {
      res.write(body.subarray(i, i + 1001));
      await sleep(1);
    }
  });
  const es = source('/invalid');
  const r = recorder(es, ['message', 't\uFFFD']);
  await r.until((l) => l.length >= want.length, 5000, 'every event');
  assert.deepEqual(r.log.map((e) => [e.type, e.data, e.lastEventId]), want);
  es.close();
});

test('many EventSources share the engine', async () => {
  srv.route('/many', (req, res) => {
    sse(res);
    res.write('data: ' + req.url + '\n\n');
  });
  const all = [];
  for (let i = 0; i < 5; i++) all.push(source('/many?' + i));
  const rs = all.map((es) => recorder(es));
  await Promise.all(rs.map((r) => r.until((l) => l.length >= 2, 5000, 'a message')));
  rs.forEach((r, i) => assert.equal(r.log[1].data, '/many?' + i));
  all.forEach((es) => es.close());
  assert.deepEqual(page.loaded.slice().sort(), wasmScripts(srv.origin));
});

test('the XHR transport', async () => {
  let ended = 0;
  srv.route('/xhr', (req, res) => {
    sse(res);
    if (srv.hits('/xhr').length === 1) {
      res.write('retry: 50\nid: x1\ndata: über\n\nevent: t\ndata: 2\n\n');
      setTimeout(() => { ended = performance.now(); res.end(); }, 20);
    } else {
      res.write('data: again\n\n');
    }
  });
  const es = source('/xhr', { transport: 'xhr' });
  const r = recorder(es, ['open', 'message', 'error', 't']);
  await r.until((l) => l.filter((e) => e.type === 'message').length >= 2, 5000, 'two messages');
  assert.deepEqual(r.log.map((e) => e.type + ':' + (e.data || '')), ['open:', 'message:über', 't:2', 'error:', 'open:', 'message:again']);
  const [a, b] = srv.hits('/xhr');
  assert.equal(a.headers.accept, 'text/event-stream');
  assert.equal(b.headers['last-event-id'], 'x1');
  assert.ok(b.time - ended >= 48, `reconnected after ${b.time - ended} ms`);
  es.close();
  await sleep(50);
  assert.ok(srv.hits('/xhr')[1].closed, 'xhr.abort() on close');
});

test('XHR: a stream far past the budget, faster than the page decodes: responseText stays bounded, every event arrives once', async () => {
  const { floodTest } = await import('./lib/flood.mjs');
  await floodTest(srv, source, '/flood', { transport: 'xhr' });
});

test('the XHR transport fails the connection on a bad status', async () => {
  srv.route('/xhr404', (req, res) => res.writeHead(404).end());
  const es = source('/xhr404', { transport: 'xhr' });
  const r = recorder(es);
  await r.until((l) => l.length >= 1, 5000, 'error');
  assert.equal(es.readyState, 2);
});

test('a fetch without a streaming body (EdgeHTML) hands over to XHR', async () => {
  const realFetch = globalThis.fetch;
  globalThis.fetch = (url, init) => realFetch(url, init).then((res) => {
    if (!String(url).includes('/nobody')) return res;
    res.body.cancel();
    return { status: res.status, url: res.url, headers: res.headers, body: null };
  });
  try {
    srv.route('/nobody', (req, res) => {
      sse(res);
      res.write('data: via ' + (srv.hits('/nobody').length) + '\n\n');
    });
    const xhrs = (await import('./lib/xhr.mjs')).FakeXHR.instances.length;
    const es = source('/nobody', { transport: 'fetch' });
    const r = recorder(es);
    await r.until((l) => l.some((e) => e.type === 'message'), 5000, 'a message');
    assert.deepEqual(r.log.map((e) => e.type + ':' + (e.data || '')), ['open:', 'message:via 2']);
    assert.equal((await import('./lib/xhr.mjs')).FakeXHR.instances.length, xhrs + 1);
    es.close();
  } finally {
    globalThis.fetch = realFetch;
  }
});

// The shim writes a body straight into the engine's memory (bytes from
// fetch, text from XHR encoded there): long data of every UTF-8 width,
// split by the network at any place, must come out as sent. (A lone
// surrogate cannot arrive over the wire, so none here.)
for (const transport of ['fetch', 'xhr']) {
  test(`long multi-byte data of every UTF-8 width (${transport})`, async () => {
    const unit = 'aé中😀\u00ff';
    const datas = [unit.repeat(20000), 'x'.repeat(70000), ('😀'.repeat(5000) + '\n').repeat(3).slice(0, -1), 'ü'.repeat(40000)];
    const path = '/pieces-' + transport;
    srv.route(path, (req, res) => {
      sse(res);
      for (const d of datas) res.write('data: ' + d.split('\n').join('\ndata: ') + '\n\n');
    });
    const es = source(path, { transport });
    const r = recorder(es, ['message']);
    await r.until((l) => l.length >= datas.length, 20000, 'every event');
    assert.deepEqual(r.log.map((e) => e.data.length), datas.map((d) => d.length));
    r.log.forEach((e, i) => assert.ok(e.data === datas[i], `event ${i} as sent`));
    es.close();
  });
}

// The engine script meets the shim at one hidden property (src/registry.js):
// through it the engine registered itself (events arrive at all) and
// received the hooks that let its events be its own subclass of
// MessageEvent, dispatched from the shim's lists (fastevents.js).
test('the engine registers through EventSourcePolyfill.__shim and its events are its own', async () => {
  srv.route('/shim', (req, res) => {
    sse(res);
    res.write('data: x\n\n');
  });
  const es = source('/shim');
  const r = recorder(es, ['message']);
  await r.until((l) => l.length >= 1, 5000, 'a message');
  const e = r.log[0].event;
  assert.ok(e instanceof MessageEvent);
  assert.notEqual(Object.getPrototypeOf(e), MessageEvent.prototype, 'the fast events are installed');
  assert.equal(e.data, 'x');
  const shim = EventSourcePolyfill.__shim;
  assert.deepEqual(Object.keys(shim).sort(), ['events', 'modes', 'register']);
  assert.ok(!Object.keys(EventSourcePolyfill).includes('__shim'), 'hidden');
  for (const old of ['__engine', '__lite', '__modes']) assert.equal(EventSourcePolyfill[old], undefined, old);
  assert.equal(Object.getPrototypeOf(es).__polysseEvents, undefined);
  es.close();
});

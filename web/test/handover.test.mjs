// Lite first, then the hand-over (src/engines/handover.js): under Node as a
// page with WebAssembly and no native EventSource, a connection starts on
// the lite engine over XHR, and the WebAssembly engine takes it over on the
// same response at an event boundary, or before the next attempt. The test
// hook EventSourcePolyfill.__shim.handover holds each hand-over until the test
// releases it, so that it can happen at every point of a stream: every
// event arrives exactly once, in order, with its lastEventId, over exactly
// one request; the WebAssembly engine then owns the connection (its
// reconnection is a fetch, with the last event ID and the retry field's
// time).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, sse } from './lib/server.mjs';
import { installBrowser, loadShim, recorder, sleep, until, wasmScripts } from './lib/browser.mjs';
import { FakeXHR } from './lib/xhr.mjs';
import { parser } from '../src/engines/lite/parser.js';

const srv = await startServer();
// A page whose lite engine cannot read with fetch (no TextDecoder, as in
// EdgeHTML; src/transports.js, fetchText): the WebAssembly engine's. Node's
// own fetch needs TextDecoder once, to start: let it, then take it away.
await (await fetch(srv.origin + '/dist/manifest.json')).text();
const page = installBrowser(srv.origin, { remove: ['TextDecoder'] });
loadShim();
after(() => srv.close());

// Before any connection: the script preloads the lite engine as it runs;
// the WebAssembly engine follows on a later task, and waits for the first
// event of a connection made meanwhile (engines/handover.js, park).
const preloaded = page.loaded.slice();
test('the script preloads the lite engine as it runs', () => {
  assert.deepEqual(preloaded, [wasmScripts(srv.origin).find((u) => u.includes('eventsource-lite.'))]);
});

// gated makes an EventSource whose hand-over waits for release().
function gated(path, polyfill) {
  let release = null;
  EventSourcePolyfill.__shim.handover = (go) => { release = go; };
  const es = polyfill ? new EventSourcePolyfill(path, {}) : new EventSource(path);
  EventSourcePolyfill.__shim.handover = undefined;
  assert.equal(typeof release, 'function', 'the hand-over is held');
  return { es, release };
}


// expected parses a whole stream with the lite engine's parser (which
// lite.test.mjs holds to the standard): the events and the last event ID.
function expected(text) {
  const got = [];
  const p = parser((type, data, id) => got.push([type, data, id]), () => {});
  p.feed(text);
  return { events: got, lastId: p.lastId };
}

// A fetch from Node carries a User-Agent; the test XHR (lib/xhr.mjs) none.
const byFetch = (q) => q.headers['user-agent'] !== undefined;

const streams = {
  LF: 'retry: 10\nid: 1\ndata: a\n\ndata: b\ndata: c\n\n: comment\nevent: x\ndata: d\n\nid: 2\n\ndata: e\n\n',
  CR: 'retry: 10\rid: 1\rdata: a\r\rdata: b\r\r:c\rid: 3\rdata: c\r\r',
  CRLF: 'retry: 10\r\nid: 1\r\ndata: a\r\n\r\ndata: b\r\n\r\nid: 4\r\ndata: c\r\n\r\n',
  'mixed, multi-byte': 'retry: 10\nid: é1\ndata: ü€😀\r\n\r\ndata: 😀😀\r\rid: ☃\ndata: x€\n\n',
};
const tail = 'data: tail 😀\n\n';

// The WebAssembly engine boots (the script started it as it ran) while a
// first connection runs on the lite engine; the cases below need it ready.
test('the first connection starts on the lite engine and moves to the WebAssembly engine once it has booted', async () => {
  srv.route('/warm', (req, res) => {
    sse(res);
    res.end('retry: 10\nid: ' + srv.hits('/warm').length + '\ndata: w\n\n');
  });
  const es = new EventSource('/warm');
  const r = recorder(es);
  await until(() => srv.hits('/warm').some(byFetch), 'a request by the WebAssembly engine', 10000);
  const hits = srv.hits('/warm');
  assert.ok(!byFetch(hits[0]), 'the first request is the lite engine\'s XHR');
  const k = hits.findIndex(byFetch);
  assert.ok(hits.slice(k).every(byFetch), 'after the hand-over, every request is the WebAssembly engine\'s');
  assert.equal(hits[k].headers['last-event-id'], String(k));
  await r.until((l) => l.filter((e) => e.type === 'message').length > k, 5000, 'its event');
  assert.deepEqual(r.log.filter((e) => e.type === 'message').map((e) => e.lastEventId).slice(0, k + 1),
    Array.from({ length: k + 1 }, (_, i) => String(i + 1)));
  es.close();
});

let n = 0;
for (const [name, text] of Object.entries(streams)) {
  test(`hand-over at every point of a stream (${name}): each event once, in order, one request`, async () => {
    const bytes = Buffer.from(text);
    const want = expected(text + tail);
    // k = 0: released once the response is open, before any body.
    for (let k = 0; k <= bytes.length; k++) {
      const path = '/h' + n++;
      let res = null;
      srv.route(path, (req, r) => {
        sse(r);
        if (srv.hits(path).length === 1) res = r;
        else r.write('data: after\n\n');
      });
      const { es, release } = gated(path, k % 2 === 1);
      const r = recorder(es, ['open', 'message', 'error', 'x']);
      await r.until((l) => l.length >= 1 && res, 5000, 'open');
      const x = FakeXHR.instances.at(-1);
      const send = async (b) => {
        const c = x.chunks;
        res.write(b);
        await until(() => x.chunks > c, 'the chunk');
      };
      if (k > 0) await send(bytes.subarray(0, k));
      release();
      if (k < bytes.length) await send(bytes.subarray(k));
      await send(Buffer.from(tail));
      const events = () => r.log.filter((e) => e.type !== 'open' && e.type !== 'error');
      await r.until(() => events().length >= want.events.length, 5000, 'the events');
      assert.equal(srv.hits(path).length, 1, `k=${k}: one request`);
      // The WebAssembly engine has the connection now: the end of the
      // response makes it reconnect, with fetch, after the retry field's
      // 10 ms, from the last event ID.
      res.end();
      await r.until(() => events().length >= want.events.length + 1, 5000, 'the event after the reconnection');
      const got = events().map((e) => [e.type, e.data, e.lastEventId]);
      assert.deepEqual(got, [...want.events, ['message', 'after', want.lastId]], `k=${k}`);
      const hits = srv.hits(path);
      assert.equal(hits.length, 2, `k=${k}: one reconnection`);
      assert.ok(byFetch(hits[1]), `k=${k}: the reconnection is the WebAssembly engine's fetch`);
      assert.equal(hits[1].headers['last-event-id'], Buffer.from(want.lastId).toString('latin1'), `k=${k}: Last-Event-ID`);
      assert.ok(hits[1].time - hits[0].closedAt < 1000, `k=${k}: the retry field's time (10 ms), not the default`);
      // One open per response, the error event between them.
      assert.deepEqual(r.log.filter((e) => e.type === 'open' || e.type === 'error').map((e) => e.type), ['open', 'error', 'open'], `k=${k}`);
      es.close();
    }
  });
}

test('hand-over before the response: the WebAssembly engine reads it all', async () => {
  let res = null;
  let go = null;
  srv.route('/before', (req, r) => { res = r; });
  const { es, release } = gated('/before');
  const r = recorder(es);
  await until(() => res, 'the request');
  release();
  sse(res);
  res.write('id: 1\ndata: one\n\n');
  await r.until((l) => l.length >= 2, 5000, 'the event');
  res.end();
  srv.route('/before', (req, r2) => { sse(r2); r2.write('data: two\n\n'); go = req; });
  await r.until((l) => l.filter((e) => e.type === 'message').length >= 2, 10000, 'the second event');
  assert.deepEqual(r.log.map((e) => [e.type, e.data, e.lastEventId]),
    [['open', undefined, undefined], ['message', 'one', '1'], ['error', undefined, undefined], ['open', undefined, undefined], ['message', 'two', '1']]);
  assert.ok(byFetch(srv.hits('/before')[1]));
  assert.equal(go.headers['last-event-id'], '1');
  es.close();
});

test('hand-over while reconnecting: the WebAssembly engine makes the next request, once, with the last event ID and retry', async () => {
  srv.route('/between', (req, res) => {
    sse(res);
    if (srv.hits('/between').length === 1) {
      res.end('retry: 150\nid: 5\ndata: a\n\n');
    } else {
      res.write('data: b\n\n');
    }
  });
  const { es, release } = gated('/between', true);
  const r = recorder(es);
  await r.until((l) => l.some((e) => e.type === 'error'), 5000, 'the error event');
  assert.equal(es.readyState, EventSource.CONNECTING);
  release();
  await r.until((l) => l.filter((e) => e.type === 'message').length >= 2, 5000, 'the second event');
  const hits = srv.hits('/between');
  assert.equal(hits.length, 2, 'no duplicate request');
  assert.ok(!byFetch(hits[0]) && byFetch(hits[1]), 'the lite engine\'s XHR, then the WebAssembly engine\'s fetch');
  assert.equal(hits[1].headers['last-event-id'], '5');
  assert.ok(hits[1].time - hits[0].closedAt >= 140, 'the retry field\'s time');
  assert.deepEqual(r.log.map((e) => [e.type, e.data, e.lastEventId]),
    [['open', undefined, undefined], ['message', 'a', '5'], ['error', undefined, undefined], ['open', undefined, undefined], ['message', 'b', '5']]);
  es.close();
});

for (const when of ['in a listener of the event before the boundary', 'between the release and the boundary']) {
  test(`close() during the hand-over (${when}): nothing more, no request`, async () => {
    const path = '/close' + n++;
    let res = null;
    srv.route(path, (req, r) => { sse(r); res = r; });
    const { es, release } = gated(path);
    const r = recorder(es);
    await r.until((l) => l.length >= 1 && res, 5000, 'open');
    const x = FakeXHR.instances.at(-1);
    res.write('data: a\n\ndata: b');
    await r.until((l) => l.length >= 2, 5000, 'a');
    release();
    if (when.startsWith('in')) {
      es.addEventListener('message', (e) => { if (e.data === 'b') es.close(); });
    } else {
      es.close();
    }
    const c = x.chunks;
    res.write('\n\ndata: c\n\n');
    await until(() => x.chunks > c || srv.hits(path)[0].closed, 'the chunk or the abort');
    await until(() => srv.hits(path)[0].closed, 'the request aborted');
    await sleep(50);
    assert.equal(srv.hits(path).length, 1);
    assert.equal(es.readyState, EventSource.CLOSED);
    const data = r.log.filter((e) => e.type === 'message').map((e) => e.data);
    assert.deepEqual(data, when.startsWith('in') ? ['a', 'b'] : ['a']);
  });
}

test('connections made once the engine is ready go to it directly', async () => {
  srv.route('/direct', (req, res) => { sse(res); res.write('data: d\n\n'); });
  const before = FakeXHR.instances.length;
  const es = new EventSource('/direct');
  const r = recorder(es);
  await r.until((l) => l.length >= 2, 5000, 'the event');
  assert.equal(FakeXHR.instances.length, before, 'no XHR: the WebAssembly engine\'s fetch');
  assert.ok(byFetch(srv.hits('/direct')[0]));
  es.close();
});

test('an attempt without a response (XHR cannot tell an error from a CORS refusal) is the WebAssembly engine\'s to make again, with no error event before', async () => {
  srv.route('/undecided', (req, res) => {
    if (srv.hits('/undecided').length === 1) {
      req.socket.destroy();
      return;
    }
    sse(res);
    res.write('data: u\n\n');
  });
  const { es, release } = gated('/undecided');
  const r = recorder(es);
  await until(() => srv.hits('/undecided').length === 1 && srv.hits('/undecided')[0].closed, 'the first request to fail');
  await sleep(50);
  assert.equal(srv.hits('/undecided').length, 1, 'held: no request until the WebAssembly engine takes it');
  assert.deepEqual(r.log, []);
  release();
  await r.until((l) => l.length >= 2, 5000, 'the event');
  const hits = srv.hits('/undecided');
  assert.equal(hits.length, 2);
  assert.ok(!byFetch(hits[0]) && byFetch(hits[1]));
  assert.deepEqual(r.log.map((e) => [e.type, e.data]), [['open', undefined], ['message', 'u']]);
  es.close();
});

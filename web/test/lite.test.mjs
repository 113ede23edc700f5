// The IE10-11 path: no WebAssembly, no EventTarget, no Event or MessageEvent
// constructors, XMLHttpRequest streaming. The shim loads the lite engine
// (eventsource-lite.<hash>.js), which must parse as ES5 like the shim, and
// runs every connection on XHR: events, reconnection with the last event ID
// in the query, the byte budget, and the fallback from streaming to padded
// streaming to long-poll when a proxy holds the response back.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as acorn from 'acorn';
import { startServer, sse, dist } from './lib/server.mjs';
import { installBrowser, loadShim, recorder, sleep, sources } from './lib/browser.mjs';
import { streamCases } from './lib/streamcases.mjs';
import { FakeXHR } from './lib/xhr.mjs';
import { parser } from '../src/engines/lite/parser.js';
import { blankEnd } from '../src/transports.js';

const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8'));

test('every script the IE path loads parses as ES5, each one IIFE', () => {
  assert.match(manifest.lite, /^eventsource-lite\.[0-9a-f]{12}\.js$/);
  assert.match(manifest.liteXHR, /^eventsource-lite\.xhr\.[0-9a-f]{12}\.js$/);
  // IE loads the second lite file; the first is ES5 as well.
  for (const f of ['eventsource.js', manifest.liteXHR, manifest.lite]) {
    const src = readFileSync(join(dist, f), 'utf8');
    const ast = acorn.parse(src, { ecmaVersion: 5, sourceType: 'script' });
    assert.equal(ast.body.length, 1, f + ': one statement');
  }
  const shim = readFileSync(join(dist, 'eventsource.js'), 'utf8');
  assert.ok(shim.includes(JSON.stringify(manifest.lite)), 'the shim names the lite engine');
  assert.ok(shim.includes(JSON.stringify(manifest.liteXHR)), 'the shim names the lite engine without fetch');
  // What IE lacks is never used on its path: the lite engine reads with
  // fetch only where src/transports.js's fetchText finds it, so it looks
  // those names up on the window, never as bare names (which throw in IE).
  const lite = readFileSync(join(dist, manifest.lite), 'utf8');
  const xhr = readFileSync(join(dist, manifest.liteXHR), 'utf8');
  for (const word of ['fetch', 'TextDecoder', 'ReadableStream', 'AbortController']) {
    assert.ok(new RegExp('\\.' + word + '\\b').test(lite), `the lite engine looks up ${word}`);
  }
  // Both files, though IE loads only the second. (Uint8Array is in IE10-11;
  // bytes.js's use of its indexOf, which IE lacks, is on the fetch path only.)
  for (const [name, src] of [['lite', lite], ['liteXHR', xhr]]) {
    assert.ok(!/\bPromise\b/.test(src), `${name} mentions Promise`);
    for (const word of ['fetch', 'TextDecoder', 'ReadableStream', 'AbortController']) {
      assert.ok(!new RegExp('(^|[^.\\w$"\'])' + word + '\\b').test(src), `${name} names ${word} bare`);
    }
  }
  // The file for IE and EdgeHTML has no fetch reader and no line search
  // in WebAssembly: it never reads a stream with fetch.
  for (const word of ['getReader', 'AbortController', 'WebAssembly']) {
    assert.ok(!new RegExp('\\b' + word + '\\b').test(xhr), `the XHR lite engine mentions ${word}`);
  }
  assert.ok(xhr.length < 0.7 * lite.length, `the XHR lite engine is ${xhr.length} bytes, the other ${lite.length}`);
});

test('the parser follows the standard, however the text is split', () => {
  for (const [text, want] of streamCases) {
    // Whole, and in three parts cut at every pair of positions (a line that
    // spans two or three parts, empty parts, a part that is only a line end).
    for (let cut = 0; cut <= text.length; cut++) {
      for (let cut2 = cut; cut2 <= text.length; cut2++) {
        const got = [];
        const p = parser((t, d, i) => got.push([t, d, i]), () => {});
        p.feed(text.slice(0, cut));
        p.feed(text.slice(cut, cut2));
        p.feed(text.slice(cut2));
        assert.deepEqual(got, want, `${JSON.stringify(text)} cut at ${cut} and ${cut2}`);
      }
    }
  }
});

test('the parser: retry, partial events, the last event ID across connections', () => {
  const retries = [];
  const got = [];
  const p = parser((t, d, i) => got.push([t, d, i]), (ms) => retries.push(ms));
  p.feed('retry: 5000\nretry: 50\nretry: 5000x\nretry: 5.0\nretry:  70\nretry: -1\nretry\n\n');
  assert.deepEqual(retries, [5000, 50]);
  p.feed('id: 7\ndata: a\n\ndata: part');
  assert.equal(p.clean(), false);
  assert.equal(p.lastId, '7');
  p.reset(); // the connection dropped: the partial event is gone
  assert.equal(p.clean(), true);
  p.feed('id: 8\ndata: lost\n');
  p.reset(); // an id never dispatched is forgotten too
  p.feed('data: b\n\n');
  assert.deepEqual(got, [['message', 'a', '7'], ['message', 'b', '7']]);
  assert.equal(p.clean(), true);
  // A CR ends a line at once, and an LF starting the next part belongs to it.
  const q = parser((t, d) => got.push(d), () => {});
  q.feed('data: x\r');
  q.feed('\ndata: y\r\r');
  assert.equal(got.at(-1), 'x\ny');
});

test('blankEnd finds the end of the last blank line, in every line ending', () => {
  const cases = [
    ['data: a\n\ndata: b', 0, 9], ['data: a\r\rdata: b', 0, 9], ['data: a\r\n\r\nx', 0, 11],
    ['data: a\n\r\nx', 0, 10], ['data: a\r\n\nx', 0, 10], ['data: a\n\rx', 0, 9],
    ['data: a\n\ndata: b\n\n', 0, 18], ['data: a\n\ndata: b\n\n', 10, 18],
    ['data: a\n\ndata: b\n', 10, -1], ['data: a\r\ndata: b\r\n', 0, -1], ['', 0, -1],
    // A CR at the end may be the start of a CRLF: not yet a boundary.
    ['data: a\n\ndata: b\r\r', 0, 9], ['data: a\n\r', 0, -1],
    // The pair may start just before from.
    ['data: a\n\n', 8, 9],
  ];
  for (const [text, from, want] of cases) {
    assert.equal(blankEnd(text, from), want, `${JSON.stringify(text)} from ${from}`);
  }
});

const srv = await startServer();
// Node's own fetch needs Event once, to start: let it, then take it away
// from the page.
await (await fetch(srv.origin + '/dist/manifest.json')).text();
const page = installBrowser(srv.origin, { remove: ['WebAssembly', 'fetch', 'EventTarget', 'Event', 'MessageEvent'] });
loadShim();
after(() => srv.close());

const source = sources(after);

test('IE gets the lite engine, loaded once, and events arrive', async () => {
  srv.route('/basic', (req, res) => {
    sse(res);
    res.write('retry: 3000\n\nid: 1\ndata: hello\n\nevent: custom\ndata: a\ndata: b\n\n: comment\ndata: ünï€😀\n\n');
  });
  const es = source('/basic');
  const es2 = source('/basic');
  assert.equal(es.readyState, 0);
  const r = recorder(es, ['open', 'message', 'error', 'custom']);
  const r2 = recorder(es2);
  await r.until((l) => l.length >= 4, 5000, 'four events');
  await r2.until((l) => l.length >= 3, 5000, 'three events');
  assert.deepEqual(r.log.map((e) => [e.type, e.data, e.lastEventId, e.readyState]), [
    ['open', undefined, undefined, 1],
    ['message', 'hello', '1', 1],
    ['custom', 'a\nb', '1', 1],
    ['message', 'ünï€😀', '1', 1],
  ]);
  assert.equal(r.log[1].origin, srv.origin);
  assert.equal(r.log[1].event.target, es);
  assert.equal(es.__polysse.engine, 'lite');
  assert.deepEqual(page.loaded, [srv.origin + '/dist/' + manifest.liteXHR], 'the lite engine without fetch, once; never the WebAssembly engine');
  const q = srv.hits('/basic')[0];
  assert.equal(q.headers.accept, 'text/event-stream');
  assert.equal(q.headers['cache-control'], 'no-cache', 'same origin: Cache-Control');
  assert.equal(q.url, '/basic', 'nothing added to the first URL');
  es.close();
  es2.close();
  assert.equal(es.readyState, 2);
});

test('a clean end reconnects after the retry time with Last-Event-ID, the id UTF-8 encoded', async () => {
  let n = 0;
  srv.route('/retry', (req, res) => {
    sse(res);
    if (++n === 1) {
      res.end('retry: 50\nid: é/1\ndata: a\n\ndata: partial\n');
      return;
    }
    res.write('data: b\n\n');
  });
  const es = source('/retry?x=1', { reportEngine: true });
  const r = recorder(es);
  await r.until((l) => l.length >= 5, 5000, 'reconnection');
  assert.deepEqual(r.log.map((e) => [e.type, e.data, e.lastEventId, e.readyState]), [
    ['open', undefined, undefined, 1],
    ['message', 'a', 'é/1', 1],
    ['error', undefined, undefined, 0],
    ['open', undefined, undefined, 1],
    ['message', 'b', 'é/1', 1],
  ]);
  const hits = srv.hits('/retry');
  assert.equal(hits[0].url, '/retry?x=1&_engine=lite');
  assert.equal(hits[1].url, '/retry?x=1&_engine=lite');
  assert.equal(Buffer.from(hits[1].headers['last-event-id'], 'latin1').toString('utf8'), 'é/1');
  assert.equal(hits[0].headers['cache-control'], 'no-cache', 'same origin: asks for no cache');
  assert.ok(hits[1].time - hits[0].time >= 45, 'waited the retry time');
  es.close();
  const named = source('/retry', { lastEventIdQueryParameterName: 'lastEventID' });
  named.close();
});

test('status and type: 204 and 500 fail, a 401 asks the hook', async () => {
  srv.route('/204', (req, res) => res.writeHead(204).end());
  srv.route('/500', (req, res) => { res.writeHead(500, { 'Content-Type': 'text/event-stream' }); res.end('data: x\n\n'); });
  srv.route('/type', (req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('data: x\n\n'); });
  for (const path of ['/204', '/500', '/type']) {
    const es = source(path);
    const r = recorder(es);
    await r.until((l) => l.length >= 1, 5000, path);
    await sleep(100);
    assert.deepEqual(r.log.map((e) => [e.type, e.readyState]), [['error', 2]], path);
    assert.equal(srv.hits(path).length, 1, path + ': no reconnection');
  }
  let auth = 0;
  srv.route('/401', (req, res) => {
    if (++auth === 1) {
      res.writeHead(401).end();
      return;
    }
    sse(res);
    res.write('data: in\n\n');
  });
  const calls = [];
  const es = source('/401', { retry: { onAuthError: (code, target) => { calls.push([code, target === es]); return 20; } } });
  const r = recorder(es);
  await r.until((l) => l.some((e) => e.data === 'in'), 5000, 'after the hook');
  assert.deepEqual(calls, [[401, true]]);
  assert.deepEqual(r.log.map((e) => e.type), ['error', 'open', 'message']);
});

test('past the byte budget the XHR is replaced between two events, unseen', async () => {
  const big = 'x'.repeat(64 * 1024);
  let n = 0;
  srv.route('/budget', (req, res) => {
    const first = ++n === 1;
    sse(res);
    let i = first ? 0 : Number(req.headers['last-event-id']) + 1;
    const stop = i + (first ? 70 : 10);
    const next = () => {
      if (i >= stop || res.destroyed) return;
      res.write(`id: ${i}\ndata: ${i} ${big}\n\n`, () => setImmediate(next));
      i++;
    };
    next();
  });
  const es = source('/budget');
  const got = [];
  let errors = 0;
  let opens = 0;
  es.onmessage = (e) => got.push(Number(e.data.split(' ')[0]));
  es.onerror = () => errors++;
  es.onopen = () => opens++;
  const until = Date.now() + 10000;
  while (got.length < 72 && Date.now() < until) await sleep(20);
  assert.equal(srv.hits('/budget').length, 2, 'one replacement');
  assert.match(srv.hits('/budget')[1].headers['last-event-id'], /^6[0-9]$/);
  assert.deepEqual(got, Array.from({ length: got.length }, (_, i) => i), 'in order, none lost or repeated');
  assert.ok(got.length >= 72, `${got.length} events`);
  assert.equal(errors, 0);
  assert.equal(opens, 1);
  es.close();
});

test('a response that delivers nothing falls back to padding, then to long-poll, remembered for the page', async () => {
  const seen = [];
  let polls = 0;
  srv.route('/held', (req, res) => {
    const q = new URL(req.url, 'http://x').searchParams;
    seen.push(q.get('transport') || (q.get('padding') ? 'padded' : 'stream'));
    if (q.get('transport') !== 'poll') {
      sse(res); // the head, then nothing: a buffering proxy
      return;
    }
    sse(res);
    polls++;
    const id = Number(q.get('lastEventId') || 0);
    res.end(`retry: 3000\n\nid: ${id}\n\nid: ${id + 1}\ndata: poll ${polls}\n\nretry: 10\n`);
  });
  const es = source('/held', { fallbackTimeout: 150 });
  const r = recorder(es);
  await r.until((l) => l.filter((e) => e.type === 'message').length >= 3, 5000, 'three polls');
  assert.deepEqual(seen.slice(0, 3), ['stream', 'padded', 'poll']);
  assert.deepEqual(r.log.slice(0, 4).map((e) => [e.type, e.data, e.lastEventId]), [
    ['open', undefined, undefined],
    ['message', 'poll 1', '1'],
    ['message', 'poll 2', '2'],
    ['message', 'poll 3', '3'],
  ], 'one open, no error between polls');
  es.close();
  await sleep(50);
  const after = seen.length;
  await sleep(100);
  assert.equal(seen.length, after, 'close() stops the polling');
  // A new EventSource to the same origin starts with long-poll.
  const es2 = source('/held', {});
  const r2 = recorder(es2);
  await r2.until((l) => l.some((e) => e.type === 'message'), 5000, 'a poll');
  assert.equal(seen[after], 'poll');
  es2.close();
});

test('close() right after the constructor aborts the request and nothing follows', async () => {
  srv.route('/never', (req, res) => sse(res));
  const before = FakeXHR.instances.length;
  const es = source('/never');
  es.onerror = () => assert.fail('no error after close()');
  es.close();
  await sleep(100);
  const made = FakeXHR.instances.slice(before);
  assert.ok(made.length <= 1);
  assert.ok(made.every((x) => x._aborted));
});

test('502, 503 and 504 reconnect with backoff, as network errors; maxAttempts ends it', async () => {
  let n = 0;
  srv.route('/gateway', (req, res) => {
    n++;
    res.writeHead(500 + 2 + (n % 3), { 'Content-Type': 'text/html' }).end('<h1>Bad Gateway</h1>');
  });
  const es = source('/gateway', { retry: { initial: 10, jitter: 0 }, maxAttempts: 3 });
  const r = recorder(es);
  await r.until((l) => l.some((e) => e.readyState === 2), 5000, 'CLOSED');
  // Three reconnections, then CLOSED.
  assert.deepEqual(r.log.map((e) => [e.type, e.readyState]), [['error', 0], ['error', 0], ['error', 0], ['error', 2]]);
  assert.equal(n, 4);
  await sleep(100);
  assert.equal(n, 4, 'nothing after CLOSED');
  // The standard EventSource fails at the first.
  const std = source('/gateway');
  const rs = recorder(std);
  await rs.until((l) => l.length >= 1, 5000, 'error');
  await sleep(100);
  assert.deepEqual(rs.log.map((e) => [e.type, e.readyState]), [['error', 2]]);
  assert.equal(n, 5);
});

test('a stream far past the budget, faster than the page decodes: responseText stays bounded, every event arrives once', async () => {
  const { floodTest } = await import('./lib/flood.mjs');
  await floodTest(srv, source, '/flood');
});

// The EdgeHTML profile: no TextEncoder, TextDecoder, globalThis or
// constructible EventTarget, so the engine runs on the shim's text codecs
// and EventSource dispatches with the shim's own listener lists.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, sse } from './lib/server.mjs';
import { installBrowser, loadShim, recorder, sleep, until, wasmScripts } from './lib/browser.mjs';

const reported = [];
const srv = await startServer();
// Node's own fetch needs TextEncoder once, to start: let it, then take it
// away from the page.
await (await fetch(srv.origin + '/dist/eventsource.js')).text();
const page = installBrowser(srv.origin, { remove: ['TextEncoder', 'TextDecoder', 'EventTarget'], noGlobalThis: true });
globalThis.reportError = (err) => reported.push(err);
loadShim();
after(() => srv.close());

test('events flow through the fallback codecs and listener lists', async () => {
  srv.route('/s', (req, res) => {
    sse(res);
    res.write('id: é1\ndata: hello ü€😀\n\nevent: custom\ndata: a\n\n');
  });
  const es = new EventSource('/s');
  assert.ok(!(es instanceof (window.EventTarget || function () {})));
  const r = recorder(es, ['open', 'message', 'custom']);
  await r.until((l) => l.length >= 3, 10000, 'three events');
  assert.deepEqual(r.log.map((e) => [e.type, e.data, e.lastEventId]), [
    ['open', undefined, undefined], ['message', 'hello ü€😀', 'é1'], ['custom', 'a', 'é1']]);
  assert.equal(r.log[1].event.target, es);
  assert.equal(r.log[1].event.origin, srv.origin);
  assert.equal(typeof window.TextEncoder, 'undefined', 'nothing leaks into the page');
  assert.equal(typeof window.Go, 'undefined');
  assert.equal(typeof window.fs, 'undefined');
  assert.equal(typeof window.process === "object" && window.process.pid === -1, false);
  // The engine loads after the first event of a connection still open
  // (park.test.mjs).
  await until(() => page.loaded.length >= 2, 'the engine to load');
  assert.deepEqual(page.loaded.slice().sort(), wasmScripts(srv.origin));
  es.close();
});


test('a throwing listener is reported and the stream goes on', async () => {
  srv.route('/throw', (req, res) => {
    sse(res);
    res.write('data: 1\n\n');
    setTimeout(() => res.write('data: 2\n\n'), 30);
  });
  const es = new EventSource('/throw');
  es.addEventListener('message', () => { throw new Error('boom'); });
  const r = recorder(es);
  await r.until((l) => l.filter((e) => e.type === 'message').length >= 2, 5000, 'two messages');
  assert.equal(reported.length, 2);
  assert.equal(reported[0].message, 'boom');
  assert.equal(es.readyState, 1);
  es.close();
});

// Listener semantics, exercised with dispatchEvent so that no network is
// involved: the same code dispatches the engine's events.
function target() {
  const es = new EventSource('/nowhere-' + Math.random());
  es.close();
  return es;
}
function ev(type) { return new Event(type); }

test('listeners run in order, once per (type, callback, capture)', () => {
  const es = target();
  const got = [];
  const a = () => got.push('a');
  const b = { handleEvent: (e) => got.push('b:' + e.type) };
  es.addEventListener('x', a);
  es.addEventListener('x', b);
  es.addEventListener('x', a); // duplicate: ignored
  es.addEventListener('x', a, true); // capture: distinct, and first at the target
  es.addEventListener('x', () => got.push('once'), { once: true });
  es.addEventListener('x', null);
  assert.equal(es.dispatchEvent(ev('x')), true);
  es.dispatchEvent(ev('x'));
  assert.deepEqual(got, ['a', 'a', 'b:x', 'once', 'a', 'a', 'b:x']);
});

test('removal during dispatch: removed listeners are skipped, added ones wait', () => {
  const es = target();
  const got = [];
  const c = () => got.push('c');
  const late = () => got.push('late');
  es.addEventListener('x', () => { got.push('a'); es.removeEventListener('x', c); es.addEventListener('x', late); });
  es.addEventListener('x', c);
  es.dispatchEvent(ev('x'));
  assert.deepEqual(got, ['a']);
  es.dispatchEvent(ev('x'));
  assert.deepEqual(got, ['a', 'a', 'late']);
  es.removeEventListener('x', late, true); // wrong capture flag: still there
  es.dispatchEvent(ev('x'));
  assert.equal(got.filter((g) => g === 'late').length, 2);
});

test('stopImmediatePropagation, target fields, defaultPrevented', () => {
  const es = target();
  const got = [];
  es.addEventListener('x', (e) => { got.push([e.target === es, e.currentTarget === es, e.eventPhase]); e.stopImmediatePropagation(); e.preventDefault(); });
  es.addEventListener('x', () => got.push('second'));
  const e = new Event('x', { cancelable: true });
  assert.equal(es.dispatchEvent(e), false);
  assert.deepEqual(got, [[true, true, 2]]);
  assert.equal(e.currentTarget, null);
  assert.throws(() => es.dispatchEvent({}), TypeError);
});

test('signal removes a listener', () => {
  const es = target();
  const ctrl = new AbortController();
  let n = 0;
  es.addEventListener('x', () => n++, { signal: ctrl.signal });
  es.dispatchEvent(ev('x'));
  ctrl.abort();
  es.dispatchEvent(ev('x'));
  assert.equal(n, 1);
});

test('on… handlers keep the place of their first assignment', () => {
  const es = target();
  const got = [];
  es.addEventListener('message', () => got.push('before'));
  es.onmessage = () => got.push('h1');
  es.addEventListener('message', () => got.push('after'));
  es.onmessage = function (e) { got.push('h2:' + (this === es) + ':' + e.type); };
  es.dispatchEvent(ev('message'));
  assert.deepEqual(got, ['before', 'h2:true:message', 'after']);
  assert.equal(typeof es.onmessage, 'function');
  es.onmessage = null;
  assert.equal(es.onmessage, null);
  got.length = 0;
  es.dispatchEvent(ev('message'));
  assert.deepEqual(got, ['before', 'after']);
  es.onmessage = () => got.push('h3'); // re-added at the end
  got.length = 0;
  es.dispatchEvent(ev('message'));
  assert.deepEqual(got, ['before', 'after', 'h3']);
});

test('the fallback text codecs agree with the Encoding standard', async () => {
  const { fallback } = await import('../src/textcodec.js');
  const { TextDecoder: NodeDecoder, TextEncoder: NodeEncoder } = await import('node:util');
  const dec = new fallback.TextDecoder();
  const enc = new fallback.TextEncoder();
  const ref = new NodeDecoder('utf-8');
  const refEnc = new NodeEncoder();
  const interesting = [0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xa0, 0xed, 0x9f, 0xef, 0xf0, 0x90, 0xf4, 0x8f, 0xf5, 0xff];
  let seed = 1;
  const rand = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  for (let i = 0; i < 3000; i++) {
    const len = rand(12);
    const b = new Uint8Array(len);
    for (let j = 0; j < len; j++) b[j] = rand(3) ? interesting[rand(interesting.length)] : rand(256);
    assert.equal(dec.decode(b), ref.decode(b), `bytes ${Array.from(b)}`);
    assert.equal(dec.decode(new DataView(b.buffer)), ref.decode(b));
  }
  const big = 'a€😀\ud800b'.repeat(5000);
  assert.deepEqual(Array.from(enc.encode(big)), Array.from(refEnc.encode(big)));
  assert.equal(dec.decode(enc.encode(big)), ref.decode(refEnc.encode(big)));
});

test('long multi-byte data over XHR through the fallback encoder', async () => {
  const datas = ['aé中😀\u00ff'.repeat(20000), 'x'.repeat(70000), '😀'.repeat(17000)];
  srv.route('/pieces', (req, res) => {
    sse(res);
    for (const d of datas) res.write('data: ' + d + '\n\n');
  });
  const es = new EventSource('/pieces', { transport: 'xhr' });
  const r = recorder(es, ['message']);
  await r.until((l) => l.length >= datas.length, 20000, 'every event');
  r.log.forEach((e, i) => assert.ok(e.data === datas[i], `event ${i} as sent (${e.data.length} characters, want ${datas[i].length})`));
  es.close();
});

test('encodeInto, in script and with the browser\'s, writes any text in pieces of any size as TextEncoder encodes it', async () => {
  const { encodeInto } = await import('../src/textcodec.js');
  const { TextEncoder: NodeEncoder } = await import('node:util');
  const ref = new NodeEncoder();
  const parts = ['a', 'é', '中', '😀', '\ud800', '\udc00', 'xyz', '\u07ff', '\u0800', '\uffff'];
  let seed = 7;
  const rand = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  for (let t = 0; t < 400; t++) {
    let text = '';
    for (let k = rand(30); k > 0; k--) text += parts[rand(parts.length)];
    const want = Array.from(ref.encode(text));
    for (const enc of [null, ref]) {
      const cap = 4 + rand(12);
      const buf = new Uint8Array(cap + 8);
      const got = [];
      for (let at = 0; at < text.length;) {
        const r = encodeInto(enc, text, at, buf, 3, cap);
        assert.ok(r.read > 0 && r.written <= cap, `progress with cap ${cap}`);
        got.push(...buf.subarray(3, 3 + r.written));
        at += r.read;
      }
      assert.deepEqual(got, want, `${JSON.stringify(text)} in pieces of ${cap}, ${enc ? 'native' : 'script'}`);
    }
  }
});

// The standard EventSource (window.EventSource where the browser has none)
// against EventSourcePolyfill: the first behaves as the WHATWG HTML
// server-sent events section says, the second adds its documented
// leniencies. Under Node as a modern page without a native EventSource,
// where both run on the lite engine over fetch (web/src/index.js).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, sse } from './lib/server.mjs';
import { installBrowser, loadShim, recorder, sleep, sources } from './lib/browser.mjs';

const reported = [];
const srv = await startServer();
installBrowser(srv.origin);
globalThis.reportError = (err) => reported.push(err);
const fetched = [];
const realFetch = globalThis.fetch;
globalThis.fetch = (url, init) => {
  fetched.push(String(url));
  return realFetch(url, init);
};
loadShim();
after(() => srv.close());

const source = sources(after);

test('a URL of another scheme than http(s) fails the connection without a request', async () => {
  for (const url of ['ftp://example.test/', 'about:blank', 'mailto:a@example.test', "javascript:void'x'"]) {
    const before = fetched.length;
    const es = new EventSource(url);
    assert.equal(es.readyState, 0, url + ': CONNECTING at first');
    const r = recorder(es);
    await r.until((l) => l.length >= 1, 5000, url);
    await sleep(50);
    assert.deepEqual(r.log.map((e) => [e.type, e.readyState]), [['error', 2]], url);
    assert.equal(fetched.slice(before).filter((u) => !u.includes('/dist/')).length, 0, url + ': no request');
  }
});

test('any event type name is safe, and a throwing listener costs no later event', async () => {
  const types = ['constructor', 'hasOwnProperty', '__proto__', 'toString', 'valueOf'];
  srv.route('/types', (req, res) => {
    sse(res);
    // One chunk: the engine hands these over as one batch.
    res.write(types.map((t) => `event: ${t}\ndata: ${t}\n\n`).join('') + 'data: last\n\n');
  });
  const es = source('/types');
  const got = [];
  for (const t of types) {
    es.addEventListener(t, (e) => {
      got.push(e.type + '=' + e.data);
      throw new Error('listener of ' + t);
    });
  }
  es.onmessage = (e) => got.push('message=' + e.data);
  const until = Date.now() + 10000;
  while (got.length < types.length + 1 && Date.now() < until) await sleep(20);
  assert.deepEqual(got, [...types.map((t) => t + '=' + t), 'message=last']);
  assert.equal(reported.length, types.length, 'each exception reported');
  assert.equal(es.readyState, 1);
  es.close();
});

test('503 fails the standard EventSource; EventSourcePolyfill reconnects, unless told not to', async () => {
  let n = 0;
  srv.route('/503', (req, res) => {
    n++;
    if (n === 3) {
      sse(res);
      res.write('data: back\n\n');
      return;
    }
    res.writeHead(503, { 'Content-Type': 'text/plain' }).end('restarting');
  });
  const std = source('/503');
  const rs = recorder(std);
  await rs.until((l) => l.length >= 1, 5000, 'error');
  await sleep(100);
  assert.deepEqual(rs.log.map((e) => [e.type, e.readyState]), [['error', 2]]);
  assert.equal(n, 1);

  const poly = source('/503', { retry: { initial: 10, jitter: 0 } });
  const rp = recorder(poly);
  await rp.until((l) => l.some((e) => e.data === 'back'), 5000, 'the stream back');
  assert.deepEqual(rp.log.map((e) => [e.type, e.readyState]), [['error', 0], ['open', 1], ['message', 1]]);
  poly.close();

  n = 0;
  const strict = source('/503', { retryGatewayErrors: false });
  const rx = recorder(strict);
  await rx.until((l) => l.length >= 1, 5000, 'error');
  assert.deepEqual(rx.log.map((e) => [e.type, e.readyState]), [['error', 2]]);
});

test('the standard EventSource reads only withCredentials of its second argument', async () => {
  srv.route('/opts', (req, res) => {
    sse(res);
    res.write('data: ' + (req.headers['x-secret'] || 'none') + ' ' + req.url + '\n\n');
  });
  const es = new EventSource('/opts', { headers: { 'X-Secret': 'k' }, reportEngine: true, withCredentials: true });
  assert.equal(es.withCredentials, true);
  const r = recorder(es);
  await r.until((l) => l.some((e) => e.type === 'message'), 5000, 'a message');
  assert.equal(r.log.find((e) => e.type === 'message').data, 'none /opts');
  es.close();
});

test('XHR: exactly one leading BOM is skipped; Cache-Control asked for on the page\'s own origin', async () => {
  srv.route('/bom', (req, res) => {
    sse(res);
    res.write('\uFEFF\uFEFFdata: 1\n\ndata: 2\n\n');
  });
  srv.route('/bom1', (req, res) => {
    sse(res);
    res.write('\uFEFFdata: 1\n\n');
  });
  const two = source('/bom', { transport: 'xhr' });
  const one = source('/bom1', { transport: 'xhr' });
  const r2 = recorder(two);
  const r1 = recorder(one);
  await r2.until((l) => l.some((e) => e.type === 'message'), 5000, 'a message');
  await r1.until((l) => l.some((e) => e.type === 'message'), 5000, 'a message');
  await sleep(50);
  assert.deepEqual(r2.log.filter((e) => e.type === 'message').map((e) => e.data), ['2']);
  assert.deepEqual(r1.log.filter((e) => e.type === 'message').map((e) => e.data), ['1']);
  assert.equal(srv.hits('/bom')[0].headers['cache-control'], 'no-cache');
});

test('fetch: a redirect never receives the headers option\'s headers', async () => {
  srv.route('/moved', (req, res) => res.writeHead(302, { Location: '/target' }).end());
  srv.route('/target', (req, res) => {
    sse(res);
    res.write('data: ' + (req.headers['x-api-key'] || 'none') + '\n\n');
  });
  const es = source('/moved', { headers: { 'X-Api-Key': 'secret' }, transport: 'fetch' });
  const r = recorder(es);
  await r.until((l) => l.some((e) => e.type === 'message'), 5000, 'a message');
  assert.equal(srv.hits('/moved')[0].headers['x-api-key'], 'secret', 'sent to the URL given');
  assert.equal(r.log.find((e) => e.type === 'message').data, 'none', 'not to the redirect');
});

// The stream's request at construction (src/engines/handover.js, sendEarly
// in src/transports.js), on a page without a native EventSource whose first
// connection is made while the lite engine's file is still loading (made
// synchronously after the script, as a page's inline script would;
// lib/browser.mjs loads scripts asynchronously): the request goes out in
// the EventSource constructor, as the browser's own EventSource's would,
// and the lite engine takes that very request as its first one, so that
// the stream is requested once. earlysend.test.mjs runs it on a page with
// WebAssembly whose lite engine reads with XHR (EdgeHTML: no TextDecoder),
// earlysend-ie.test.mjs on one without WebAssembly (IE10-11), both over
// XHR; earlysend-fetch.test.mjs on a modern page, where the lite engine
// reads with fetch, and the request in the constructor is a fetch.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, sse } from './server.mjs';
import { installBrowser, loadShim, recorder } from './browser.mjs';
import { FakeXHR } from './xhr.mjs';

export async function earlySend(remove, via = 'xhr') {
  const srv = await startServer();
  // Node's own fetch needs Event once, to start, before a page takes it
  // away.
  await (await fetch(srv.origin + '/dist/manifest.json')).text();
  const page = installBrowser(srv.origin, { remove });
  loadShim();
  after(() => srv.close());

  const requests = [];
  srv.route('/early', (req, res) => {
    requests.push(req.headers);
    sse(res);
    res.write('id: 7\ndata: first\n\n');
  });

  const fetched = [];
  const pageFetch = globalThis.fetch;
  if (pageFetch) {
    globalThis.fetch = function (url, init) {
      fetched.push(String(url));
      return pageFetch.call(this, url, init);
    };
    after(() => { globalThis.fetch = pageFetch; });
  }
  const before = FakeXHR.instances.length;
  const es = new EventSource('/early');
  const sentAtConstruction = via === 'xhr' ? FakeXHR.instances.length - before : fetched.length;
  const other = via === 'xhr' ? fetched.length : FakeXHR.instances.length - before;
  const r = recorder(es);

  test('the stream is requested in the constructor, once, and the lite engine serves it', async () => {
    assert.equal(sentAtConstruction, 1, `${via === 'xhr' ? 'an XHR' : 'a fetch'} sent by the constructor`);
    assert.equal(other, 0, 'nothing else');
    assert.equal(via === 'xhr' ? FakeXHR.instances[before]._url : fetched[0], srv.origin + '/early');
    await r.until((l) => l.some((e) => e.type === 'message'), 10000, 'the first event');
    const m = r.log.find((e) => e.type === 'message');
    assert.deepEqual([m.data, m.lastEventId], ['first', '7']);
    assert.equal(requests.length, 1, 'one request for the stream');
    assert.equal(requests[0].accept, 'text/event-stream');
    // Over fetch, the browser sends it for cache: 'no-store'.
    assert.equal(requests[0]['cache-control'], 'no-cache', 'same-origin: uncached');
    if (via === 'fetch') {
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(page.loaded.filter((u) => /wasm/.test(u)), [], 'the lite engine alone: no WebAssembly engine');
    }
    es.close();
  });
}

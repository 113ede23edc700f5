// A stream far bigger than the XHR transport's budget, sent as fast as the
// socket takes it, to a page whose XHR runs ahead of it (FakeXHR's throttled
// progress): responseText must stay bounded, and every event arrive once, in
// order, with no error or open event for the replacements.

import assert from 'node:assert/strict';
import { sse } from './server.mjs';
import { FakeXHR } from './xhr.mjs';
import { BUDGET } from '../../src/transports.js';

// floodRoute serves total numbered events of about 256 bytes, event giant
// being 5 MiB (bigger than the budget), resuming after the last event ID
// (the header, or lastEventId in the query); the response stays open.
function floodRoute(srv, path, total, giant) {
  const pad = 'z'.repeat(230);
  srv.route(path, (req, res) => {
    const q = new URL(req.url, 'http://x').searchParams;
    const last = req.headers['last-event-id'] || q.get('lastEventId');
    let i = last ? Number(last) + 1 : 0;
    sse(res);
    const next = () => {
      while (i < total && !res.destroyed) {
        let chunk = '';
        while (i < total && chunk.length < 64 << 10) {
          chunk += `id: ${i}\ndata: ${i} ${i === giant ? 'y'.repeat(5 << 20) : pad}\n\n`;
          i++;
        }
        if (!res.write(chunk)) {
          res.once('drain', next);
          return;
        }
      }
    };
    next();
  });
}

export async function floodTest(srv, source, path, init) {
  const total = 200000; // about 50 MB, and 5 MiB more for the giant
  const giant = 90000;
  floodRoute(srv, path, total, giant);
  FakeXHR.progressEvery = 10;
  FakeXHR.maxHeld = 0;
  try {
    const es = source(path, init);
    let next = 0;
    let bad = '';
    let errors = 0;
    let opens = 0;
    es.onmessage = (e) => {
      const n = Number(e.data.slice(0, e.data.indexOf(' ')));
      if (n !== next && !bad) bad = `event ${n} after ${next - 1}`;
      if (n === giant && e.data.length !== String(n).length + 1 + (5 << 20) && !bad) bad = 'the giant event cut';
      next = n + 1;
    };
    es.onerror = () => errors++;
    es.onopen = () => opens++;
    const until = Date.now() + 120000;
    while (next < total && !bad && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    es.close();
    assert.equal(bad, '', 'every event once, in order');
    assert.equal(next, total, 'all events');
    assert.equal(errors, 0, 'no error event');
    assert.equal(opens, 1, 'one open event');
    // The giant event must be held whole, with what came before it.
    assert.ok(FakeXHR.maxHeld <= 3 * BUDGET, `responseText held ${FakeXHR.maxHeld} characters, budget ${BUDGET}`);
    assert.ok(srv.hits(path).length > 3, `replaced: ${srv.hits(path).length} requests`);
  } finally {
    FakeXHR.progressEvery = 0;
  }
}

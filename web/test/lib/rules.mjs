// The table of connection rules (testdata/connection-rules.json) that
// rules.test.mjs and rules-fetch.test.mjs hold the lite engine to, over XHR
// and over fetch.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { recorder } from './browser.mjs';

export const rules = JSON.parse(readFileSync(new URL('../../../testdata/connection-rules.json', import.meta.url), 'utf8'));

// responseRules checks what each row's status and Content-Type lead to, for
// window.EventSource and EventSourcePolyfill: srv is the page's server
// (server.mjs), source makes an EventSource (browser.mjs, sources).
export async function responseRules(srv, source) {
  const results = await Promise.all(rules.responses.flatMap((row, i) => ['standard', 'polyfill'].map(async (col) => {
    const path = `/rule-${col}-${i}`;
    srv.route(path, (req, res) => {
      const h = {};
      if (row.contentType) h['Content-Type'] = row.contentType;
      res.writeHead(row.status, h);
      res.end(row.status === 204 || row.status === 304 ? undefined : 'data: x\n\n');
    });
    const es = col === 'standard' ? source(path) : source(path, { retry: { initial: 10000 }, fallback: false });
    const r = recorder(es);
    await r.until((l) => l.length >= 1, 5000, path);
    const first = r.log[0];
    es.close();
    const got = first.type === 'open' ? 'open' : first.readyState === 2 ? 'fail' : 'reconnect';
    return [`${col}: ${row.status} ${JSON.stringify(row.contentType)}`, got, row[col]];
  })));
  const wrong = results.filter(([, got, want]) => got !== want);
  assert.deepEqual(wrong, [], 'rows whose outcome differs: [row, got, want]');
}

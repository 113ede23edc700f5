// A local HTTP server for the tests: serves web/dist (as the polysse binary
// would, with the wasm content type) and SSE endpoints that each test
// scripts, and records every request.

import http from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

// POLYSSE_DIST points the tests at another build (benchmarks of variants).
export const dist = process.env.POLYSSE_DIST || join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');

if (!existsSync(join(dist, 'manifest.json'))) {
  throw new Error(`${dist} is not built: run web/build.sh (make web) first`);
}

const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

export async function startServer() {
  const routes = new Map();
  const requests = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.startsWith('/dist/')) {
      const file = join(dist, url.pathname.slice(6));
      if (!existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      const ext = file.slice(file.lastIndexOf('.'));
      res.writeHead(200, { 'Content-Type': types[ext] || 'application/octet-stream' });
      res.end(readFileSync(file));
      return;
    }
    const entry = { method: req.method, path: url.pathname, url: req.url, headers: req.headers, time: performance.now(), closed: false };
    requests.push(entry);
    req.on('close', () => { entry.closed = true; entry.closedAt = performance.now(); });
    const handler = routes.get(url.pathname);
    if (!handler) {
      res.writeHead(404).end();
      return;
    }
    handler(req, res, entry);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    requests,
    route(path, handler) { routes.set(path, handler); },
    hits(path) { return requests.filter((r) => r.path === path); },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

// sse starts an event stream response.
export function sse(res, extra = {}) {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', ...extra });
  res.flushHeaders();
}

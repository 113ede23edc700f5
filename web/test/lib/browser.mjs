// Makes this Node process look like the page a browser would give the
// polyfill: window, document (whose <script> elements load for real, from
// the test server), location; then runs web/dist/eventsource.js as a page's
// script tag would. Options remove features to emulate older browsers.

import vm from 'node:vm';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dist } from './server.mjs';
import { FakeXHR } from './xhr.mjs';

// run evaluates a page script. Without globalThis (EdgeHTML) the name is
// shadowed for the page's scripts only: Node's own fetch needs the real one.
let hideGlobalThis = false;

// Node's own fetch loads the page's scripts: a test may take fetch away from
// the page (IE has none).
const nodeFetch = globalThis.fetch;
function run(code, filename) {
  if (hideGlobalThis) code = '(function (globalThis) {' + code + '\n})();';
  vm.runInThisContext(code, { filename });
}

// The returned loaded lists the src of each script the polyfill added, and
// added each such element's src and fetchPriority (Priority Hints) as it
// was when added.
export function installBrowser(origin, { remove = [], xhr = true, noGlobalThis = false } = {}) {
  const g = globalThis;
  hideGlobalThis = noGlobalThis;
  g.window = g;
  g.self = g;
  g.location = { href: origin + '/page.html', origin };
  const loaded = [];
  const added = [];
  g.document = {
    baseURI: origin + '/page.html',
    currentScript: { src: origin + '/dist/eventsource.js' },
    createElement(tag) {
      return { tagName: tag.toUpperCase(), src: '', onload: null, onerror: null, fetchPriority: 'auto' };
    },
    getElementsByTagName() { return []; },
    head: {
      appendChild(el) {
        loaded.push(el.src);
        added.push({ src: el.src, fetchPriority: el.fetchPriority });
        nodeFetch(el.src).then((r) => {
          if (!r.ok) throw new Error('HTTP ' + r.status);
          return r.text();
        }).then((code) => {
          run(code, el.src);
          if (el.onload) el.onload();
        }).catch((err) => {
          if (el.onerror) el.onerror(err);
        });
      },
    },
  };
  if (xhr) g.XMLHttpRequest = FakeXHR;
  for (const name of remove) delete g[name];
  return { loaded, added };
}

export function loadShim() {
  const file = join(dist, 'eventsource.js');
  run(readFileSync(file, 'utf8'), file);
}

// events collects what an EventSource fires, and waits for it.
export function recorder(es, types = ['open', 'message', 'error']) {
  const log = [];
  const waiters = [];
  const push = (e) => {
    log.push({ type: e.type, data: e.data, lastEventId: e.lastEventId, origin: e.origin, readyState: es.readyState, time: performance.now(), event: e });
    for (const w of waiters.slice()) w();
  };
  for (const t of types) es.addEventListener(t, push);
  return {
    log,
    listen(type) { es.addEventListener(type, push); },
    // until resolves once pred(log) holds.
    until(pred, ms = 5000, what = 'condition') {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pred(log)) {
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(check), 1);
            resolve(log);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(log.map(({ event, ...r }) => r))}`));
        }, ms);
        waiters.push(check);
        check();
      });
    },
    count(type) { return log.filter((e) => e.type === type).length; },
  };
}

// sources returns a function that makes EventSources, closing every one it
// made when `after` (node:test's, of the test file) runs, so no connection
// outlives its file. With options it makes an EventSourcePolyfill, which
// reads them; without, the standard EventSource, which reads none.
export function sources(after) {
  const made = [];
  after(() => made.forEach((es) => es.close()));
  return (path, init) => {
    const es = init ? new EventSourcePolyfill(path, init) : new EventSource(path);
    made.push(es);
    return es;
  };
}

// wasmScripts are the scripts a page with WebAssembly and no native
// EventSource loads, each once: the lite engine, which serves the first
// connections while the WebAssembly engine boots, and the WebAssembly
// engine's JavaScript half (see src/engines/handover.js).
export function wasmScripts(origin) {
  const m = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8'));
  return [origin + '/dist/' + liteFile(m), origin + '/dist/' + m.glue].sort();
}

// liteFile is the lite engine's file that the page as installed loads:
// the one without the fetch reader where the page cannot stream fetch into
// TextDecoder (src/loaders/lite.js).
export function liteFile(m) {
  const g = globalThis;
  const streams = typeof g.fetch === 'function' && typeof g.ReadableStream === 'function' &&
    !!g.Response && 'body' in g.Response.prototype && typeof g.TextDecoder === 'function';
  return streams ? m.lite : m.liteXHR;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// until resolves once pred() holds, checked every millisecond, and fails
// after ms.
export async function until(pred, what, ms = 5000) {
  const end = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > end) throw new Error('timed out waiting for ' + what);
    await sleep(1);
  }
}
export { http };

// loadScript (src/script.js) ends a load at the page's window.stop(), since
// a browser may fire neither load nor error for a script whose request the
// stop cancelled (Firefox, before the request went out), and calls done
// once whatever the element fires after that.

import { test } from 'node:test';
import assert from 'node:assert/strict';

// A document whose script elements load when the test says.
const added = [];
globalThis.document = {
  currentScript: null,
  createElement: () => ({ src: '', onload: null, onerror: null, fetchPriority: 'auto' }),
  getElementsByTagName: () => [],
  head: { appendChild: (el) => added.push(el) },
};
let browserStops = 0;
globalThis.stop = () => { browserStops++; };
const { loadScript } = await import('../src/script.js');
const { onStop } = await import('../src/pagestop.js');

// load starts a load of src and returns its element and the calls of done.
function load(src, urgent) {
  const calls = [];
  loadScript(src, (err) => calls.push(err ? err.message : 'ok'), urgent);
  return { el: added[added.length - 1], calls };
}

test('an urgent script is fetched at high priority, another at the browser\'s', () => {
  const a = load('/urgent.js', true);
  const b = load('/later.js');
  assert.equal(a.el.fetchPriority, 'high');
  assert.equal(b.el.fetchPriority, 'auto');
  a.el.onload();
  b.el.onload();
  // Where elements have no fetchPriority (IE, EdgeHTML), none is added.
  const create = globalThis.document.createElement;
  globalThis.document.createElement = () => ({ src: '', onload: null, onerror: null });
  const c = load('/old.js', true);
  globalThis.document.createElement = create;
  assert.equal('fetchPriority' in c.el, false);
  c.el.onload();
});

test('a script that loads or fails tells done once, and a later stop nothing', () => {
  const a = load('/a.js');
  const b = load('/b.js');
  assert.equal(a.el.src, '/a.js');
  a.el.onload();
  b.el.onerror();
  globalThis.stop();
  a.el.onerror();
  assert.deepEqual(a.calls, ['ok']);
  assert.deepEqual(b.calls, ['could not load /b.js']);
});

test('window.stop() fails every load in flight at once; what the element fires later is ignored', () => {
  const before = browserStops;
  const a = load('/a.js');
  const b = load('/b.js');
  assert.deepEqual(a.calls, []);
  globalThis.stop();
  assert.equal(browserStops, before + 1, "the browser's window.stop ran");
  assert.deepEqual(a.calls, ['could not load /a.js']);
  assert.deepEqual(b.calls, ['could not load /b.js']);
  a.el.onerror();
  b.el.onload();
  assert.equal(a.calls.length + b.calls.length, 2);

  // A load begun after the stop ends by its own events, or at the next stop.
  const c = load('/c.js');
  const d = load('/d.js');
  c.el.onload();
  globalThis.stop();
  assert.deepEqual(c.calls, ['ok']);
  assert.deepEqual(d.calls, ['could not load /d.js']);
});

test('onStop: each listener at the next stop only', () => {
  const log = [];
  onStop(() => log.push('a'));
  onStop(() => log.push('b'));
  globalThis.stop();
  globalThis.stop();
  assert.deepEqual(log, ['a', 'b']);
});

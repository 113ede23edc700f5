// Checks on the built files in web/dist: what IE may load parses as ES5,
// the engine is WebAssembly MVP, the sizes stay within budget, and the
// precompressed copies match.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gunzipSync, brotliDecompressSync, gzipSync } from 'node:zlib';
import * as acorn from 'acorn';
import { dist } from './lib/server.mjs'; // throws when web/dist is not built

const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8'));
const read = (f) => readFileSync(join(dist, f));

// Every script the IE path can load: the shim, and nothing else (the engine
// script is fetched only where there is WebAssembly; nowasm.test.mjs checks
// that it is not fetched without).
const IE_SCRIPTS = ['eventsource.js'];

test('every script the IE path loads parses as ES5', () => {
  for (const f of IE_SCRIPTS) {
    assert.doesNotThrow(() => acorn.parse(read(f).toString('utf8'), { ecmaVersion: 5, sourceType: 'script' }), f);
  }
});

test('the shim is one IIFE that names the hashed engine files', () => {
  const src = read('eventsource.js').toString('utf8');
  const ast = acorn.parse(src, { ecmaVersion: 5 });
  assert.equal(ast.body.length, 1, 'one statement');
  assert.equal(ast.body[0].type, 'ExpressionStatement');
  assert.match(manifest.wasm, /^eventsource\.[0-9a-f]{12}\.wasm$/);
  assert.match(manifest.glue, /^wasm_exec\.[0-9a-f]{12}\.js$/);
  assert.ok(src.includes(JSON.stringify(manifest.wasm)), 'engine name written in');
  assert.ok(src.includes(JSON.stringify(manifest.glue)), 'glue name written in');
  // The same script under a content-hashed name, for pages that cache it
  // for good (cmd/polysse serves hashed names immutable).
  assert.match(manifest.shimHashed, /^eventsource\.[0-9a-f]{12}\.js$/);
  assert.ok(read(manifest.shimHashed).equals(read('eventsource.js')), 'the hashed shim is the shim');
  assert.equal(manifest.shimHashed, 'eventsource.' + createHash('sha256').update(read('eventsource.js')).digest('hex').slice(0, 12) + '.js');
});

test('the engine script parses (ES2017, for the browsers that load it)', () => {
  assert.doesNotThrow(() => acorn.parse(read(manifest.glue).toString('utf8'), { ecmaVersion: 2017 }));
});

test('the engine is WebAssembly MVP: wasm-validate with every post-MVP feature disabled', (t) => {
  const wasmValidate = '/usr/bin/wasm-validate';
  if (!existsSync(wasmValidate)) {
    if (process.env.CI) assert.fail('wasm-validate (Debian package wabt) is missing');
    t.skip('wasm-validate (wabt) not installed');
    return;
  }
  execFileSync(wasmValidate, [
    '--disable-bulk-memory', '--disable-sign-extension', '--disable-saturating-float-to-int',
    '--disable-mutable-globals', '--disable-multi-value', '--disable-reference-types',
    join(dist, manifest.wasm),
  ], { stdio: 'pipe' });
  // And a validator that does know the features finds the module valid too.
  assert.ok(WebAssembly.validate(read(manifest.wasm)));
});

test('size budgets: engine ≤ 470 KB brotli, shim ≤ 7.62 KB minified + gzip', () => {
  const engineBr = read(manifest.wasm + '.br').length;
  assert.ok(engineBr <= 470_000, `engine is ${engineBr} bytes brotli`);
  const shimGz = read('eventsource.js.gz').length;
  // 6.4 KB since the standard EventSource became a class of its own beside
  // EventSourcePolyfill (issue 12, about 160 bytes), the engine files can
  // live elsewhere (engineBase, issue 16) and the ES5 listener lists keep
  // the DOM's dispatch flag and report a listener's exception at once
  // (about 250 bytes together). 7.0 KB since the lite engine serves a
  // connection while the WebAssembly engine boots, then hands it over, and
  // the script preloads the engines on a page without EventSource (issue
  // 13, engines/handover.js: about 630 bytes). 7.1 KB since the shim's
  // one registration point (registry.js, issue 17) and the rule that a
  // page's request headers skip the lite engine (XHR would follow a
  // redirect with them): about 60 bytes. 7.3 KB since the stream's request
  // goes out in the constructor, before the lite engine's file has loaded
  // (sendEarly, about 250 bytes): with a 50 ms round trip, a first visit's
  // first event came 65 ms sooner (docs/benchmarks.md, First event). 7.1 KB
  // since the hand-over's coordinator is in the lite engine's file
  // (engines/lite/first.js), which only pages without EventSource load;
  // 7.15 KB since the WebAssembly engine loads only while a connection is
  // open (engines/handover.js counts them, about 20 bytes): a page whose
  // streams are closed downloads nothing more. 7.4 KB since the lite engine
  // reads with fetch where the browser streams it and has TextDecoder, and
  // serves such a page alone (the request in the constructor is then a
  // fetch: sendEarly, fetchText; about 210 bytes): a page's first stream of
  // 64 KiB events in 4,096-byte lines went from 0.3 of native EventSource
  // (lite over XHR, then the hand-over) to 1.1-1.6 (docs/benchmarks.md,
  // Session 7). 7.6 KB since a request the page aborts with window.stop()
  // fails the connection on fetch too, as on XHR, and an engine's file
  // whose load the page stopped is loaded again for the next connection
  // (pagestop.js, whose count must run from the request sent in the
  // constructor; loaders/lazy.js, engines/handover.js: about 150 bytes).
  // 7.62 KB since the lite engine's file is fetched at high priority
  // (script.js, loadScript's urgent: about 30 bytes): at the low priority
  // Chromium gives a script added by a script, the file took a median 7.3
  // ms on loopback, at high 6.3 ms, and a first visit's first event came
  // sooner in 60 of 101 paired rounds (docs/benchmarks.md, Session 14).
  assert.ok(shimGz <= 7_620, `shim is ${shimGz} bytes gzip`);
  // The shipped .gz is gzip -9; a fresh compression agrees within noise.
  assert.ok(Math.abs(gzipSync(read('eventsource.js'), { level: 9 }).length - shimGz) < 64);
});

test('every asset has a matching .gz and .br', () => {
  const files = readdirSync(dist).filter((f) => /^(eventsource|wasm_exec)\..*(js|wasm)$/.test(f));
  assert.deepEqual(files.sort(), [manifest.wasm, manifest.glue, 'eventsource.js', manifest.shimHashed].sort());
  for (const f of files) {
    const raw = read(f);
    assert.ok(gunzipSync(read(f + '.gz')).equals(raw), f + '.gz');
    assert.ok(brotliDecompressSync(read(f + '.br')).equals(raw), f + '.br');
  }
});

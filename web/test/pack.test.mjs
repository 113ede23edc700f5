// The npm package: `npm pack` must ship the built script, its engines and
// their precompressed copies, the type declarations, and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('..', import.meta.url));

test('npm pack ships dist/, the entry points, the declarations, and nothing else', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: web, encoding: 'utf8' });
  const files = JSON.parse(out)[0].files.map((f) => f.path).sort();
  const manifest = JSON.parse(readFileSync(new URL('../dist/manifest.json', import.meta.url), 'utf8'));
  const hashed = Object.values(manifest).filter((v) => typeof v === 'string' && /\.[0-9a-f]{12}\./.test(v));
  assert.ok(hashed.length >= 3, 'the manifest names the engine, its glue and the lite engine: ' + JSON.stringify(manifest));
  const want = ['dist/eventsource.js', 'dist/manifest.json', 'index.d.ts', 'index.mjs', 'index.cjs', 'LICENSE', 'package.json', 'README.md'];
  for (const name of ['eventsource.js', ...hashed]) {
    for (const ext of ['', '.gz', '.br']) want.push('dist/' + name + ext);
  }
  assert.deepEqual(files, [...new Set(want)].sort());
});

test('the declarations describe the constructor and every documented option', () => {
  const dts = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8');
  for (const name of ['headers', 'lastEventIdQueryParameterName', 'heartbeatTimeout', 'retry', 'onAuthError',
    'transport', 'engine', 'supervise', 'maxAttempts', 'fallback', 'fallbackTimeout', 'reportEngine', 'engineBase']) {
    assert.match(dts, new RegExp('\\b' + name + '\\??:'), name + ' is declared');
  }
  assert.match(dts, /export declare class EventSourcePolyfill/);
  assert.match(dts, /constructor\(url: string \| URL, init\?: EventSourcePolyfillInit\)/);
});

test('the declarations type-check what the README shows, and refuse what is wrong', () => {
  // test/types/usage.ts uses every option; its @ts-expect-error lines fail
  // the compile unless each is refused.
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const args = ['--noEmit', '--strict', '--target', 'es2020', '--lib', 'dom,es2020', '--module', 'esnext',
    '--moduleResolution', 'bundler', 'test/types/usage.ts'];
  try {
    execFileSync(process.execPath, [tsc, ...args], { cwd: web, encoding: 'utf8' });
  } catch (err) {
    assert.fail('tsc: ' + (err.stdout || '') + (err.stderr || err.message));
  }
});

// The npm package as users consume it: `npm pack` (to a temporary folder:
// nothing is left in web/), installed into a scratch project; imported
// from ESM and CommonJS in Node; bundled by esbuild into a page whose
// engine files are served from another path than the bundle; and the page
// receives events in headless Chromium with the native EventSource
// deleted, so the polyfill's engines (WebAssembly, then the ES5 one) do the
// work from the files at the engineBase option or the data-engine-base
// attribute.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import * as esbuild from 'esbuild';
import { haveChromium, launch, CHROMIUM } from './lib/chromium.mjs';

const web = fileURLToPath(new URL('..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'polysse-npm-'));
const pkgDir = join(scratch, 'node_modules', 'polysse-eventsource');
after(() => rmSync(scratch, { recursive: true, force: true }));

const status = () => execFileSync('git', ['status', '--porcelain', '--ignored', '--', '.'], { cwd: web, encoding: 'utf8' });

before(() => {
  const was = status();
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: web, encoding: 'utf8' });
  const tgz = join(scratch, JSON.parse(out)[0].filename);
  assert.equal(status(), was, 'npm pack changed web/');
  mkdirSync(pkgDir, { recursive: true });
  execFileSync('tar', ['-xzf', tgz, '-C', pkgDir, '--strip-components=1']);
});

test('npm pack leaves nothing in web/, and a project can install what it wrote', () => {
  assert.ok(existsSync(join(pkgDir, 'package.json')));
  assert.deepEqual(readdirSync(web).filter((f) => f.endsWith('.tgz')), []);
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  assert.equal(pkg.license, 'MIT');
  assert.match(pkg.repository.url, /github\.com\/polysse\/polysse/);
  assert.ok(pkg.homepage);
  assert.equal(readFileSync(join(pkgDir, 'LICENSE'), 'utf8'), readFileSync(join(web, '..', 'LICENSE'), 'utf8'), 'web/LICENSE is the repository LICENSE');
  assert.match(readFileSync(join(pkgDir, 'README.md'), 'utf8'), /## With a bundler/, 'the package README is for users');
});

test('import and require give the constructor, as index.d.ts says', () => {
  // A child process: the script installs globals.
  const esm = execFileSync(process.execPath, ['--input-type=module', '-e',
    "import { EventSourcePolyfill } from 'polysse-eventsource'; import * as all from 'polysse-eventsource';" +
    "console.log(typeof EventSourcePolyfill, EventSourcePolyfill.CLOSED, Object.keys(all).join())"], { cwd: scratch, encoding: 'utf8' });
  assert.equal(esm.trim(), 'function 2 EventSourcePolyfill');
  const cjs = execFileSync(process.execPath, ['-e',
    "const m = require('polysse-eventsource'); console.log(typeof m.EventSourcePolyfill, m.EventSourcePolyfill.OPEN, Object.keys(m).join())"],
  { cwd: scratch, encoding: 'utf8' });
  assert.equal(cjs.trim(), 'function 1 EventSourcePolyfill');
  const script = execFileSync(process.execPath, ['-e',
    "require('polysse-eventsource/eventsource.js'); console.log(typeof globalThis.EventSourcePolyfill)"], { cwd: scratch, encoding: 'utf8' });
  assert.equal(script.trim(), 'function');
});

test('TypeScript finds the types through exports, for ESM and CommonJS importers', () => {
  const tsc = join(web, 'node_modules', 'typescript', 'bin', 'tsc');
  writeFileSync(join(scratch, 'esm.mts'), "import { EventSourcePolyfill } from 'polysse-eventsource';\n" +
    "const es: EventSourcePolyfill = new EventSourcePolyfill('/e', { engineBase: '/polysse/' });\nes.close();\n");
  writeFileSync(join(scratch, 'cjs.cts'), "import pkg = require('polysse-eventsource');\n" +
    "const es = new pkg.EventSourcePolyfill('/e', { engineBase: '/polysse/' });\nes.close();\n");
  writeFileSync(join(scratch, 'bundler.ts'), "import { EventSourcePolyfill } from 'polysse-eventsource';\n" +
    "// @ts-expect-error engineBase is a string\nnew EventSourcePolyfill('/e', { engineBase: 1 });\n");
  const run = (args) => {
    try {
      execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--lib', 'dom,es2020', ...args], { cwd: scratch, encoding: 'utf8' });
    } catch (err) {
      assert.fail('tsc ' + args.join(' ') + ': ' + (err.stdout || '') + (err.stderr || err.message));
    }
  };
  run(['--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2020', 'esm.mts', 'cjs.cts']);
  run(['--module', 'esnext', '--moduleResolution', 'bundler', '--target', 'es2020', 'bundler.ts']);
});

// The page: a bundle at /app/app.js (an ES module, so there is no
// document.currentScript to find a folder from) that imports the package;
// the engine files only at /vendor/polysse/; an event stream at /events.
async function servePage(bundle) {
  const dist = join(pkgDir, 'dist');
  const seen = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    seen.push(url.pathname);
    if (url.pathname === '/' || url.pathname === '/tag.html') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(url.pathname === '/'
        ? '<!doctype html><title>bundle</title><script type="module" src="/app/app.js"></script>'
        : '<!doctype html><title>tag</title><script src="/js/eventsource.js" data-engine-base="/vendor/polysse"></script>' +
          '<script>window.got = []; var es = new EventSource("/events?engine=tag");' +
          'es.addEventListener("greeting", function (e) { got.push(e.type + ":" + e.data + ":" + e.lastEventId); });</script>');
      return;
    }
    if (url.pathname === '/app/app.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(bundle);
      return;
    }
    if (url.pathname === '/js/eventsource.js') { // the script alone, its engines elsewhere
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(readFileSync(join(dist, 'eventsource.js')));
      return;
    }
    if (url.pathname.startsWith('/vendor/polysse/')) {
      const file = join(dist, url.pathname.slice('/vendor/polysse/'.length));
      if (!/^[\w.-]+$/.test(url.pathname.slice('/vendor/polysse/'.length)) || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      const type = file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
      res.writeHead(200, { 'Content-Type': type });
      res.end(readFileSync(file));
      return;
    }
    if (url.pathname === '/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.write('retry: 1000\n\nevent: greeting\nid: 1\ndata: hello\n\ndata: plain\nid: 2\n\n');
      return; // kept open, as a stream is
    }
    res.writeHead(404).end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    seen,
    close: () => { server.closeAllConnections(); return new Promise((r) => server.close(r)); },
  };
}

const app = `
import { EventSourcePolyfill } from 'polysse-eventsource';
window.got = {};
function watch(engine) {
  var got = window.got[engine] = [];
  var es = new EventSourcePolyfill('/events?engine=' + engine, { engine: engine, engineBase: '/vendor/polysse/' });
  es.addEventListener('greeting', function (e) { got.push(e.type + ':' + e.data + ':' + e.lastEventId); });
  es.onmessage = function (e) { got.push(e.type + ':' + e.data + ':' + e.lastEventId); };
}
watch('wasm');
watch('lite');
window.isNative = EventSourcePolyfill === window.__native;
`;

test('bundled by esbuild, with the engines at another path, the page receives events in Chromium without native EventSource', async (t) => {
  if (!haveChromium()) {
    if (process.env.CI) assert.fail(CHROMIUM + ' is missing (make deps installs chromium)');
    t.skip('no ' + CHROMIUM);
    return;
  }
  writeFileSync(join(scratch, 'app.mjs'), app);
  const built = await esbuild.build({
    entryPoints: [join(scratch, 'app.mjs')], absWorkingDir: scratch, bundle: true, format: 'esm',
    write: false, logLevel: 'silent', target: 'es2017',
  });
  assert.deepEqual(built.warnings.map((w) => w.text), [], 'esbuild warns about the import');
  const srv = await servePage(built.outputFiles[0].text);
  const browser = await launch();
  try {
    const gone = 'delete window.EventSource; window.__native = window.EventSource;';
    const pg = await browser.page(srv.origin + '/', { beforeLoad: gone });
    await pg.waitFor('window.got && got.wasm.length >= 2 && got.lite.length >= 2', 20000);
    assert.deepEqual(await pg.eval('got'), {
      wasm: ['greeting:hello:1', 'message:plain:2'],
      lite: ['greeting:hello:1', 'message:plain:2'],
    });
    assert.equal(await pg.eval('typeof window.EventSource'), 'function', 'installed where there was none');
    const engineFiles = srv.seen.filter((p) => /eventsource\.|wasm_exec\.|eventsource-lite\./.test(p));
    assert.ok(engineFiles.length >= 3, 'the engine files were fetched: ' + srv.seen.join(' '));
    for (const p of engineFiles) assert.match(p, /^\/vendor\/polysse\/[^/]+$/, 'fetched from engineBase');

    // The plain script with data-engine-base: the engine files are not
    // beside it (/js/) either.
    srv.seen.length = 0;
    const tag = await browser.page(srv.origin + '/tag.html', { beforeLoad: 'delete window.EventSource;' });
    await tag.waitFor('window.got && got.length >= 1', 20000);
    assert.deepEqual(await tag.eval('got'), ['greeting:hello:1']);
    // The lite engine, which reads with fetch in Chromium (src/transports.js,
    // fetchText), serves it alone: its file from data-engine-base, and the
    // WebAssembly engine's never.
    const lite = srv.seen.filter((p) => /eventsource-lite\./.test(p));
    assert.ok(lite.length === 1 && lite[0].startsWith('/vendor/polysse/'), srv.seen.join(' '));
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(srv.seen.filter((p) => /\.wasm|wasm_exec\./.test(p)), [], 'no WebAssembly engine');
  } finally {
    await srv.close();
    await browser.close();
  }
});

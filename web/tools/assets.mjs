// Writes web/dist from the optimised engine: content-hashed engine, glue and
// lite engine, the minified ES5 shim that knows their names (under its
// stable name and a content-hashed one), and .gz/.br beside each.
// Called by build.sh; run from web/.

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, readdirSync, unlinkSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { findModule } from './find.mjs';

const { values: args } = parseArgs({
  options: { wasm: { type: 'string' }, glue: { type: 'string' }, out: { type: 'string' }, cache: { type: 'string' } },
});

const hash = (buf) => createHash('sha256').update(buf).digest('hex').slice(0, 12);

// The engine's script: src/engines/wasm/ (the bridge, the transports, the text
// codecs) with Go's glue as the module "go:wasm_exec", whose body runs inside
// runGlue(globalThis, fs, crypto, performance, TextEncoder, TextDecoder) so
// that those names, global or bare in the glue, are the bridge's scope
// object. ES2017, the glue's own syntax: it is never loaded where there is no
// WebAssembly (IE).
async function engineScript(gluePath) {
  const src = readFileSync(gluePath, 'utf8');
  for (const must of ['globalThis.Go = class', 'fs.writeSync(', 'new TextEncoder(', 'crypto.getRandomValues(', 'performance.now()']) {
    if (!src.includes(must)) throw new Error(`${gluePath}: no "${must}"; tools/assets.mjs needs a look`);
  }
  const glue = {
    name: 'go-glue',
    setup(b) {
      b.onResolve({ filter: /^go:wasm_exec$/ }, () => ({ path: gluePath, namespace: 'go-glue' }));
      b.onLoad({ filter: /.*/, namespace: 'go-glue' }, () => ({
        contents: 'export function runGlue(globalThis, fs, crypto, performance, TextEncoder, TextDecoder) {\n' + src + '\n}\n',
        loader: 'js',
      }));
    },
  };
  return bundle('src/engines/wasm/entry.js', 'es2017',
    '/* polysse engine glue; includes Go wasm_exec.js, Copyright 2018 The Go Authors, BSD-style license */',
    { plugins: [glue] });
}

// The lite engine (src/engines/lite/): the ES5 engine for browsers without
// EventSource, a file of its own that only they fetch, so that the shim
// stays within its budget. withFetch false leaves its fetch reader out, for
// the browsers that cannot use it (src/engines/lite/engine.js).
function liteScript(withFetch) {
  return bundle('src/engines/lite/entry.js', 'es5', '/* polysse EventSource polyfill: the ES5 engine */', {
    define: { __POLYSSE_FIND__: JSON.stringify(withFetch ? findModule() : ''), __POLYSSE_FETCH__: JSON.stringify(withFetch) },
  });
}

function shim(defines) {
  return bundle('src/index.js', 'es5', '/* polysse EventSource polyfill */', {
    define: Object.fromEntries(Object.entries(defines).map(([k, v]) => [k, JSON.stringify(v)])),
  });
}

// bundle returns entry and what it imports as one minified IIFE.
async function bundle(entry, target, banner, options = {}) {
  const out = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    target,
    minify: true,
    legalComments: 'none',
    write: false,
    banner: { js: banner },
    ...options,
  });
  return out.outputFiles[0].text;
}

// compress returns buf gzipped (-9) and brotli-compressed (quality 11);
// the engine's, slow to make, are kept in the cache folder by content hash.
function compress(buf) {
  if (args.cache && buf.length > 100_000) {
    const base = join(args.cache, hash(buf));
    if (existsSync(base + '.gz') && existsSync(base + '.br')) {
      return { gz: readFileSync(base + '.gz'), br: readFileSync(base + '.br') };
    }
    const out = compressNow(buf);
    writeFileSync(base + '.gz', out.gz);
    writeFileSync(base + '.br', out.br);
    return out;
  }
  return compressNow(buf);
}

function compressNow(buf) {
  return {
    gz: gzipSync(buf, { level: 9 }),
    br: brotliCompressSync(buf, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_LGWIN]: 24,
        [constants.BROTLI_PARAM_SIZE_HINT]: buf.length,
      },
    }),
  };
}

const out = args.out;
mkdir(out);
function mkdir(d) { mkdirSync(d, { recursive: true }); }

const wasm = readFileSync(args.wasm);
const wasmName = `eventsource.${hash(wasm)}.wasm`;
const glueCode = Buffer.from(await engineScript(args.glue));
const glueName = `wasm_exec.${hash(glueCode)}.js`;
const liteCode = Buffer.from(await liteScript(true));
const liteName = `eventsource-lite.${hash(liteCode)}.js`;
const liteXHRCode = Buffer.from(await liteScript(false));
const liteXHRName = `eventsource-lite.xhr.${hash(liteXHRCode)}.js`;
const shimCode = Buffer.from(await shim({ __POLYSSE_WASM__: wasmName, __POLYSSE_GLUE__: glueName, __POLYSSE_LITE__: liteName, __POLYSSE_LITE_XHR__: liteXHRName }));

// The shim twice: under its stable name, which pages may always include and
// which is revalidated on every page (it names this build's engine files),
// and under a content-hashed name, cached for good, for pages that take
// the name from the manifest: a later page then runs it from the cache
// without a round trip first.
const shimName = `eventsource.${hash(shimCode)}.js`;
const files = { [wasmName]: wasm, [glueName]: glueCode, [liteName]: liteCode, [liteXHRName]: liteXHRCode, 'eventsource.js': shimCode, [shimName]: shimCode };

// Only this build's files stay: older hashed names go.
for (const f of readdirSync(out)) {
  if (/^(eventsource|eventsource-lite|wasm_exec)[.]/.test(f)) unlinkSync(join(out, f));
}
const rows = [];
for (const [name, buf] of Object.entries(files)) {
  const { gz, br } = compress(buf);
  writeFileSync(join(out, name), buf);
  writeFileSync(join(out, name + '.gz'), gz);
  writeFileSync(join(out, name + '.br'), br);
  rows.push([name, buf.length, gz.length, br.length]);
}
writeFileSync(join(out, 'manifest.json'), JSON.stringify({ wasm: wasmName, glue: glueName, lite: liteName, liteXHR: liteXHRName, shim: 'eventsource.js', shimHashed: shimName }, null, 2) + '\n');

const kb = (n) => (n / 1000).toFixed(1).padStart(8) + ' KB';
console.log('== ' + out);
console.log('file'.padEnd(34) + 'raw'.padStart(11) + 'gzip'.padStart(11) + 'brotli'.padStart(11));
for (const [name, raw, gz, br] of rows) console.log(name.padEnd(34) + kb(raw) + kb(gz) + kb(br));

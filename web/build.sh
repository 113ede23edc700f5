#!/usr/bin/env bash
# Builds the polyfill into web/dist/: the WebAssembly engine (Go, lowered to
# WebAssembly MVP), Go's glue, the ES5 shim, and a .gz and .br beside each.
# `make build` runs it before building the Go binary, which embeds dist/.
#
# ENGINE (default ../wasm) and DIST (default dist) build another Go program
# in the engine's place into another folder: ENGINE=../wasm/floor
# DIST=/tmp/floor web/build.sh is the floor under the engine's cold start
# that BenchmarkColdStartFloor compares it with.
set -euo pipefail
cd "$(dirname "$0")"

GO=${GO:-go}
ENGINE=${ENGINE:-../wasm}
DIST=${DIST:-dist}
export DIST
mkdir -p "$DIST"
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The engine. Go's inliner is turned off for the runtime only: that keeps
# some 25 KB of brotli out of a module whose size is its first cost, at a
# price in the engine's hot paths that the benchmarks bear (see wasm/doc.go).
echo "== go build (js/wasm)"
GOOS=js GOARCH=wasm "$GO" build -trimpath -ldflags='-s -w' -gcflags='runtime=-l' -o "$tmp/engine.wasm" "$ENGINE"

# Go's output uses post-MVP opcodes unconditionally (bulk memory,
# sign extension, saturating float-to-int) that EdgeHTML cannot load: lower
# them; replace the byte-at-a-time memmove and memset the lowering brings
# with fast ones (tools/memops.mjs); then shrink with every post-MVP feature
# disabled, so that the optimiser cannot bring any back. wasm-opt is slow,
# so the result is kept by input hash.
opt=node_modules/.bin/wasm-opt
cache=node_modules/.cache/polysse
mkdir -p "$cache"
key=$( (sha256sum < "$tmp/engine.wasm"; "$opt" --version; sha256sum build.sh tools/memops.mjs) | sha256sum | cut -c1-32)
if [ -f "$cache/$key.wasm" ]; then
  echo "== wasm-opt: unchanged input, reusing $cache/$key.wasm"
else
  echo "== wasm-opt: lowering to MVP, -Oz"
  "$opt" "$tmp/engine.wasm" \
    --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
    --llvm-memory-copy-fill-lowering --signext-lowering --llvm-nontrapping-fptoint-lowering \
    -o "$tmp/lowered.wasm"
  node tools/memops.mjs "$tmp/engine.wasm" "$tmp/lowered.wasm" "$tmp/memops.wasm"
  "$opt" "$tmp/memops.wasm" --mvp-features -Oz --strip-debug --strip-producers -o "$tmp/opt.wasm"
  find "$cache" -type f -mtime +7 -delete 2>/dev/null || true
  mv "$tmp/opt.wasm" "$cache/$key.wasm"
fi

# Hashing, Go's glue, the shim, compression and the size report.
node tools/assets.mjs --wasm "$cache/$key.wasm" --glue "$("$GO" env GOROOT)/lib/wasm/wasm_exec.js" --out "$DIST" --cache "$cache"

# The lite engine (src/engines/lite/): the ES5 engine for browsers without
# WebAssembly (IE10-11), a file of its own that only they fetch, so that the
# shim stays within its budget. Its content-hashed name is written into the
# shim in place of the placeholder "eventsource-lite.js", and the shim's
# .gz and .br are made again.
node --input-type=module - <<'EOF'
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import * as esbuild from 'esbuild';

const out = process.env.DIST;
const built = await esbuild.build({
  entryPoints: ['src/engines/lite/entry.js'],
  bundle: true,
  format: 'iife',
  target: 'es5',
  minify: true,
  legalComments: 'none',
  write: false,
  banner: { js: '/* polysse EventSource polyfill: the ES5 engine */' },
});
const lite = Buffer.from(built.outputFiles[0].text);
const name = `eventsource-lite.${createHash('sha256').update(lite).digest('hex').slice(0, 12)}.js`;

const placeholder = '"eventsource-lite.js"';
const shimFile = join(out, 'eventsource.js');
const shim = readFileSync(shimFile, 'utf8');
if (shim.split(placeholder).length !== 2) throw new Error(`${shimFile}: the placeholder ${placeholder} is not there exactly once`);

function write(file, buf) {
  writeFileSync(join(out, file), buf);
  const gz = gzipSync(buf, { level: 9 });
  const br = brotliCompressSync(buf, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_LGWIN]: 24,
      [constants.BROTLI_PARAM_SIZE_HINT]: buf.length,
    },
  });
  writeFileSync(join(out, file + '.gz'), gz);
  writeFileSync(join(out, file + '.br'), br);
  const kb = (n) => (n / 1000).toFixed(1).padStart(8) + ' KB';
  console.log(file.padEnd(34) + kb(buf.length) + kb(gz.length) + kb(br.length));
}
for (const f of readdirSync(out)) {
  if (/^eventsource-lite\./.test(f)) unlinkSync(join(out, f));
}
write(name, lite);
write('eventsource.js', Buffer.from(shim.replace(placeholder, JSON.stringify(name))));
const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
manifest.lite = name;
writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
EOF

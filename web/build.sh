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
# CACHE keeps wasm-opt's and brotli's slow results by input hash;
# scripts/repro.sh points it at empty folders to check that they are
# deterministic.
CACHE=${CACHE:-node_modules/.cache/polysse}
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The engine. Go's inliner is turned off for the runtime only: that keeps
# some 25 KB of brotli out of a module whose size is its first cost, at a
# price in the engine's hot paths that the benchmarks bear (see wasm/doc.go).
echo "== go build (js/wasm)"
# -buildvcs=false: the commit must not reach the module, or web/dist would
# change with every commit and could never be checked in.
GOOS=js GOARCH=wasm "$GO" build -trimpath -buildvcs=false -ldflags='-s -w' -gcflags='runtime=-l' -o "$tmp/engine.wasm" "$ENGINE"

# Go's output uses post-MVP opcodes unconditionally (bulk memory,
# sign extension, saturating float-to-int) that EdgeHTML cannot load: lower
# them; replace the byte-at-a-time memmove and memset the lowering brings
# with fast ones (tools/memops.mjs); then shrink with every post-MVP feature
# disabled, so that the optimiser cannot bring any back. wasm-opt is slow,
# so the result is kept by input hash.
opt=node_modules/.bin/wasm-opt
cache=$CACHE
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

# Hashing, Go's glue, the lite engine, the shim, compression and the size
# report.
node tools/assets.mjs --wasm "$cache/$key.wasm" --glue "$("$GO" env GOROOT)/lib/wasm/wasm_exec.js" --out "$DIST" --cache "$cache"

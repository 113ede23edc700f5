#!/usr/bin/env bash
# Checks that web/dist is reproducible: the tree is copied to two folders of
# different paths and web/build.sh runs in each with empty wasm-opt/brotli
# caches (and, for the second, an empty Go build cache), so that the Go
# wasm build, wasm-opt, the bundling and the gzip/brotli steps all run
# twice from nothing. Both results must equal each other and the committed
# web/dist byte for byte. `make test` runs it; it takes a few minutes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

build() { # build DIR [GOCACHE]
  local dir=$1
  mkdir -p "$dir"
  (cd "$root" && git ls-files -z --cached --others --exclude-standard | grep -zv '^web/dist/' |
    tar --null -T - -cf -) | tar -xf - -C "$dir"
  ln -s "$root/web/node_modules" "$dir/web/node_modules"
  echo "== building in $dir"
  (cd "$dir" && GOCACHE=${2:-$(go env GOCACHE)} CACHE="$dir.cache" bash web/build.sh >"$dir.log" 2>&1) ||
    { cat "$dir.log"; exit 1; }
}

build "$tmp/a/polysse"
build "$tmp/second/copy" "$tmp/gocache"
if ! diff -r "$tmp/a/polysse/web/dist" "$tmp/second/copy/web/dist"; then
  echo "repro: two clean builds of web/dist differ (above)" >&2
  exit 1
fi
if ! diff -r --exclude=.gitkeep "$tmp/a/polysse/web/dist" "$root/web/dist"; then
  echo "repro: web/dist is not what the sources build: run make build and commit web/dist" >&2
  exit 1
fi
echo "repro: web/dist reproduced byte for byte by two clean builds"

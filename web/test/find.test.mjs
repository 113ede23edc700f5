// The lite engine's SIMD search for line ends (src/engines/lite/find.wat,
// find.js): the first and the last CR or LF of any range of a chunk, as a
// byte-at-a-time search finds them, on either side of the sixteen-byte
// blocks and past the module's first page of memory.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finder } from '../src/engines/lite/find.js';
import { findModule } from '../tools/find.mjs';

const MODULE = findModule();

function firstOf(b, i, n) {
  for (let k = i; k < n; k++) if (b[k] === 10 || b[k] === 13) return k;
  return -1;
}

function lastOf(b, i, n) {
  for (let k = n - 1; k >= i; k--) if (b[k] === 10 || b[k] === 13) return k;
  return -1;
}

function allOf(b, i, n) {
  const got = [];
  for (let k = i; k < n; k++) if (b[k] === 10 || b[k] === 13) got.push(k);
  return got;
}

// every lists the finder's positions in b[i:n], batch after batch.
function every(f, i, n) {
  const got = [];
  for (;;) {
    const m = f.all(i, n);
    for (let k = 0; k < m; k++) got.push(f.pos[k]);
    if (m < f.pos.length) return got;
    i = got[got.length - 1] + 1;
  }
}

// check compares the finder with the byte-at-a-time search on every range
// [i, n) of b with i and n among the given points.
function check(f, b, points, what) {
  f.load(b);
  for (const i of points) {
    for (const n of points) {
      if (i > n || n > b.length) continue;
      assert.equal(f.first(i, n), firstOf(b, i, n), `${what}: first in [${i}, ${n})`);
      assert.equal(f.last(i, n), lastOf(b, i, n), `${what}: last in [${i}, ${n})`);
      assert.deepEqual(every(f, i, n), allOf(b, i, n), `${what}: all in [${i}, ${n})`);
    }
  }
}

test('a line end at each position of 64 bytes, alone and beside bytes that differ from it by one bit', () => {
  const f = finder(MODULE);
  assert.ok(f, 'node has WebAssembly SIMD');
  const points = [...Array(65).keys()];
  for (const end of [10, 13]) {
    for (const filler of [0x61, 0x0B, 0x0C, 0x8A, 0x8D, 0x2A, 0xFF, 0x00]) {
      for (let at = 0; at < 64; at++) {
        const b = new Uint8Array(64).fill(filler);
        b[at] = end;
        check(f, b, points, `${end} at ${at} among 0x${filler.toString(16)}`);
      }
    }
  }
  check(f, new Uint8Array(64).fill(0x61), points, 'none');
});

test('random chunks, larger than the first page of memory, and smaller again', () => {
  let seed = 7;
  const r = () => {
    seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const f = finder(MODULE);
  for (const size of [1, 15, 16, 17, 4096, 65536, 65537, 200000, 33]) {
    for (const density of [1, 0.3, 0.001, 0]) {
      const b = new Uint8Array(size);
      for (let k = 0; k < size; k++) b[k] = r() < density ? (r() < 0.5 ? 10 : 13) : Math.floor(r() * 256) | 0x80;
      const points = [0, 1, 15, 16, 17, size >> 1, size - 17, size - 16, size - 1, size];
      for (let k = 0; k < 20; k++) points.push(Math.floor(r() * (size + 1)));
      check(f, b, points.filter((p) => p >= 0), `${size} bytes, density ${density}`);
    }
  }
});

test('no finder without a module that compiles', () => {
  assert.equal(finder(), null, 'the source, unbuilt, carries no module');
  assert.equal(finder('AGFzbQEAAAA='.replace('E', 'F')), null, 'not a module');
});

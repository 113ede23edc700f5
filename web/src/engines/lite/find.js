// The search for line ends in a chunk's bytes, for bytes.js: CR or LF,
// sixteen bytes at a time, with WebAssembly's SIMD (find.wat) where the
// browser has it. The build writes the assembled module in
// (tools/find.mjs); the tests pass it to finder.
//
// Uint8Array's indexOf looks at one byte at a time, and bytes.js needs it
// twice, for CR and for LF: on UTF-8 events of 64 KiB that was a third of
// the lite engine's time in Chromium, more than the decoding of the data;
// and after a large ASCII event this search costs less than decoding the
// chunk to search its text (docs/benchmarks.md, session 10). IE has no
// WebAssembly, and EdgeHTML's has no SIMD: there, and where a
// Content-Security-Policy forbids compiling WebAssembly, finder returns
// null and bytes.js searches with indexOf, as before.

import { root, isFunction } from '../../env.js';

/* global __POLYSSE_FIND__ */
var MODULE = typeof __POLYSSE_FIND__ === 'string' ? __POLYSSE_FIND__ : '';

// The compiled module, once per page (null once it failed: not again, so
// that a refusing policy reports one violation, not one per stream).
var compiled;

function compile(b64) {
  var W = root.WebAssembly;
  if (!b64 || typeof W !== 'object' || !W || !isFunction(W.validate) || !isFunction(root.atob)) return null;
  try {
    var s = root.atob(b64);
    var bytes = new Uint8Array(s.length);
    for (var k = 0; k < s.length; k++) bytes[k] = s.charCodeAt(k);
    // Without SIMD the module is invalid; validating first throws nothing
    // and compiles nothing.
    return W.validate(bytes) ? new W.Module(bytes) : null;
  } catch (err) {
    return null;
  }
}

// How many positions all() lists at a time.
var CAP = 4096;

// finder returns a search over one chunk at a time, or null where there is
// no SIMD: load(b) copies the chunk b in; first(i, n) and last(i, n) are
// the first and the last position in b[i:n] of a CR or an LF, or -1;
// all(i, n) lists such positions from i on, in order, in pos (at most
// pos.length of them: ask again from after the last) and returns how many,
// so that a chunk of many lines costs a call per batch, not one per line.
// module, for the tests, is the assembled module in base64 (the build's by
// default).
export function finder(module) {
  var m;
  if (module) {
    m = compile(module);
  } else {
    if (compiled === undefined) compiled = compile(MODULE);
    m = compiled;
  }
  if (!m) return null;
  var inst;
  try {
    inst = new root.WebAssembly.Instance(m);
  } catch (err) {
    return null;
  }
  var x = inst.exports;
  var mem = x.m;
  var u8 = new Uint8Array(mem.buffer);
  var out = 0; // where the positions go: after the chunk
  var f = {
    load: function (b) {
      out = (b.length + 3) & ~3;
      var need = out + 4 * CAP;
      if (need > u8.length) {
        mem.grow(Math.ceil((need - u8.length) / 65536));
        u8 = new Uint8Array(mem.buffer);
      }
      u8.set(b);
      f.pos = new Int32Array(mem.buffer, out, CAP);
    },
    first: x.f,
    last: x.l,
    all: function (i, n) {
      return x.a(i, n, out, CAP);
    },
    pos: null
  };
  return f;
}

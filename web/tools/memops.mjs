// Replaces the memory.copy and memory.fill helpers that wasm-opt's
// --llvm-memory-copy-fill-lowering adds (byte-at-a-time loops) with fast
// ones: eight bytes at a time for short runs, and for long runs a call to
// the page's own memmove and memset (Uint8Array copyWithin and fill, which
// the bridge provides as the imports polysse.copy and polysse.fill). Go
// moves every byte of every event through memmove, so this is most of the
// difference between the lowered engine and the original on large events.
//
//   node tools/memops.mjs unlowered.wasm lowered.wasm out.wasm
//
// The helpers are found as the two functions the lowering added, checked by
// signature and by what they do, so that a binaryen that lowers differently
// stops the build rather than producing a broken engine.

import binaryen from 'binaryen';
import { readFileSync, writeFileSync } from 'node:fs';

const [unloweredPath, loweredPath, outPath] = process.argv.slice(2);

const features = binaryen.Features.MVP | binaryen.Features.BulkMemory | binaryen.Features.SignExt |
  binaryen.Features.NontrappingFPToInt | binaryen.Features.MutableGlobals;

const before = binaryen.readBinary(readFileSync(unloweredPath));
const nBefore = before.getNumFunctions();
before.dispose();

const mod = binaryen.readBinary(readFileSync(loweredPath));
mod.setFeatures(features);
const n = mod.getNumFunctions();
if (n !== nBefore + 2) throw new Error(`expected the lowering to add 2 functions, it added ${n - nBefore}`);

const { i32, none } = binaryen;
let copyName;
let fillName;
for (const i of [n - 2, n - 1]) {
  const info = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
  const sig = binaryen.expandType(info.params);
  if (sig.length !== 3 || sig.some((t) => t !== i32) || info.results !== none) {
    throw new Error(`function ${info.name} is not (i32, i32, i32) -> ()`);
  }
  const text = binaryen.emitText(info.body);
  if (/load8_u/.test(text)) copyName = info.name;
  else if (/store8/.test(text)) fillName = info.name;
}
if (!copyName || !fillName) throw new Error('could not tell the copy and fill helpers apart');

const IMPORT_MODULE = 'polysse';
mod.addFunctionImport('polysse.copy', IMPORT_MODULE, 'copy', binaryen.createType([i32, i32, i32]), none);
mod.addFunctionImport('polysse.fill', IMPORT_MODULE, 'fill', binaryen.createType([i32, i32, i32]), none);

// Runs at least this long go to JavaScript; shorter ones stay in the loop,
// where a call across the boundary would cost more than it saves.
const BIG = 256;

const L = (i) => mod.local.get(i, i32);
const set = (i, v) => mod.local.set(i, v);
const add = (a, b) => mod.i32.add(a, b);
const sub = (a, b) => mod.i32.sub(a, b);
const c = (v) => mod.i32.const(v);

// Both trap, as the instructions do, when a range leaves memory.
const outside = (ptr, len) => mod.i32.gt_u(add(ptr, len), mod.i32.shl(mod.memory.size(), c(16)));

// copy(dst=0, src=1, n=2)
{
  const [dst, src, len] = [0, 1, 2];
  const words = (label, step) => mod.block(label + '_out', [
    mod.loop(label, mod.block(null, [
      mod.br(label + '_out', mod.i32.lt_u(L(len), c(8))),
      ...step,
      mod.br(label),
    ])),
  ]);
  const bytes = (label, step) => mod.block(label + '_out', [
    mod.loop(label, mod.block(null, [
      mod.br(label + '_out', mod.i32.eqz(L(len))),
      ...step,
      mod.br(label),
    ])),
  ]);
  const body = mod.block(null, [
    mod.if(mod.i32.or(outside(L(dst), L(len)), outside(L(src), L(len))), mod.unreachable()),
    mod.if(mod.i32.ge_u(L(len), c(BIG)), mod.block(null, [
      mod.call('polysse.copy', [L(dst), L(src), L(len)], none),
      mod.return(),
    ])),
    mod.if(mod.i32.le_u(L(dst), L(src)),
      // Forward: each word is read before anything at or above it is written.
      mod.block(null, [
        words('fw', [
          mod.i64.store(0, 1, L(dst), mod.i64.load(0, 1, L(src))),
          set(dst, add(L(dst), c(8))), set(src, add(L(src), c(8))), set(len, sub(L(len), c(8))),
        ]),
        bytes('fb', [
          mod.i32.store8(0, 1, L(dst), mod.i32.load8_u(0, 1, L(src))),
          set(dst, add(L(dst), c(1))), set(src, add(L(src), c(1))), set(len, sub(L(len), c(1))),
        ]),
      ]),
      // Backward, from the end, for a destination above an overlapping source.
      mod.block(null, [
        set(dst, add(L(dst), L(len))), set(src, add(L(src), L(len))),
        words('bw', [
          set(dst, sub(L(dst), c(8))), set(src, sub(L(src), c(8))), set(len, sub(L(len), c(8))),
          mod.i64.store(0, 1, L(dst), mod.i64.load(0, 1, L(src))),
        ]),
        bytes('bb', [
          set(dst, sub(L(dst), c(1))), set(src, sub(L(src), c(1))), set(len, sub(L(len), c(1))),
          mod.i32.store8(0, 1, L(dst), mod.i32.load8_u(0, 1, L(src))),
        ]),
      ])),
  ]);
  mod.removeFunction(copyName);
  mod.addFunction(copyName, binaryen.createType([i32, i32, i32]), none, [], body);
}

// fill(dst=0, value=1, n=2), local 3: the byte repeated eight times
{
  const [dst, val, len, word] = [0, 1, 2, 3];
  const body = mod.block(null, [
    mod.if(outside(L(dst), L(len)), mod.unreachable()),
    mod.if(mod.i32.ge_u(L(len), c(BIG)), mod.block(null, [
      mod.call('polysse.fill', [L(dst), L(val), L(len)], none),
      mod.return(),
    ])),
    mod.local.set(word, mod.i64.mul(
      mod.i64.extend_u(mod.i32.and(L(val), c(255))),
      mod.i64.const(0x0101010101010101n))),
    mod.block('fw_out', [mod.loop('fw', mod.block(null, [
      mod.br('fw_out', mod.i32.lt_u(L(len), c(8))),
      mod.i64.store(0, 1, L(dst), mod.local.get(word, binaryen.i64)),
      set(dst, add(L(dst), c(8))), set(len, sub(L(len), c(8))),
      mod.br('fw'),
    ]))]),
    mod.block('fb_out', [mod.loop('fb', mod.block(null, [
      mod.br('fb_out', mod.i32.eqz(L(len))),
      mod.i32.store8(0, 1, L(dst), L(val)),
      set(dst, add(L(dst), c(1))), set(len, sub(L(len), c(1))),
      mod.br('fb'),
    ]))]),
  ]);
  mod.removeFunction(fillName);
  mod.addFunction(fillName, binaryen.createType([i32, i32, i32]), none, [binaryen.i64], body);
}

if (!mod.validate()) throw new Error('the module does not validate after replacing the helpers');
writeFileSync(outPath, mod.emitBinary());
mod.dispose();

// Assembles src/engines/lite/find.wat, the lite engine's SIMD search for
// line ends, into the module that find.js instantiates, as base64: the
// build writes it into the lite engine's file (tools/assets.mjs), and the
// tests pass it to finder() (test/find.test.mjs, test/bytes.test.mjs).

import { readFileSync } from 'node:fs';
import binaryen from 'binaryen';

const source = new URL('../src/engines/lite/find.wat', import.meta.url);

// findModule returns the assembled module, base64-encoded.
export function findModule() {
  const m = binaryen.parseText(readFileSync(source, 'utf8'));
  try {
    m.setFeatures(binaryen.Features.SIMD128);
    if (!m.validate()) throw new Error('src/engines/lite/find.wat: not a valid module');
    return Buffer.from(m.emitBinary()).toString('base64');
  } finally {
    m.dispose();
  }
}

// The lite engine's reading of fetch's bytes (src/engines/lite/bytes.js):
// the same events as the parser makes of the decoded text, however the
// bytes are cut (a line, a character, the byte order mark or a CRLF split
// across chunks), with the standard's one leading BOM stripped and UTF-8
// decoded as the standard decodes the whole stream.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parser } from '../src/engines/lite/parser.js';
import { lines } from '../src/engines/lite/bytes.js';
import { finder } from '../src/engines/lite/find.js';
import { findModule } from '../tools/find.mjs';
import { streamCases } from './lib/streamcases.mjs';

const utf8 = (s) => new Uint8Array(Buffer.from(s, 'utf8'));

const MODULE = findModule();

// Each way bytes.js reads: each chunk's text tried whole or never (then
// every chunk's whole lines are cut out of its bytes first), and line ends
// in the bytes found by find.js's SIMD search or by indexOf.
const ways = [];
for (const probe of [true, false]) {
  for (const simd of [true, false]) ways.push({ probe, simd, name: (probe ? '' : ', not probed') + (simd ? '' : ', no SIMD') });
}

// run feeds the chunks to a fresh parser through bytes.js, read in way w
// with decoder (a fresh one by default), and returns its events.
function run(chunks, w = ways[0], decoder = new TextDecoder('utf-8', { ignoreBOM: true })) {
  const got = [];
  const p = parser((t, d, i) => got.push([t, d, i]), () => {});
  const b = lines(p, decoder, w.probe, w.simd ? () => finder(MODULE) : undefined);
  // A copy of each, as fetch gives each read a chunk of its own: bytes.js
  // may write into it.
  for (const c of chunks) b.feed(c.slice());
  return got;
}

// everyCut checks that bytes give want whole and in three chunks cut at
// every pair of positions, searched either way.
function everyCut(bytes, want, what) {
  for (let cut = 0; cut <= bytes.length; cut++) {
    for (let cut2 = cut; cut2 <= bytes.length; cut2++) {
      for (const w of ways) {
        const got = run([bytes.subarray(0, cut), bytes.subarray(cut, cut2), bytes.subarray(cut2)], w);
        assert.deepEqual(got, want, `${what} cut at ${cut} and ${cut2}${w.name}`);
      }
    }
  }
}

test('the same events as the parser makes of the text, however the bytes are cut', () => {
  for (const [text, want] of streamCases) {
    // The stream's own BOM, which responseText has lost already and bytes.js
    // strips.
    everyCut(new Uint8Array([0xEF, 0xBB, 0xBF, ...utf8(text)]), want, JSON.stringify(text));
    if (!text.startsWith('\uFEFF')) everyCut(utf8(text), want, JSON.stringify(text) + ' without a BOM');
  }
});

test('UTF-8: characters split across chunks, ill-formed sequences, a BOM that is not one', () => {
  const cases = [
    // Two-, three- and four-byte characters in data, a type and an id.
    [utf8('event: é中\nid: 😀\ndata: é中😀x\ndata: ü\n\n'), [['é中', 'é中😀x\nü', '😀']]],
    // An ill-formed sequence ends at the line's end: one U+FFFD each.
    [new Uint8Array([...utf8('data: a'), 0xE4, 0xB8, 0x0A, ...utf8('data: '), 0xFF, 0x0A, 0x0A]), [['message', 'a\uFFFD\n\uFFFD', '']]],
    // A truncated character at the end of the data, before the blank line.
    [new Uint8Array([...utf8('data: '), 0xF0, 0x9F, 0x98, 0x0A, 0x0A]), [['message', '\uFFFD', '']]],
    // The start of a BOM, then not one: the bytes start the first line
    // (a field with an unknown name), and the rest of the stream is read.
    [new Uint8Array([0xEF, 0xBB, ...utf8('data: x\n\ndata: y\n\n')]), [['message', 'y', '']]],
    [new Uint8Array([0xEF, ...utf8('\n\ndata: y\n\n')]), [['message', 'y', '']]],
    // Lone ill-formed bytes keep a chunk's text one character per byte
    // (it is read as text); a truncated sequence before ASCII does not.
    [new Uint8Array([...utf8('data: a'), 0xFF, 0x62, 0x80, 0x0A, ...utf8('data: '), 0xE4, 0x41, 0x0A, 0x0A]), [['message', 'a\uFFFDb\uFFFD\n\uFFFDA', '']]],
    [new Uint8Array([...utf8('data: '), 0xE4, 0xB8, 0x41, 0x0A, ...utf8('data: b\n\n')]), [['message', '\uFFFDA\nb', '']]],
    // ASCII and other events in turn: each kind of chunk after the other,
    // and an event whose lines come both ways.
    [utf8('data: a\n\ndata: é\n\ndata: b\ndata: c\n\ndata: ü\ndata: d\n\nid: 7\ndata: e\n\n'),
      [['message', 'a', ''], ['message', 'é', ''], ['message', 'b\nc', ''], ['message', 'ü\nd', ''], ['message', 'e', '7']]],
    // A second BOM is text: part of the field's name.
    [new Uint8Array([0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF, ...utf8('data: 1\n\ndata: 2\n\n')]), [['message', '2', '']]],
  ];
  for (const [bytes, want] of cases) everyCut(bytes, want, Buffer.from(bytes).toString('hex'));
});

test('a new response starts afresh: a partial line and event, and the BOM', () => {
  const got = [];
  const p = parser((t, d, i) => got.push([t, d, i]), () => {});
  const b = lines(p, new TextDecoder('utf-8', { ignoreBOM: true }), true);
  b.feed(utf8('\uFEFFid: 1\ndata: a\n\ndata: part\ndata: more'));
  b.reset();
  p.reset();
  b.feed(utf8('\uFEFFdata: b\n\n'));
  assert.deepEqual(got, [['message', 'a', '1'], ['message', 'b', '1']]);
});

test('a long line across many chunks, and events larger than the buffers', () => {
  const big = 'x'.repeat(3 << 20);
  const bytes = utf8('data: ' + big + '\ndata: é\n\ndata: small\n\n');
  const chunks = [];
  for (let i = 0; i < bytes.length; i += 65536) chunks.push(bytes.subarray(i, i + 65536));
  for (const w of ways) {
    const got = run(chunks, w);
    assert.equal(got.length, 2, w.name);
    assert.equal(got[0][1], big + '\né', w.name);
    assert.equal(got[1][1], 'small', w.name);
  }
});

test('after a large event, and after a small one, however the bytes are cut', () => {
  // A large event's data makes the next events' data lines go through the
  // bytes (bytes.js, BIG), a small one's back to substrings.
  const large = 'y'.repeat(1100);
  const tail = 'data: é\r\ndata: c\r\n\r\nid: 3\ndata: a\ndata: bb\n\n:x\ndata: d\r\n\r\ndata: e\rdata\r\r';
  const want = [['message', 'é\nc', ''], ['message', 'a\nbb', '3'], ['message', 'd', '3'], ['message', 'e\n', '3']];
  // The third: a large value within an event, after a small one.
  for (const [head, first] of [
    [`data: ${large}\n\n`, [['message', large, '']]],
    [`data: ${large}\n\ndata: s\n\n`, [['message', large, ''], ['message', 's', '']]],
    [`data: s\ndata: ${large}\ndata: t\n\n`, [['message', `s\n${large}\nt`, '']]]
  ]) {
    const h = utf8(head);
    const bytes = utf8(head + tail);
    const events = [...first, ...want];
    for (let cut = h.length - 3; cut <= bytes.length; cut++) {
      for (let cut2 = cut; cut2 <= bytes.length; cut2++) {
        for (const w of ways) {
          const got = run([bytes.subarray(0, cut), bytes.subarray(cut, cut2), bytes.subarray(cut2)], w);
          assert.deepEqual(got, events, `cut at ${cut} and ${cut2}${w.name}`);
        }
      }
    }
  }
});

test('random streams, cut at random: the events the parser makes of the whole text', () => {
  // A seeded generator (mulberry32), so that a failure names its stream.
  const rng = (seed) => () => {
    seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const ends = ['\n', '\r', '\r\n'];
  const alphabet = ['a', 'b', ' ', ':', 'é', '中', '😀'];
  for (let seed = 1; seed <= 150; seed++) {
    const r = rng(seed);
    const pick = (xs) => xs[Math.floor(r() * xs.length)];
    const wide = r() < 0.5; // some characters of more than one byte
    // Values of up to 3,000 characters, either side of bytes.js's BIG.
    const value = () => {
      const n = r() < 0.3 ? Math.floor(r() * 3000) : Math.floor(r() * 40);
      let s = '';
      for (let i = 0; i < n; i++) s += wide && r() < 0.05 ? pick(alphabet) : pick(alphabet.slice(0, 4));
      return s;
    };
    let text = r() < 0.2 ? '\uFEFF' : '';
    for (let e = 0, events = 1 + Math.floor(r() * 12); e < events; e++) {
      for (let l = 0, fields = Math.floor(r() * 5); l < fields; l++) {
        const k = r();
        const line = k < 0.6 ? 'data:' + (r() < 0.5 ? ' ' : '') + value()
          : k < 0.7 ? 'data' : k < 0.8 ? 'id: ' + e : k < 0.9 ? 'event: t' + e : ': ' + value();
        text += line + pick(ends);
      }
      text += pick(ends);
    }
    const bytes = utf8(text);
    // What the standard's decoding of the whole stream gives the parser.
    const want = [];
    const p = parser((t, d, i) => want.push([t, d, i]), () => {});
    p.feed(new TextDecoder('utf-8').decode(bytes));
    const chunks = [];
    for (let i = 0; i < bytes.length;) {
      const n = r() < 0.3 ? 1 + Math.floor(r() * 8) : 1 + Math.floor(r() * 4096);
      chunks.push(bytes.subarray(i, i + n));
      i += n;
    }
    for (const w of ways) {
      assert.deepEqual(run(chunks, w), want, `seed ${seed}${w.name}`);
    }
  }
});

test('line ends either side of where the search leaves the bytes for the finder', () => {
  // bytes.js looks for a line end byte by byte near where its search starts
  // (the start of a chunk that ends a line, the chunk's end going back),
  // then asks the finder: a line end just before, at and after that point.
  for (let d = 56; d <= 72; d++) {
    for (let d2 = 50; d2 <= 66; d2++) {
      const chunks = [
        utf8('data: é' + 'a'.repeat(10)),
        utf8('b'.repeat(d) + '\ndata: x\ndata: ü' + 'c'.repeat(d2)),
        utf8('\n\n'),
      ];
      const want = [['message', 'é' + 'a'.repeat(10) + 'b'.repeat(d) + '\nx\nü' + 'c'.repeat(d2), '']];
      for (const w of ways) assert.deepEqual(run(chunks, w), want, `${d} and ${d2}${w.name}`);
    }
  }
});

test('after a large event, more line ends in a chunk than the finder lists at a time', () => {
  // 20,000 1-byte lines and CRLF-ended ones in one chunk: the finder's list
  // (4,096 positions at a time, find.js) is asked again several times, and
  // a CRLF may straddle two of its batches.
  const large = 'z'.repeat(1100);
  for (const end of ['\n', '\r\n', '\r']) {
    const text = `data: ${large}\n\n` + ('data:x' + end).repeat(20000) + end;
    const want = [['message', large, ''], ['message', Array(20000).fill('x').join('\n'), '']];
    const bytes = utf8(text);
    const h = utf8(`data: ${large}\n\n`).length;
    for (const w of ways) {
      assert.deepEqual(run([bytes.subarray(0, h), bytes.subarray(h)], w), want, JSON.stringify(end) + w.name);
    }
  }
});

test('chunks of 16 KiB and more: UTF-8 at their start, further on, or nowhere', () => {
  // bytes.js decodes such a chunk whole, to read it as text, only when its
  // first KiB has one character per byte: a chunk that starts with UTF-8 is
  // not decoded twice (a character split at the end of that KiB too). The
  // bounds: the bytes decoded, against the stream's, as this build decodes
  // them (1.009, 1.319, 1.102 at most); without the look at the first KiB,
  // UTF-8 from the start was 1.09-1.22.
  const ascii = 'data: ' + 'a'.repeat(700) + '\n\n';
  const wide = 'data: ' + '\u00e9\u20ac\u{1F600}'.repeat(100) + '\ndata: x\n\n';
  for (const [what, text, most] of [
    ['UTF-8 from the start', wide.repeat(200), 1.02],
    ['ASCII, then UTF-8', ascii.repeat(30) + wide.repeat(100) + ascii.repeat(30), 1.4],
    ['ASCII', ascii.repeat(200), 1.15],
  ]) {
    const bytes = utf8(text);
    const want = [];
    const p0 = parser((t, d, i) => want.push([t, d, i]), () => {});
    p0.feed(text);
    for (const size of [16384, 16384 + 1023, 16384 + 1025, 40000]) {
      for (const shift of [0, 1, 2, 3, 700]) {
        const chunks = [bytes.subarray(0, shift)];
        for (let i = shift; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
        for (const w of ways) assert.deepEqual(run(chunks, w), want, `${what}, chunks of ${size} from ${shift}${w.name}`);
        // Bytes decoded, against the stream's.
        let decoded = 0;
        const d = new TextDecoder('utf-8', { ignoreBOM: true });
        const counting = { decode: (b) => { decoded += b.length; return d.decode(b); } };
        assert.deepEqual(run(chunks, ways[0], counting), want, `${what}, chunks of ${size} from ${shift}, counted`);
        assert.ok(decoded <= most * bytes.length, `${what}, chunks of ${size} from ${shift}: ${decoded} bytes decoded for ${bytes.length}`);
      }
    }
  }
});

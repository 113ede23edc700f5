// The lite engine's reading of a stream that fetch hands over as bytes
// (engine.js, over fetch). Where the lines are found, and how a data line's
// value joins its event's data, decide its speed against native
// EventSource (docs/benchmarks.md, sessions 7 and 8):
//
//   - Running the parser on each chunk decoded to text, as over XHR, joined
//     a line split across chunks and then the event's data, and the
//     garbage collector paid for every join.
//   - Copying each data value's bytes into one buffer per event, decoded at
//     its blank line, costs a decoder call per event (a third of the
//     engine's time on 1 KiB events, in Chromium) and, on UTF-8 text, a
//     search of the bytes, which is slow without SIMD (find.js).
//   - Joining substrings of the chunk's text and flattening the join at the
//     blank line (into a string of its own, so that the page's strings
//     never keep a chunk's text alive) costs neither, but puts the event's
//     data in the JS heap, where large strings that an event has held cost
//     the garbage collector more than the decoder call (a fifth of the
//     page's time on 64 KiB events, a seventh on a page's first stream of
//     1 KiB events); TextDecoder's strings are kept outside. A MessageEvent
//     of ours lives until a full collection (likely because it is not the
//     browser's plain event, which a minor one may drop), and so does its
//     data: in the heap, the minor collections copy it on the way.
//
// So each chunk is read as text, and a data value is a substring of it,
// unless the value is BIG and its bytes are at hand; from such a value to
// its event's end, and after an event whose data is BIG, a data value's
// bytes go to the buffer instead. After a BIG event, where the browser
// has the SIMD search (find.js), the chunk's lines are found in its bytes,
// whatever it holds: its data goes to the bytes anyway, and the search
// costs less than decoding the chunk to search its text (ASCII events of
// 4 KiB lines and more were read 1.3-1.7 times as fast). Otherwise, where
// the chunk's UTF-8 decoding has one character per byte (ASCII, or lone
// ill-formed bytes), its text's positions are the bytes': the chunk is
// read from its text whole, and the bytes are at hand. Otherwise the whole
// lines between the chunk's first and last line ends are decoded and read
// as text, or, after a BIG event, found in the bytes. A line split across
// chunks always goes through the bytes. Every other line goes to the
// parser (parser.js), which keeps the standard's field rules.
//
// Decoding the parts apart gives the standard's characters: it decodes the
// whole stream as UTF-8 before splitting lines, and in UTF-8 no CR or LF
// can continue a multi-byte sequence, so a line end also ends any
// ill-formed sequence (a U+FFFD either way). Where a chunk's decoding has as
// many characters as the chunk has bytes, every byte became one character
// on its own (every other sequence, well-formed or not, is two or more
// bytes for fewer characters), so a line's substring is that line's
// decoding. The standard's one leading byte order mark is stripped here, at
// the start of each response.
//
// Line ends are found in the bytes with find.js's SIMD search where the
// browser has one, else with Uint8Array's indexOf.
//
// lines(p, decoder, probe, search) returns { feed(bytes), reset() }:
// decoder is a TextDecoder for UTF-8 that keeps a BOM it meets (ignoreBOM),
// as every part it decodes is in the middle of the stream, and is never
// asked to stream; probe says to try each chunk's text whole (the tests run
// without it too); search, when given, returns a finder (find.js) or null,
// and is called at the first chunk searched in its bytes. After a chunk or
// an event whose text had fewer characters than bytes (UTF-8 text) the next
// chunk is not tried whole: it would pay for a decoding it cannot use.
// feed may write into the chunk it is given (value, below): a chunk is the
// reader's from then on, as each of fetch's reads gives a new one.

var LF = 10;
var CR = 13;
// Values shorter than this are copied byte by byte (copy, in lines).
var SHORT = 32;
var COLON = 58;
var SPACE = 32;
// The three bytes of the BOM, U+FEFF in UTF-8.
var BOM = [0xEF, 0xBB, 0xBF];

// grow returns b, or a buffer twice as large or more holding its first n
// bytes, so that it holds at least need.
function grow(b, n, need) {
  if (need <= b.length) return b;
  var size = b.length * 2;
  while (size < need) size *= 2;
  var c = new Uint8Array(size);
  c.set(b.subarray(0, n));
  return c;
}

export function lines(p, decoder, probe, search) {
  var part = new Uint8Array(256); // a line split across chunks, so far
  var pn = 0;
  var data = new Uint8Array(4096); // the event's data values, each LF-ended
  var dn = 0;
  var ds = ''; // its data values before those in data, each LF-ended
  // After those in data, its values read from one chunk, still in it
  // (part, which is written again, is copied): vb[vs:ve], joined by LFs,
  // not yet LF-ended. Each value after the first is moved back in the
  // chunk to follow the one before, over bytes already read (see value).
  var vb = null;
  var vs = 0;
  var ve = 0;
  var datas = 0; // data lines in the event
  var skipLF = false; // the last chunk ended with CR
  var bom = 0; // BOM bytes matched at the response's start; 3: past it
  // The last chunk's whole lines, or the last event's data decoded from
  // bytes, had fewer characters than bytes.
  var wide = false;
  // The last event's data was BIG characters or more, or a data value of
  // this one's was.
  var big = false;
  // A buffer larger than this goes after its event, so that a connection
  // does not keep its largest event's size for good.
  var KEEP = 4 << 20;
  // Data this long or longer is better decoded from bytes, at its blank
  // line, than joined from substrings (see the top of this file): on a
  // long stream, events of 256 to 1,024 bytes ran 5-30% faster joined, but
  // held 2-7 times the JS heap; on a page's first stream of 1 KiB events,
  // the garbage collector took 47 ms joined, 9 ms decoded.
  var BIG = 1024;
  // The finder, once a chunk has been searched in its bytes (null: none),
  // and the chunk it holds.
  var find;
  var held = null;
  // How far from where a search starts a line end is looked for byte by
  // byte before the finder is asked.
  var NEAR = 64;
  // A chunk of PEEK × 16 bytes or more is tried whole only if its first
  // PEEK bytes have one character per byte (see feed).
  var PEEK = 1024;

  // blank dispatches the event at a blank line.
  function blank() {
    if (!datas) {
      p.line('');
      return;
    }
    var d;
    if (ds === '' && dn === 0 && vb !== null) {
      d = decoder.decode(vb.subarray(vs, ve));
      wide = d.length !== ve - vs;
      vb = null;
    } else if (ds === '') {
      if (vb !== null) spill();
      d = decoder.decode(data.subarray(0, dn - 1));
      wide = d.length !== dn - 1;
    } else {
      if (vb !== null) spill();
      if (dn) ds += decoder.decode(data.subarray(0, dn));
      // The join is flattened into a string of its own here: a substring
      // of it keeps neither a chunk's text nor the pieces alive.
      d = ds.substring(0, ds.length - 1);
      ds = '';
    }
    dn = datas = 0;
    big = d.length >= BIG;
    if (data.length > KEEP) data = new Uint8Array(4096);
    p.event(d);
  }

  // value adds b[v:to], a data line's value, to the event's data: as a
  // view of b, which an event whose data lines are all in b decodes from
  // there, uncopied. A value after another in b is moved back to follow it,
  // an LF between them: the bytes it goes over (the line's field name, the
  // lines before it) have been read, and nothing reads a chunk again (the
  // finder holds a copy of it, and the line ends ahead are found from
  // where this line ends). Only bytes within the chunk move:
  // no copy to the data buffer, and no view per line.
  function value(b, v, to) {
    datas++;
    if (vb === b) {
      b[ve++] = LF;
      if (to - v < SHORT) {
        while (v < to) b[ve++] = b[v++];
      } else {
        b.copyWithin(ve, v, to);
        ve += to - v;
      }
      return;
    }
    if (vb !== null) spill();
    if (b === part) {
      copy(b, v, to);
      return;
    }
    vb = b;
    vs = v;
    ve = to;
  }

  // spill copies the values in view to the data buffer.
  function spill() {
    var b = vb;
    vb = null;
    copy(b, vs, ve);
  }

  // copy appends b[v:to] and an LF to the data buffer. A short value is
  // copied byte by byte: a view and a set() cost more than such a loop
  // below some 32 bytes (V8: 20 times as much for 1-byte values).
  function copy(b, v, to) {
    data = grow(data, dn, dn + (to - v) + 1);
    if (to - v < SHORT) {
      while (v < to) data[dn++] = b[v++];
    } else {
      data.set(b.subarray(v, to), dn);
      dn += to - v;
    }
    data[dn++] = LF;
  }

  // bline interprets the line b[from:to] of bytes: a line split across
  // chunks.
  function bline(b, from, to) {
    if (from === to) {
      blank();
      return;
    }
    if (b[from] === COLON) return; // a comment
    if (to - from >= 4 && b[from] === 100 && b[from + 1] === 97 && b[from + 2] === 116 && b[from + 3] === 97 &&
        (to - from === 4 || b[from + 4] === COLON)) { // 'data', then ':' or the line's end
      var v = from + 5;
      if (v > to) v = to;
      if (v < to && b[v] === SPACE) v++;
      value(b, v, to);
      return;
    }
    p.line(decoder.decode(b.subarray(from, to)));
  }

  // tline interprets the line s[from:to] of a chunk's text; b, when not
  // null, is the chunk, whose positions are the text's.
  function tline(s, from, to, b) {
    if (from === to) {
      blank();
      return;
    }
    var c = s.charCodeAt(from);
    if (c === COLON) return;
    if (c === 100 && to - from >= 4 && s.charCodeAt(from + 1) === 97 && s.charCodeAt(from + 2) === 116 &&
        s.charCodeAt(from + 3) === 97 && (to - from === 4 || s.charCodeAt(from + 4) === COLON)) {
      var v = from + 5;
      if (v > to) v = to;
      if (v < to && s.charCodeAt(v) === SPACE) v++;
      if (b !== null && (big || to - v >= BIG)) {
        big = true;
        value(b, v, to);
        return;
      }
      if (vb !== null) spill();
      if (dn) {
        ds += decoder.decode(data.subarray(0, dn));
        dn = 0;
      }
      ds += s.substring(v, to) + '\n';
      datas++;
      return;
    }
    // A copy: the parser keeps an event's type and ID, which must not keep
    // the chunk's text alive.
    p.line((s.substring(from, to) + ' ').substring(0, to - from));
  }

  // texts interprets the whole lines of s from i on, and returns where the
  // last of them ended. last: the end of s is the chunk's (a CR there may
  // be a CRLF split across chunks); b as for tline.
  function texts(s, i, last, b) {
    var n = s.length;
    // The next CR and LF at or after i; -1 once there is none. The search
    // is parser.js's (feed), written out here as there: a call per line
    // costs most in the interpreter, where a page's first stream starts.
    var cr = -2;
    var lf = -2;
    while (i < n) {
      if (cr !== -1 && cr < i) cr = s.indexOf('\r', i);
      if (lf !== -1 && lf < i) lf = s.indexOf('\n', i);
      var j = cr < 0 ? lf : lf < 0 || cr < lf ? cr : lf;
      if (j < 0) break;
      tline(s, i, j, b);
      if (j === cr) {
        if (j + 1 === n) {
          if (last) skipLF = true;
        } else if (s.charCodeAt(j + 1) === 10) {
          j++;
        }
      }
      i = j + 1;
    }
    return i;
  }

  // keep adds b[i:j] to the partial line.
  function keep(b, i, j) {
    part = grow(part, pn, pn + j - i);
    part.set(b.subarray(i, j), pn);
    pn += j - i;
  }

  // next returns where the line after the line end b[j] starts.
  function next(b, j) {
    if (b[j] === CR) {
      if (j + 1 === b.length) skipLF = true; else if (b[j + 1] === LF) j++;
    }
    return j + 1;
  }

  // finish ends the partial line with b[i:j], j a line end of b, and
  // returns where the next line starts.
  function finish(b, i, j) {
    keep(b, i, j);
    var whole = pn;
    pn = 0;
    bline(part, 0, whole);
    if (part.length > KEEP) part = new Uint8Array(256);
    return next(b, j);
  }

  // holder returns the finder, holding a copy of b, or null: where there
  // is none, or b is larger than a buffer kept for good. b is copied once.
  function holder(b) {
    if (b.length > KEEP) return null;
    if (find === undefined) find = search ? search() : null;
    if (find !== null && held !== b) {
      find.load(b);
      held = b;
    }
    return find;
  }

  // ahead returns where the first line end of b from i on is, or -1; behind
  // the last one, or -1. A line end near i (near the chunk's end) is
  // found byte by byte, so that a chunk of short lines is not copied into
  // the finder for two searches; a farther one by the finder, where there
  // is one.
  function ahead(b, i) {
    var n = b.length;
    var near = n - i > NEAR ? i + NEAR : n;
    var j = i;
    while (j < near && b[j] !== LF && b[j] !== CR) j++;
    if (j < near) return j;
    var f = j < n ? holder(b) : null;
    if (f !== null) return f.first(j, n);
    while (j < n && b[j] !== LF && b[j] !== CR) j++;
    return j < n ? j : -1;
  }

  function behind(b, i) {
    var n = b.length;
    var near = n - i > NEAR ? n - NEAR : i;
    var e = n - 1;
    while (e >= near && b[e] !== LF && b[e] !== CR) e--;
    if (e >= near) return e;
    var f = near > i ? holder(b) : null;
    if (f !== null) return f.last(i, near);
    while (e >= i && b[e] !== LF && b[e] !== CR) e--;
    return e >= i ? e : -1;
  }

  // blines interprets the whole lines of b from i on, found in the bytes
  // (by f, when not null, which holds b), and returns where the last of
  // them ended.
  function blines(b, i, f) {
    var n = b.length;
    var cr = -2;
    var lf = -2;
    // The finder's positions: pos[k:m] not yet taken.
    var pos = f !== null ? f.pos : null;
    var k = 0;
    var m = 0;
    while (i < n) {
      var j;
      if (f !== null) {
        if (k === m) {
          m = f.all(i, n);
          k = 0;
          if (!m) break;
        }
        j = pos[k++];
        // The LF of a CRLF, which next() stepped over.
        if (j < i) continue;
      } else {
        if (cr !== -1 && cr < i) cr = b.indexOf(CR, i);
        if (lf !== -1 && lf < i) lf = b.indexOf(LF, i);
        j = cr < 0 ? lf : lf < 0 || cr < lf ? cr : lf;
        if (j < 0) break;
      }
      if (pn) {
        i = finish(b, i, j);
      } else {
        bline(b, i, j);
        i = next(b, j);
      }
    }
    return i;
  }

  // aligned reports whether b's first PEEK bytes decode to as many
  // characters. Where they do not, neither does the whole chunk (a sequence
  // that makes fewer characters than bytes before the cut makes them in
  // the whole too), so its decoding, the size of the chunk, would go
  // unused: a page's first read with fetch can bring megabytes at once.
  function aligned(b) {
    return decoder.decode(b.subarray(0, PEEK)).length === PEEK;
  }

  // feed reads the next chunk: after a BIG event, where there is a finder,
  // its lines are found in the bytes; otherwise as its text where that has
  // one character per byte (the positions are the bytes'); otherwise, after
  // a BIG event, its lines are found in the bytes; otherwise the whole lines
  // between its first and last line ends are decoded and read as text, and
  // the lines around them, split across chunks, go through the bytes.
  function feed(b) {
    var n = b.length;
    var i = 0;
    while (bom < 3 && i < n) {
      if (b[i] !== BOM[bom]) {
        // Not a BOM: what matched of it starts the first line.
        for (var k = 0; k < bom; k++) part[pn++] = BOM[k];
        bom = 3;
        break;
      }
      bom++;
      i++;
    }
    if (skipLF && i < n) {
      skipLF = false;
      if (b[i] === LF) i++;
    }
    if (i === n) return;
    // After a BIG event, where there is a finder, the lines are found in
    // the bytes however the chunk decodes: its data values go to the bytes
    // anyway, and the finder costs less than decoding the chunk to search
    // its text.
    var t = probe && !wide && !(big && holder(b) !== null) && (n < 16 * PEEK || aligned(b)) ? decoder.decode(b) : null;
    var j;
    if (t !== null && t.length === n) {
      if (pn) {
        var cr = t.indexOf('\r', i);
        var lf = t.indexOf('\n', i);
        j = cr < 0 ? lf : lf < 0 || cr < lf ? cr : lf;
        if (j < 0) {
          keep(b, i, n);
          return;
        }
        i = finish(b, i, j);
      }
      keep(b, texts(t, i, true, b), n);
      return;
    }
    if (big) {
      keep(b, blines(b, i, holder(b)), n);
      held = null;
      return;
    }
    if (pn) {
      j = ahead(b, i);
      if (j < 0) {
        keep(b, i, n);
        held = null;
        return;
      }
      i = finish(b, i, j);
    }
    // The last line end: what follows it starts a line.
    var e = behind(b, i);
    held = null;
    if (e >= i) {
      var s = decoder.decode(b.subarray(i, e + 1));
      wide = s.length !== e + 1 - i;
      texts(s, 0, e + 1 === n, null);
      i = e + 1;
    }
    keep(b, i, n);
  }

  return {
    feed: feed,
    // reset forgets a partial line and event, for a new response (the
    // parser's own reset is the caller's).
    reset: function () {
      pn = dn = datas = bom = 0;
      ds = '';
      vb = null;
      skipLF = wide = big = false;
    }
  };
}

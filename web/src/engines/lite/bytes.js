// The lite engine's reading of a stream that fetch hands over as bytes
// (engine.js, over fetch): the lines are found in the bytes; a data line's
// value is copied into the one buffer of its event, whose data is decoded
// once, when the blank line dispatches it; every other line is decoded on
// its own and goes to the parser (parser.js), which keeps the standard's
// field rules. Decoding each chunk to text first and cutting and joining
// strings, as over XHR, left the engine below native EventSource on large
// events: every chunk became a string, a line split across chunks was
// joined and flattened, and the event's data joined again, and the
// garbage collector paid for all of them (docs/benchmarks.md).
//
// Decoding the parts apart gives the standard's characters: it decodes the
// whole stream as UTF-8 before splitting lines, and in UTF-8 no CR or LF
// can continue a multi-byte sequence, so a line end also ends any
// ill-formed sequence (a U+FFFD either way). The standard's one leading
// byte order mark is stripped here, at the start of each response.
//
// lines(p, decoder, single) returns { feed(bytes), reset() }: decoder is a
// TextDecoder for UTF-8 that keeps a BOM it meets (ignoreBOM), as every
// part it decodes is in the middle of the stream; single one for a
// single-byte encoding (windows-1252), through which the line ends are
// searched while the stream is ASCII: a string of one character per byte,
// whose indexOf the browser runs several times faster than a Uint8Array's
// (in Chromium, the Uint8Array search was a third of the engine's time on
// 64 KiB events), and which dies young. Where the last event's data was
// not ASCII, the Uint8Array is searched: bytes from 0x80 up made that
// decoding the costliest part (UTF-8 data, in Chromium); and always where
// single is null (a TextDecoder that knows only UTF-8).

var LF = 10;
var CR = 13;
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

export function lines(p, decoder, single) {
  var part = new Uint8Array(256); // a line split across chunks, so far
  var pn = 0;
  var data = new Uint8Array(4096); // the event's data values, each LF-ended
  var dn = 0;
  var datas = 0; // data lines in the event
  var skipLF = false; // the last chunk ended with CR
  var bom = 0; // BOM bytes matched at the response's start; 3: past it
  var wide = false; // the last event's data was not ASCII
  // A buffer larger than this goes after its event, so that a connection
  // does not keep its largest event's size for good.
  var KEEP = 4 << 20;

  // line interprets the line b[from:to].
  function line(b, from, to) {
    if (from === to) {
      if (datas) {
        var d = decoder.decode(data.subarray(0, dn - 1));
        wide = d.length !== dn - 1;
        dn = datas = 0;
        if (data.length > KEEP) data = new Uint8Array(4096);
        p.event(d);
      } else {
        p.line('');
      }
      return;
    }
    if (b[from] === COLON) return; // a comment
    if (to - from >= 4 && b[from] === 100 && b[from + 1] === 97 && b[from + 2] === 116 && b[from + 3] === 97 &&
        (to - from === 4 || b[from + 4] === COLON)) { // 'data', then ':' or the line's end
      var v = from + 5;
      if (v > to) v = to;
      if (v < to && b[v] === SPACE) v++;
      data = grow(data, dn, dn + (to - v) + 1);
      data.set(b.subarray(v, to), dn);
      dn += to - v;
      data[dn++] = LF;
      datas++;
      return;
    }
    p.line(decoder.decode(b.subarray(from, to)));
  }

  function feed(b) {
    var n = b.length;
    var i = 0;
    var t = wide || !single ? null : single.decode(b);
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
    // The next CR and LF at or after i; -1 once there is none.
    var cr = -2;
    var lf = -2;
    while (i < n) {
      if (cr !== -1 && cr < i) cr = t ? t.indexOf('\r', i) : b.indexOf(CR, i);
      if (lf !== -1 && lf < i) lf = t ? t.indexOf('\n', i) : b.indexOf(LF, i);
      var j = cr < 0 ? lf : lf < 0 || cr < lf ? cr : lf;
      if (j < 0) {
        part = grow(part, pn, pn + n - i);
        part.set(b.subarray(i), pn);
        pn += n - i;
        return;
      }
      if (pn) {
        part = grow(part, pn, pn + j - i);
        part.set(b.subarray(i, j), pn);
        var whole = pn + j - i;
        pn = 0;
        line(part, 0, whole);
        if (part.length > KEEP) part = new Uint8Array(256);
      } else {
        line(b, i, j);
      }
      if (j === cr) {
        if (j + 1 === n) skipLF = true; else if (b[j + 1] === LF) j++;
      }
      i = j + 1;
    }
  }

  return {
    feed: feed,
    // reset forgets a partial line and event, for a new response (the
    // parser's own reset is the caller's).
    reset: function () {
      pn = dn = datas = bom = 0;
      skipLF = false;
    }
  };
}

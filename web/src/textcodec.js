// TextEncoder and TextDecoder for the browsers that run the WebAssembly
// engine without them (EdgeHTML). Go's glue turns every string that crosses
// between Go and JavaScript through them, so they are written for speed;
// only UTF-8 is supported, which is all the glue and the engine use.

import { root, isFunction } from './env.js';

// encodeUTF8 returns str as UTF-8, a lone surrogate becoming U+FFFD.
function encodeUTF8(str) {
  var n = str.length;
  var out = new Uint8Array(n * 3);
  var j = 0;
  for (var i = 0; i < n; i++) {
    var c = str.charCodeAt(i);
    if (c < 0x80) {
      out[j++] = c;
    } else if (c < 0x800) {
      out[j++] = 0xC0 | (c >> 6);
      out[j++] = 0x80 | (c & 0x3F);
    } else {
      if (c >= 0xD800 && c <= 0xDFFF) {
        var d = i + 1 < n ? str.charCodeAt(i + 1) : 0;
        if (c <= 0xDBFF && d >= 0xDC00 && d <= 0xDFFF) {
          var cp = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00);
          i++;
          out[j++] = 0xF0 | (cp >> 18);
          out[j++] = 0x80 | ((cp >> 12) & 0x3F);
          out[j++] = 0x80 | ((cp >> 6) & 0x3F);
          out[j++] = 0x80 | (cp & 0x3F);
          continue;
        }
        c = 0xFFFD;
      }
      out[j++] = 0xE0 | (c >> 12);
      out[j++] = 0x80 | ((c >> 6) & 0x3F);
      out[j++] = 0x80 | (c & 0x3F);
    }
  }
  return out.subarray(0, j);
}

var CHUNK = 4096;

// decodeUTF8 decodes bytes as the Encoding standard's UTF-8 decoder does,
// each maximal ill-formed subpart becoming one U+FFFD.
function decodeUTF8(bytes) {
  var n = bytes.length;
  var parts = '';
  var units = [];
  var i = 0;
  while (i < n) {
    var b = bytes[i++];
    if (b >= 0x80) {
      var need = 0;
      var lo = 0x80;
      var hi = 0xBF;
      var cp = 0;
      if (b >= 0xC2 && b <= 0xDF) {
        need = 1; cp = b & 0x1F;
      } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2; cp = b & 0x0F;
        if (b === 0xE0) lo = 0xA0; else if (b === 0xED) hi = 0x9F;
      } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3; cp = b & 0x07;
        if (b === 0xF0) lo = 0x90; else if (b === 0xF4) hi = 0x8F;
      }
      if (need === 0) {
        b = 0xFFFD;
      } else {
        while (need > 0) {
          var c = i < n ? bytes[i] : -1;
          if (c < lo || c > hi) break;
          cp = (cp << 6) | (c & 0x3F);
          lo = 0x80;
          hi = 0xBF;
          i++;
          need--;
        }
        if (need > 0) {
          b = 0xFFFD; // the offending byte starts the next sequence
        } else if (cp >= 0x10000) {
          cp -= 0x10000;
          units.push(0xD800 + (cp >> 10));
          b = 0xDC00 + (cp & 0x3FF);
        } else {
          b = cp;
        }
      }
    }
    units.push(b);
    if (units.length >= CHUNK) {
      parts += String.fromCharCode.apply(null, units);
      units = [];
    }
  }
  return parts + String.fromCharCode.apply(null, units);
}

// encodeInto encodes text from character at on as UTF-8 into
// bytes[to, to + cap), as much as fits without splitting a character, and
// returns how many characters it read and bytes it wrote (a lone surrogate
// becomes U+FFFD), with enc's encodeInto when enc is a TextEncoder that has
// one, else in script (EdgeHTML has no TextEncoder). The WebAssembly
// engine's bridge writes XHR text straight into the engine's memory with
// it, a piece at a time.
var into = { read: 0, written: 0 };

export function encodeInto(enc, text, at, bytes, to, cap) {
  if (enc) {
    // A piece of at most cap characters, not ending between the two
    // halves of a surrogate pair; the browser stops where the view ends,
    // never inside a character.
    var e = at + cap;
    if (e >= text.length) {
      e = text.length;
    } else if ((text.charCodeAt(e - 1) & 0xFC00) === 0xD800) {
      e--;
    }
    return enc.encodeInto(at === 0 && e === text.length ? text : text.substring(at, e), bytes.subarray(to, to + cap));
  }
  return encodeUTF8Into(text, at, bytes, to, cap);
}

function encodeUTF8Into(text, at, bytes, to, cap) {
  var i = at;
  var j = to;
  var end = to + cap;
  var n = text.length;
  while (i < n) {
    var c = text.charCodeAt(i);
    if (c < 0x80) {
      if (j >= end) break;
      bytes[j++] = c;
      i++;
      continue;
    }
    var len = 1;
    if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n) {
      var d = text.charCodeAt(i + 1);
      if (d >= 0xDC00 && d <= 0xDFFF) {
        c = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00);
        len = 2;
      }
    }
    if (c >= 0xD800 && c <= 0xDFFF) c = 0xFFFD; // a lone surrogate
    var need = c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (j + need > end) break;
    if (need === 2) {
      bytes[j++] = 0xC0 | c >> 6;
    } else if (need === 3) {
      bytes[j++] = 0xE0 | c >> 12;
      bytes[j++] = 0x80 | c >> 6 & 0x3F;
    } else {
      bytes[j++] = 0xF0 | c >> 18;
      bytes[j++] = 0x80 | c >> 12 & 0x3F;
      bytes[j++] = 0x80 | c >> 6 & 0x3F;
    }
    bytes[j++] = 0x80 | c & 0x3F;
    i += len;
  }
  into.read = i - at;
  into.written = j - to;
  return into;
}

function view(input) {
  if (!input) return new Uint8Array(0);
  if (input instanceof Uint8Array) return input;
  if (input.buffer) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  return new Uint8Array(input);
}

function Encoder() {}
Encoder.prototype.encoding = 'utf-8';
Encoder.prototype.encode = function (s) {
  return encodeUTF8(s === undefined ? '' : String(s));
};

function Decoder() {}
Decoder.prototype.encoding = 'utf-8';
Decoder.prototype.decode = function (input) {
  return decodeUTF8(view(input));
};

// The browser's own where it has them: native code beats any of this.
export var TextEncoder_ = isFunction(root.TextEncoder) ? root.TextEncoder : Encoder;
export var TextDecoder_ = isFunction(root.TextDecoder) ? root.TextDecoder : Decoder;

// For tests of the fallbacks.
export var fallback = { TextEncoder: Encoder, TextDecoder: Decoder };

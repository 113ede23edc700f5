package sse

import "unicode/utf8"

// The stream is decoded as UTF-8 whatever its declared charset, the way the
// WHATWG Encoding standard's UTF-8 decoder does it: each maximal subpart of
// an ill-formed sequence (the longest prefix of a well-formed sequence, or a
// single byte) becomes one U+FFFD. This is the replacement browsers make, and
// it differs from strings.ToValidUTF8, which merges runs of bad bytes, and
// from ranging over a string, which replaces every byte.
//
// Decoding line by line gives the same result as decoding the whole stream
// first: CR, LF and colon are ASCII, and an ASCII byte never continues a
// sequence, so it ends any ill-formed one before it the same way.

const replacementChar = "\uFFFD"

// appendUTF8 appends src to dst with every ill-formed subsequence replaced.
func appendUTF8(dst, src []byte) []byte {
	start := 0
	for {
		at, n := nextInvalid(src, start)
		if at < 0 {
			return append(dst, src[start:]...)
		}
		dst = append(dst, src[start:at]...)
		dst = append(dst, replacementChar...)
		start = at + n
	}
}

// decodedLen is len(appendUTF8(nil, src)), without building it.
func decodedLen(src []byte) int {
	n := len(src)
	for i := 0; ; {
		at, w := nextInvalid(src, i)
		if at < 0 {
			return n
		}
		n += len(replacementChar) - w
		i = at + w
	}
}

// nextInvalid returns the offset and length of the first ill-formed
// subpart of src at or after from, or -1 and 0 when there is none.
func nextInvalid(src []byte, from int) (at, n int) {
	for i := from; i < len(src); {
		if src[i] < utf8.RuneSelf {
			i++
			continue
		}
		// A well-formed sequence starting at a non-ASCII byte is at least
		// two bytes long; a width of 1 means ill-formed.
		if _, w := utf8.DecodeRune(src[i:]); w > 1 {
			i += w
			continue
		}
		return i, invalidLen(src[i:])
	}
	return -1, 0
}

// decodeString returns src decoded as a string.
func decodeString(src []byte) string {
	if utf8.Valid(src) {
		return string(src)
	}
	return string(appendUTF8(make([]byte, 0, decodedLen(src)), src))
}

// invalidLen returns the length of the maximal subpart at the start of b,
// which the caller knows does not start with a well-formed sequence. The
// byte ranges are those of the Encoding standard's UTF-8 decoder, which
// accepts exactly what unicode/utf8 does (no overlongs, no surrogates,
// nothing above U+10FFFF).
func invalidLen(b []byte) int {
	c := b[0]
	lo, hi := byte(0x80), byte(0xBF)
	need := 0
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c >= 0xE0 && c <= 0xEF:
		need = 2
		if c == 0xE0 {
			lo = 0xA0
		} else if c == 0xED {
			hi = 0x9F
		}
	case c >= 0xF0 && c <= 0xF4:
		need = 3
		if c == 0xF0 {
			lo = 0x90
		} else if c == 0xF4 {
			hi = 0x8F
		}
	default:
		return 1
	}
	n := 1
	for n <= need && n < len(b) && b[n] >= lo && b[n] <= hi {
		lo, hi = 0x80, 0xBF
		n++
	}
	return n
}

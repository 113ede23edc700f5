//go:build wasm

package sse

import "math/bits"

// lineEnd returns the position of the first CR or LF in p at or after pos,
// or -1, and whether p[pos:] up to it is ASCII, which spares processLine
// the UTF-8 validation of the line.
//
// WebAssembly has no vector instructions that Go uses: IndexByte is a loop
// over bytes there, and scanning for CR and for LF separately and then
// validating walked each byte three times. This looks at eight bytes at a
// time for both line ends and for bytes above 0x7F at once. The d.cr and
// d.lf of the other platforms are not used.
func (d *Decoder) lineEnd(p []byte, pos int) (int, bool) {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
		cr   = ones * '\r'
		lf   = ones * '\n'
	)
	var seen uint64 // the bytes before the line end, or'ed
	i := pos
	for ; i+8 <= len(p); i += 8 {
		b := p[i : i+8 : i+8]
		// The compiler makes this one 64-bit load.
		w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		// A byte of x or y is zero where w has a CR or a LF; the lowest
		// byte flagged by (v - ones) &^ v is exactly the lowest zero one.
		x, y := w^cr, w^lf
		if m := ((x-ones)&^x | (y-ones)&^y) & high; m != 0 {
			n := bits.TrailingZeros64(m) >> 3
			seen |= w & (1<<(n*8) - 1)
			return i + n, seen&high == 0
		}
		seen |= w
	}
	for ; i < len(p); i++ {
		c := p[i]
		if c == '\r' || c == '\n' {
			return i, seen&high == 0
		}
		seen |= uint64(c)
	}
	return -1, false
}

//go:build wasm

package sse

import (
	"math/bits"
	"unsafe"
)

// lineEnd returns the position of the first CR or LF in p at or after pos,
// or -1, and whether p[pos:] up to it is ASCII, which spares processLine
// the UTF-8 validation of the line.
//
// WebAssembly has no vector instructions that Go uses: IndexByte is a loop
// four bytes at a time there (internal/bytealg's memchr), and scanning for
// CR and for LF separately walked each byte twice; under Node 20 a search
// for LF with IndexByte and then for CR before it ran at 2 GB/s on 4 KiB
// lines where this runs at 6 (BenchmarkLineEnd). This looks at eight bytes
// at a time for both line ends and for bytes above 0x7F at once, and past
// the first 16 bytes of a line at 32 bytes per turn of the loop: Go
// compiles a loop to a dispatch through a br_table per turn, which on a
// 4 KiB line cost as much as the scan itself. The words are read with
// unsafe loads, which WebAssembly allows unaligned, inside p's bounds as the
// loops' conditions ensure. The d.cr and d.lf of the other platforms are
// not used.
func (d *Decoder) lineEnd(p []byte, pos int) (int, bool) {
	var seen uint64 // the bytes before the line end, or'ed
	n := len(p)
	if pos >= n {
		return -1, false
	}
	base := unsafe.Pointer(unsafe.SliceData(p))
	i := pos
	// Most lines of most streams are short: the first two words are
	// looked at one by one.
	for k := 0; k < 2 && i+8 <= n; k++ {
		w := *(*uint64)(unsafe.Add(base, i))
		if m := eolMask(w); m != 0 {
			k := bits.TrailingZeros64(m) >> 3
			seen |= w & (1<<(k*8) - 1)
			return i + k, seen&high == 0
		}
		seen |= w
		i += 8
	}
	for ; i+32 <= n; i += 32 {
		w0 := *(*uint64)(unsafe.Add(base, i))
		w1 := *(*uint64)(unsafe.Add(base, i+8))
		w2 := *(*uint64)(unsafe.Add(base, i+16))
		w3 := *(*uint64)(unsafe.Add(base, i+24))
		// Both line ends are below 0x0E: a test for any such byte costs
		// three operations a word where the exact one costs eight, and
		// text rarely has the other control characters it lets through
		// (a tab), which the exact test then sorts out.
		if (lowMask(w0)|lowMask(w1)|lowMask(w2)|lowMask(w3))&high != 0 &&
			eolMask(w0)|eolMask(w1)|eolMask(w2)|eolMask(w3) != 0 {
			break // found within these 32 bytes: the word loop finds where
		}
		seen |= w0 | w1 | w2 | w3
	}
	for ; i+8 <= n; i += 8 {
		w := *(*uint64)(unsafe.Add(base, i))
		if m := eolMask(w); m != 0 {
			k := bits.TrailingZeros64(m) >> 3
			seen |= w & (1<<(k*8) - 1)
			return i + k, seen&high == 0
		}
		seen |= w
	}
	for ; i < n; i++ {
		c := p[i]
		if c == '\r' || c == '\n' {
			return i, seen&high == 0
		}
		seen |= uint64(c)
	}
	return -1, false
}

const (
	ones = 0x0101010101010101
	lows = ones * 0x0E // the bytes below it are the controls up to CR
	high = 0x8080808080808080
	crs  = ones * '\r'
	lfs  = ones * '\n'
)

// eolMask flags the high bit of each byte of w that is a CR or a LF, and
// maybe of bytes above one (borrows); the lowest flagged byte is exactly
// the first CR or LF. A byte of x or y is zero where w has a CR or a LF,
// and (v - ones) &^ v flags the lowest zero byte of v exactly.
func eolMask(w uint64) uint64 {
	x, y := w^crs, w^lfs
	return ((x-ones)&^x | (y-ones)&^y) & high
}

// lowMask, masked with high, is non-zero exactly when w has a byte below
// 0x0E (among them CR and LF): (v - ones*k) &^ v has the high bit of the
// lowest byte of v below k set (k at most 0x80), and of no byte unless
// there is one.
func lowMask(w uint64) uint64 {
	return (w - lows) &^ w
}

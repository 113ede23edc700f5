//go:build wasm

package sse

import (
	"math/bits"
	"unsafe"
)

// lineEnd returns the position of the first CR or LF in p at or after pos,
// or -1.
//
// WebAssembly has no vector instructions that Go uses: IndexByte is a loop
// four bytes at a time there (internal/bytealg's memchr), and scanning for
// CR and for LF separately walked each byte twice; under Node 20 a search
// for LF with IndexByte and then for CR before it ran at 2.1 GB/s on 4 KiB
// lines where a loop of 32 bytes a turn as below ran at 3.6. This looks at
// eight bytes at a time for both line ends, and past the first 16 bytes of
// a line at 32 and then 64 bytes per turn of the loop: Go compiles a loop
// to a dispatch through a br_table per turn, which on a 4 KiB line cost as
// much as the scan itself. The words are read with unsafe loads, which
// WebAssembly allows unaligned, inside p's bounds as the loops' conditions
// ensure. The d.cr and d.lf of the other platforms are not used.
//
// It does not tell whether the line is ASCII, which spared the UTF-8
// validation of data lines: an OR per word, in a scan that is most of the
// WebAssembly engine's time on long lines (64 KiB lines: 7,640 MB/s with
// it), for a validation that engine leaves to TextDecoder
// (Decoder.SetRawData).
func (d *Decoder) lineEnd(p []byte, pos int) int {
	n := len(p)
	base := unsafe.Pointer(unsafe.SliceData(p))
	i := pos
	// Most lines of most streams are short: the first two words are
	// looked at one by one.
	for k := 0; k < 2 && i+8 <= n; k++ {
		if m := eolMask(*(*uint64)(unsafe.Add(base, i))); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	// Both line ends are below 0x0E: a test for any such byte costs three
	// operations a word where the exact one costs eight, and text rarely
	// has the other control characters it lets through (a tab), which the
	// exact test then sorts out. Where a turn finds a line end, the word
	// loop finds where. Two turns of 32 bytes come first, so that lines of
	// up to 80 bytes, which are common, cost no turn of 64 (best of 30
	// under Node 20, MB/s, against 32 bytes a turn throughout: 63-byte lines
	// 1,660 against 1,960, 4 KiB 8,770 against 7,730, 64 KiB 10,100
	// against 8,330).
	k := 0
	for ; k < 2 && i+32 <= n; k++ {
		w0 := *(*uint64)(unsafe.Add(base, i))
		w1 := *(*uint64)(unsafe.Add(base, i+8))
		w2 := *(*uint64)(unsafe.Add(base, i+16))
		w3 := *(*uint64)(unsafe.Add(base, i+24))
		if (lowMask(w0)|lowMask(w1)|lowMask(w2)|lowMask(w3))&high != 0 &&
			eolMask(w0)|eolMask(w1)|eolMask(w2)|eolMask(w3) != 0 {
			break
		}
		i += 32
	}
	if k == 2 {
		for ; i+64 <= n; i += 64 {
			w0 := *(*uint64)(unsafe.Add(base, i))
			w1 := *(*uint64)(unsafe.Add(base, i+8))
			w2 := *(*uint64)(unsafe.Add(base, i+16))
			w3 := *(*uint64)(unsafe.Add(base, i+24))
			w4 := *(*uint64)(unsafe.Add(base, i+32))
			w5 := *(*uint64)(unsafe.Add(base, i+40))
			w6 := *(*uint64)(unsafe.Add(base, i+48))
			w7 := *(*uint64)(unsafe.Add(base, i+56))
			if (lowMask(w0)|lowMask(w1)|lowMask(w2)|lowMask(w3)|lowMask(w4)|lowMask(w5)|lowMask(w6)|lowMask(w7))&high != 0 &&
				eolMask(w0)|eolMask(w1)|eolMask(w2)|eolMask(w3)|eolMask(w4)|eolMask(w5)|eolMask(w6)|eolMask(w7) != 0 {
				break
			}
		}
		// The tail, as the two turns above: written out again rather than
		// called, since a function of this size is not inlined and a call
		// a turn costs under WebAssembly.
		for ; i+32 <= n; i += 32 {
			w0 := *(*uint64)(unsafe.Add(base, i))
			w1 := *(*uint64)(unsafe.Add(base, i+8))
			w2 := *(*uint64)(unsafe.Add(base, i+16))
			w3 := *(*uint64)(unsafe.Add(base, i+24))
			if (lowMask(w0)|lowMask(w1)|lowMask(w2)|lowMask(w3))&high != 0 &&
				eolMask(w0)|eolMask(w1)|eolMask(w2)|eolMask(w3) != 0 {
				break
			}
		}
	}
	for ; i+8 <= n; i += 8 {
		if m := eolMask(*(*uint64)(unsafe.Add(base, i))); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < n; i++ {
		if c := p[i]; c == '\r' || c == '\n' {
			return i
		}
	}
	return -1
}

const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
	lows = ones * 0x0E // the bytes below it are the controls up to CR
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

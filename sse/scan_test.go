package sse

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestLineEnd checks the decoder's line-end scan (word at a time under
// WebAssembly) against a byte loop, at every offset of random lines.
func TestLineEnd(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Tab and the other controls below CR pass the WebAssembly scan's
	// first test of 32 or 64 bytes; 0x0E and up do not.
	alphabet := []byte{'a', ' ', ':', '\r', '\n', '\t', 0x0B, 0x0C, 0x0E, 0x7F, 0x80, 0x8D, 0xC3, 0xFF, 0}
	for n := 0; n < 3000; n++ {
		// Sparse special bytes too, so that long runs reach the scan's
		// loops of 64 and 32 bytes a turn.
		sparse := []int{3, 6, 60}[n%3]
		p := make([]byte, rng.IntN(300))
		for i := range p {
			if rng.IntN(sparse) == 0 {
				p[i] = alphabet[rng.IntN(len(alphabet))]
			} else {
				p[i] = byte('a' + rng.IntN(26))
			}
		}
		for pos := 0; pos <= len(p); pos++ {
			d := &Decoder{cr: -2, lf: -2}
			want := bytes.IndexAny(p[pos:], "\r\n")
			if want >= 0 {
				want += pos
			}
			if got := d.lineEnd(p, pos); got != want {
				t.Fatalf("lineEnd(%q, %d) = %d, want %d", p, pos, got, want)
			}
		}
	}
}

// BenchmarkLineEnd measures the line-end scan alone on lines of a few
// lengths (the word-at-a-time scan under WebAssembly; IndexByte elsewhere).
func BenchmarkLineEnd(b *testing.B) {
	for _, n := range []int{8, 63, 4096, 65536} {
		line := make([]byte, n+1)
		for i := range n {
			line[i] = 'a' + byte(i%26)
		}
		line[n] = '\n'
		p := bytes.Repeat(line, (64<<10)/(n+1)+1)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			d := &Decoder{}
			for b.Loop() {
				d.cr, d.lf = -2, -2
				for pos := 0; pos < len(p); {
					eol := d.lineEnd(p, pos)
					if eol < 0 {
						break
					}
					pos = eol + 1
				}
			}
		})
	}
}

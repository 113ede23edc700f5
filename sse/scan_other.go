//go:build !wasm

package sse

import "bytes"

// lineEnd returns the position of the first CR or LF in p at or after pos,
// or -1.
//
// The next CR and the next LF are found with IndexByte, which is
// vectorised, and kept in d.cr and d.lf until pos has passed them, so that
// each byte is scanned at most twice whatever the line ends.
func (d *Decoder) lineEnd(p []byte, pos int) int {
	if d.cr != -1 && d.cr < pos {
		d.cr = bytes.IndexByte(p[pos:], '\r')
		if d.cr >= 0 {
			d.cr += pos
		}
	}
	if d.lf != -1 && d.lf < pos {
		d.lf = bytes.IndexByte(p[pos:], '\n')
		if d.lf >= 0 {
			d.lf += pos
		}
	}
	eol := d.lf
	if d.cr >= 0 && (d.lf < 0 || d.cr < d.lf) {
		eol = d.cr
	}
	return eol
}

package main

import "github.com/polysse/polysse/sse"

// batch collects the events decoded from one chunk, encoded for the shim as
// type CR data CR id CR each: the decoder splits lines on CR, so none of the
// three can contain one, and the shim recovers them with a single split.
type batch struct {
	buf []byte
	n   int // events in buf
}

func (b *batch) add(ev sse.Event) {
	b.buf = appendField(appendField(appendField(b.buf, ev.Type), ev.Data), ev.ID)
	b.n++
}

func appendField(b []byte, s string) []byte {
	b = append(b, s...)
	return append(b, '\r')
}

// batchKeep is the largest buffer kept between chunks; a bigger one, grown
// by an exceptional chunk, goes back to the garbage collector.
const batchKeep = 1 << 20

func (b *batch) reset() {
	b.n = 0
	if cap(b.buf) > batchKeep {
		b.buf = nil
		return
	}
	b.buf = b.buf[:0]
}

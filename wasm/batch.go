package main

// batch collects the events decoded from a body, encoded for the shim as
// type CR data CR id CR each: the decoder splits lines on CR, so none of the
// three can contain one, and the shim recovers them with a single split.
// A type equal to the previous event's in the batch is left empty (no event
// has an empty type): the shim fills it in, with one string for all.
//
// The data of a big event (bigData bytes or more) is not copied into the
// batch: its field is left empty and the event is listed in big and bigAt,
// and the shim decodes it where the decoder left it, in the engine's memory.
// That saves copying it twice (into the batch, then into the shim's buffer)
// and the shim's split from scanning it.
type batch struct {
	buf   []byte
	n     int      // events in buf
	typ   string   // the type of the last event in buf
	big   [][]byte // the data of big events, the decoder's buffers, kept alive until reset
	bigAt []int    // their indexes among the events
}

const bigData = 2 << 10

// add is the decoder's event function (sse.Decoder.SetEventFunc): it copies
// data into the batch, or keeps it when it is big.
func (b *batch) add(typ, id string, data []byte) (keep bool) {
	if b.n > 0 && typ == b.typ {
		typ = ""
	} else {
		b.typ = typ
	}
	if len(data) >= bigData {
		b.big = append(b.big, data)
		b.bigAt = append(b.bigAt, b.n)
		data, keep = nil, true
	}
	// Grown once for the event, by doubling: append grows big slices by a
	// quarter at a time, copying them each time. Then appending to b.buf
	// itself stores only its length, not its pointer: a pointer store is a
	// write barrier while the garbage collector marks, which under
	// WebAssembly lasts long.
	b.reserve(len(typ) + len(data) + len(id) + 3)
	b.buf = append(b.buf, typ...)
	b.buf = append(b.buf, '\r')
	b.buf = append(b.buf, data...)
	b.buf = append(b.buf, '\r')
	b.buf = append(b.buf, id...)
	b.buf = append(b.buf, '\r')
	b.n++
	return keep
}

// reserve makes room for n more bytes.
func (b *batch) reserve(n int) {
	if cap(b.buf)-len(b.buf) >= n {
		return
	}
	nb := make([]byte, len(b.buf), max(2*cap(b.buf), len(b.buf)+n, 4<<10))
	copy(nb, b.buf)
	b.buf = nb
}

// batchKeep is the largest buffer kept between chunks; a bigger one, grown
// by an exceptional chunk, goes back to the garbage collector.
const batchKeep = 1 << 20

func (b *batch) reset() {
	b.n = 0
	b.typ = ""
	clear(b.big)
	b.big = b.big[:0]
	b.bigAt = b.bigAt[:0]
	if cap(b.buf) > batchKeep {
		b.buf = nil
		return
	}
	b.buf = b.buf[:0]
}

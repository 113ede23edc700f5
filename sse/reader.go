package sse

import "io"

// readSize is the Reader's buffer: big enough that small events are decoded
// many to a read, small enough to be cheap per stream.
const readSize = 32 << 10

// A Reader reads events from an event stream, one at a time, with the same
// interpretation and limits as a Decoder. Bytes are decoded only up to the
// event returned, so Retry and LastEventID describe the stream up to that
// event and no further.
type Reader struct {
	rd       io.Reader
	d        Decoder
	buf      []byte
	off, end int   // buf[off:end] is read but not yet decoded
	err      error // from rd, returned once buf is decoded

	ev       Event
	retry    int
	hasRetry bool
}

// NewReader returns a Reader that reads the stream from r.
func NewReader(r io.Reader, lim Limits) *Reader {
	x := &Reader{rd: r}
	x.d.init(lim,
		func(ev Event) { x.ev = ev },
		func(ms int) { x.retry, x.hasRetry = ms, true })
	return x
}

// Next returns the next event. At the end of the stream it returns io.EOF,
// dropping an event not ended by a blank line, as browsers do. It returns
// the error of the underlying reader, or a *LimitError, once the events
// before it have been returned.
func (r *Reader) Next() (Event, error) {
	if r.buf == nil {
		r.buf = make([]byte, readSize)
	}
	empty := 0
	for {
		if r.off < r.end {
			off, ok, err := r.d.write(r.buf[:r.end], r.off, true)
			r.off = off
			if err != nil {
				return Event{}, err
			}
			if ok {
				ev := r.ev
				r.ev = Event{}
				return ev, nil
			}
			continue
		}
		if r.err != nil {
			return Event{}, r.err
		}
		n, err := r.rd.Read(r.buf)
		r.off, r.end, r.err = 0, n, err
		r.d.cr, r.d.lf = -2, -2
		if n == 0 && err == nil {
			// As bufio does: a reader that keeps returning nothing is
			// broken, and looping on it forever helps no one.
			if empty++; empty >= 100 {
				return Event{}, io.ErrNoProgress
			}
		}
	}
}

// Retry returns the latest valid retry value in the stream so far, and
// whether there was one.
func (r *Reader) Retry() (ms int, ok bool) { return r.retry, r.hasRetry }

// LastEventID returns the last event ID string, as Decoder.LastEventID does.
func (r *Reader) LastEventID() string { return r.d.LastEventID() }

package sse

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// smallEvent is a typical fan-out event: an id, a type and a short JSON
// payload, 64 bytes on the wire.
var smallEvent = Event{ID: "1234567", Type: "price", Data: `{"sym":"ACME","px":101.25,"q":7}`}

// largeEvent is 64 KiB of data in lines of 80 bytes.
var largeEvent = Event{ID: "1234567", Type: "doc", Data: strings.TrimSuffix(strings.Repeat(strings.Repeat("x", 79)+"\n", 64<<10/80), "\n")}

// largeLineEvent is 64 KiB of data on one line, so that most lines span
// reads.
var largeLineEvent = Event{ID: "1234567", Type: "blob", Data: strings.Repeat("y", 64<<10)}

func encodeStream(tb testing.TB, ev Event, size int) []byte {
	var b []byte
	for len(b) < size {
		var err error
		if b, err = AppendEvent(b, &ev); err != nil {
			tb.Fatal(err)
		}
	}
	return b
}

func BenchmarkDecode(b *testing.B) {
	for _, bc := range []struct {
		name string
		ev   Event
	}{
		{"small", smallEvent},
		{"large", largeEvent},
		{"large-one-line", largeLineEvent},
	} {
		// One megabyte of events, written in reads of 32 KiB as a network
		// connection would hand them over.
		stream := encodeStream(b, bc.ev, 1<<20)
		frame, _ := AppendEvent(nil, &bc.ev)
		b.Run(bc.name+"/"+strconv.Itoa(len(frame))+"B", func(b *testing.B) {
			n := 0
			d := NewDecoder(Limits{}, func(Event) { n++ }, nil)
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			for b.Loop() {
				for p := stream; len(p) > 0; {
					c := min(len(p), readSize)
					if _, err := d.Write(p[:c]); err != nil {
						b.Fatal(err)
					}
					p = p[c:]
				}
			}
			if n == 0 {
				b.Fatal("no events")
			}
		})
	}
}

func BenchmarkReader(b *testing.B) {
	stream := encodeStream(b, smallEvent, 1<<20)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(bytes.NewReader(stream), Limits{})
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, bc := range []struct {
		name string
		ev   Event
	}{
		{"small", smallEvent},
		{"large", largeEvent},
		{"large-one-line", largeLineEvent},
	} {
		frame, _ := AppendEvent(nil, &bc.ev)
		b.Run(bc.name+"/"+strconv.Itoa(len(frame))+"B", func(b *testing.B) {
			buf := make([]byte, 0, len(frame))
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = AppendEvent(buf[:0], &bc.ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

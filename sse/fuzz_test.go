package sse

import (
	"bytes"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The seed corpora live in testdata/fuzz and run with every go test.

// randomCuts returns up to n increasing offsets into a stream of length
// size, chosen by seed.
func randomCuts(seed uint64, size, n int) []int {
	if size == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x5EED))
	cuts := make([]int, rng.IntN(n+1))
	for i := range cuts {
		cuts[i] = rng.IntN(size + 1)
	}
	slices.Sort(cuts)
	return cuts
}

func everyByte(size int) []int {
	cuts := make([]int, size)
	for i := range cuts {
		cuts[i] = i
	}
	return cuts
}

// chunkReader returns its stream in the chunk sizes the cuts give.
type chunkReader struct {
	b    []byte
	cuts []int
	off  int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.off == len(r.b) {
		return 0, io.EOF
	}
	end := len(r.b)
	for len(r.cuts) > 0 {
		c := r.cuts[0]
		if c > r.off {
			end = c
			break
		}
		r.cuts = r.cuts[1:]
	}
	n := copy(p, r.b[r.off:end])
	r.off += n
	return n, nil
}

func FuzzDecoder(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte, seed uint64) {
		// Without limits in the way, the decoder agrees with the reference
		// however the input is cut.
		want := refDecode(in)
		if d := diffResult(run(t, Limits{}, in), want); d != "" {
			t.Fatalf("whole input:\n%s", d)
		}
		cuts := randomCuts(seed, len(in), 8)
		if d := diffResult(run(t, Limits{}, in, cuts...), want); d != "" {
			t.Fatalf("cut at %v:\n%s", cuts, d)
		}
		if len(in) <= 4096 {
			if d := diffResult(run(t, Limits{}, in, everyByte(len(in))...), want); d != "" {
				t.Fatalf("one byte at a time:\n%s", d)
			}
		}
		// Data handed over raw decodes to the same.
		if d := diffResult(runRaw(t, Limits{}, in, cuts...), want); d != "" {
			t.Fatalf("raw data, cut at %v:\n%s", cuts, d)
		}
		readWant := want
		if n := len(want.retries); n > 1 {
			readWant.retries = want.retries[n-1:]
		}
		if d := diffResult(readAll(t, Limits{}, &chunkReader{b: in, cuts: cuts}), readWant); d != "" {
			t.Fatalf("Reader, cut at %v:\n%s", cuts, d)
		}

		// With small limits, run checks that the buffers stay within them;
		// the outcome, error included, does not depend on the cuts, and
		// what comes before an error is what the reference gives.
		lim := Limits{MaxLine: 1 + int(seed%40), MaxEvent: 1 + int(seed>>8%80)}
		limited := run(t, lim, in)
		if d := diffResult(run(t, lim, in, cuts...), limited); d != "" {
			t.Fatalf("limits %+v, cut at %v:\n%s", lim, cuts, d)
		}
		if len(in) <= 4096 {
			if d := diffResult(run(t, lim, in, everyByte(len(in))...), limited); d != "" {
				t.Fatalf("limits %+v, one byte at a time:\n%s", lim, d)
			}
		}
		if limited.err == nil {
			if d := diffResult(limited, want); d != "" {
				t.Fatalf("limits %+v not reached but the result differs:\n%s", lim, d)
			}
		} else if len(limited.events) > len(want.events) || !slices.Equal(limited.events, want.events[:len(limited.events)]) {
			t.Fatalf("limits %+v: events before the error are not the reference's first events:\n%s", lim, diffResult(limited, want))
		}
	})
}

func FuzzRoundTrip(f *testing.F) {
	// retry is an int64 so that the corpus also loads where int has 32 bits.
	f.Fuzz(func(t *testing.T, id, typ, data string, retry64 int64) {
		retry := int(retry64)
		ev := Event{ID: id, Type: typ, Data: data, Retry: retry}
		frame, err := AppendEvent([]byte("x"), &ev)
		refused := strings.ContainsAny(id, "\r\n\x00") || strings.ContainsAny(typ, "\r\n\x00") || retry > maxRetry ||
			!utf8.ValidString(id) || !utf8.ValidString(typ)
		if refused != (err != nil) {
			t.Fatalf("AppendEvent(%+v) error %v", ev, err)
		}
		if err != nil {
			if string(frame) != "x" {
				t.Fatalf("AppendEvent changed dst to %q on error", frame)
			}
			return
		}
		frame = frame[1:]

		// The frame holds the fields asked for, in order, then data lines.
		if bytes.IndexByte(frame, '\r') >= 0 {
			t.Fatalf("frame %q has a CR", frame)
		}
		rest := frame
		for _, field := range []struct {
			name string
			set  bool
		}{{"id: ", id != ""}, {"event: ", typ != ""}, {"retry: ", retry > 0}} {
			if field.set {
				i := bytes.IndexByte(rest, '\n')
				if !bytes.HasPrefix(rest, []byte(field.name)) || i < 0 {
					t.Fatalf("frame %q lacks its %q field", frame, field.name)
				}
				rest = rest[i+1:]
			}
		}
		checkDataFrame(t, rest)

		// Decoded, it is one event with the same values.
		w := wantRoundTrip(ev, "")
		want := refResult{events: []Event{w}, lastID: w.ID}
		if retry > 0 {
			want.retries = []int{retry}
		}
		if d := diffResult(run(t, Limits{}, frame), want); d != "" {
			t.Fatalf("%+v encoded as %q:\n%s", ev, frame, d)
		}
		if len(frame) <= 4096 {
			if d := diffResult(run(t, Limits{}, frame, everyByte(len(frame))...), want); d != "" {
				t.Fatalf("%+v encoded as %q, one byte at a time:\n%s", ev, frame, d)
			}
		}

		// A comment of the data changes nothing, and a following event
		// without an id carries this one's.
		stream := AppendComment(nil, data)
		stream = append(stream, frame...)
		stream, _ = AppendEvent(stream, &Event{Data: data})
		want.events = append(want.events, Event{ID: w.ID, Type: "message", Data: w.Data})
		if d := diffResult(run(t, Limits{}, stream), want); d != "" {
			t.Fatalf("%+v after a comment and before an event:\n%s", ev, d)
		}
	})
}

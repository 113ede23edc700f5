package queue

import (
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/polysse/polysse/server/store"
)

// way records the queue's calls.
type way struct{ wakes, ends int }

func (w *way) Wake() { w.wakes++ }
func (w *way) End()  { w.ends++ }

func TestPush(t *testing.T) {
	d := func(lo uint64, n int) Delivery {
		return Delivery{Pos: store.Pos{Lo: lo}, Frame: make([]byte, n)}
	}
	tests := []struct {
		name        string
		max         int
		attach      bool
		push        []Delivery
		wakes, ends int
		cuts        []string
		queued      int
	}{
		{"no way: pushes only queue", 10, false, []Delivery{d(1, 4), d(2, 4)}, 0, 0, nil, 2},
		{"each push wakes", 10, true, []Delivery{d(1, 4), d(2, 4)}, 2, 0, nil, 2},
		{"at the bound", 8, true, []Delivery{d(1, 4), d(2, 4)}, 2, 0, nil, 2},
		{"past the bound: cut once, ended once", 8, true, []Delivery{d(1, 4), d(2, 5), d(3, 1)}, 1, 1, []string{"its queue overflowed"}, 0},
		{"cut without a way", 3, false, []Delivery{d(1, 4), d(2, 1)}, 0, 0, []string{"its queue overflowed"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cuts []string
			q := New(tt.max, func(why string) { cuts = append(cuts, why) })
			w := &way{}
			if tt.attach {
				if q.Attach(w) {
					t.Fatal("Attach to an empty queue reports something pending")
				}
			}
			for _, x := range tt.push {
				q.Push(x)
			}
			if w.wakes != tt.wakes || w.ends != tt.ends || !slices.Equal(cuts, tt.cuts) {
				t.Errorf("wakes %d, ends %d, cuts %q; want %d, %d, %q", w.wakes, w.ends, cuts, tt.wakes, tt.ends, tt.cuts)
			}
			if got := q.Pending(); got != (tt.queued > 0 || tt.cuts != nil) {
				t.Errorf("Pending = %v", got)
			}
			if !tt.attach && q.Attach(w) != (tt.queued > 0 || tt.cuts != nil) {
				t.Errorf("Attach does not report what is pending")
			}
			batch, cut := q.Take(nil)
			if len(batch) != tt.queued || cut != (tt.cuts != nil) {
				t.Errorf("Take = %d deliveries, cut %v; want %d, %v", len(batch), cut, tt.queued, tt.cuts != nil)
			}
			if _, again := q.Take(nil); again != cut {
				t.Errorf("a cut does not stay")
			}
		})
	}
}

func TestWriteFailed(t *testing.T) {
	for _, tt := range []struct {
		err  error
		cuts int
	}{
		{os.ErrDeadlineExceeded, 1},
		{fmt.Errorf("write: %w", os.ErrDeadlineExceeded), 1},
		{os.ErrClosed, 0}, // a client that went away is not cut off
	} {
		n := 0
		q := New(10, func(string) { n++ })
		q.Push(Delivery{Frame: []byte("x")})
		q.WriteFailed(tt.err)
		q.WriteFailed(tt.err)
		if n != tt.cuts || !q.Pending() {
			t.Errorf("WriteFailed(%v): %d cuts, want %d", tt.err, n, tt.cuts)
		}
		if _, cut := q.Take(nil); cut != (tt.cuts == 1) {
			t.Errorf("WriteFailed(%v): cut %v", tt.err, cut)
		}
	}
	n := 0
	q := New(10, func(string) { n++ })
	q.Cut()
	q.WriteFailed(os.ErrDeadlineExceeded)
	if n != 0 {
		t.Errorf("a queue cut by Cut counts a later timeout")
	}
}

func TestAppend(t *testing.T) {
	batch := []Delivery{
		{Pos: store.Pos{Lo: 1}, Frame: []byte("a\n\n")},
		{Pos: store.Pos{Lo: 2}, Frame: []byte("b\n\n")},
		{Pos: store.Pos{Lo: 3}, Frame: []byte("c\n\n")},
	}
	tests := []struct {
		after  uint64
		beat   bool
		want   string
		events int
	}{
		{0, false, "a\n\nb\n\nc\n\n", 3},
		{2, true, "c\n\n", 1}, // replayed ones skipped; no heartbeat with events
		{3, false, "", 0},
		{3, true, ":\n", 0},
	}
	for _, tt := range tests {
		var delivered atomic.Uint64
		got, n := Append([]byte("<"), batch, store.Pos{Lo: tt.after}, tt.beat, &delivered)
		if string(got) != "<"+tt.want || n != tt.events || delivered.Load() != uint64(tt.events) {
			t.Errorf("after %d, beat %v: %q, %d (counted %d); want %q, %d", tt.after, tt.beat, got, n, delivered.Load(), "<"+tt.want, tt.events)
		}
	}
}

package store

import (
	"regexp"
	"sync"
	"testing"
	"time"
)

var idPattern = regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// fakeClock returns a settable clock for an IDGen.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func TestIDGenFormatAndTime(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	g := IDGen{Now: func() time.Time { return at }}
	id := g.New()
	if !idPattern.MatchString(id) {
		t.Fatalf("id %q is not a lower-case urn:uuid UUIDv7", id)
	}
	ms, _, ok := parse(id)
	if !ok || ms != uint64(at.UnixMilli()) {
		t.Fatalf("parse(%q) = %d, %v; want ms %d", id, ms, ok, at.UnixMilli())
	}
}

func TestIDGenOrder(t *testing.T) {
	base := time.UnixMilli(1_700_000_000_000)
	tests := []struct {
		name  string
		steps []time.Duration // clock offset from base before each id
	}{
		{"same millisecond", []time.Duration{0, 0, 0, 0, 0}},
		{"advancing", []time.Duration{0, time.Millisecond, 2 * time.Millisecond, time.Second}},
		{"clock steps back", []time.Duration{time.Second, 0, -time.Hour, 0, time.Second, 2 * time.Second}},
		{"before 1970", []time.Duration{-base.Sub(time.Unix(-5, 0)), -base.Sub(time.Unix(-5, 0))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c fakeClock
			g := IDGen{Now: c.now}
			prev := ""
			for i, d := range tt.steps {
				c.set(base.Add(d))
				id := g.New()
				if !idPattern.MatchString(id) {
					t.Fatalf("id %d %q: bad form", i, id)
				}
				if id <= prev {
					t.Fatalf("id %d %q does not sort after %q", i, id, prev)
				}
				prev = id
			}
		})
	}
}

func TestIDGenCounterOverflowBorrowsNextMillisecond(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_000)
	g := IDGen{Now: func() time.Time { return at }}
	first := g.New()
	g.mu.Lock()
	g.ctr = ctrMax - 1
	g.mu.Unlock()
	a, b := g.New(), g.New()
	if !(first < a && a < b) {
		t.Fatalf("ids out of order: %q, %q, %q", first, a, b)
	}
	msA, ctrA, _ := parse(a)
	msB, _, _ := parse(b)
	if ctrA != ctrMax || msB != msA+1 {
		t.Fatalf("after the counter's last value: ms %d -> %d (ctr %d); want the next millisecond", msA, msB, ctrA)
	}
}

func TestIDGenObserve(t *testing.T) {
	var c fakeClock
	c.set(time.UnixMilli(1_700_000_000_000))
	before := IDGen{Now: c.now}
	last := ""
	for range 10 {
		last = before.New()
	}
	// A restart with the clock an hour behind: Observe keeps the order.
	c.set(time.UnixMilli(1_700_000_000_000).Add(-time.Hour))
	after := IDGen{Now: c.now}
	for _, junk := range []string{"", "x", "urn:uuid:not-a-uuid", "urn:uuid:01890000-0000-4000-8000-000000000000",
		"URN:UUID:01890000-0000-7000-8000-000000000000", "urn:uuid:01890000-0000-7000-8000-00000000000A"} {
		after.Observe(junk) // ignored
	}
	after.Observe(last)
	if id := after.New(); id <= last {
		t.Fatalf("id %q after Observe(%q) does not sort after it", id, last)
	}
	// Observing an older id changes nothing.
	prev := after.New()
	after.Observe(IDPrefix + "00000000-0000-7000-8000-000000000000")
	if id := after.New(); id <= prev {
		t.Fatalf("Observe of an older id moved the generator back: %q <= %q", id, prev)
	}
}

func TestIDGenParseRoundTrip(t *testing.T) {
	var g IDGen
	for range 100 {
		id := g.New()
		ms, ctr, ok := parse(id)
		if !ok {
			t.Fatalf("parse(%q) failed", id)
		}
		if got := format(ms, ctr, 0); got[:len(got)-8] != id[:len(id)-8] {
			t.Fatalf("format(parse(%q)) = %q", id, got)
		}
	}
}

func TestIDGenConcurrentUnique(t *testing.T) {
	var g IDGen
	const workers, each = 8, 2000
	ids := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			prev := ""
			for range each {
				id := g.New()
				if id <= prev {
					t.Errorf("worker %d: %q after %q", w, id, prev)
					return
				}
				prev = id
				ids[w] = append(ids[w], id)
			}
		})
	}
	wg.Wait()
	seen := make(map[string]bool, workers*each)
	for _, list := range ids {
		for _, id := range list {
			if seen[id] {
				t.Fatalf("duplicate id %q", id)
			}
			seen[id] = true
		}
	}
}

func BenchmarkIDGenNew(b *testing.B) {
	var g IDGen
	for b.Loop() {
		g.New()
	}
}

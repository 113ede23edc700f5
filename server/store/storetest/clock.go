package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/polysse/polysse/server/store"
)

// Clock is a clock a test sets, for the stores that take one (WithClock).
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock that reads t until it is moved.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d, back when d is negative.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// ClockedOpener opens a new, empty log that keeps what b allows and reads
// the time from now.
type ClockedOpener func(t *testing.T, b store.Bounds, now func() time.Time) store.Log

// RunClocked runs the cases that need to set a log's clock, for the logs
// that take one; Run's AgeBound covers the others with real time.
func RunClocked(t *testing.T, open ClockedOpener) {
	t.Run("AgeBoundClocked", func(t *testing.T) { testAgeBoundClocked(t, open) })
}

// testAgeBoundClocked checks the edges of MaxAge to the second: an update
// exactly as old as the bound is kept, and Last and Replay agree.
func testAgeBoundClocked(t *testing.T, open ClockedOpener) {
	c := NewClock(time.Unix(1_700_000_000, 0))
	l := openLog(t, func(t *testing.T, b store.Bounds) store.Log { return open(t, b, c.Now) },
		store.Bounds{MaxAge: time.Minute})
	var all []store.Update
	for i := range 4 {
		all = append(all, l.appendN(t, fmt.Sprint("t", i), 1)...)
		c.Add(20 * time.Second)
	}
	// Update 0 is 80 s old and update 1 60 s: kept, not older than the bound.
	got, err := l.replay(t, store.Earliest)
	if err != nil {
		t.Fatalf("Replay(Earliest): %v", err)
	}
	sameUpdates(t, "Replay(Earliest) with the first expired", got, all[1:])
	l.wantUnknown(t, "Replay(expired id)", all[0].Event.ID)
	got, err = l.replay(t, all[1].Event.ID)
	if err != nil {
		t.Fatalf("Replay(oldest kept id): %v", err)
	}
	sameUpdates(t, "Replay(oldest kept id)", got, all[2:])

	c.Add(30 * time.Second)
	u := l.appendN(t, "t4", 1)[0]
	if !u.Time.Equal(c.Now()) {
		t.Errorf("Time = %v, want the clock's %v", u.Time, c.Now())
	}
	got, err = l.replay(t, all[1].Event.ID)
	if !errors.Is(err, store.ErrUnknownID) || len(got) != 0 {
		t.Fatalf("Replay(expired) = %v, %v; want nothing and ErrUnknownID", ids(got), err)
	}
	l.wantLast(t, "Last", u)
	// Once the newest expires, the log is empty, whether trimmed or not.
	c.Add(time.Minute + time.Second)
	if id, pos, err := l.Last(t.Context()); err != nil || id != "" || !pos.IsZero() {
		t.Errorf("Last once all expired = %q, %+v, %v; want \"\", zero", id, pos, err)
	}
}

package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/boltstore"
	"github.com/polysse/polysse/server/store/storetest"
	"github.com/polysse/polysse/sse"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b store.Bounds) store.Log {
		return open(t, filepath.Join(t.TempDir(), "log.db"), b)
	})
	storetest.RunClocked(t, func(t *testing.T, b store.Bounds, now func() time.Time) store.Log {
		return open(t, filepath.Join(t.TempDir(), "log.db"), b, boltstore.WithClock(now))
	})
}

func open(t testing.TB, path string, b store.Bounds, opts ...boltstore.Option) *boltstore.Log {
	t.Helper()
	l, err := boltstore.Open(path, b, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func add(t *testing.T, l store.Log, id string, i int) store.Update {
	t.Helper()
	u := store.Update{
		Topics:  []string{"https://example.com/t", fmt.Sprint("alt/", i)},
		Private: i%2 == 0,
		Event:   sse.Event{ID: id, Type: "ev", Data: fmt.Sprint("data ", i), Retry: i},
	}
	if err := l.Append(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func replay(t *testing.T, l store.Log, after string) ([]store.Update, error) {
	t.Helper()
	var got []store.Update
	err := l.Replay(context.Background(), after, func(u *store.Update) error {
		got = append(got, *u)
		return nil
	})
	return got, err
}

func equal(a, b store.Update) bool {
	return slices.Equal(a.Topics, b.Topics) && a.Private == b.Private && a.Event == b.Event &&
		a.Pos == b.Pos && a.Time.Equal(b.Time)
}

func sameIDs(got, want []store.Update) bool {
	return slices.EqualFunc(got, want, func(a, b store.Update) bool { return a.Event.ID == b.Event.ID })
}

func TestRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	l := open(t, path, store.Bounds{})
	var before []store.Update
	for i, id := range []string{"", "", "given", "", ""} {
		before = append(before, add(t, l, id, i))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l = open(t, path, store.Bounds{})
	defer l.Close()
	got, err := replay(t, l, store.Earliest)
	if err != nil || !slices.EqualFunc(got, before, equal) {
		t.Fatalf("Replay(Earliest) after restart = %+v, %v;\nwant %+v", got, err, before)
	}
	got, err = replay(t, l, before[1].Event.ID)
	if err != nil || !slices.EqualFunc(got, before[2:], equal) {
		t.Fatalf("Replay(%q) after restart = %+v, %v; want the 3 later ones", before[1].Event.ID, got, err)
	}

	if id, pos, err := l.Last(context.Background()); err != nil || id != before[4].Event.ID || pos != before[4].Pos {
		t.Errorf("Last after restart = %q, %+v, %v; want %q, %+v", id, pos, err, before[4].Event.ID, before[4].Pos)
	}

	var mu sync.Mutex
	var watched []store.Update
	stop, err := l.Watch(context.Background(), func(u *store.Update) { mu.Lock(); watched = append(watched, *u); mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	var after []store.Update
	for i := range 3 {
		after = append(after, add(t, l, "", 10+i))
	}
	stop()
	mu.Lock()
	if !sameIDs(watched, after) {
		t.Errorf("Watch after restart got %v, want only the new %v", watched, after)
	}
	mu.Unlock()

	if !before[len(before)-1].Pos.Less(after[0].Pos) {
		t.Errorf("first Pos after restart %+v, want after %+v", after[0].Pos, before[len(before)-1].Pos)
	}
	seen := map[string]bool{}
	lastGen := before[len(before)-1].Event.ID
	for _, u := range slices.Concat(before, after) {
		if seen[u.Event.ID] {
			t.Errorf("id %q issued twice across the restart", u.Event.ID)
		}
		seen[u.Event.ID] = true
	}
	if after[0].Event.ID <= lastGen {
		t.Errorf("id %q after restart sorts before %q", after[0].Event.ID, lastGen)
	}
	got, err = replay(t, l, before[3].Event.ID)
	if err != nil || !sameIDs(got, append(before[4:], after...)) {
		t.Errorf("Replay from before the restart = %v, %v", got, err)
	}
}

// Generated ids keep sorting after a restart even when the clock went back.
func TestRestartClockBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	c := storetest.NewClock(time.Now())
	l := open(t, path, store.Bounds{}, boltstore.WithClock(c.Now))
	last := add(t, l, "", 0)
	add(t, l, "given-last", 1) // a given id must not reset what was generated
	l.Close()

	c.Add(-time.Hour)
	l = open(t, path, store.Bounds{}, boltstore.WithClock(c.Now))
	defer l.Close()
	if u := add(t, l, "", 2); u.Event.ID <= last.Event.ID {
		t.Fatalf("id %q after a restart with the clock back sorts before %q", u.Event.ID, last.Event.ID)
	}
}

func TestBoundsAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	c := storetest.NewClock(time.Unix(1_700_000_000, 0))
	l := open(t, path, store.Bounds{}, boltstore.WithClock(c.Now))
	var all []store.Update
	for i := range 10 {
		all = append(all, add(t, l, "", i))
		c.Add(time.Minute)
	}
	l.Close()

	tests := []struct {
		name   string
		bounds store.Bounds
		want   []store.Update
	}{
		{"count lowered", store.Bounds{MaxCount: 4}, all[6:]},
		{"age lowered", store.Bounds{MaxAge: 3*time.Minute + time.Second}, all[7:]},
	}
	for _, tt := range tests {
		// Each case trims the file for good; the next still sees at least
		// what it wants.
		l := open(t, path, tt.bounds, boltstore.WithClock(c.Now))
		got, err := replay(t, l, store.Earliest)
		if err != nil || !sameIDs(got, tt.want) {
			t.Errorf("%s: Replay = %v, %v; want %v", tt.name, got, err, tt.want)
		}
		if _, err := replay(t, l, all[0].Event.ID); !errors.Is(err, store.ErrUnknownID) {
			t.Errorf("%s: Replay(trimmed id) error = %v, want ErrUnknownID", tt.name, err)
		}
		l.Close()
	}
}

func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	l := open(t, path, store.Bounds{})
	kept := add(t, l, "", 0)
	l.Close()

	l = open(t, path, store.Bounds{}, boltstore.WithBoltOptions(bolt.Options{ReadOnly: true, Timeout: time.Second}))
	defer l.Close()
	u := store.Update{Topics: []string{"t"}}
	err := l.Append(context.Background(), &u)
	if !errors.Is(err, berrors.ErrDatabaseReadOnly) || !strings.HasPrefix(err.Error(), "boltstore: append: ") {
		t.Fatalf("Append on a read-only file = %v, want a boltstore error wrapping ErrDatabaseReadOnly", err)
	}
	if err := l.Ready(context.Background()); !errors.Is(err, berrors.ErrDatabaseReadOnly) {
		t.Fatalf("Ready on a read-only file = %v, want ErrDatabaseReadOnly", err)
	}
	if got, err := replay(t, l, store.Earliest); err != nil || !sameIDs(got, []store.Update{kept}) {
		t.Fatalf("Replay on a read-only file = %v, %v", got, err)
	}
}

// When commits fail (here: the file was closed under bbolt, as a dying disk
// would), Append says why, and what was already open keeps working.
func TestCommitFailure(t *testing.T) {
	var file *os.File
	opts := bolt.Options{Timeout: time.Second, OpenFile: func(name string, flag int, mode os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, mode)
		file = f
		return f, err
	}}
	l := open(t, filepath.Join(t.TempDir(), "log.db"), store.Bounds{}, boltstore.WithBoltOptions(opts))
	defer l.Close() // fails: the file is gone

	var watched []string
	var mu sync.Mutex
	stop, err := l.Watch(context.Background(), func(u *store.Update) { mu.Lock(); watched = append(watched, u.Event.ID); mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	kept := add(t, l, "", 0)

	file.Close()
	u := store.Update{Topics: []string{"t"}}
	err = l.Append(context.Background(), &u)
	if err == nil || !strings.HasPrefix(err.Error(), "boltstore: append: commit to ") || !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Append with the file gone = %v, want a wrapped reason", err)
	}
	if u.Event.ID != "" || !u.Pos.IsZero() {
		t.Errorf("failed Append changed the update: %+v", u)
	}
	if err := l.Ready(context.Background()); err == nil {
		t.Error("Ready with the file gone = nil, want a reason")
	}
	if got, err := replay(t, l, store.Earliest); err != nil || !sameIDs(got, []store.Update{kept}) {
		t.Errorf("Replay with the file gone = %v, %v; want the committed update", got, err)
	}
	if id, _, err := l.Last(context.Background()); err != nil || id != kept.Event.ID {
		t.Errorf("Last with the file gone = %q, %v; want the committed %q", id, err, kept.Event.ID)
	}
	// The watch outlives the failed commit, which it never hears of.
	later := store.Update{Topics: []string{"t"}}
	if err := l.Append(context.Background(), &later); err == nil {
		t.Fatal("second Append with the file gone succeeded")
	}
	stop()
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(watched, []string{kept.Event.ID}) {
		t.Errorf("Watch got %v, want only the committed %q", watched, kept.Event.ID)
	}
}

// An Append stuck behind a slow commit honors its context.
func TestAppendCanceledWhileWaiting(t *testing.T) {
	l := open(t, filepath.Join(t.TempDir(), "log.db"), store.Bounds{})
	defer l.Close()
	release := make(chan struct{})
	var once sync.Once
	// A watcher that blocks holds up the committer (Watch fns must not
	// block; this one does so on purpose).
	stop, err := l.Watch(context.Background(), func(*store.Update) { once.Do(func() { <-release }) })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	first := make(chan error, 1)
	go func() {
		u := store.Update{Topics: []string{"t"}}
		first <- l.Append(context.Background(), &u)
	}()
	time.Sleep(20 * time.Millisecond)

	actx, acancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer acancel()
	u := store.Update{Topics: []string{"t"}}
	start := time.Now()
	err = l.Append(actx, &u)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("Append behind a stuck commit = %v after %v, want DeadlineExceeded soon", err, time.Since(start))
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	locked := filepath.Join(dir, "locked.db")
	l := open(t, locked, store.Bounds{})
	defer l.Close()

	foreign := filepath.Join(dir, "foreign.db")
	db, err := bolt.Open(foreign, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
	db.Close()

	short := bolt.Options{Timeout: 50 * time.Millisecond}
	readOnly := bolt.Options{Timeout: time.Second, ReadOnly: true}
	tests := []struct {
		name, path string
		opts       bolt.Options
		want       string
	}{
		{"locked", locked, short, "file locked"},
		{"missing directory", filepath.Join(dir, "no", "such.db"), short, "no such file"},
		{"read-only, missing", filepath.Join(dir, "missing.db"), readOnly, "no such file"},
		{"read-only, not ours", foreign, readOnly, "not a polysse log"},
	}
	for _, tt := range tests {
		l, err := boltstore.Open(tt.path, store.Bounds{}, boltstore.WithBoltOptions(tt.opts))
		if err == nil {
			l.Close()
			t.Errorf("%s: Open succeeded", tt.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "boltstore: open "+tt.path) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Open = %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
}

func TestLongID(t *testing.T) {
	l := open(t, filepath.Join(t.TempDir(), "log.db"), store.Bounds{})
	defer l.Close()
	u := store.Update{Topics: []string{"t"}, Event: sse.Event{ID: strings.Repeat("x", bolt.MaxKeySize+1)}}
	if err := l.Append(context.Background(), &u); err == nil {
		t.Fatal("Append with an id over bbolt's key limit succeeded")
	}
	add(t, l, "", 0) // and the log still works
}

// Close ends the log's goroutines: its committer and every Watch's (those
// end at stop and ctx's end too; store's own tests cover that).
func TestCloseEndsGoroutines(t *testing.T) {
	committer := storetest.StartedHere("github.com/polysse/polysse/server/store/boltstore.Open")
	watch := storetest.StartedHere("github.com/polysse/polysse/server/store.(*Watchers).Watch")
	l := open(t, filepath.Join(t.TempDir(), "log.db"), store.Bounds{})
	if n := storetest.Goroutines(committer); n != 1 {
		t.Fatalf("%d goroutines started by Open, want 1", n)
	}
	for range 10 {
		if _, err := l.Watch(context.Background(), func(*store.Update) {}); err != nil {
			t.Fatal(err)
		}
	}
	if n := storetest.Goroutines(watch); n != 10 {
		t.Fatalf("%d goroutines started by Watch, want 10", n)
	}
	l.Close()
	storetest.WaitGoroutines(t, "after Close", committer, 0)
	storetest.WaitGoroutines(t, "after Close", watch, 0)
}

func BenchmarkAppend(b *testing.B) {
	storetest.BenchAppend(b, func(b *testing.B) store.Log { return open(b, filepath.Join(b.TempDir(), "log.db"), store.Bounds{}) })
}

func BenchmarkReplay10k(b *testing.B) {
	storetest.BenchReplay10k(b, func(b *testing.B) store.Log { return open(b, filepath.Join(b.TempDir(), "log.db"), store.Bounds{}) })
}

func BenchmarkResume1M(b *testing.B) {
	path := filepath.Join(b.TempDir(), "log.db")
	err := boltstore.BulkLoad(path, storetest.ResumeN, func(i int) store.Update {
		u := storetest.BenchUpdate()
		u.Event.ID = storetest.BulkID(i)
		return u
	})
	if err != nil {
		b.Fatal(err)
	}
	l := open(b, path, store.Bounds{MaxCount: storetest.ResumeN})
	defer l.Close()
	storetest.BenchResume(b, l)
}

package storetest

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// StartedHere returns what Goroutines looks for to count the goroutines
// that fn, a function's full name such as
// "github.com/polysse/polysse/server/store.(*Watchers).Watch", started
// from the calling goroutine. Counting these, not runtime.NumGoroutine,
// leaves out the goroutines that other tests leave winding down; the
// "created by" line, not a frame of the goroutine's function, because a
// goroutine that has not yet run shows only a wrapper of it.
func StartedHere(fn string) string {
	first, _, _ := bytes.Cut(stacks(false), []byte(" ["))
	return fmt.Sprintf("created by %s in %s\n", fn, first)
}

// Goroutines counts the goroutines whose stack contains what.
func Goroutines(what string) int {
	n := 0
	for g := range bytes.SplitSeq(stacks(true), []byte("\n\n")) {
		if bytes.Contains(g, []byte(what)) {
			n++
		}
	}
	return n
}

func stacks(all bool) []byte {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, all)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

// WaitGoroutines waits up to 5 s for Goroutines(started) to be at most n,
// and fails t if it is not; when says at which point of the test.
func WaitGoroutines(t *testing.T, when, started string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for Goroutines(started) > n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d goroutines, want at most %d, with %q", when, Goroutines(started), n, started)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

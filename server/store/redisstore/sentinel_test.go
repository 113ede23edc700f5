package redisstore_test

import (
	"testing"
	"time"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/redisstore/redistest"
)

// The log works through a Sentinel, in both URL forms: two nodes, one on
// each, share the master's stream.
func TestSentinel(t *testing.T) {
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master, "mymaster")
	a := open(t, "redis-sentinel://"+sentinel.Addr()+"/mymaster", store.Bounds{})
	defer a.Close()
	b := open(t, "redis://"+sentinel.Addr()+"?master_name=mymaster", store.Bounds{})
	defer b.Close()

	w := watch(t, b)
	var all []store.Update
	for i := range 5 {
		id := ""
		if i == 1 {
			id = "given"
		}
		all = append(all, appendOne(t, a, "t", id, i))
	}
	if !waitFor(5*time.Second, func() bool { return len(w.updates()) == len(all) }) {
		t.Fatalf("b's watcher got %d of %d", len(w.updates()), len(all))
	}
	same(t, "b's watcher", w.updates(), all)
	got, err := replay(t, b, "given")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "b.Replay(given)", got, all[2:])

	// The master's own data: the stream is there, not on the sentinel.
	direct := open(t, master.URL(), store.Bounds{})
	defer direct.Close()
	if id, _, err := direct.Last(t.Context()); err != nil || id != all[len(all)-1].Event.ID {
		t.Fatalf("Last on the master = %q, %v; want %q", id, err, all[len(all)-1].Event.ID)
	}
}

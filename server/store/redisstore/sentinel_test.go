package redisstore_test

import (
	"testing"

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

	all := shareStream(t, a, b, 5, 1)

	// The master's own data: the stream is there, not on the sentinel.
	direct := open(t, master.URL(), store.Bounds{})
	defer direct.Close()
	if id, _, err := direct.Last(t.Context()); err != nil || id != all[len(all)-1].Event.ID {
		t.Fatalf("Last on the master = %q, %v; want %q", id, err, all[len(all)-1].Event.ID)
	}
}

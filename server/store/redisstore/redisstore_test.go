package redisstore_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/redisstore"
	"github.com/polysse/polysse/server/store/redisstore/redistest"
	"github.com/polysse/polysse/server/store/storetest"
)

func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T, b store.Bounds) store.Log {
		// A prefix of its own makes each test's log independent on the one
		// server.
		return open(t, srv.URL(), b, redisstore.WithPrefix(fmt.Sprintf("conformance%d", n.Add(1))))
	})
}

func open(t testing.TB, url string, b store.Bounds, opts ...redisstore.Option) *redisstore.Log {
	t.Helper()
	l, err := redisstore.Open(t.Context(), url, b, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

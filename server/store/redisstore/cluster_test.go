package redisstore_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/redisstore"
	"github.com/polysse/polysse/server/store/redisstore/redistest"
	"github.com/polysse/polysse/server/store/storetest"
)

// startCluster starts a Redis Cluster of three masters, each with a third
// of the slots, and returns its redis-cluster:// URL.
func startCluster(t *testing.T) string {
	t.Helper()
	const masters = 3
	var addrs []string
	var buses []int
	var clients []*redis.Client
	for i := range masters {
		// The bus port is given: the default, port+10000, may not exist.
		bus := redistest.FreePort(t)
		buses = append(buses, bus)
		srv := redistest.Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(bus), "--cluster-node-timeout", "5000")
		addrs = append(addrs, srv.Addr())
		c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
		t.Cleanup(func() { c.Close() })
		clients = append(clients, c)
		lo, hi := i*16384/masters, (i+1)*16384/masters-1
		if err := c.Do(t.Context(), "CLUSTER", "ADDSLOTSRANGE", lo, hi).Err(); err != nil {
			t.Fatalf("CLUSTER ADDSLOTSRANGE: %v", err)
		}
	}
	for i, a := range addrs[1:] {
		host, port, _ := strings.Cut(a, ":")
		if err := clients[0].Do(t.Context(), "CLUSTER", "MEET", host, port, buses[i+1]).Err(); err != nil {
			t.Fatalf("CLUSTER MEET: %v", err)
		}
	}
	ok := waitFor(20*time.Second, func() bool {
		for _, c := range clients {
			info, err := c.ClusterInfo(t.Context()).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", masters)) {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatal("the cluster did not come up")
	}
	return "redis-cluster://" + strings.Join(addrs, ",")
}

// The log works on a Redis Cluster, with logs whose keys land in the slots
// of different nodes.
func TestClusterConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster")
	}
	url := startCluster(t)
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T, b store.Bounds) store.Log {
		return open(t, url, b, redisstore.WithPrefix(fmt.Sprintf("cluster%d", n.Add(1))))
	})
}

// Two nodes on a cluster, with a publisher's id.
func TestClusterTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster")
	}
	url := startCluster(t)
	ctx := context.Background()
	a := open(t, url, store.Bounds{})
	defer a.Close()
	b := open(t, url, store.Bounds{})
	defer b.Close()
	shareStream(t, a, b, 10, 3)
	if err := b.Ready(ctx); err != nil {
		t.Fatal(err)
	}
}

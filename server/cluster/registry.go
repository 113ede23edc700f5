// Package cluster shares the active subscriptions of several hub nodes
// through Redis, so that the subscriptions API of every node lists every
// node's subscriptions, and the end of the subscriptions of a node that
// died is announced once, by one of the nodes that outlive it.
//
// Each node keeps its subscriptions in a hash of its own and renews its
// lease in a sorted set of nodes (score: when the lease ends) every
// TTL/3. Every node looks for expired leases at the same pace; a script
// removes an expired node and hands its hash to the one caller that
// removed it, atomically, so that exactly one node announces that those
// subscriptions ended. A node that finds its own lease gone (it was
// partitioned from Redis for longer than TTL and reaped) registers its
// subscriptions again and announces them as started.
//
// Keys, all under one Cluster hash tag: "{PREFIX}:nodes" (the leases) and
// "{PREFIX}:node:ID" (a node's subscriptions, JSON by topic).
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polysse/polysse/server"
)

// DefaultTTL is how long a node's lease lasts without renewal: a dead
// node's subscriptions are announced ended within about DefaultTTL*4/3.
const DefaultTTL = 15 * time.Second

// Announcer publishes subscription events; *server.Hub's Announce is one.
type Announcer func(ctx context.Context, subs []server.Subscription, active bool)

// Options configure a Registry.
type Options struct {
	// Prefix is the keys' prefix (and Cluster hash tag); empty means
	// "polysse-subs".
	Prefix string
	// TTL is the lease of a node; zero means DefaultTTL.
	TTL time.Duration
	// Logger receives warnings; nil means slog.Default().
	Logger *slog.Logger
}

// Registry is a server.Registry shared by nodes through Redis. Start its
// lease with Run once the hub that announces its events exists.
type Registry struct {
	rdb    redis.UniversalClient
	node   string
	nodes  string // key of the leases
	ttl    time.Duration
	logger *slog.Logger

	mu    sync.Mutex
	local map[string]server.Subscription // this node's, by topic
}

// New returns a registry over rdb for one node, with a random node id.
func New(rdb redis.UniversalClient, opts Options) *Registry {
	if opts.Prefix == "" {
		opts.Prefix = "polysse-subs"
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Registry{
		rdb:    rdb,
		node:   hex.EncodeToString(b[:]),
		nodes:  "{" + opts.Prefix + "}:nodes",
		ttl:    opts.TTL,
		logger: opts.Logger,
		local:  make(map[string]server.Subscription),
	}
}

// Node returns this node's id.
func (r *Registry) Node() string { return r.node }

func (r *Registry) nodeKey(node string) string {
	return r.nodes[:len(r.nodes)-len("nodes")] + "node:" + node
}

// Add implements server.Registry.
func (r *Registry) Add(ctx context.Context, subs []server.Subscription) error {
	if len(subs) == 0 {
		return nil
	}
	r.mu.Lock()
	for _, s := range subs {
		r.local[s.Topic()] = s
	}
	r.mu.Unlock()
	return r.write(ctx, subs)
}

func (r *Registry) write(ctx context.Context, subs []server.Subscription) error {
	args := make([]any, 0, 2*len(subs))
	for _, s := range subs {
		b, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("cluster: encode subscription: %w", err)
		}
		args = append(args, s.Topic(), b)
	}
	if err := r.rdb.HSet(ctx, r.nodeKey(r.node), args...).Err(); err != nil {
		return fmt.Errorf("cluster: record subscriptions: %w", err)
	}
	return nil
}

// Remove implements server.Registry.
func (r *Registry) Remove(ctx context.Context, subs []server.Subscription) error {
	if len(subs) == 0 {
		return nil
	}
	fields := make([]string, 0, len(subs))
	r.mu.Lock()
	for _, s := range subs {
		delete(r.local, s.Topic())
		fields = append(fields, s.Topic())
	}
	r.mu.Unlock()
	if err := r.rdb.HDel(ctx, r.nodeKey(r.node), fields...).Err(); err != nil {
		return fmt.Errorf("cluster: forget subscriptions: %w", err)
	}
	return nil
}

// List implements server.Registry: the subscriptions of every node whose
// lease is current.
func (r *Registry) List(ctx context.Context, limit int) ([]server.Subscription, error) {
	nodes, err := r.rdb.ZRangeByScore(ctx, r.nodes, &redis.ZRangeBy{Min: "(" + strconv.FormatInt(time.Now().UnixMilli(), 10), Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster: list nodes: %w", err)
	}
	var out []server.Subscription
	for _, n := range nodes {
		vals, err := r.rdb.HVals(ctx, r.nodeKey(n)).Result()
		if err != nil {
			return nil, fmt.Errorf("cluster: list subscriptions: %w", err)
		}
		for _, v := range vals {
			if len(out) == limit {
				return out, nil
			}
			var s server.Subscription
			if json.Unmarshal([]byte(v), &s) == nil {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// reap removes one expired node and returns its subscriptions, only to the
// caller whose ZREM removed it.
var reap = redis.NewScript(`
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false then return false end
if tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1])) > tonumber(ARGV[2]) then return false end
redis.call('ZREM', KEYS[1], ARGV[1])
local subs = redis.call('HVALS', KEYS[2])
redis.call('DEL', KEYS[2])
return subs
`)

// Run renews this node's lease and reaps expired nodes every TTL/3 until
// ctx ends; then it gives the lease up and forgets this node's
// subscriptions (their end is announced by the hub as its streams close).
// announce publishes subscription events.
func (r *Registry) Run(ctx context.Context, announce Announcer) {
	tick := time.NewTicker(r.ttl / 3)
	defer tick.Stop()
	r.renew(ctx, announce)
	for {
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			r.rdb.ZRem(cctx, r.nodes, r.node)
			r.rdb.Del(cctx, r.nodeKey(r.node))
			cancel()
			return
		case <-tick.C:
			r.renew(ctx, announce)
			r.reapExpired(ctx, announce)
		}
	}
}

// renew extends the lease; when the lease was gone (reaped), it writes
// this node's subscriptions again and announces them as started.
func (r *Registry) renew(ctx context.Context, announce Announcer) {
	until := time.Now().Add(r.ttl).UnixMilli()
	added, err := r.rdb.ZAdd(ctx, r.nodes, redis.Z{Score: float64(until), Member: r.node}).Result()
	if err != nil {
		if ctx.Err() == nil {
			r.logger.Warn("cluster: the node's lease was not renewed", "err", err)
		}
		return
	}
	if added == 0 {
		return
	}
	r.mu.Lock()
	subs := make([]server.Subscription, 0, len(r.local))
	for _, s := range r.local {
		subs = append(subs, s)
	}
	r.mu.Unlock()
	if len(subs) == 0 {
		return
	}
	if err := r.write(ctx, subs); err != nil {
		r.logger.Warn("cluster: re-registering subscriptions", "err", err)
		return
	}
	r.logger.Warn("cluster: this node's lease had expired: its subscriptions are announced again", "count", len(subs))
	announce(ctx, subs, true)
}

// reapExpired announces the end of the subscriptions of every node whose
// lease has passed, each node by one reaper only.
func (r *Registry) reapExpired(ctx context.Context, announce Announcer) {
	now := time.Now().UnixMilli()
	dead, err := r.rdb.ZRangeByScore(ctx, r.nodes, &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(now, 10)}).Result()
	if err != nil {
		if ctx.Err() == nil {
			r.logger.Warn("cluster: listing expired nodes", "err", err)
		}
		return
	}
	for _, n := range dead {
		if n == r.node {
			continue
		}
		vals, err := reap.Run(ctx, r.rdb, []string{r.nodes, r.nodeKey(n)}, n, now).StringSlice()
		if errors.Is(err, redis.Nil) {
			continue // another node reaped it
		}
		if err != nil {
			r.logger.Warn("cluster: reaping a node", "node", n, "err", err)
			continue
		}
		subs := make([]server.Subscription, 0, len(vals))
		for _, v := range vals {
			var s server.Subscription
			if json.Unmarshal([]byte(v), &s) == nil {
				subs = append(subs, s)
			}
		}
		r.logger.Info("cluster: a node's lease expired: its subscriptions end", "node", n, "count", len(subs))
		announce(ctx, subs, false)
	}
}

package topic

import "sync"

// cache is a map bounded in bytes with approximately least-recently-used
// eviction. It keeps two generations: entries are added to the current one,
// and when its entries' costs reach half the budget it becomes the old one,
// dropping the previous old generation wholesale. A hit in the old
// generation copies the entry forward, so entries in use survive. Unlike a
// linked-list LRU, a hit in the current generation needs only a read lock,
// which keeps concurrent publishers from serializing on the cache. A nil
// *cache stores nothing.
type cache[K comparable, V any] struct {
	mu       sync.RWMutex
	genBytes int // the budget of one generation
	cur, old map[K]entry[V]
	curBytes int
	oldBytes int
}

type entry[V any] struct {
	v    V
	cost int
}

func newCache[K comparable, V any](budget int) *cache[K, V] {
	return &cache[K, V]{genBytes: max(1, budget/2), cur: make(map[K]entry[V])}
}

func (c *cache[K, V]) get(k K) (V, bool) {
	if c == nil {
		var zero V
		return zero, false
	}
	c.mu.RLock()
	e, ok := c.cur[k]
	if ok {
		c.mu.RUnlock()
		return e.v, true
	}
	e, ok = c.old[k]
	c.mu.RUnlock()
	if ok {
		c.put(k, e.v, e.cost)
	}
	return e.v, ok
}

// put stores v under k, cost being what the entry holds in bytes (key
// included). An entry costlier than a generation is not stored.
func (c *cache[K, V]) put(k K, v V, cost int) {
	if c == nil || cost > c.genBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.cur[k]; ok {
		c.curBytes -= e.cost
	} else if c.curBytes+cost > c.genBytes {
		c.old, c.oldBytes = c.cur, c.curBytes
		c.cur, c.curBytes = make(map[K]entry[V], len(c.old)), 0
	}
	c.cur[k] = entry[V]{v, cost}
	c.curBytes += cost
}

// len returns the number of entries held, for tests.
func (c *cache[K, V]) len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.cur) + len(c.old)
}

// bytes returns the cost of the entries held, for tests.
func (c *cache[K, V]) bytes() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.curBytes + c.oldBytes
}

package topic

import "sync"

// cache is a bounded map with approximately least-recently-used eviction.
// It keeps two generations: entries are added to the current one, and when
// it is full it becomes the old one, dropping the previous old generation
// wholesale. A hit in the old generation copies the entry forward, so
// entries in use survive. Unlike a linked-list LRU, a hit in the current
// generation needs only a read lock, which keeps concurrent publishers from
// serializing on the cache. A nil *cache stores nothing.
type cache[K comparable, V any] struct {
	mu       sync.RWMutex
	genSize  int
	cur, old map[K]V
}

func newCache[K comparable, V any](size int) *cache[K, V] {
	genSize := max(1, (size+1)/2)
	return &cache[K, V]{genSize: genSize, cur: make(map[K]V)}
}

func (c *cache[K, V]) get(k K) (V, bool) {
	if c == nil {
		var zero V
		return zero, false
	}
	c.mu.RLock()
	v, ok := c.cur[k]
	if ok {
		c.mu.RUnlock()
		return v, true
	}
	v, ok = c.old[k]
	c.mu.RUnlock()
	if ok {
		c.put(k, v)
	}
	return v, ok
}

func (c *cache[K, V]) put(k K, v V) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cur[k]; !ok && len(c.cur) >= c.genSize {
		c.old = c.cur
		c.cur = make(map[K]V, c.genSize)
	}
	c.cur[k] = v
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

package auth

import (
	"sync"
	"time"
)

// maxCachedToken is the longest token remembered: tokens are signed by the
// operator, but one with a huge claim would still hold that much memory per
// entry for as long as it is cached.
const maxCachedToken = 16 << 10

// evictionSample is how many entries put looks at to choose which one to
// evict, as Redis does: cheap, and close enough to evicting the entry that
// expires first.
const evictionSample = 8

// tokenCache remembers verified tokens, so that a subscriber reconnecting
// or a publisher posting again with the same token costs a map lookup
// rather than a signature check. Only tokens that verified are stored,
// which keeps forged tokens from filling it. A nil *tokenCache stores
// nothing.
type tokenCache struct {
	mu      sync.RWMutex
	size    int
	entries map[string]cachedToken
}

type cachedToken struct {
	claims *Claims
	// validUntil is when the token expires, leeway included; zero when
	// it never does.
	validUntil time.Time
}

func (e cachedToken) valid(now time.Time) bool {
	return e.validUntil.IsZero() || now.Before(e.validUntil)
}

func newTokenCache(size int) *tokenCache {
	return &tokenCache{size: size, entries: make(map[string]cachedToken)}
}

// get returns the claims of token if it was verified and has not expired
// since. The caller must not modify them.
func (c *tokenCache) get(token string, now time.Time) (*Claims, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.entries[token]
	c.mu.RUnlock()
	if !ok {
		return nil, false
	}
	if !e.valid(now) {
		c.mu.Lock()
		if cur, ok := c.entries[token]; ok && cur.validUntil.Equal(e.validUntil) {
			delete(c.entries, token)
		}
		c.mu.Unlock()
		return nil, false
	}
	return e.claims, true
}

func (c *tokenCache) put(token string, claims *Claims, validUntil time.Time) {
	if c == nil || len(token) > maxCachedToken {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[token]; !ok && len(c.entries) >= c.size {
		c.evictLocked()
	}
	c.entries[token] = cachedToken{claims: claims, validUntil: validUntil}
}

// evictLocked removes the entry expiring first among a few; tokens without
// expiry go last. Go's randomized map iteration makes the sample random.
func (c *tokenCache) evictLocked() {
	var (
		victim string
		first  time.Time
		n      int
	)
	for token, e := range c.entries {
		if n == 0 || !e.validUntil.IsZero() && (first.IsZero() || e.validUntil.Before(first)) {
			victim, first = token, e.validUntil
		}
		if n++; n == evictionSample {
			break
		}
	}
	delete(c.entries, victim)
}

// len returns the number of entries, for tests.
func (c *tokenCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

package server

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/polysse/polysse/server/topic"
)

// maxTemplateBytes bounds the bytes of the templates one subscription
// names: compiling a template costs about its length, and Validate lets
// each be 2 KB.
const maxTemplateBytes = 8 << 10

// sharedSelector is a compiled selector shared by every open subscription
// that names it: a template is compiled when the first of them opens, kept
// while any is open, and matched at most once per published update.
type sharedSelector struct {
	*topic.Selector
	refs int // guarded by selectorSet.mu
	// memo is epoch<<1 | matched, for the update of that fan-out epoch:
	// subscribers sharing a template share one match.
	memo atomic.Uint64
}

// matches reports whether s matches any of topics. A non-zero epoch names
// one update's fan-out, whose answer is remembered for the next subscriber
// that asks; epochs never repeat, so a stale answer is never used.
func (s *sharedSelector) matches(topics []string, epoch uint64) bool {
	if epoch == 0 || !s.IsTemplate() {
		return s.MatchAny(topics)
	}
	if v := s.memo.Load(); v>>1 == epoch {
		return v&1 == 1
	}
	ok := s.MatchAny(topics)
	v := epoch << 1
	if ok {
		v |= 1
	}
	s.memo.Store(v)
	return ok
}

// selectorSet holds the compiled selectors of the open subscriptions.
type selectorSet struct {
	mu sync.Mutex
	m  map[string]*sharedSelector
}

func newSelectorSet() *selectorSet {
	return &selectorSet{m: make(map[string]*sharedSelector)}
}

// acquire returns the compiled selectors for texts, compiling those that
// no open subscription holds. With strict, an invalid selector is an error
// (a subscriber's topic parameters); without, it matches only itself (a
// token's claims, as Matcher reads them).
func (ss *selectorSet) acquire(texts []string, strict bool) ([]*sharedSelector, error) {
	out := make([]*sharedSelector, 0, len(texts))
	for _, text := range texts {
		ss.mu.Lock()
		s := ss.m[text]
		if s != nil {
			s.refs++
		}
		ss.mu.Unlock()
		if s == nil {
			// Compiled outside the lock: a costly template must not hold up
			// every other subscription.
			sel, err := topic.Compile(text)
			if err != nil {
				if strict {
					ss.release(out)
					return nil, err
				}
				sel = topic.Literal(text)
			}
			s = ss.add(text, sel)
		}
		out = append(out, s)
	}
	return out, nil
}

// add registers sel for text, unless another subscription did meanwhile.
func (ss *selectorSet) add(text string, sel *topic.Selector) *sharedSelector {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[text]
	if s == nil {
		s = &sharedSelector{Selector: sel}
		ss.m[text] = s
	}
	s.refs++
	return s
}

// release gives back what acquire returned.
func (ss *selectorSet) release(sels []*sharedSelector) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, s := range sels {
		if s.refs--; s.refs == 0 {
			delete(ss.m, s.String())
		}
	}
}

// len returns the number of distinct selectors held, for tests.
func (ss *selectorSet) len() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.m)
}

// checkBudget refuses, before anything is compiled, a subscription whose
// templates would cost more than a request may: their variables (what
// matching costs) and their bytes (what compiling costs).
func (h *Hub) checkBudget(selectors []string) error {
	vars, size := 0, 0
	for _, s := range selectors {
		if !strings.ContainsAny(s, "{}") {
			continue
		}
		vars += topic.Variables(s)
		size += len(s)
	}
	if vars > h.cfg.MaxTemplateVariables {
		return fmt.Errorf("the topic selectors name %d template variables; the limit per subscription is %d", vars, h.cfg.MaxTemplateVariables)
	}
	if size > maxTemplateBytes {
		return fmt.Errorf("the topic selectors hold %d template bytes; the limit per subscription is %d", size, maxTemplateBytes)
	}
	return nil
}

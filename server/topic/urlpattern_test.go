package topic

import (
	"strings"
	"testing"
	"time"
)

func TestCompileMatcher08(t *testing.T) {
	const base = "https://hub.example/.well-known/mercure"
	cases := []struct {
		typ, match, topic string
		compiles, matches bool
	}{
		{MatchExact, "https://e.com/a", "https://e.com/a", true, true},
		{MatchExact, "https://e.com/a", "https://e.com/A", true, false},
		{MatchExact, "*", "anything", true, true},
		{MatchURLPattern, "*", "not a url", true, true},
		{MatchURLPattern, "https://e.com/books/:id", "https://e.com/books/1", true, true},
		{MatchURLPattern, "https://e.com/books/:id", "https://e.com/books/1/2", true, false},
		{MatchURLPattern, "/books/:id", "/books/1", true, true},
		{MatchURLPattern, "/books/:id", "https://hub.example/books/1", true, true},
		{MatchURLPattern, "/books/:id", "https://other.example/books/1", true, false},
		{MatchURLPattern, "https://e.com/(", "", false, false},
		{"regex", "a", "a", false, false},
		{"Exact", "a", "a", false, false},
		{MatchExact, "a\x00", "", false, false},
		{MatchExact, "a\u200eb", "", false, false},
		{MatchExact, "\xff", "", false, false},
		{MatchExact, "", "", false, false},
		{MatchExact, strings.Repeat("a", MaxLength+1), "", false, false},
	}
	for _, c := range cases {
		s, err := CompileMatcher08(c.typ, c.match, base)
		if (err == nil) != c.compiles {
			t.Errorf("CompileMatcher08(%q, %q): err %v, want compiles=%v", c.typ, c.match, err, c.compiles)
			continue
		}
		if err == nil && s.Matches(c.topic) != c.matches {
			t.Errorf("%s %q matches %q = %v, want %v", c.typ, c.match, c.topic, !c.matches, c.matches)
		}
	}
}

// TestURLPatternMatchingIsLinear: a pattern built to make a backtracking
// engine explode matches a long topic in about the time of a short one
// times their length ratio (Go's regexp is RE2: linear time).
func TestURLPatternMatchingIsLinear(t *testing.T) {
	s, err := CompileMatcher08(MatchURLPattern, "https://e.com/:a(a*)*:b(a*)*:c(a*)*b", "")
	if err != nil {
		t.Skipf("the pathological pattern is refused, which is fine: %v", err)
	}
	topic := "https://e.com/" + strings.Repeat("a", MaxLength-20)
	start := time.Now()
	s.Matches(topic)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("one match took %v", d)
	}
}

func BenchmarkSelectorMatch(b *testing.B) {
	const base = "https://hub.example/.well-known/mercure"
	topic := "https://example.com/books/12345"
	exact, _ := CompileMatcher08(MatchExact, topic, base)
	pattern, _ := CompileMatcher08(MatchURLPattern, "https://example.com/books/:id", base)
	m := NewMatcher(4096)
	cached, _ := NewMatcher08Cache(1<<20).Compile(MatchURLPattern, "https://example.com/books/:id", base)
	b.Run("urlpattern-cached", func(b *testing.B) {
		for b.Loop() {
			cached.Matches(topic)
		}
	})
	b.Run("exact", func(b *testing.B) {
		for b.Loop() {
			exact.Matches(topic)
		}
	})
	b.Run("urlpattern", func(b *testing.B) {
		for b.Loop() {
			pattern.Matches(topic)
		}
	})
	b.Run("uritemplate-cached", func(b *testing.B) {
		for b.Loop() {
			m.Match(topic, "https://example.com/books/{id}")
		}
	})
}

// FuzzCompileMatcher08: any matcher and topic, from the network, neither
// panics nor is accepted unchecked.
func FuzzCompileMatcher08(f *testing.F) {
	for _, s := range []string{"https://e.com/books/:id", "/books/:id(\\d+)", "*://*/*", "https://e.com/{a}?", "((", ":a*:b+", "https://[::1]:80/x#:y"} {
		f.Add(s, "https://e.com/books/1")
	}
	c := NewMatcher08Cache(1 << 16)
	f.Fuzz(func(t *testing.T, match, topic string) {
		for _, typ := range []string{MatchExact, MatchURLPattern} {
			s, err := c.Compile(typ, match, "https://hub.example/.well-known/mercure")
			if err != nil {
				continue
			}
			if CheckText(match) != nil {
				t.Fatalf("%q compiled with a forbidden character", match)
			}
			s.Matches(topic)
		}
	})
}

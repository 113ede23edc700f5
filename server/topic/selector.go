package topic

import (
	"fmt"
	"regexp"
	"strings"
)

// Selector is a selector compiled once, to be matched against many topics:
// the hub compiles a subscription's selectors when it opens and keeps them
// with it, so that no publish ever compiles a template.
type Selector struct {
	text string
	re   *regexp.Regexp // nil unless text is a valid template
}

// Compile validates selector as Validate does and compiles it.
func Compile(selector string) (*Selector, error) {
	switch {
	case selector == "":
		return nil, fmt.Errorf("%w: empty", ErrInvalidSelector)
	case len(selector) > MaxLength:
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidSelector, len(selector), MaxLength)
	case !strings.ContainsAny(selector, "{}"):
		return &Selector{text: selector}, nil
	}
	re, err := compile(selector)
	if err != nil {
		return nil, err
	}
	return &Selector{text: selector, re: re}, nil
}

// Literal returns a selector for a claim that Compile refused: like
// Matcher.Match, it matches only the topic equal to it ("*" aside).
func Literal(selector string) *Selector { return &Selector{text: selector} }

// String returns the selector as given.
func (s *Selector) String() string { return s.text }

// IsTemplate reports whether s is a compiled URI template, whose Match
// costs a regular-expression match rather than a comparison.
func (s *Selector) IsTemplate() bool { return s.re != nil }

// Match reports whether s matches topic, as Matcher.Match does.
func (s *Selector) Match(topic string) bool {
	if s.text == Wildcard || s.text == topic {
		return true
	}
	return s.re != nil && s.re.MatchString(topic)
}

// MatchAny reports whether s matches any of topics.
func (s *Selector) MatchAny(topics []string) bool {
	for _, t := range topics {
		if s.Match(t) {
			return true
		}
	}
	return false
}

// Variables returns the variables selector's expressions name, weighed by
// what they cost to match, and counted without parsing it: what a
// subscription's template budget is charged before anything is compiled.
// A variable alone in its expression counts 1: "/books/{id}" compiles to a
// program that package regexp runs in one pass (15 ns a match). One among
// several counts 2: the expression is ambiguous, and a template of 16 of
// them takes 0.65 µs a match by backtracking. An exploded one ({var*})
// counts 4: it matches a list, compiles to about 60 instructions where a
// plain one takes 25, and 16 of them are past the size where regexp stops
// backtracking for its slower NFA (2 µs a match).
func Variables(selector string) int {
	n := 0
	for {
		open := strings.IndexByte(selector, '{')
		if open < 0 {
			return n
		}
		selector = selector[open+1:]
		end := strings.IndexAny(selector, "{}")
		if end < 0 {
			end = len(selector)
		}
		expr := selector[:end]
		vars := strings.Count(expr, ",") + 1
		exploded := strings.Count(expr, "*")
		if vars == 1 && exploded == 0 {
			n++
		} else {
			n += 2*max(vars-exploded, 0) + 4*exploded
		}
		selector = selector[end:]
	}
}

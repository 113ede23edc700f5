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

// Variables returns how many variables selector's expressions name, an
// exploded one ({var*}) counting twice, counted without parsing it: what a
// subscription's template budget is charged before anything is compiled.
// An exploded variable matches a list of items, which costs about twice
// as much to match (BenchmarkFanout in package server).
func Variables(selector string) int {
	n, in := 0, false
	for i := 0; i < len(selector); i++ {
		switch selector[i] {
		case '{':
			in = true
			n++
		case '}':
			in = false
		case ',', '*':
			if in {
				n++
			}
		}
	}
	return n
}

// Package topic decides which topics a Mercure topic selector matches.
//
// A selector matches a topic when it is "*", when it equals the topic, or
// when it is a URI template (RFC 6570) that could have expanded to the
// topic. Subscribers name selectors in their topic parameters and tokens
// carry them in their mercure.subscribe and mercure.publish claims; the hub
// asks the same (topic, selector) questions on every publish, so a Matcher
// caches both the compiled templates and the answers.
//
// # What a template matches
//
// A template is compiled to an anchored regular expression. Literal text
// matches itself exactly, regular-expression metacharacters included. Each
// expression matches what its expansion could be, reading values as in
// RFC 6570 section 3.2.1:
//
//   - A value character is an unreserved character (ALPHA, DIGIT, "-", ".",
//     "_", "~"), a percent-encoded octet, or any non-ASCII character,
//     because topics are IRIs. Expressions with the "+" and "#" operators
//     also accept the reserved characters (":/?#[]@!$&'()*+,;=").
//   - {var} matches a possibly empty run of value characters: never "/",
//     "?", "#", "," or "=". A non-exploded variable is read as a string, so
//     a comma-joined list needs the explode modifier.
//   - {+var} matches the same with reserved characters, so it can span
//     several path segments and a query; {#var} is "#" followed by that.
//   - {.var} and {/var} match "." or "/" followed by a value; {;var} matches
//     ";name" or ";name=value"; {?var} matches "?name=value" and {&var}
//     "&name=value", where name is the variable's name, literally.
//   - An expression with several variables matches any of them in order,
//     joined by the operator's separator, since undefined variables are
//     left out of an expansion; the whole expression may match nothing.
//   - The prefix modifier {var:N} bounds a value to N characters (a
//     percent-encoded character counts as one). The explode modifier {var*}
//     matches a list of values joined by the operator's separator, and
//     also name=value pairs; for the named operators (";", "?", "&") every
//     item is key or key=value with any key.
//
// Templates that fail to parse never match as templates; Validate reports
// why.
package topic

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// Wildcard is the selector that matches every topic.
const Wildcard = "*"

// Matcher answers whether selectors match topics. It is safe for concurrent
// use. The zero value matches correctly but caches nothing.
type Matcher struct {
	// templates maps a selector to its compiled template, or to nil when
	// the selector is not a valid template, so that a bad selector is not
	// parsed again on every publish.
	templates *cache[string, *regexp.Regexp]
	// results remembers answers for template selectors only: the other
	// kinds cost a string comparison, less than a cache lookup.
	results *cache[pair, bool]
}

type pair struct{ topic, selector string }

// entryOverhead is what a cache entry costs beside its strings and its
// compiled template: the maps' slots and the string headers.
const entryOverhead = 64

// NewMatcher returns a Matcher whose caches of compiled templates and of
// (topic, selector) answers hold about cacheBytes bytes each at most,
// evicting those used least recently first. A cacheBytes of zero or less
// disables caching.
func NewMatcher(cacheBytes int) *Matcher {
	if cacheBytes <= 0 {
		return &Matcher{}
	}
	return &Matcher{
		templates: newCache[string, *regexp.Regexp](cacheBytes),
		results:   newCache[pair, bool](cacheBytes),
	}
}

// Match reports whether selector matches topic.
func (m *Matcher) Match(topic, selector string) bool {
	if selector == Wildcard || selector == topic {
		return true
	}
	if !strings.Contains(selector, "{") || len(selector) > MaxLength {
		return false
	}
	key := pair{topic, selector}
	if ok, hit := m.results.get(key); hit {
		return ok
	}
	re, hit := m.templates.get(selector)
	if !hit {
		re, _ = compile(selector)
		m.templates.put(selector, re, len(selector)+entryOverhead+regexpBytes(re))
	}
	ok := re != nil && re.MatchString(topic)
	m.results.put(key, ok, len(topic)+len(selector)+entryOverhead)
	return ok
}

// regexpBytes estimates the memory a compiled template holds: measured at
// 50 to 90 bytes per instruction of its program (templates of many
// variables, of prefix modifiers, of long literals), and a few kilobytes
// for the smallest.
func regexpBytes(re *regexp.Regexp) int {
	if re == nil {
		return 0
	}
	r, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return MaxLength * 128
	}
	prog, err := syntax.Compile(r.Simplify())
	if err != nil {
		return MaxLength * 128
	}
	return 2048 + 96*len(prog.Inst)
}

// MatchAny reports whether any of selectors matches any of topics.
func (m *Matcher) MatchAny(topics, selectors []string) bool {
	for _, s := range selectors {
		for _, t := range topics {
			if m.Match(t, s) {
				return true
			}
		}
	}
	return false
}

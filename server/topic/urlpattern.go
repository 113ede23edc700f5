package topic

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dunglas/go-urlpattern"
)

// Matcher types of Mercure draft-08 (section "Matcher Types"): the names a
// subscriber appends to "match_" and a token puts in "match_type".
const (
	MatchExact      = "exact"
	MatchURLPattern = "urlpattern"
)

// Matcher08 is one compiled draft-08 topic matcher: "*", an exact topic, or
// a URL pattern (WHATWG URL Pattern standard) resolved against the hub's
// URL. It is compiled once, when the subscription or token is read, and is
// safe for concurrent use.
type Matcher08 struct {
	// Type is MatchExact or MatchURLPattern, and Match the matcher as given.
	Type, Match string
	pattern     *urlpattern.URLPattern
	base        string
	// results, when set, shares answers between the selectors of a
	// Matcher08Cache.
	results *cache[patternKey, bool]
}

type patternKey struct{ pattern, base, topic string }

// Matcher08Cache compiles selectors for a hub: URL patterns are compiled
// once however many subscriptions and tokens name them, and their
// answers are shared, so that a publish tested against a thousand
// subscribers with one pattern costs one evaluation, not a thousand (an
// evaluation parses the topic as a URL and runs eight regular
// expressions: tens of microseconds). It is safe for concurrent use.
type Matcher08Cache struct {
	patterns *cache[[2]string, *urlpattern.URLPattern]
	results  *cache[patternKey, bool]
}

// NewMatcher08Cache returns a cache holding about budget bytes of
// compiled patterns and as many of answers.
func NewMatcher08Cache(budget int) *Matcher08Cache {
	return &Matcher08Cache{
		patterns: newCache[[2]string, *urlpattern.URLPattern](budget),
		results:  newCache[patternKey, bool](budget),
	}
}

// patternCost estimates what a compiled URL pattern holds: eight compiled
// regular expressions, each some instructions per byte of the pattern.
func patternCost(match, base string) int { return 4096 + 64*len(match) + len(base) }

// Compile is CompileMatcher08 with the cache's sharing.
func (c *Matcher08Cache) Compile(matchType, match, base string) (*Matcher08, error) {
	if matchType != MatchURLPattern || match == Wildcard {
		return CompileMatcher08(matchType, match, base)
	}
	if p, ok := c.patterns.get([2]string{match, base}); ok {
		return &Matcher08{Type: matchType, Match: match, base: base, pattern: p, results: c.results}, nil
	}
	s, err := CompileMatcher08(matchType, match, base)
	if err != nil {
		return nil, err
	}
	c.patterns.put([2]string{match, base}, s.pattern, patternCost(match, base))
	s.results = c.results
	return s, nil
}

// ErrInvalidMatcher is matched by every error CompileMatcher08 returns.
var ErrInvalidMatcher = errors.New("topic: invalid matcher")

// CompileMatcher08 compiles a draft-08 matcher of the given type. base is
// the hub's URL, against which relative URL patterns and relative topics
// are resolved. The value must be valid UTF-8 without control or format
// characters (CheckText), at most MaxLength bytes, and for MatchURLPattern
// a well-formed URL pattern. An unknown type is an error.
func CompileMatcher08(matchType, match, base string) (*Matcher08, error) {
	if err := CheckText(match); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMatcher, err)
	}
	if match == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidMatcher)
	}
	if len(match) > MaxLength {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidMatcher, len(match), MaxLength)
	}
	s := &Matcher08{Type: matchType, Match: match, base: base}
	switch matchType {
	case MatchExact:
		return s, nil
	case MatchURLPattern:
	default:
		return nil, fmt.Errorf("%w: unsupported matcher type %q", ErrInvalidMatcher, matchType)
	}
	if match == Wildcard {
		return s, nil
	}
	p, err := urlpattern.New(match, base, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: URL pattern: %w", ErrInvalidMatcher, err)
	}
	s.pattern = p
	return s, nil
}

// Matches reports whether the selector matches topic. "*" matches every
// topic whatever the type; an exact selector compares bytes; a URL pattern
// is tested against the topic resolved against the hub's URL, and a topic
// that does not parse as a URL reference matches no pattern. The URL
// pattern library compiles to Go regular expressions (RE2), so a test
// costs time linear in the topic's length; topics longer than MaxLength
// are not tested at all.
func (s *Matcher08) Matches(topic string) bool {
	switch {
	case s.Match == Wildcard:
		return true
	case s.pattern == nil:
		return s.Match == topic
	case len(topic) > MaxLength:
		return false
	}
	key := patternKey{s.Match, s.base, topic}
	if ok, hit := s.results.get(key); hit {
		return ok
	}
	ok := s.pattern.Test(topic, s.base)
	s.results.put(key, ok, len(key.pattern)+len(key.base)+len(key.topic)+64)
	return ok
}

// MatchesAny reports whether the selector matches one of topics.
func (s *Matcher08) MatchesAny(topics []string) bool {
	for _, t := range topics {
		if s.Matches(t) {
			return true
		}
	}
	return false
}

// CheckText reports a string that Mercure draft-08 forbids as a topic or
// matcher: not valid UTF-8, or holding a C0 or C1 control character, DEL,
// or a Unicode format character (general category Cf).
func CheckText(s string) error {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return fmt.Errorf("invalid UTF-8 at byte %d", i)
		}
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("control or format character %U at byte %d", r, i)
		}
		i += n
	}
	return nil
}

// IsCanonicalType reports whether name is a matcher type this package
// supports, spelled canonically (matcher type names are case-sensitive).
func IsCanonicalType(name string) bool {
	return name == MatchExact || name == MatchURLPattern
}

// HasMatchPrefix reports whether a parameter name falls in draft-08's
// reserved "match" namespace: "match", or any name that begins with
// "match" compared ASCII case-insensitively.
func HasMatchPrefix(name string) bool {
	return len(name) >= 5 && strings.EqualFold(name[:5], "match")
}

package topic

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSelector checks, for arbitrary selectors and topics, that matching
// never panics, that the cache never changes an answer, that a selector
// without a brace matches only itself (or everything, for "*"), that an
// invalid template matches only itself, and that every expansion of a valid
// template, with the topic as the value of its variables, matches it.
func FuzzSelector(f *testing.F) {
	cached := NewMatcher(1 << 20)
	f.Fuzz(func(t *testing.T, selector, topic string) {
		var uncached Matcher
		got := uncached.Match(topic, selector)
		for range 2 {
			if c := cached.Match(topic, selector); c != got {
				t.Fatalf("cached Match(%q, %q) = %v, uncached %v", topic, selector, c, got)
			}
		}
		if sel, err := Compile(selector); err == nil && sel.Match(topic) != got {
			t.Fatalf("compiled Match(%q, %q) = %v, Matcher %v", topic, selector, !got, got)
		} else if err != nil && Validate(selector) == nil {
			t.Fatalf("Compile(%q) = %v, Validate accepts it", selector, err)
		}
		trivial := selector == Wildcard || selector == topic
		if !strings.Contains(selector, "{") && got != trivial {
			t.Fatalf("Match(%q, %q) = %v for a selector without a template", topic, selector, got)
		}
		if Validate(selector) != nil {
			if got != trivial {
				t.Fatalf("Match(%q, %q) = %v for an invalid selector", topic, selector, got)
			}
			return
		}
		value := strings.ToValidUTF8(topic, "")
		for _, defined := range []func(int) bool{
			func(int) bool { return true },
			func(i int) bool { return i%2 == 0 },
			func(int) bool { return false },
		} {
			exp := expand(t, selector, value, defined)
			if !uncached.Match(exp, selector) {
				t.Fatalf("expansion %q of %q with value %q does not match", exp, selector, value)
			}
		}
	})
}

// expand expands a valid template as RFC 6570 section 3.2.1 says, every
// variable being the string value when defined(i) for its index i in its
// expression, and undefined otherwise.
func expand(t *testing.T, tmpl, value string, defined func(int) bool) string {
	var b strings.Builder
	for tmpl != "" {
		open := strings.IndexByte(tmpl, '{')
		if open < 0 {
			b.WriteString(tmpl)
			break
		}
		b.WriteString(tmpl[:open])
		end := strings.IndexByte(tmpl, '}')
		op, vars, err := parseExpression(tmpl[open+1:end], 0)
		if err != nil {
			t.Fatalf("parse %q: %v", tmpl[open+1:end], err)
		}
		n := 0
		for i, v := range vars {
			if !defined(i) {
				continue
			}
			if n == 0 {
				b.WriteString(op.first)
			} else {
				b.WriteString(op.sep)
			}
			n++
			val := value
			if v.prefix > 0 && utf8.RuneCountInString(val) > v.prefix {
				r := []rune(val)
				val = string(r[:v.prefix])
			}
			if op.named {
				b.WriteString(v.name)
				if val == "" {
					b.WriteString(op.ifEmpty)
					continue
				}
				b.WriteByte('=')
			}
			encode(&b, val, op.reserved)
		}
		tmpl = tmpl[end+1:]
	}
	return b.String()
}

func encode(b *strings.Builder, s string, reserved bool) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0:
			b.WriteByte(c)
		case reserved && strings.IndexByte(":/?#[]@!$&'()*+,;=", c) >= 0:
			b.WriteByte(c)
		case reserved && c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteString(s[i : i+3])
			i += 2
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
}

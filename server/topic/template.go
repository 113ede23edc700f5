package topic

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MaxLength is the longest selector, in bytes, that Validate accepts and
// that Match compiles as a template. The hub applies it to topics too.
const MaxLength = 2048

// maxPrefixTotal bounds the sum of the prefix lengths ({var:N}) in one
// template. A bounded repetition compiles to N copies of its operand, so
// without a bound a hostile selector could make every compiled template
// held in the cache costly in memory and in matching time.
const maxPrefixTotal = 128

// maxVariables bounds the variables in one template. Matching costs about
// the topic's length times the number of variables that can be consuming
// it at once, and a subscriber's selector is matched against every
// published topic: real templates have a handful of variables, and the
// bound keeps a hostile one to a few milliseconds per match of a
// MaxLength topic.
const maxVariables = 16

// ErrInvalidSelector is matched by every error Validate returns, so that
// the HTTP layer can answer 400 with errors.Is.
var ErrInvalidSelector = errors.New("topic: invalid selector")

// SyntaxError reports why a selector is not a valid URI template.
type SyntaxError struct {
	// Offset is the byte offset in the selector where the problem was
	// found.
	Offset int
	// Msg says what is wrong.
	Msg string
}

// Error says where and why the template is invalid; it leaves the
// selector out, since it may be long and comes from the client.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("topic: invalid URI template at offset %d: %s", e.Offset, e.Msg)
}

// Unwrap returns ErrInvalidSelector.
func (e *SyntaxError) Unwrap() error { return ErrInvalidSelector }

// Validate reports whether selector is acceptable in a subscription or a
// claim: not empty, at most MaxLength bytes, and, when it contains a brace,
// a URI template that Match can compile. Beyond RFC 6570's syntax, a
// template may have at most 16 variables, and its prefix modifiers may add
// up to at most 128 characters, so that matching stays cheap.
func Validate(selector string) error {
	switch {
	case selector == "":
		return fmt.Errorf("%w: empty", ErrInvalidSelector)
	case len(selector) > MaxLength:
		return fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidSelector, len(selector), MaxLength)
	case !strings.ContainsAny(selector, "{}"):
		return nil
	}
	_, err := compile(selector)
	return err
}

// operator describes how an RFC 6570 expression type expands (RFC 6570,
// appendix A), which is what its matching pattern must accept.
type operator struct {
	first    string // emitted before the first defined variable
	sep      string // between variables and exploded items
	named    bool   // values are written as name=value
	ifEmpty  string // written after the name when the value is empty
	reserved bool   // reserved characters pass unencoded
}

func lookupOperator(c byte) (op operator, ok bool) {
	switch c {
	case '+':
		return operator{sep: ",", reserved: true}, true
	case '#':
		return operator{first: "#", sep: ",", reserved: true}, true
	case '.':
		return operator{first: ".", sep: "."}, true
	case '/':
		return operator{first: "/", sep: "/"}, true
	case ';':
		return operator{first: ";", sep: ";", named: true}, true
	case '?':
		return operator{first: "?", sep: "&", named: true, ifEmpty: "="}, true
	case '&':
		return operator{first: "&", sep: "&", named: true, ifEmpty: "="}, true
	}
	return operator{}, false
}

// varspec is one variable of an expression with its modifier.
type varspec struct {
	name    string
	prefix  int // 0 when there is no prefix modifier
	explode bool
}

// Character classes of expanded values. Non-ASCII characters are accepted
// because Mercure topics are IRIs, where they need no percent-encoding.
const (
	unreservedClass = `[A-Za-z0-9\-._~\x{80}-\x{10FFFF}]`
	reservedClass   = `[A-Za-z0-9\-._~\x{80}-\x{10FFFF}:/?#\[\]@!$&'()*+,;=]`
	pctEncoded      = `%[0-9A-Fa-f]{2}`
)

// compile turns a template into an anchored regular expression.
func compile(tmpl string) (*regexp.Regexp, error) {
	if len(tmpl) > MaxLength {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidSelector, len(tmpl), MaxLength)
	}
	var b strings.Builder
	b.WriteString(`^`)
	nvars, prefixTotal := 0, 0
	for i := 0; i < len(tmpl); {
		switch tmpl[i] {
		case '}':
			return nil, &SyntaxError{Offset: i, Msg: `"}" without "{"`}
		case '{':
			end := strings.IndexAny(tmpl[i+1:], "{}")
			if end < 0 || tmpl[i+1+end] == '{' {
				return nil, &SyntaxError{Offset: i, Msg: `"{" without "}"`}
			}
			end += i + 1
			op, vars, err := parseExpression(tmpl[i+1:end], i+1)
			if err != nil {
				return nil, err
			}
			nvars += len(vars)
			if nvars > maxVariables {
				return nil, &SyntaxError{Offset: i, Msg: fmt.Sprintf("more than %d variables", maxVariables)}
			}
			for _, v := range vars {
				prefixTotal += v.prefix
			}
			if prefixTotal > maxPrefixTotal {
				return nil, &SyntaxError{Offset: i, Msg: fmt.Sprintf("prefix lengths add up to more than %d", maxPrefixTotal)}
			}
			writeExpression(&b, op, vars)
			i = end + 1
		default:
			end := strings.IndexAny(tmpl[i:], "{}")
			if end < 0 {
				end = len(tmpl)
			} else {
				end += i
			}
			b.WriteString(regexp.QuoteMeta(tmpl[i:end]))
			i = end
		}
	}
	b.WriteString(`$`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		// The pattern is built from checked parts and within the
		// limits of package regexp, so this is a bug; its error would
		// quote the whole pattern, too long for a client to read.
		return nil, &SyntaxError{Offset: 0, Msg: "template too complex to match"}
	}
	return re, nil
}

// parseExpression parses what is between "{" and "}"; off is the offset
// of expr in the template, for errors.
func parseExpression(expr string, off int) (operator, []varspec, error) {
	if expr == "" {
		return operator{}, nil, &SyntaxError{Offset: off, Msg: "empty expression"}
	}
	op, ok := lookupOperator(expr[0])
	if ok {
		expr = expr[1:]
		off++
	} else if strings.IndexByte("=,!@|", expr[0]) >= 0 {
		return operator{}, nil, &SyntaxError{Offset: off, Msg: fmt.Sprintf("operator %q is reserved", expr[0])}
	} else {
		op = operator{sep: ","}
	}
	var vars []varspec
	for {
		spec, rest, found := strings.Cut(expr, ",")
		v, err := parseVarspec(spec, off)
		if err != nil {
			return operator{}, nil, err
		}
		vars = append(vars, v)
		if !found {
			return op, vars, nil
		}
		off += len(spec) + 1
		expr = rest
	}
}

func parseVarspec(spec string, off int) (varspec, error) {
	var v varspec
	name := spec
	if n, ok := strings.CutSuffix(spec, "*"); ok {
		name, v.explode = n, true
	} else if n, digits, ok := strings.Cut(spec, ":"); ok {
		name = n
		p, err := parsePrefix(digits)
		if err != nil {
			return v, &SyntaxError{Offset: off + len(n) + 1, Msg: err.Error()}
		}
		v.prefix = p
	}
	if err := checkVarname(name); err != nil {
		return v, &SyntaxError{Offset: off, Msg: err.Error()}
	}
	v.name = name
	return v, nil
}

// parsePrefix parses max-length: 1 to 4 digits, not starting with 0.
func parsePrefix(digits string) (int, error) {
	if digits == "" || len(digits) > 4 || digits[0] == '0' {
		return 0, fmt.Errorf("prefix length %q is not a number from 1 to 9999", digits)
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, fmt.Errorf("prefix length %q is not a number from 1 to 9999", digits)
		}
	}
	return strconv.Atoi(digits)
}

// checkVarname checks varname = varchar *( ["."] varchar ), where varchar
// is ALPHA, DIGIT, "_" or a percent-encoded octet.
func checkVarname(name string) error {
	if name == "" {
		return errors.New("missing variable name")
	}
	dotOK := false // a "." must come between two varchars
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
			dotOK = true
		case c == '%':
			if i+2 >= len(name) || !isHex(name[i+1]) || !isHex(name[i+2]) {
				return fmt.Errorf("bad percent-encoding in variable name %q", name)
			}
			i += 2
			dotOK = true
		case c == '.' && dotOK && i+1 < len(name):
			dotOK = false
		default:
			return fmt.Errorf("character %q not allowed in variable name %q", c, name)
		}
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// writeExpression writes a pattern for every expansion of one expression.
//
// Any subsequence of the variables may be defined, and the defined ones are
// joined by the separator. Writing Pi for the pattern of variable i and Li
// for "a non-empty subsequence of variables 1..i, joined", L1 = P1 and
// Li = Li-1 (sep Pi)? | Pi, which stays linear in the number of variables
// where listing every first variable would be quadratic.
func writeExpression(b *strings.Builder, op operator, vars []varspec) {
	sep := regexp.QuoteMeta(op.sep)
	b.WriteString(`(?:`)
	b.WriteString(regexp.QuoteMeta(op.first))
	for i := 1; i < len(vars); i++ {
		b.WriteString(`(?:`)
	}
	writeVar(b, op, vars[0])
	for _, v := range vars[1:] {
		b.WriteString(`(?:` + sep)
		writeVar(b, op, v)
		b.WriteString(`)?|`)
		writeVar(b, op, v)
		b.WriteString(`)`)
	}
	b.WriteString(`)?`)
}

func writeVar(b *strings.Builder, op operator, v varspec) {
	class := unreservedClass
	if op.reserved {
		class = reservedClass
	}
	char := `(?:` + class + `|` + pctEncoded + `)`
	value := char + `*`
	nonEmpty := char + `+`
	if v.prefix > 0 {
		// A prefix counts characters before encoding, so a multi-byte
		// UTF-8 character, percent-encoded as a lead triplet and up to
		// three continuation triplets, counts as one.
		char = `(?:` + class + `|` + pctEncoded + `(?:%[89ABab][0-9A-Fa-f]){0,3})`
		value = char + `{0,` + strconv.Itoa(v.prefix) + `}`
		nonEmpty = char + `{1,` + strconv.Itoa(v.prefix) + `}`
	}
	sep := regexp.QuoteMeta(op.sep)
	var item string
	switch {
	case v.explode && op.named:
		// Lists repeat the name, associative arrays name each item by
		// its key: either way an item is key or key=value.
		item = char + `+(?:=` + value + `)?`
	case v.explode && op.reserved:
		// The separator and "=" are value characters already: spelling
		// out the items would only add ambiguity, which costs time.
		b.WriteString(`(?:` + value + `)`)
		return
	case v.explode:
		// Associative arrays expand to key=value items, and "=" is not
		// a value character outside the reserved operators.
		item = value + `(?:=` + value + `)?`
	case op.named && op.ifEmpty == "":
		b.WriteString(`(?:` + regexp.QuoteMeta(v.name) + `(?:=` + nonEmpty + `)?)`)
		return
	case op.named:
		b.WriteString(`(?:` + regexp.QuoteMeta(v.name) + `=` + value + `)`)
		return
	default:
		b.WriteString(`(?:` + value + `)`)
		return
	}
	b.WriteString(`(?:` + item + `(?:` + sep + item + `)*)`)
}

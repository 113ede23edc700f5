package main

// transport names the way a conn talks HTTP: T_* in
// web/src/engines/wasm/bridge.js (which resolves auto itself), which
// bridge_test.go holds to these.
type transport int

const (
	transportAuto  transport = iota // fetch with a streaming body where the browser has one, else XHR
	transportFetch                  // fetch, reading response.body
	transportXHR                    // XMLHttpRequest, reading responseText at each progress event
)

// request is what a transport needs to start one connection attempt.
type request struct {
	attempt         int
	url             string
	headers         []header
	withCredentials bool
	transport       transport
}

type header struct{ name, value string }

// setHeader sets name to value in hs, replacing a header of the same name in
// any case, so that the page's headers can override the defaults and the
// engine's Last-Event-ID overrides the page's: XMLHttpRequest would join two
// values of one header with a comma rather than replace one.
func setHeader(hs []header, name, value string) []header {
	for i := range hs {
		if equalFoldASCII(hs[i].name, name) {
			hs[i] = header{name, value}
			return hs
		}
	}
	return append(hs, header{name, value})
}

// isEventStream reports whether a Content-Type value's MIME type essence is
// text/event-stream, whatever its parameters (a charset in particular: the
// stream is UTF-8 whatever it says).
func isEventStream(contentType string) bool {
	s := contentType
	for i := 0; i < len(s); i++ {
		if s[i] == ';' {
			s = s[:i]
			break
		}
	}
	return equalFoldASCII(trimHTTPSpace(s), "text/event-stream")
}

func trimHTTPSpace(s string) string {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// equalFoldASCII compares ASCII case-insensitively, as HTTP names and MIME
// types are, without the Unicode tables that strings.EqualFold links in.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// setQuery returns rawURL with every name=… parameter of its query replaced
// by one name=value at the end, value percent-encoded as UTF-8. The fragment,
// if any, stays last.
func setQuery(rawURL, name, value string) string {
	base, frag := rawURL, ""
	for i := 0; i < len(rawURL); i++ {
		if rawURL[i] == '#' {
			base, frag = rawURL[:i], rawURL[i:]
			break
		}
	}
	path, query := base, ""
	hasQuery := false
	for i := 0; i < len(base); i++ {
		if base[i] == '?' {
			path, query, hasQuery = base[:i], base[i+1:], true
			break
		}
	}
	key := escapeQuery(name)
	out := make([]byte, 0, len(rawURL)+len(key)+len(value)*3+2)
	out = append(out, path...)
	out = append(out, '?')
	if hasQuery {
		for len(query) > 0 {
			param := query
			rest := ""
			for i := 0; i < len(query); i++ {
				if query[i] == '&' {
					param, rest = query[:i], query[i+1:]
					break
				}
			}
			query = rest
			pname := param
			for i := 0; i < len(param); i++ {
				if param[i] == '=' {
					pname = param[:i]
					break
				}
			}
			if param == "" || pname == key || pname == name {
				continue
			}
			out = append(out, param...)
			out = append(out, '&')
		}
	}
	out = append(out, key...)
	out = append(out, '=')
	out = append(out, escapeQuery(value)...)
	out = append(out, frag...)
	return string(out)
}

// escapeQuery percent-encodes s as encodeURIComponent does, which is what
// servers reading the parameter with any URL library undo.
func escapeQuery(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	out := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			out = append(out, c)
		} else {
			out = append(out, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(out)
}

func unreserved(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '_', '.', '!', '~', '*', '\'', '(', ')':
		return true
	}
	return false
}

// byteString returns s with each byte as one character, the form in which a
// header value given to fetch or XMLHttpRequest is sent byte for byte: the
// last event ID is sent as its UTF-8 bytes, as native EventSource sends it,
// instead of being refused for characters above U+00FF.
func byteString(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			n++
		}
	}
	if n == 0 {
		return s
	}
	out := make([]byte, 0, len(s)+n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x80 {
			out = append(out, c)
		} else {
			out = append(out, 0xC0|c>>6, 0x80|c&0x3F)
		}
	}
	return string(out)
}

package sse

import (
	"strings"
	"unicode/utf8"
)

// This file holds a reference decoder written to follow the standards
// step by step, with no regard for speed: the whole stream is decoded by the
// WHATWG Encoding standard's UTF-8 decoder, split into lines, and each line
// interpreted as the HTML standard's event stream interpretation says. The
// real Decoder must agree with it on every input.

// refUTF8 is the Encoding standard's UTF-8 decode: strip one leading byte
// order mark, then run the decoder's state machine byte by byte.
func refUTF8(in []byte) string {
	if len(in) >= 3 && in[0] == 0xEF && in[1] == 0xBB && in[2] == 0xBF {
		in = in[3:]
	}
	var out []rune
	var cp rune
	needed, seen := 0, 0
	lower, upper := byte(0x80), byte(0xBF)
	for i := 0; ; i++ {
		if i == len(in) {
			if needed != 0 {
				out = append(out, utf8.RuneError)
			}
			return string(out)
		}
		b := in[i]
		if needed == 0 {
			switch {
			case b <= 0x7F:
				out = append(out, rune(b))
			case b >= 0xC2 && b <= 0xDF:
				needed, cp = 1, rune(b&0x1F)
			case b >= 0xE0 && b <= 0xEF:
				if b == 0xE0 {
					lower = 0xA0
				}
				if b == 0xED {
					upper = 0x9F
				}
				needed, cp = 2, rune(b&0xF)
			case b >= 0xF0 && b <= 0xF4:
				if b == 0xF0 {
					lower = 0x90
				}
				if b == 0xF4 {
					upper = 0x8F
				}
				needed, cp = 3, rune(b&0x7)
			default:
				out = append(out, utf8.RuneError)
			}
			continue
		}
		if b < lower || b > upper {
			cp, needed, seen = 0, 0, 0
			lower, upper = 0x80, 0xBF
			out = append(out, utf8.RuneError)
			i-- // the byte is processed again, as the start of what follows
			continue
		}
		lower, upper = 0x80, 0xBF
		cp = cp<<6 | rune(b&0x3F)
		if seen++; seen == needed {
			out = append(out, cp)
			cp, needed, seen = 0, 0, 0
		}
	}
}

// refResult is everything a stream tells a client.
type refResult struct {
	events  []Event
	retries []int
	lastID  string
	err     error
}

// refDecode interprets a whole stream.
func refDecode(stream []byte) refResult {
	text := refUTF8(stream)
	var lines []string
	for {
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			break // a line not ended is discarded with the stream's end
		}
		lines = append(lines, text[:i])
		if strings.HasPrefix(text[i:], "\r\n") {
			i++
		}
		text = text[i+1:]
	}
	var r refResult
	var data strings.Builder
	var typ, idBuf string
	for _, line := range lines {
		if line == "" {
			r.lastID = idBuf
			if data.Len() == 0 {
				typ = ""
				continue
			}
			ev := Event{ID: r.lastID, Type: typ, Data: strings.TrimSuffix(data.String(), "\n")}
			if ev.Type == "" {
				ev.Type = "message"
			}
			r.events = append(r.events, ev)
			data.Reset()
			typ = ""
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		name, value, found := strings.Cut(line, ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		switch name {
		case "event":
			typ = value
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
		case "id":
			if !strings.Contains(value, "\x00") {
				idBuf = value
			}
		case "retry":
			if value != "" && strings.Trim(value, "0123456789") == "" {
				ms := maxRetry
				if digits := strings.TrimLeft(value, "0"); len(digits) < 12 {
					var n int64
					for _, c := range digits {
						n = n*10 + int64(c-'0')
					}
					ms = int(min(n, maxRetry))
				}
				r.retries = append(r.retries, ms)
			}
		}
	}
	return r
}

// refNormalize is what a data value looks like after an encode-decode round
// trip: line breaks become LF and ill-formed UTF-8 becomes U+FFFD.
func refNormalize(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return refUTF8NoBOM([]byte(s))
}

// refUTF8NoBOM decodes a value, in which a byte order mark is content.
func refUTF8NoBOM(b []byte) string {
	return strings.TrimPrefix(refUTF8(append([]byte("x"), b...)), "x")
}

package sse

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"unsafe"
)

func msg(data string) Event { return Event{Type: "message", Data: data} }

// decodeTest is one rule of the event stream interpretation, named after it.
type decodeTest struct {
	name    string
	in      string
	lim     Limits
	events  []Event
	retries []int
	lastID  string
	err     *LimitError
}

var decodeTests = []decodeTest{
	// Byte order mark.
	{name: "leading BOM is stripped", in: "\xEF\xBB\xBFdata: a\n\n", events: []Event{msg("a")}},
	{name: "only one BOM is stripped", in: "\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n", events: []Event{msg("b")}},
	{name: "BOM not at the start is content", in: "data: \xEF\xBB\xBFa\n\n", events: []Event{msg("\uFEFFa")}},
	{name: "partial BOM is not stripped", in: "\xEF\xBBdata: a\n\ndata: b\n\n", events: []Event{msg("b")}},
	{name: "partial BOM then line end", in: "\xEF\n\ndata: b\n\n", events: []Event{msg("b")}},
	{name: "partial BOM alone", in: "\xEF\xBB"},
	{name: "BOM alone", in: "\xEF\xBB\xBF"},
	{name: "BOM then blank line", in: "\xEF\xBB\xBF\ndata: a\n\n", events: []Event{msg("a")}},

	// Line ends.
	{name: "LF ends lines", in: "data: a\ndata: b\n\n", events: []Event{msg("a\nb")}},
	{name: "CR ends lines", in: "data: a\rdata: b\r\r", events: []Event{msg("a\nb")}},
	{name: "CRLF ends lines", in: "data: a\r\ndata: b\r\n\r\n", events: []Event{msg("a\nb")}},
	{name: "CRLF is one line end", in: "data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n", events: []Event{msg("a\nb"), msg("c")}},
	{name: "LF CR is two line ends", in: "data: a\n\rdata: b\n\n", events: []Event{msg("a"), msg("b")}},
	{name: "CR CR LF is two line ends", in: "data: a\r\r\ndata: b\n\n", events: []Event{msg("a"), msg("b")}},
	{name: "mixed line ends", in: "data: a\rdata: b\ndata: c\r\n\ndata: d\r\r", events: []Event{msg("a\nb\nc"), msg("d")}},
	{name: "CR at end of stream ends a line", in: "data: a\n\r", events: []Event{msg("a")}},
	{name: "blank lines alone dispatch nothing", in: "\n\r\n\r\n\n"},

	// Fields.
	{name: "one leading space is removed", in: "data: a\n\n", events: []Event{msg("a")}},
	{name: "only one leading space is removed", in: "data:  a\n\n", events: []Event{msg(" a")}},
	{name: "value without leading space", in: "data:a\n\n", events: []Event{msg("a")}},
	{name: "tab is not removed", in: "data:\ta\n\n", events: []Event{msg("\ta")}},
	{name: "trailing space is kept", in: "data: a \n\n", events: []Event{msg("a ")}},
	{name: "first colon splits name and value", in: "data: a:b: c\n\n", events: []Event{msg("a:b: c")}},
	{name: "line starting with colon is a comment", in: ": data: x\ndata: a\n:\n\n", events: []Event{msg("a")}},
	{name: "comments alone dispatch nothing", in: ": hello\n\n: world\n\n"},
	{name: "line without colon is a field with empty value", in: "data\n\n", events: []Event{msg("")}},
	{name: "two empty data fields give one LF", in: "data\ndata\n\n", events: []Event{msg("\n")}},
	{name: "empty data field dispatches an empty event", in: "data:\n\n", events: []Event{msg("")}},
	{name: "unknown fields are ignored", in: "foo: bar\ndat: a\ndata2: b\ndata: c\n\n", events: []Event{msg("c")}},
	{name: "field names are case sensitive", in: "Data: a\nEVENT: x\nID: 1\nRetry: 5\n\n"},
	{name: "space before colon is part of the name", in: "data : a\n data: b\n\n"},
	{name: "NUL in data is kept", in: "data: a\x00b\n\n", events: []Event{msg("a\x00b")}},
	{name: "U+2028 and U+0085 are not line ends", in: "data: a\u2028b\u0085c\n\n", events: []Event{msg("a\u2028b\u0085c")}},
	{name: "form feed and vertical tab are not line ends", in: "data: a\fb\vc\n\n", events: []Event{msg("a\fb\vc")}},

	// Data.
	{name: "data lines are joined with LF", in: "data: a\ndata: b\ndata: c\n\n", events: []Event{msg("a\nb\nc")}},
	{name: "one trailing LF is removed", in: "data: a\ndata\n\n", events: []Event{msg("a\n")}},
	{name: "blank line without data dispatches nothing", in: "event: x\nid: 1\n\n", lastID: "1"},

	// Event type.
	{name: "event field sets the type", in: "event: add\ndata: 1\n\n", events: []Event{{Type: "add", Data: "1"}}},
	{name: "type is message when none is given", in: "data: 1\n\n", events: []Event{msg("1")}},
	{name: "empty event field means message", in: "event: x\nevent:\ndata: 1\n\n", events: []Event{msg("1")}},
	{name: "last event field wins", in: "event: a\nevent: b\ndata: 1\n\n", events: []Event{{Type: "b", Data: "1"}}},
	{name: "event field after data counts", in: "data: 1\nevent: b\n\n", events: []Event{{Type: "b", Data: "1"}}},
	{name: "type is reset after dispatch", in: "event: add\ndata: 1\n\ndata: 2\n\n", events: []Event{{Type: "add", Data: "1"}, msg("2")}},
	{name: "type is reset by a blank line without data", in: "event: add\n\ndata: 2\n\n", events: []Event{msg("2")}},
	{name: "type is kept exactly", in: "event:  Add \ndata: 1\n\n", events: []Event{{Type: " Add ", Data: "1"}}},
	{name: "repeated type", in: "event: t\ndata: 1\n\nevent: t\ndata: 2\n\n", events: []Event{{Type: "t", Data: "1"}, {Type: "t", Data: "2"}}},

	// Last event id.
	{name: "id field sets the event id", in: "id: 1\ndata: a\n\n", events: []Event{{ID: "1", Type: "message", Data: "a"}}, lastID: "1"},
	{name: "id is kept across events", in: "id: 1\ndata: a\n\ndata: b\n\n", events: []Event{{ID: "1", Type: "message", Data: "a"}, {ID: "1", Type: "message", Data: "b"}}, lastID: "1"},
	{name: "id field after data counts", in: "data: a\nid: 2\n\n", events: []Event{{ID: "2", Type: "message", Data: "a"}}, lastID: "2"},
	{name: "last id field wins", in: "id: 1\nid: 2\ndata: a\n\n", events: []Event{{ID: "2", Type: "message", Data: "a"}}, lastID: "2"},
	{name: "id with NUL is ignored", in: "id: 1\ndata: a\n\nid: 2\x00\ndata: b\n\nid: \x00\n\n", events: []Event{{ID: "1", Type: "message", Data: "a"}, {ID: "1", Type: "message", Data: "b"}}, lastID: "1"},
	{name: "empty id clears the last event id", in: "id: 1\ndata: a\n\nid\ndata: b\n\n", events: []Event{{ID: "1", Type: "message", Data: "a"}, msg("b")}},
	{name: "id without data sets the last event id", in: "id: 7\n\n", lastID: "7"},
	{name: "id of an event not ended is not the last event id", in: "id: 1\ndata: a\n\nid: 2\ndata: b\n", events: []Event{{ID: "1", Type: "message", Data: "a"}}, lastID: "1"},
	{name: "id keeps spaces but one", in: "id:  1 \ndata: a\n\n", events: []Event{{ID: " 1 ", Type: "message", Data: "a"}}, lastID: " 1 "},

	// Retry.
	{name: "retry with digits is reported", in: "retry: 1500\nretry:0\n", retries: []int{1500, 0}},
	{name: "retry with leading zeros", in: "retry: 0042\n", retries: []int{42}},
	{name: "retry with a non-digit is ignored", in: "retry: 15x\nretry: -1\nretry: +1\nretry: 1.5\nretry:  10\nretry: 10 \nretry: \u0661\n"},
	{name: "empty retry is ignored", in: "retry:\nretry\nretry: \n"},
	{name: "retry too large is clamped", in: "retry: 2147483647\nretry: 2147483648\nretry: 99999999999999999999999\n", retries: []int{maxRetry, maxRetry, maxRetry}},
	{name: "retry is reported before its event ends", in: "data: a\nretry: 5\n", retries: []int{5}},
	{name: "retry does not make an event", in: "retry: 5\n\n", retries: []int{5}},

	// End of stream.
	{name: "event not ended is discarded", in: "data: a\n\ndata: b\n", events: []Event{msg("a")}},
	{name: "line not ended is discarded", in: "data: a\n\ndata: b", events: []Event{msg("a")}},
	{name: "retry line not ended is discarded", in: "retry: 5"},
	{name: "empty stream", in: ""},

	// UTF-8.
	{name: "stream is decoded as UTF-8", in: "event: é\ndata: 日本\U0001F600\n\n", events: []Event{{Type: "é", Data: "日本\U0001F600"}}},
	{name: "invalid byte becomes U+FFFD", in: "data: a\xFFb\n\n", events: []Event{msg("a\uFFFDb")}},
	{name: "each invalid byte becomes U+FFFD", in: "data: \xFF\xFE\x80\n\n", events: []Event{msg("\uFFFD\uFFFD\uFFFD")}},
	{name: "truncated sequence is one U+FFFD", in: "data: \xE2\x82\n\ndata: \xF0\x9F\x98x\n\n", events: []Event{msg("\uFFFD"), msg("\uFFFDx")}},
	{name: "maximal subparts are replaced", in: "data: a\xF1\x80\x80\xE1\x80\xC2b\x80c\x80\xBFd\n\n", events: []Event{msg("a\uFFFD\uFFFD\uFFFDb\uFFFDc\uFFFD\uFFFDd")}},
	{name: "overlong forms are replaced byte by byte", in: "data: \xC0\xAF\xE0\x80\xAF\xF0\x8F\xBF\xBF\n\n", events: []Event{msg(strings.Repeat("\uFFFD", 9))}},
	{name: "surrogates are replaced byte by byte", in: "data: \xED\xA0\x80\n\n", events: []Event{msg("\uFFFD\uFFFD\uFFFD")}},
	{name: "above U+10FFFF is replaced", in: "data: \xF4\x90\x80\x80\xF5\x80\n\n", events: []Event{msg(strings.Repeat("\uFFFD", 6))}},
	{name: "U+FFFD itself is kept", in: "data: \uFFFD\n\n", events: []Event{msg("\uFFFD")}},
	{name: "invalid UTF-8 in type and id", in: "event: \xFFt\nid: \xC3\ndata: a\n\n", events: []Event{{ID: "\uFFFD", Type: "\uFFFDt", Data: "a"}}, lastID: "\uFFFD"},
	{name: "invalid UTF-8 in field name", in: "\xFFdata: a\ndata\xFF: b\n\n"},
	{name: "sequence cut by a line end", in: "data: \xE2\x82\ndata: \xAC\n\n", events: []Event{msg("\uFFFD\n\uFFFD")}},

	// Limits.
	{name: "line at the limit is accepted", lim: Limits{MaxLine: 8}, in: "data: ab\n\n", events: []Event{msg("ab")}},
	{name: "line over the limit fails", lim: Limits{MaxLine: 8}, in: "data: a\n\ndata: abc\n\n", events: []Event{msg("a")}, err: &LimitError{"line", 8}},
	{name: "line over the limit fails before its end", lim: Limits{MaxLine: 8}, in: "data: a\n\n: 0123456789", events: []Event{msg("a")}, err: &LimitError{"line", 8}},
	{name: "comment over the line limit fails", lim: Limits{MaxLine: 4}, in: ":12345\n", err: &LimitError{"line", 4}},
	{name: "partial BOM counts in the line limit", lim: Limits{MaxLine: 2}, in: "\xEF\xBBx\n", err: &LimitError{"line", 2}},
	{name: "line end does not count in the limit", lim: Limits{MaxLine: 4}, in: "data\r\n\r\n", events: []Event{msg("")}},
	{name: "event at the limit is accepted", lim: Limits{MaxEvent: 6}, in: "data: ab\ndata: cd\n\n", events: []Event{msg("ab\ncd")}},
	{name: "event over the limit fails", lim: Limits{MaxEvent: 6}, in: "data: a\n\ndata: ab\ndata: cde\n\n", events: []Event{msg("a")}, err: &LimitError{"event", 6}},
	{name: "event limit counts type and id", lim: Limits{MaxEvent: 6}, in: "id: 12\nevent: 34\ndata: 56\n\n", err: &LimitError{"event", 6}},
	{name: "event limit counts decoded bytes", lim: Limits{MaxEvent: 6}, in: "data: \xFF\xFF\n\n", err: &LimitError{"event", 6}},
	{name: "event limit resets after dispatch", lim: Limits{MaxEvent: 4}, in: "data: abc\n\ndata: def\n\n", events: []Event{msg("abc"), msg("def")}},
	{name: "id over the event limit fails", lim: Limits{MaxEvent: 4}, in: "id: 12345\n", err: &LimitError{"event", 4}},
	{name: "type over the event limit fails", lim: Limits{MaxEvent: 4}, in: "event: 12345\n", err: &LimitError{"event", 4}},
}

// run decodes in, split into chunks at the given offsets, and checks on the
// way that the decoder never holds more than its limits allow.
func run(t *testing.T, lim Limits, in []byte, cuts ...int) refResult {
	t.Helper()
	return runWith(t, lim, false, in, cuts...)
}

// runRaw is run with SetRawData(true), each event's data then decoded as
// the WHATWG UTF-8 decoder does, as the WebAssembly engine's caller does
// with TextDecoder.
func runRaw(t *testing.T, lim Limits, in []byte, cuts ...int) refResult {
	t.Helper()
	r := runWith(t, lim, true, in, cuts...)
	for i := range r.events {
		r.events[i].Data = refUTF8NoBOM([]byte(r.events[i].Data))
	}
	return r
}

func runWith(t *testing.T, lim Limits, raw bool, in []byte, cuts ...int) refResult {
	t.Helper()
	var r refResult
	d := NewDecoder(lim,
		func(ev Event) { r.events = append(r.events, ev) },
		func(ms int) { r.retries = append(r.retries, ms) })
	d.SetRawData(raw)
	prev := 0
	for _, cut := range append(cuts, len(in)) {
		_, err := d.Write(in[prev:cut])
		prev = cut
		checkBounds(t, d)
		if err != nil {
			r.err = err
			if _, again := d.Write([]byte("data: x\n\n")); again != err {
				t.Fatalf("Write after %v returned %v", err, again)
			}
			break
		}
	}
	r.lastID = d.LastEventID()
	return r
}

// checkBounds checks what d holds against its limits. A data line split
// between chunks is appended to the data buffer as it arrives, and counts
// in MaxLine until it ends (as a line held in the line buffer did).
func checkBounds(t *testing.T, d *Decoder) {
	t.Helper()
	partial := 0
	if d.part == partData {
		partial = len(d.data) - d.dataAt
	}
	if cap(d.line) > d.maxLine || partial > d.maxLine {
		t.Fatalf("line buffer has capacity %d, data line in progress %d bytes, over limit %d", cap(d.line), partial, d.maxLine)
	}
	if cap(d.data) > d.maxEvent+d.maxLine || cap(d.typ) > d.maxEvent {
		t.Fatalf("event buffers have capacity %d and %d over limits %d and %d", cap(d.data), cap(d.typ), d.maxEvent, d.maxLine)
	}
	if n := len(d.data) - partial + len(d.typ) + len(d.id); n > d.maxEvent {
		t.Fatalf("event holds %d bytes over limit %d", n, d.maxEvent)
	}
}

// readAll decodes with a Reader over r.
func readAll(t *testing.T, lim Limits, r io.Reader) refResult {
	t.Helper()
	var res refResult
	rd := NewReader(r, lim)
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			res.err = err
			break
		}
		res.events = append(res.events, ev)
	}
	if ms, ok := rd.Retry(); ok {
		res.retries = []int{ms}
	}
	res.lastID = rd.LastEventID()
	return res
}

func diffResult(got, want refResult) string {
	var b strings.Builder
	if len(got.events) != len(want.events) || (len(got.events) > 0 && !slices.Equal(got.events, want.events)) {
		b.WriteString("events: got " + strconv.Quote(eventsString(got.events)) + ", want " + strconv.Quote(eventsString(want.events)) + "\n")
	}
	if !slices.Equal(got.retries, want.retries) {
		b.WriteString("retries: got " + intsString(got.retries) + ", want " + intsString(want.retries) + "\n")
	}
	if got.lastID != want.lastID {
		b.WriteString("last event id: got " + strconv.Quote(got.lastID) + ", want " + strconv.Quote(want.lastID) + "\n")
	}
	if errString(got.err) != errString(want.err) {
		b.WriteString("error: got " + errString(got.err) + ", want " + errString(want.err) + "\n")
	}
	return b.String()
}

func eventsString(evs []Event) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString("{id=" + strconv.Quote(ev.ID) + " type=" + strconv.Quote(ev.Type) + " data=" + strconv.Quote(ev.Data) + "}")
	}
	return b.String()
}

func intsString(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return "[" + strings.Join(s, " ") + "]"
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func (tt decodeTest) want() refResult {
	r := refResult{events: tt.events, retries: tt.retries, lastID: tt.lastID}
	if tt.err != nil {
		r.err = tt.err
	}
	return r
}

func TestDecoder(t *testing.T) {
	for _, tt := range decodeTests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			want := tt.want()
			if d := diffResult(run(t, tt.lim, in), want); d != "" {
				t.Fatalf("whole input %q:\n%s", tt.in, d)
			}
			if tt.err == nil {
				if d := diffResult(refDecode(in), want); d != "" {
					t.Fatalf("reference decoder disagrees with the test on %q:\n%s", tt.in, d)
				}
			}
		})
	}
}

func TestDecoderSplit(t *testing.T) {
	for _, tt := range decodeTests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			want := tt.want()
			for i := 0; i <= len(in); i++ {
				if d := diffResult(run(t, tt.lim, in, i), want); d != "" {
					t.Fatalf("split at %d %q|%q:\n%s", i, in[:i], in[i:], d)
				}
				if len(in) > 64 {
					continue
				}
				for j := i; j <= len(in); j++ {
					if d := diffResult(run(t, tt.lim, in, i, j), want); d != "" {
						t.Fatalf("split at %d and %d %q|%q|%q:\n%s", i, j, in[:i], in[i:j], in[j:], d)
					}
				}
			}
			cuts := make([]int, len(in))
			for i := range cuts {
				cuts[i] = i
			}
			if d := diffResult(run(t, tt.lim, in, cuts...), want); d != "" {
				t.Fatalf("one byte at a time:\n%s", d)
			}
		})
	}
}

// TestRawData checks that with SetRawData the data is what the stream
// sent, and that decoding it afterwards gives every rule's result, however
// the stream is cut.
func TestRawData(t *testing.T) {
	for _, tt := range decodeTests {
		if tt.err != nil {
			continue // MaxEvent counts bytes as received: see rawDataTests
		}
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			want := tt.want()
			for i := 0; i <= len(in); i++ {
				if d := diffResult(runRaw(t, tt.lim, in, i), want); d != "" {
					t.Fatalf("split at %d %q|%q:\n%s", i, in[:i], in[i:], d)
				}
			}
			if d := diffResult(runRaw(t, tt.lim, in, everyByte(len(in))...), want); d != "" {
				t.Fatalf("one byte at a time:\n%s", d)
			}
		})
	}
	for _, tt := range rawDataTests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			want := tt.want()
			for i := 0; i <= len(in); i++ {
				if d := diffResult(runWith(t, tt.lim, true, in, i), want); d != "" {
					t.Fatalf("split at %d %q|%q:\n%s", i, in[:i], in[i:], d)
				}
			}
		})
	}
}

// rawDataTests are the events as SetRawData(true) hands them over, data
// not decoded.
var rawDataTests = []decodeTest{
	{name: "invalid bytes in data are kept", in: "data: a\xFFb\xE2\x82\n\n", events: []Event{msg("a\xFFb\xE2\x82")}},
	{name: "a sequence cut by a line end stays cut", in: "data: \xE2\x82\ndata: \xAC\n\n", events: []Event{msg("\xE2\x82\n\xAC")}},
	{name: "valid UTF-8 is kept", in: "data: é中😀\n\n", events: []Event{msg("é中😀")}},
	{name: "type and id are decoded still", in: "event: \xFFt\nid: \xC3\ndata: \xFF\n\n", events: []Event{{ID: "\uFFFD", Type: "\uFFFDt", Data: "\xFF"}}, lastID: "\uFFFD"},
	{name: "event limit counts data bytes as received", lim: Limits{MaxEvent: 6}, in: "data: \xFF\xFF\n\n", events: []Event{msg("\xFF\xFF")}},
	{name: "event over the limit fails", lim: Limits{MaxEvent: 6}, in: "data: \xFF\xFF\ndata: \xFF\xFF\xFF\n\n", err: &LimitError{"event", 6}},
}

// TestEventFunc checks SetEventFunc against every rule, however the stream
// is cut: with data copied before the function returns, and with every data
// kept, which the Decoder must then never write again.
func TestEventFunc(t *testing.T) {
	for _, keep := range []bool{false, true} {
		for _, tt := range decodeTests {
			t.Run(tt.name+"/keep="+strconv.FormatBool(keep), func(t *testing.T) {
				in := []byte(tt.in)
				want := tt.want()
				for i := 0; i <= len(in); i++ {
					if d := diffResult(runFunc(tt.lim, in, keep, i), want); d != "" {
						t.Fatalf("split at %d %q|%q:\n%s", i, in[:i], in[i:], d)
					}
				}
				if d := diffResult(runFunc(tt.lim, in, keep, everyByte(len(in))...), want); d != "" {
					t.Fatalf("one byte at a time:\n%s", d)
				}
			})
		}
	}
}

// runFunc decodes in with an event function that copies the data, or keeps
// it, read only once the stream is decoded.
func runFunc(lim Limits, in []byte, keep bool, cuts ...int) refResult {
	var r refResult
	var kept [][]byte
	d := NewDecoder(lim, nil, func(ms int) { r.retries = append(r.retries, ms) })
	d.SetEventFunc(func(typ, id string, data []byte) bool {
		if !keep {
			data = bytes.Clone(data)
		}
		kept = append(kept, data)
		r.events = append(r.events, Event{ID: id, Type: typ})
		return keep
	})
	prev := 0
	for _, cut := range append(cuts, len(in)) {
		_, err := d.Write(in[prev:cut])
		prev = cut
		if err != nil {
			r.err = err
			break
		}
	}
	for i := range r.events {
		r.events[i].Data = string(kept[i])
	}
	r.lastID = d.LastEventID()
	return r
}

// TestReuse checks that buffers given back with Reuse take the data of
// later events, written one event at a time as the WebAssembly engine
// does, that nothing writes to a kept buffer before it is given back, and
// that a small event ends the reuse.
func TestReuse(t *testing.T) {
	for _, tt := range []struct {
		name   string
		sizes  []int
		reused int // at least so many events' data went into a buffer given back
	}{
		{"same size", []int{5000, 5000, 5000, 5000}, 3},
		{"smaller after bigger", []int{9000, 5000, 5000}, 2},
		{"bigger after smaller", []int{5000, 9000, 9000}, 1},
		{"a small event between", []int{5000, 5000, 10, 5000, 5000}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			var kept [][]byte
			given := map[*byte]bool{}
			reused := 0
			d := NewDecoder(Limits{}, nil, nil)
			d.SetEventFunc(func(typ, id string, data []byte) bool {
				got = append(got, string(data))
				if given[unsafe.SliceData(data)] {
					reused++
				}
				if len(data) < 1000 {
					return false
				}
				kept = append(kept, data)
				return true
			})
			for i, n := range tt.sizes {
				data := strings.Repeat(string(rune('a'+i)), n)
				// Split, so that the value goes into the buffer in pieces.
				ev := "data: " + data + "\n\n"
				for _, p := range []string{ev[:n/2], ev[n/2:]} {
					if _, err := d.Write([]byte(p)); err != nil {
						t.Fatal(err)
					}
				}
				for k, b := range kept {
					if string(b) != got[len(got)-len(kept)+k] {
						t.Fatalf("event %d: kept data changed before it was given back", i)
					}
					given[unsafe.SliceData(b)] = true
					d.Reuse(b)
				}
				kept = kept[:0]
				if got[i] != data {
					t.Fatalf("event %d: data %.20q…, want %.20q…", i, got[i], data)
				}
			}
			if reused < tt.reused {
				t.Errorf("%d events had a buffer given back, want at least %d", reused, tt.reused)
			}
		})
	}
}

// TestHandOff checks that data handed off to an event (see dispatch) is
// never written again, whatever the sizes of the events that follow, and
// each size of split.
func TestHandOff(t *testing.T) {
	for _, tt := range []struct {
		name  string
		sizes []int
	}{
		{"same size", []int{handOff, handOff, handOff}},
		{"growing", []int{handOff, 2 * handOff, 5 * handOff, 40 * handOff}},
		{"shrinking", []int{40 * handOff, 5 * handOff, handOff, handOff - 1, 1}},
		{"big then small", []int{3 * handOff, 1, 2, 3 * handOff, 5}},
		{"beyond keepCap", []int{keepCap + 1, keepCap + 1, 10, keepCap * 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var in []byte
			var want []Event
			for i, n := range tt.sizes {
				data := strings.Repeat(string(rune('a'+i)), n)
				// Lines of two sizes, so that some fit in a chunk and some
				// are split.
				for len(data) > 0 {
					k := min(len(data), 100+5000*(i%2))
					in = append(in, "data: "+data[:k]+"\n"...)
					data = data[k:]
				}
				in = append(in, '\n')
				want = append(want, msg(strings.Repeat(string(rune('a'+i)), n)))
			}
			// Lines of one size join with LF.
			for i := range want {
				n, k := len(want[i].Data), 100+5000*(i%2)
				var b strings.Builder
				for j := 0; j < n; j += k {
					if j > 0 {
						b.WriteByte('\n')
					}
					b.WriteString(want[i].Data[j:min(n, j+k)])
				}
				want[i].Data = b.String()
			}
			for _, size := range []int{7, 4096, 32 << 10, len(in)} {
				var cuts []int
				for c := size; c < len(in); c += size {
					cuts = append(cuts, c)
				}
				for _, raw := range []bool{false, true} {
					if d := diffResult(runWith(t, Limits{}, raw, in, cuts...), refResult{events: want}); d != "" {
						t.Fatalf("chunks of %d, raw %v:\n%.300s", size, raw, d)
					}
				}
				if d := diffResult(runFunc(Limits{}, in, true, cuts...), refResult{events: want}); d != "" {
					t.Fatalf("chunks of %d, every event's data kept:\n%.300s", size, d)
				}
			}
		})
	}
}

func TestReader(t *testing.T) {
	for _, tt := range decodeTests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want()
			if n := len(want.retries); n > 1 {
				want.retries = want.retries[n-1:]
			}
			readers := map[string]func() io.Reader{
				"whole":       func() io.Reader { return strings.NewReader(tt.in) },
				"one byte":    func() io.Reader { return iotest.OneByteReader(strings.NewReader(tt.in)) },
				"half":        func() io.Reader { return iotest.HalfReader(strings.NewReader(tt.in)) },
				"data at EOF": func() io.Reader { return iotest.DataErrReader(strings.NewReader(tt.in)) },
			}
			for name, r := range readers {
				if d := diffResult(readAll(t, tt.lim, r()), want); d != "" {
					t.Fatalf("%s:\n%s", name, d)
				}
			}
		})
	}
}

func TestReaderStopsAtEachEvent(t *testing.T) {
	in := "retry: 1\nid: a\ndata: 1\n\nretry: 2\nid: b\ndata: 2\n\nretry: 3\nid: c\n"
	r := NewReader(strings.NewReader(in), Limits{})
	for i, want := range []struct {
		id    string
		retry int
	}{{"a", 1}, {"b", 2}} {
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		ms, ok := r.Retry()
		if ev.ID != want.id || r.LastEventID() != want.id || !ok || ms != want.retry {
			t.Fatalf("event %d: id %q, last id %q, retry %d %v; want id %q and retry %d",
				i, ev.ID, r.LastEventID(), ms, ok, want.id, want.retry)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
	if ms, _ := r.Retry(); ms != 3 || r.LastEventID() != "b" {
		t.Fatalf("at the end: retry %d, last id %q; want 3 and b", ms, r.LastEventID())
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the end: %v, want io.EOF again", err)
	}
}

func TestReaderError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(boom)), Limits{})
	if ev, err := r.Next(); err != nil || ev.Data != "a" {
		t.Fatalf("first event: %+v, %v", ev, err)
	}
	if _, err := r.Next(); err != boom {
		t.Fatalf("got %v, want the reader's error", err)
	}
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderNoProgress(t *testing.T) {
	if _, err := NewReader(emptyReader{}, Limits{}).Next(); err != io.ErrNoProgress {
		t.Fatalf("got %v, want io.ErrNoProgress", err)
	}
}

func TestDecoderReset(t *testing.T) {
	var got []Event
	d := NewDecoder(Limits{MaxLine: 16}, func(ev Event) { got = append(got, ev) }, nil)
	steps := []string{
		"\xEF\xBB\xBFid: 1\ndata: a\n\n",      // dispatched
		"id: 2\nevent: t\ndata: b\ndata: par", // cut by the connection's end
	}
	for _, s := range steps {
		if _, err := d.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	d.Reset()
	if d.LastEventID() != "1" {
		t.Fatalf("last event id after Reset is %q, want 1", d.LastEventID())
	}
	// The new stream starts with its own byte order mark, and its first event
	// has no id field: it carries the id the stream resumed from.
	if _, err := d.Write([]byte("\xEF\xBB\xBF\r")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write([]byte("\ndata: c\n\n")); err != nil {
		t.Fatal(err)
	}
	want := []Event{{ID: "1", Type: "message", Data: "a"}, {ID: "1", Type: "message", Data: "c"}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %s, want %s", eventsString(got), eventsString(want))
	}

	// Reset clears a limit error too.
	if _, err := d.Write([]byte("data: 0123456789abcdef\n")); err == nil {
		t.Fatal("no error for a line over the limit")
	}
	d.Reset()
	if _, err := d.Write([]byte("data: d\n\n")); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
	if len(got) != 3 || got[2].Data != "d" {
		t.Fatalf("after Reset got %s", eventsString(got))
	}
}

func TestDecoderResetAfterCR(t *testing.T) {
	// A CR ending one connection must not swallow the LF that happens to
	// start the next one.
	var got []Event
	d := NewDecoder(Limits{}, func(ev Event) { got = append(got, ev) }, nil)
	d.Write([]byte("data: a\r"))
	d.Reset()
	d.Write([]byte("\ndata: b\n\n"))
	if want := []Event{msg("b")}; !slices.Equal(got, want) {
		t.Fatalf("got %s, want %s", eventsString(got), eventsString(want))
	}
}

func TestSetLastEventID(t *testing.T) {
	var got []Event
	d := NewDecoder(Limits{}, func(ev Event) { got = append(got, ev) }, nil)
	d.SetLastEventID("41")
	if d.LastEventID() != "41" {
		t.Fatalf("LastEventID() = %q", d.LastEventID())
	}
	d.Write([]byte("data: a\n\nid: 42\ndata: b\n\n"))
	want := []Event{{ID: "41", Type: "message", Data: "a"}, {ID: "42", Type: "message", Data: "b"}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %s, want %s", eventsString(got), eventsString(want))
	}
}

func TestDecoderNilCallbacks(t *testing.T) {
	d := NewDecoder(Limits{}, nil, nil)
	if n, err := d.Write([]byte("retry: 1\nid: 3\ndata: a\n\n")); n != 24 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if d.LastEventID() != "3" {
		t.Fatalf("LastEventID() = %q", d.LastEventID())
	}
}

func TestDecoderWriteCount(t *testing.T) {
	d := NewDecoder(Limits{MaxLine: 4}, nil, nil)
	in := []byte("data\n\n:123456\n")
	n, err := d.Write(in)
	var le *LimitError
	if !errors.As(err, &le) || le.What != "line" || le.Limit != 4 {
		t.Fatalf("error %v, want a line LimitError", err)
	}
	if n != 6 {
		t.Fatalf("Write consumed %d bytes, want 6, the start of the long line", n)
	}
	if n, err2 := d.Write([]byte("\n")); n != 0 || err2 != err {
		t.Fatalf("second Write = %d, %v; want 0 and the same error", n, err2)
	}
}

func TestLimitErrorMessage(t *testing.T) {
	for _, tt := range []struct {
		err  *LimitError
		want string
	}{
		{&LimitError{"line", DefaultMaxLine}, "sse: line longer than 8388608 bytes"},
		{&LimitError{"event", DefaultMaxEvent}, "sse: event longer than 8388608 bytes"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestDefaultLimits(t *testing.T) {
	// A line of exactly the default limit passes, one byte more fails.
	line := append([]byte("data:"), bytes.Repeat([]byte("x"), DefaultMaxLine-5)...)
	if r := run(t, Limits{}, append(line, "\n\n"...)); r.err != nil || len(r.events) != 1 {
		t.Fatalf("line at the default limit: %v", r.err)
	}
	line = append(line, 'x')
	if r := run(t, Limits{}, append(line, "\n\n"...)); r.err == nil {
		t.Fatal("no error for a line over the default limit")
	}
	if r := run(t, Limits{MaxLine: -1}, append(line, "\n\n"...)); r.err == nil {
		t.Fatal("a negative limit does not mean the default")
	}
}

func TestLongLinesAcrossChunks(t *testing.T) {
	// Long lines cut at many places, with each kind of line end.
	for _, eol := range []string{"\n", "\r", "\r\n"} {
		var in []byte
		var want []Event
		for i := range 20 {
			data := strings.Repeat(string(rune('a'+i)), 1000*i+7)
			in = append(in, "data: "+data+eol+"data"+eol+eol...)
			want = append(want, msg(data+"\n"))
		}
		for _, size := range []int{1, 2, 3, 7, 100, 999, 4096, len(in)} {
			var cuts []int
			for c := size; c < len(in); c += size {
				cuts = append(cuts, c)
			}
			got := run(t, Limits{}, in, cuts...)
			if d := diffResult(got, refResult{events: want}); d != "" {
				t.Fatalf("line end %q, chunks of %d:\n%.500s", eol, size, d)
			}
		}
	}
}

func TestDecodeAllocs(t *testing.T) {
	// Steady state: one allocation per event, for its data; lines, field
	// names, repeated types and repeated ids cost nothing.
	in := []byte("event: tick\nid: 7\ndata: 0123456789\n: comment\nretry: 10\n\n")
	d := NewDecoder(Limits{}, func(Event) {}, func(int) {})
	d.Write(in)
	if n := testing.AllocsPerRun(100, func() { d.Write(in) }); n != 1 {
		t.Fatalf("%v allocations per event, want 1", n)
	}
}

func TestUTF8MatchesReference(t *testing.T) {
	// Every sequence of up to three bytes drawn from bytes that matter to
	// the decoder, and then some four-byte ones.
	interesting := []byte{0x00, 'a', 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF}
	var check func(b []byte, depth int)
	check = func(b []byte, depth int) {
		want := refUTF8NoBOM(b)
		if got := string(appendUTF8(nil, b)); got != want {
			t.Fatalf("appendUTF8(%q) = %q, want %q", b, got, want)
		}
		if got := decodedLen(b); got != len(want) {
			t.Fatalf("decodedLen(%q) = %d, want %d", b, got, len(want))
		}
		if got := decodeString(b); got != want {
			t.Fatalf("decodeString(%q) = %q, want %q", b, got, want)
		}
		if depth == 0 {
			return
		}
		for _, c := range interesting {
			check(append(b, c), depth-1)
		}
	}
	check(nil, 4)
}

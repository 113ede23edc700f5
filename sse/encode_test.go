package sse

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestAppendEvent(t *testing.T) {
	for _, tt := range []struct {
		name string
		ev   Event
		want string
	}{
		{"data only", Event{Data: "hello"}, "data: hello\n\n"},
		{"empty data still has a data line", Event{}, "data: \n\n"},
		{"fields in order id event retry data", Event{ID: "7", Type: "add", Data: "x", Retry: 1500}, "id: 7\nevent: add\nretry: 1500\ndata: x\n\n"},
		{"zero retry is not written", Event{Data: "x", Retry: 0}, "data: x\n\n"},
		{"negative retry is not written", Event{Data: "x", Retry: -5}, "data: x\n\n"},
		{"largest retry", Event{Data: "x", Retry: maxRetry}, "retry: 2147483647\ndata: x\n\n"},
		{"LF splits data lines", Event{Data: "a\nb"}, "data: a\ndata: b\n\n"},
		{"CR splits data lines", Event{Data: "a\rb"}, "data: a\ndata: b\n\n"},
		{"CRLF is one break", Event{Data: "a\r\nb"}, "data: a\ndata: b\n\n"},
		{"LF CR is two breaks", Event{Data: "a\n\rb"}, "data: a\ndata: \ndata: b\n\n"},
		{"CR CR LF is two breaks", Event{Data: "a\r\r\nb"}, "data: a\ndata: \ndata: b\n\n"},
		{"trailing line break gives an empty data line", Event{Data: "a\n"}, "data: a\ndata: \n\n"},
		{"leading line break gives an empty data line", Event{Data: "\r\na"}, "data: \ndata: a\n\n"},
		{"only a line break", Event{Data: "\n"}, "data: \ndata: \n\n"},
		{"blank lines in data", Event{Data: "a\n\n\nb"}, "data: a\ndata: \ndata: \ndata: b\n\n"},
		{"leading space kept by the space after the colon", Event{Data: " a", ID: " i", Type: " t"}, "id:  i\nevent:  t\ndata:  a\n\n"},
		{"colons in values", Event{Data: "data: x", ID: "a:b", Type: "c:d"}, "id: a:b\nevent: c:d\ndata: data: x\n\n"},
		{"NUL and U+2028 in data are written as they are", Event{Data: "a\x00b\u2028c"}, "data: a\x00b\u2028c\n\n"},
		{"invalid UTF-8 is written as it is", Event{Data: "\xFF\xC3"}, "data: \xFF\xC3\n\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendEvent([]byte("prefix"), &tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "prefix"+tt.want {
				t.Fatalf("got %q, want %q", got, "prefix"+tt.want)
			}
		})
	}
}

func TestAppendEventErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		ev   Event
		is   error
		msg  string
	}{
		{"LF in id", Event{ID: "1\nevent: x"}, ErrInvalidID, "sse: invalid event id: contains a line feed (LF) at byte 1"},
		{"CR in id", Event{ID: "ab\r"}, ErrInvalidID, "sse: invalid event id: contains a carriage return (CR) at byte 2"},
		{"NUL in id", Event{ID: "\x00"}, ErrInvalidID, "sse: invalid event id: contains a NUL byte at byte 0"},
		{"LF in type", Event{Type: "a\n"}, ErrInvalidType, "sse: invalid event type: contains a line feed (LF) at byte 1"},
		{"CR in type", Event{Type: "\r"}, ErrInvalidType, "sse: invalid event type: contains a carriage return (CR) at byte 0"},
		{"NUL in type", Event{Type: "a\x00"}, ErrInvalidType, "sse: invalid event type: contains a NUL byte at byte 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("prefix")
			got, err := AppendEvent(dst, &tt.ev)
			if !errors.Is(err, tt.is) {
				t.Fatalf("error %v, want one wrapping %v", err, tt.is)
			}
			if err.Error() != tt.msg {
				t.Fatalf("message %q, want %q", err.Error(), tt.msg)
			}
			if string(got) != "prefix" {
				t.Fatalf("dst changed to %q", got)
			}
		})
	}
}

func TestAppendEventRetryTooLarge(t *testing.T) {
	if strconv.IntSize == 32 {
		t.Skip("no int is above the limit")
	}
	one := 1 // not a constant, so that this compiles where int has 32 bits
	_, err := AppendEvent(nil, &Event{Retry: maxRetry + one})
	if !errors.Is(err, ErrInvalidRetry) || err.Error() != "sse: invalid retry: greater than 2147483647 ms" {
		t.Fatalf("error %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		s  string
		ok bool
	}{
		{"", true},
		{"42", true},
		{"urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427", true},
		{" spaced ", true},
		{"\t\v\f", true},
		{"é\u2028", true},
		{"a\nb", false},
		{"a\rb", false},
		{"a\x00b", false},
		{strings.Repeat("x", 100) + "\n", false},
	} {
		if err := ValidateID(tt.s); (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidID)) {
			t.Errorf("ValidateID(%q) = %v", tt.s, err)
		}
		if err := ValidateType(tt.s); (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidType)) {
			t.Errorf("ValidateType(%q) = %v", tt.s, err)
		}
	}
}

func TestParseRetry(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want int
		msg  string
	}{
		{"0", 0, ""},
		{"1500", 1500, ""},
		{"007", 7, ""},
		{"2147483647", maxRetry, ""},
		{"", 0, "sse: invalid retry: empty value"},
		{"2147483648", 0, "sse: invalid retry: greater than 2147483647 ms"},
		{"99999999999999999999999999", 0, "sse: invalid retry: greater than 2147483647 ms"},
		{"-1", 0, "sse: invalid retry: contains a byte that is not an ASCII digit at byte 0"},
		{"+1", 0, "sse: invalid retry: contains a byte that is not an ASCII digit at byte 0"},
		{" 1", 0, "sse: invalid retry: contains a byte that is not an ASCII digit at byte 0"},
		{"1 ", 0, "sse: invalid retry: contains a byte that is not an ASCII digit at byte 1"},
		{"1.5", 0, "sse: invalid retry: contains a byte that is not an ASCII digit at byte 1"},
		{"1e3", 0, "sse: invalid retry: contains a byte that is not an ASCII digit at byte 1"},
		{"0x10", 0, "sse: invalid retry: contains a byte that is not an ASCII digit at byte 1"},
		{"\u0661", 0, "sse: invalid retry: contains a byte that is not an ASCII digit at byte 0"},
	} {
		got, err := ParseRetry(tt.s)
		if tt.msg == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseRetry(%q) = %d, %v; want %d", tt.s, got, err, tt.want)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidRetry) || err.Error() != tt.msg {
			t.Errorf("ParseRetry(%q) error %v, want %q", tt.s, err, tt.msg)
		}
	}
}

func TestAppendComment(t *testing.T) {
	for _, tt := range []struct {
		name, text, want string
	}{
		{"one line", "hello", ": hello\n"},
		{"empty text gives one empty comment", "", ": \n"},
		{"LF splits lines", "a\nb", ": a\n: b\n"},
		{"CR splits lines", "a\rb", ": a\n: b\n"},
		{"CRLF is one break", "a\r\nb", ": a\n: b\n"},
		{"trailing break", "a\n", ": a\n: \n"},
		{"no field can be injected", "x\ndata: evil\n\nid: 1\r\rretry: 1", ": x\n: data: evil\n: \n: id: 1\n: \n: retry: 1\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendComment([]byte("p"), tt.text)); got != "p"+tt.want {
				t.Fatalf("got %q, want %q", got, "p"+tt.want)
			}
		})
	}
}

func TestAppendRetry(t *testing.T) {
	for _, tt := range []struct {
		ms   int
		want string
	}{
		{3000, "retry: 3000\n\n"},
		{0, "retry: 0\n\n"},
		{-1, "retry: 0\n\n"},
		{maxRetry, "retry: 2147483647\n\n"},
		{maxInt, "retry: 2147483647\n\n"},
	} {
		if got := string(AppendRetry(nil, tt.ms)); got != tt.want {
			t.Errorf("AppendRetry(%d) = %q, want %q", tt.ms, got, tt.want)
		}
	}
}

func TestAppendRetryIsHarmless(t *testing.T) {
	// A retry frame between events changes nothing but the retry.
	var in []byte
	in, _ = AppendEvent(in, &Event{ID: "1", Type: "t", Data: "a"})
	in = AppendRetry(in, 500)
	in = AppendComment(in, "heartbeat")
	in, _ = AppendEvent(in, &Event{Data: "b"})
	in = AppendRetry(in, 700)
	want := refResult{
		events:  []Event{{ID: "1", Type: "t", Data: "a"}, {ID: "1", Type: "message", Data: "b"}},
		retries: []int{500, 700},
		lastID:  "1",
	}
	if d := diffResult(run(t, Limits{}, in), want); d != "" {
		t.Fatal(d)
	}
}

func TestAppendEventAllocs(t *testing.T) {
	ev := &Event{ID: "123", Type: "update", Data: strings.Repeat("line\n", 20), Retry: 10}
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { buf, _ = AppendEvent(buf[:0], ev) }); n != 0 {
		t.Fatalf("AppendEvent allocates %v times into a big enough buffer", n)
	}
	if n := testing.AllocsPerRun(100, func() { buf = AppendComment(buf[:0], "a\nb") }); n != 0 {
		t.Fatalf("AppendComment allocates %v times into a big enough buffer", n)
	}
}

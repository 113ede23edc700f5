package redisstore

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/sse"
)

func TestPayloadRoundTrip(t *testing.T) {
	for _, u := range []store.Update{
		{Topics: []string{"t"}},
		{Topics: []string{"https://example.com/books/1", "https://example.com/books/{id}"}, Private: true,
			Event: sse.Event{Type: "update", Data: "line one\nline two\r\n\x00é", Retry: 1500}},
		{Topics: []string{strings.Repeat("x", 1000)}, Event: sse.Event{Data: strings.Repeat("y", 70_000), Retry: 1 << 40}},
	} {
		var got store.Update
		if err := decodePayload(&got, string(encodePayload(&u))); err != nil {
			t.Fatalf("decode(encode(%+v)): %v", u, err)
		}
		if !slices.Equal(got.Topics, u.Topics) || got.Private != u.Private || got.Event != u.Event {
			t.Fatalf("round trip: got %+v, want %+v", got, u)
		}
	}
}

func TestPayloadCorrupt(t *testing.T) {
	good := string(encodePayload(&store.Update{Topics: []string{"a", "b"}, Event: sse.Event{Type: "t", Data: "d", Retry: 5}}))
	bad := []string{
		"",
		"\x01",
		"\x02\x00" + good[2:],              // unknown version
		"\x01\x80" + good[2:],              // unknown flag
		good[:len(good)-1],                 // truncated retry
		good + "x",                         // trailing bytes
		"\x01\x00\xff\xff\xff\xff\xff\x01", // a huge topic count
		"\x01\x00\x01\x10ab",               // a topic longer than what is left
	}
	for i := 1; i < len(good)-1; i++ {
		bad = append(bad, good[:i])
	}
	for _, p := range bad {
		var u store.Update
		if err := decodePayload(&u, p); err == nil {
			t.Errorf("decodePayload(%q) = nil, want an error", p)
		}
	}
}

func FuzzPayload(f *testing.F) {
	f.Add(string(encodePayload(&store.Update{Topics: []string{"a"}, Private: true, Event: sse.Event{Type: "t", Data: "d\ne", Retry: 3}})))
	f.Add("\x01\x00\x00\x00\x00\x00")
	f.Fuzz(func(t *testing.T, p string) {
		var u store.Update
		if err := decodePayload(&u, p); err != nil {
			return
		}
		// What decodes encodes to what decodes the same (not always to
		// the same bytes: varints may be longer than they need be).
		var again store.Update
		if err := decodePayload(&again, string(encodePayload(&u))); err != nil {
			t.Fatalf("%q decodes to %+v, whose encoding does not decode: %v", p, u, err)
		}
		if !slices.Equal(again.Topics, u.Topics) || again.Private != u.Private || again.Event != u.Event {
			t.Fatalf("%q decodes to %+v, re-encoded to %+v", p, u, again)
		}
	})
}

func TestParseEntryID(t *testing.T) {
	for _, tt := range []struct {
		id   string
		want store.Pos
		ok   bool
	}{
		{"1700000000000-0", store.Pos{Hi: 1700000000000}, true},
		{"5-18446744073709551615", store.Pos{Hi: 5, Lo: 1<<64 - 1}, true},
		{"0-0", store.Pos{}, true},
		{"5", store.Pos{}, false},
		{"5-", store.Pos{}, false},
		{"-5", store.Pos{}, false},
		{"18446744073709551616-0", store.Pos{}, false},
		{"a-b", store.Pos{}, false},
		{"+5-1", store.Pos{}, false},
	} {
		got, ok := parseEntryID(tt.id)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseEntryID(%q) = %+v, %v; want %+v, %v", tt.id, got, ok, tt.want, tt.ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	const lo, hi = 100 * time.Millisecond, 5 * time.Second
	for n, want := range map[int]time.Duration{1: lo, 2: 2 * lo, 3: 4 * lo, 6: 3200 * time.Millisecond, 7: hi, 100: hi} {
		for range 50 {
			if d := backoff(lo, hi, n); d < want/2 || d > want {
				t.Fatalf("backoff after %d failures = %v, want within [%v, %v]", n, d, want/2, want)
			}
		}
	}
}

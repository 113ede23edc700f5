package boltstore

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/sse"
)

func TestCodecRoundTrip(t *testing.T) {
	at := time.Unix(1_700_000_000, 123_456_789)
	tests := []struct {
		name string
		u    store.Update
	}{
		{"zero", store.Update{Time: time.Unix(0, 0)}},
		{"typical", store.Update{
			Topics: []string{"https://example.com/books/1", "https://example.com/books/{id}"},
			Event:  sse.Event{ID: "urn:uuid:0190c6e4-0000-7000-8000-000000000000", Type: "update", Data: `{"a":1}`, Retry: 3000},
			Time:   at,
		}},
		{"private, empty strings", store.Update{Topics: []string{"", ""}, Private: true, Time: at}},
		{"unicode and line breaks", store.Update{
			Topics: []string{"тема/ü"},
			Event:  sse.Event{ID: "id\x00with nul", Data: "a\nb\r\nc\rd 😀"},
			Time:   at,
		}},
		{"negative retry", store.Update{Event: sse.Event{Retry: -1}, Time: at}},
		{"large", store.Update{
			Topics: slices.Repeat([]string{"t"}, 300),
			Event:  sse.Event{Data: strings.Repeat("x", 100_000)},
			Time:   at,
		}},
		{"before 1970", store.Update{Time: time.Unix(-1000, 5)}},
	}
	for _, tt := range tests {
		v := encode(&tt.u)
		got, err := decode(v)
		if err != nil {
			t.Fatalf("%s: decode: %v", tt.name, err)
		}
		if !slices.Equal(got.Topics, tt.u.Topics) || got.Private != tt.u.Private ||
			got.Event != tt.u.Event || !got.Time.Equal(tt.u.Time) {
			t.Errorf("%s: round trip = %+v, want %+v", tt.name, got, tt.u)
		}
		if id, err := entryID(v); err != nil || string(id) != tt.u.Event.ID {
			t.Errorf("%s: entryID = %q, %v", tt.name, id, err)
		}
		if ns, err := entryTime(v); err != nil || ns != tt.u.Time.UnixNano() {
			t.Errorf("%s: entryTime = %d, %v", tt.name, ns, err)
		}
		// Every truncation (every 97th of a large entry, so that the test
		// stays quick), and trailing bytes, are caught.
		step := 1
		if len(v) > 4096 {
			step = 97
		}
		for n := 0; n < len(v); n += step {
			if _, err := decode(v[:n]); !errors.Is(err, errCorrupt) {
				t.Fatalf("%s: decode of %d of %d bytes = %v, want errCorrupt", tt.name, n, len(v), err)
			}
		}
		if _, err := decode(append(slices.Clone(v), 0)); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: decode with a trailing byte = %v, want errCorrupt", tt.name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encode(&store.Update{Topics: []string{"a", "b"}, Event: sse.Event{ID: "i", Data: "d"}}))
	f.Add([]byte{entryVersion, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte("\x01000000000\x00\x00\x00\x0100")) // unknown flag bits
	f.Fuzz(func(t *testing.T, v []byte) {
		u, err := decode(v) // must not panic, whatever v holds
		if err != nil {
			return
		}
		again, err := decode(encode(u))
		if err != nil || !slices.Equal(again.Topics, u.Topics) || again.Private != u.Private ||
			again.Event != u.Event || !again.Time.Equal(u.Time) {
			t.Errorf("decode(%x) = %+v, which does not survive encode and decode: %+v, %v", v, u, again, err)
		}
	})
}

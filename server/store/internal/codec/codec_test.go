package codec

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/sse"
)

// Uvarint reads what binary.Uvarint reads, and refuses what it refuses,
// over a string as over bytes.
func TestUvarintAsBinary(t *testing.T) {
	tests := [][]byte{
		{}, {0}, {1}, {0x7f}, {0x80}, {0x80, 1}, {0xff, 0xff, 0x03},
		binary.AppendUvarint(nil, 1<<63),
		binary.AppendUvarint(nil, ^uint64(0)),
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02},       // overflows
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, // too long
		{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
	}
	for _, b := range tests {
		want, n := binary.Uvarint(b)
		db := Decoder[[]byte]{B: b}
		ds := Decoder[string]{B: string(b)}
		for _, got := range []struct {
			x   uint64
			off int
			err error
		}{{db.Uvarint(), db.Off, db.Err}, {ds.Uvarint(), ds.Off, ds.Err}} {
			if n <= 0 {
				if !errors.Is(got.err, ErrCorrupt) {
					t.Errorf("Uvarint(%x) = %d, %v; want ErrCorrupt", b, got.x, got.err)
				}
				continue
			}
			if got.err != nil || got.x != want || got.off != n {
				t.Errorf("Uvarint(%x) = %d at %d, %v; want %d at %d", b, got.x, got.off, got.err, want, n)
			}
		}
	}
}

func TestBodyRoundTrip(t *testing.T) {
	for _, u := range []store.Update{
		{},
		{Topics: []string{"a", "", "https://example.com/{id}"}, Event: sse.Event{Type: "t", Data: "d\r\ne", Retry: 1500}},
		{Topics: []string{"t"}, Event: sse.Event{Retry: -1}},
	} {
		head := []byte("xyz")
		b := AppendBody(head, &u)
		if len(b)-len(head) > BodyCap(&u) {
			t.Errorf("%+v: body of %d bytes exceeds BodyCap %d", u, len(b)-len(head), BodyCap(&u))
		}
		var got store.Update
		arena := make([]string, 1, 8)
		arena, err := Body(&got, string(b), len(head), arena)
		if err != nil {
			t.Fatalf("%+v: Body: %v", u, err)
		}
		if !slices.Equal(got.Topics, u.Topics) || got.Event != u.Event {
			t.Errorf("round trip = %+v, want %+v", got, u)
		}
		if len(arena) != 1+len(u.Topics) {
			t.Errorf("%+v: arena holds %d, want %d", u, len(arena), 1+len(u.Topics))
		}
		for n := len(head); n < len(b); n++ {
			if _, err := Body(&got, string(b[:n]), len(head), nil); !errors.Is(err, ErrCorrupt) {
				t.Errorf("%+v: Body of %d of %d bytes = %v, want ErrCorrupt", u, n, len(b), err)
			}
		}
		if _, err := Body(&got, string(b)+"x", len(head), nil); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%+v: Body with a trailing byte = %v, want ErrCorrupt", u, err)
		}
	}
}

package sse

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// Round trips keep Data, Type and ID with two documented changes, both made
// by every conforming receiver: each CR, LF or CRLF in Data arrives as LF,
// and bytes that are not valid UTF-8 arrive as U+FFFD (one per maximal
// subpart, see utf8.go).

var roundTripData = []string{
	"",
	"a",
	"hello, world",
	"a\n",
	"a\n\n",
	"\n",
	"\r",
	"\r\n",
	"\n\r",
	"\r\r\n\n",
	"a\r\nb\rc\nd",
	"\x00",
	"a\x00b\x00",
	"\u2028\u2029\u0085",
	"\xFF\xFE",
	"\xE2\x82",
	"\xE2\x82\n\xAC",
	"\xED\xA0\x80",
	" ",
	"  two leading spaces",
	"trailing space ",
	"\tTab",
	"\uFEFFstarts with a BOM",
	"data: x",
	"id: 5",
	"event: e",
	"retry: 1",
	": comment",
	":",
	"\n\ndata: y\n\n",
	"\r\rid: 9\r\r",
	"{\"json\": [1, 2, 3]}",
	"日本語\U0001F600",
	strings.Repeat("long line ", 10000),
	strings.Repeat("many\nlines\r\n", 1000),
}

var roundTripIDs = []string{"", "1", " x", "a:b", "é", "\xFF", "\uFEFF", "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427"}
var roundTripTypes = []string{"", "t", " t", "message", "a:b", "é\xC3"}

func wantRoundTrip(ev Event, lastID string) Event {
	want := Event{ID: lastID, Type: "message", Data: refNormalize(ev.Data)}
	if ev.ID != "" {
		want.ID = refUTF8NoBOM([]byte(ev.ID))
	}
	if ev.Type != "" {
		want.Type = refUTF8NoBOM([]byte(ev.Type))
	}
	return want
}

func TestRoundTrip(t *testing.T) {
	var stream []byte
	var want []Event
	var wantRetries []int
	lastID := ""
	i := 0
	for _, data := range roundTripData {
		for _, id := range roundTripIDs {
			for _, typ := range roundTripTypes {
				ev := Event{ID: id, Type: typ, Data: data, Retry: i % 3}
				i++
				frame, err := AppendEvent(nil, &ev)
				if !utf8.ValidString(id) || !utf8.ValidString(typ) {
					// No client could send such an id back or listen for such
					// a type: refused, not replaced.
					if err == nil {
						t.Fatalf("AppendEvent(%+v) accepted invalid UTF-8", ev)
					}
					continue
				}
				if err != nil {
					t.Fatalf("AppendEvent(%+v): %v", ev, err)
				}
				w := wantRoundTrip(ev, lastID)
				lastID = w.ID
				var r []int
				if ev.Retry > 0 {
					r = []int{ev.Retry}
				}
				// Alone, after a fresh start, the frame is the event.
				alone := refResult{events: []Event{wantRoundTrip(ev, "")}, retries: r, lastID: wantRoundTrip(ev, "").ID}
				if d := diffResult(run(t, Limits{}, frame), alone); d != "" {
					t.Fatalf("%+v encoded as %q:\n%s", ev, frame, d)
				}
				stream = append(stream, frame...)
				want = append(want, w)
				wantRetries = append(wantRetries, r...)
			}
		}
	}
	// In one stream, events without an id carry the one before.
	all := refResult{events: want, retries: wantRetries, lastID: lastID}
	if d := diffResult(run(t, Limits{}, stream), all); d != "" {
		t.Fatalf("whole stream:\n%.2000s", d)
	}
	if d := diffResult(refDecode(stream), all); d != "" {
		t.Fatalf("reference decoder on the whole stream:\n%.2000s", d)
	}
	var cuts []int
	for c := 1; c < len(stream); c += 997 {
		cuts = append(cuts, c)
	}
	if d := diffResult(run(t, Limits{}, stream, cuts...), all); d != "" {
		t.Fatalf("stream in chunks:\n%.2000s", d)
	}
}

// injections are data values that would create fields or events if an
// encoder wrote them unsplit.
var injections = []string{
	"a\n\ndata: second event",
	"a\r\rdata: second event",
	"a\r\n\r\ndata: second event",
	"a\nid: 666",
	"a\rid: 666\r",
	"a\r\nevent: evil",
	"a\nretry: 1",
	"\n\n",
	"\r\r",
	"\r\n\r\n",
	"\n\r\n\r",
	"data: x\n\nid: 1\n\nevent: e\ndata: y\n\nretry: 5\n\n",
	"x\n\xEF\xBB\xBFid: 1\n",
	"x\n: comment\n\n",
	"\n",
	"",
}

func TestNoInjection(t *testing.T) {
	for _, data := range injections {
		frame, err := AppendEvent(nil, &Event{Data: data})
		if err != nil {
			t.Fatal(err)
		}
		checkDataFrame(t, frame)
		want := refResult{events: []Event{msg(refNormalize(data))}}
		if d := diffResult(run(t, Limits{}, frame), want); d != "" {
			t.Errorf("data %q encoded as %q:\n%s", data, frame, d)
		}

		// A comment with the same text is only comments.
		comment := AppendComment(nil, data)
		if bytes.IndexByte(comment, '\r') >= 0 {
			t.Errorf("comment %q has a CR", comment)
		}
		for _, line := range strings.SplitAfter(strings.TrimSuffix(string(comment), "\n"), "\n") {
			if !strings.HasPrefix(line, ": ") {
				t.Errorf("comment %q has a line %q that is not a comment", comment, line)
			}
		}
		if d := diffResult(run(t, Limits{}, append(comment, frame...)), want); d != "" {
			t.Errorf("comment %q before the event:\n%s", data, d)
		}
	}
}

// checkDataFrame checks the shape of a frame with data only, without
// decoding it: no CR, only data lines, one blank line at the end.
func checkDataFrame(t *testing.T, frame []byte) {
	t.Helper()
	if bytes.IndexByte(frame, '\r') >= 0 {
		t.Fatalf("frame %q has a CR", frame)
	}
	body, ok := bytes.CutSuffix(frame, []byte("\n\n"))
	if !ok {
		t.Fatalf("frame %q does not end with a blank line", frame)
	}
	for _, line := range bytes.Split(body, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("data: ")) {
			t.Fatalf("frame %q has a line %q that is not a data line", frame, line)
		}
	}
}

package e2e

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDemoPageShowsPublishedEvent is the smoke test of the whole product:
// the real binary serves the demo page, the page subscribes with the
// browser's own EventSource, and an event published over HTTP appears on it.
func TestDemoPageShowsPublishedEvent(t *testing.T) {
	t.Parallel()
	hub := StartHub(t)
	for _, tc := range []struct{ name, path string }{
		{"default-topic", "/"}, // the page subscribes to *
		{"explicit-topic", "/?topic=demo%2Fe2e"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pg := RunPage(t, Modern, hub.URL+tc.path, WithScript(TrackEventSources))
			// Publishing before the stream is open would lose the event
			// (no id to resume from), so wait for OPEN rather than sleep.
			pg.WaitFor(AnySourceOpen, 5*time.Second, `window.__e2eSources.map(function (s) { return s.url + " " + s.readyState; })`)

			data := "hello e2e " + strconv.FormatInt(time.Now().UnixNano(), 36)
			hub.Publish(Update{Topics: []string{"demo/e2e"}, Data: data})

			pg.WaitFor(`Array.prototype.some.call(document.querySelectorAll("#events li"), function (li) {
  return li.textContent.indexOf(`+strconv.Quote(data)+`) >= 0;
})`, 5*time.Second, `document.getElementById("events") && document.getElementById("events").innerHTML`)
		})
	}
}

// TestDemoPageShowsEveryEventType: an event of a type the page has never
// heard of (a publisher's -type greeting) appears, and so do the next ones
// of that type, each once. EventSource has no "any type" listener; the page
// learns types as they come (web/demo/live.js).
func TestDemoPageShowsEveryEventType(t *testing.T) {
	t.Parallel()
	hub := StartHub(t)
	pg := RunPage(t, Modern, hub.URL+"/?topic=demo%2Ftypes", WithScript(TrackEventSources))
	pg.WaitFor(AnySourceOpen, 5*time.Second, `window.__e2eSources.map(function (s) { return s.url + " " + s.readyState; })`)
	typ := "greeting" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)
	count := func(data string) string {
		return `Array.prototype.filter.call(document.querySelectorAll("#events li"), function (li) {
  return li.dataset.type === ` + strconv.Quote(typ) + ` && li.textContent.indexOf(` + strconv.Quote(data) + `) >= 0;
}).length`
	}
	// The type reader may open a moment after the EventSource: publish
	// until the first event of the new type shows, then check the rest.
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		data := "first-" + strconv.Itoa(i)
		hub.Publish(Update{Topics: []string{"demo/types"}, Type: typ, Data: data})
		ctx, cancel := context.WithTimeout(pg.Context(), time.Second)
		err := pg.Wait(ctx, count(data)+` === 1`)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			pg.WaitFor("false", time.Millisecond, `document.getElementById("events").innerHTML`) // fails, showing the list
		}
	}
	for i := range 3 {
		data := "next-" + strconv.Itoa(i)
		hub.Publish(Update{Topics: []string{"demo/types"}, Type: typ, Data: data})
		pg.WaitFor(count(data)+` === 1`, 5*time.Second, `document.getElementById("events").innerHTML`)
	}
	time.Sleep(300 * time.Millisecond) // a duplicate would have come by now
	ctx, cancel := context.WithTimeout(pg.Context(), 5*time.Second)
	defer cancel()
	if got, err := Evaluate[int](ctx, pg, count("next-")); err != nil || got != 3 {
		t.Errorf("%d events of type %s shown (%v), want 3, once each", got, typ, err)
	}
}

// TestFavicon: browsers ask every page for /favicon.ico.
func TestFavicon(t *testing.T) {
	t.Parallel()
	hub := StartHub(t)
	for _, p := range []string{"/favicon.ico", "/favicon.svg"} {
		res, err := http.Get(hub.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "image/") {
			t.Errorf("%s: %d %s", p, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
}

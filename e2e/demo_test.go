package e2e

import (
	"strconv"
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

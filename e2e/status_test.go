package e2e

import (
	"testing"
	"time"
)

// TestStatusPageShowsLiveFigures opens the status page of a hub running
// its demo publisher beside a subscriber: the figures arrive over SSE, the
// event rate becomes positive, the table counts the subscriber, and the
// charts are drawn.
func TestStatusPageShowsLiveFigures(t *testing.T) {
	t.Parallel()
	hub := StartHub(t, "-demo")
	sub := RunPage(t, Modern, hub.URL+"/?topic=demo/clock", WithScript(TrackEventSources))
	sub.WaitFor(AnySourceOpen, 5*time.Second)

	pg := RunPage(t, Modern, hub.URL+"/status.html")
	pg.WaitFor(`parseFloat(document.getElementById("v-published").textContent) > 0`, 8*time.Second,
		`document.getElementById("v-published").textContent`)
	pg.WaitFor(`parseInt(document.getElementById("v-streams").textContent, 10) >= 1`, 5*time.Second,
		`document.querySelector("#streams tbody").textContent`)
	// A drawn sparkline has non-transparent pixels.
	pg.WaitFor(`(function () {
  var c = document.getElementById("c-published");
  var d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  for (var i = 3; i < d.length; i += 4) if (d[i] > 0) return true;
  return false;
})()`, 5*time.Second)
}

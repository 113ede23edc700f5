package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestPageStopEveryTransport checks that a request the page aborts with
// window.stop() fails the connection, with no reconnection, in each
// engine and transport of EventSourcePolyfill: the fetch transport cannot
// tell the abort from a network error by itself (web/src/pagestop.js).
// Each engine is loaded by a first stream before the one that is stopped,
// so that the stop hits the stream's request alone.
func TestPageStopEveryTransport(t *testing.T) {
	t.Parallel()
	polyfill := Polyfill(t)
	for _, engine := range []string{"lite", "wasm"} {
		for _, transport := range []string{"fetch", "xhr"} {
			t.Run(engine+"-"+transport, func(t *testing.T) {
				t.Parallel()
				page := fmt.Sprintf(`<!doctype html><meta charset="utf-8">
<script src="/polyfill/eventsource.js"></script>
<script>
window.log = [];
var opts = {engine: %q, transport: %q};
var boot = new EventSourcePolyfill("/boot", opts);
boot.onmessage = function () {
  boot.close();
  var es = new EventSourcePolyfill("/sse", opts);
  es.onopen = function () { log.push("open"); };
  es.onmessage = function (e) { log.push("message " + e.data); };
  es.onerror = function () { log.push("error rs=" + es.readyState); };
  (function poll() {
    var x = new XMLHttpRequest();
    x.open("GET", "/arrived?" + Math.random(), true);
    x.onload = function () {
      if (x.responseText === "1" && document.readyState === "complete") {
        window.stop();
        setTimeout(function () { log.push("end"); }, 2500);
      } else {
        setTimeout(poll, 50);
      }
    };
    x.send();
  })();
};
</script>`, engine, transport)
				var cs *caseServer
				cs = newCaseServer(t, func(s *stream) {
					s.w.Header().Set("Content-Type", "text/html; charset=utf-8")
					s.send(page)
				}, func(s *stream) {
					switch s.r.URL.Path {
					case "/boot":
						events("data: boot\n\n")(s)
					case "/arrived":
						cs.mu.Lock()
						n := cs.attempts["/sse"]
						cs.mu.Unlock()
						respond(http.StatusOK, "text/plain", fmt.Sprint(n))(s)
					default:
						s.pause(2 * time.Second)
						events("retry: 50\ndata: late\n\n")(s)
					}
				}, polyfill)
				pg := RunPage(t, Nativeless, cs.self.URL+"/")
				pg.WaitFor(`window.log.indexOf("end") >= 0`, 2*caseTimeout, `window.log`)
				if got := Eval[[]string](pg, `window.log`); fmt.Sprint(got) != fmt.Sprint([]string{"error rs=2", "end"}) {
					t.Errorf("log %q, want the connection failed (error rs=2) and nothing more", got)
				}
				cs.mu.Lock()
				n := cs.attempts["/sse"]
				cs.mu.Unlock()
				if n != 1 {
					t.Errorf("the stream was requested %d times, want 1 (no reconnection)", n)
				}
			})
		}
	}
}

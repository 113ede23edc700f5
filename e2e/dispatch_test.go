package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestListenerDispatch checks what the polyfill's own dispatch of message
// events (web/src/eventtarget.js, web/src/fastevents.js:
// listeners called from the shim's lists, not by dispatchEvent) shows
// listeners, against the browser's own EventSource, in every column of the
// conformance suite: capture listeners first, once, signal, an exception
// reported to window.onerror while the next listeners run,
// stopImmediatePropagation, dispatchEvent of the event being dispatched,
// handleEvent objects, and the event's target fields during and after the
// dispatch. (Capture listeners come first at the target in the DOM standard
// and in the polyfill, while Chromium calls an EventSource's in the order
// they were added: the capture listener here is added first.)
func TestListenerDispatch(t *testing.T) {
	t.Parallel()
	c := conformanceCase{
		name:   "listener-dispatch",
		stream: events("data: 1\n\ndata: 2\n\n"),
		script: `var es = new EventSource(STREAM);
window.onerror = function (m) { log("onerror " + (String(m).indexOf("boom") >= 0)); return true; };
es.addEventListener("message", function (e) { log("capture " + e.eventPhase); }, true);
es.addEventListener("message", function (e) { log("A " + [e.eventPhase, e.currentTarget === es, e.target === es, e.srcElement === es, e.composedPath().length, e.cancelBubble].join()); });
es.addEventListener("message", function () { log("once"); }, {once: true});
es.addEventListener("message", function () { throw new Error("boom"); });
es.addEventListener("message", function (e) { log("after throw " + e.data); });
var ac = new AbortController();
es.addEventListener("message", function () { log("signal"); }, {signal: ac.signal});
es.addEventListener("message", function (e) {
  if (e.data !== "1") return;
  ac.abort();
  try { es.dispatchEvent(e); log("no throw"); } catch (x) { log("again " + x.name); }
  e.stopImmediatePropagation();
  log("stopped " + e.cancelBubble);
});
es.addEventListener("message", function (e) { log("not stopped " + e.data); });
es.addEventListener("message", {handleEvent: function (e) {
  log("object " + (this !== es) + " " + (e.currentTarget === es));
  setTimeout(function () {
    log("after " + [e.eventPhase, e.currentTarget, e.target === es, e.composedPath().length, e.defaultPrevented, e.cancelBubble, e.data, e instanceof MessageEvent].join());
    es.close();
  }, 0);
}});`,
		want: []string{
			"capture 2", "A 2,true,true,true,1,false", "once", "onerror true", "after throw 1", "signal", "again InvalidStateError", "stopped true",
			"capture 2", "A 2,true,true,true,1,false", "onerror true", "after throw 2", "not stopped 2", "object true true",
			"after 0,,true,0,false,false,2,true",
		},
	}
	for _, col := range selectedColumns(t) {
		if col.profile == IE11 {
			// The page is written with what IE11 never had (AbortController,
			// listener options, composedPath): it throws there before the
			// dispatch is seen. The lite engine's dispatch rules are
			// TestConformance's cases in the ie11 column.
			continue
		}
		t.Run(col.name, func(t *testing.T) {
			t.Parallel()
			var polyfill = Polyfill(t)
			if !col.polyfill {
				polyfill = nil
			}
			var cs *caseServer
			page := func(s *stream) {
				s.w.Header().Set("Content-Type", "text/html; charset=utf-8")
				fmt.Fprint(s.w, casePage(c, col, cs.cross.URL))
			}
			cs = newCaseServer(t, page, c.stream, polyfill)
			// The listener's exception is provoked, and handled by onerror.
			pg := RunPage(t, col.profile, cs.self.URL+"/", AllowErrors())
			ctx, cancel := context.WithTimeout(pg.Context(), caseTimeout)
			err := pg.Wait(ctx, fmt.Sprintf("window.__log && window.__log.length >= %d", len(c.want)))
			cancel()
			if err == nil {
				time.Sleep(caseSettle)
			}
			got := Eval[[]string](pg, `window.__log || []`)
			if !slices.Equal(got, c.want) {
				t.Errorf("%s column:\n  got:\n%s  want:\n%s", col.name, indentLog(got), indentLog(c.want))
			}
		})
	}
}

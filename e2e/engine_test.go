package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestEngineFetchedOnlyWhenNeeded checks the script's loading contract: a
// browser with a native EventSource never downloads the WebAssembly engine,
// nor one whose lite engine can read with fetch; one that needs it
// (EdgeHTML) downloads it once per page, however many EventSources the
// page opens.
func TestEngineFetchedOnlyWhenNeeded(t *testing.T) {
	t.Parallel()
	polyfill := Polyfill(t)
	page := `<!doctype html><meta charset="utf-8">
<script src="/polyfill/eventsource.js"></script>
<script>
window.opened = 0;
for (var i = 0; i < 3; i++) {
  new EventSource("/sse?n=" + i).onopen = function () { window.opened++; };
}
</script>`
	for _, tc := range []struct {
		profile   Profile
		wasmFetch int
	}{
		{Modern, 0},
		// The lite engine reads with fetch where the browser streams it and
		// has TextDecoder (web/src/transports.js, fetchText): the
		// WebAssembly engine is for EdgeHTML, which has neither EventSource
		// nor TextDecoder.
		{Nativeless, 0},
		{EdgeHTML, 1},
	} {
		t.Run(tc.profile.Name, func(t *testing.T) {
			t.Parallel()
			cs := newCaseServer(t, func(s *stream) {
				s.w.Header().Set("Content-Type", "text/html; charset=utf-8")
				s.send(page)
			}, events("data: x\n\n"), polyfill)
			pg := RunPage(t, tc.profile, cs.self.URL+"/", RecordRequests())
			pg.WaitFor(`window.opened === 3`, caseTimeout, `window.opened`)

			count := func() int {
				n := 0
				for _, r := range pg.Requests() {
					if strings.HasSuffix(strings.SplitN(r.URL, "?", 2)[0], ".wasm") {
						n++
					}
				}
				return n
			}
			// The engine loads once a stream has had its first event
			// (web/src/engines/handover.js): wait for it, then a while more
			// for a second download that must not come.
			for end := time.Now().Add(caseTimeout); tc.wasmFetch > 0 && count() < tc.wasmFetch && time.Now().Before(end); {
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond)
			if n := count(); n != tc.wasmFetch {
				t.Errorf("the engine was fetched %d times, want %d; requests:\n%s", n, tc.wasmFetch, requestList(pg.Requests()))
			}
		})
	}
}

func requestList(rs []Request) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString("  " + r.Method + " " + r.URL + " (" + r.Type + ")\n")
	}
	return b.String()
}

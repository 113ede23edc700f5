package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestProfileGaps proves that every gap of each legacy profile bites
// before the page's first script: the page's first inline script sees the
// count of gaps the profile script checked (it throws, failing the page,
// when any survived), and a sample of them, checked again from the page.
func TestProfileGaps(t *testing.T) {
	const page = `<!doctype html><html><head><script>
var w = window, r = {profile: w.__e2eProfile, gaps: w.__e2eGaps, failed: []};
function check(name, f) { try { if (!f()) r.failed.push(name); } catch (e) { r.failed.push(name + ": " + e.message); } }
function throws(f) { try { f(); return false; } catch (e) { return true; } }
check("no EventSource", function () { return typeof EventSource === "undefined"; });
check("no TextDecoder", function () { return typeof TextDecoder === "undefined"; });
check("EventTarget not constructible", function () { return throws(function () { return new EventTarget(); }); });
check("EventTarget.prototype kept", function () { return typeof EventTarget.prototype.addEventListener === "function"; });
if (r.profile === "ie11") {
  check("no Symbol", function () { return typeof Symbol === "undefined"; });
  check("no Promise, fetch, WebAssembly", function () { return typeof Promise + typeof fetch + typeof WebAssembly === "undefinedundefinedundefined"; });
  check("no includes", function () { return ![].includes && !"".includes; });
  check("new Event throws", function () { return throws(function () { return new Event("x"); }); });
  check("createEvent works", function () { var e = document.createEvent("Event"); e.initEvent("x", false, false); return e instanceof Event && e.type === "x"; });
  check("createEvent MessageEvent works", function () { var e = document.createEvent("MessageEvent"); e.initMessageEvent("m", false, false, "d", "o", "i", null); return e instanceof MessageEvent && e.data === "d"; });
  check("new URL throws", function () { return throws(function () { return new URL("http://a/"); }); });
  check("URL.createObjectURL kept", function () { return typeof URL.createObjectURL === "function"; });
  check("Map ignores its iterable", function () { return new Map([[1, 2]]).size === 0; });
  check("no currentScript", function () { return document.currentScript === undefined; });
  check("msCrypto", function () { return typeof crypto === "undefined" && typeof msCrypto.getRandomValues === "function"; });
  check("XHR has no responseURL", function () { return new XMLHttpRequest().responseURL === undefined; });
} else {
  check("WebAssembly kept", function () { return typeof WebAssembly === "object"; });
  check("no URLSearchParams", function () { return typeof URLSearchParams === "undefined"; });
  check("no Promise.prototype.finally", function () { return !Promise.prototype.finally; });
}
window.__first = r;
</script></head><body></body></html>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		p    Profile
		gaps []gap
	}{{EdgeHTML, edgeHTMLGaps}, {IE11, ie11Gaps}} {
		t.Run(tc.p.Name, func(t *testing.T) {
			pg := RunPage(t, tc.p, srv.URL+"/")
			type first struct {
				Profile string
				Gaps    int
				Failed  []string
			}
			got := Eval[first](pg, `window.__first`)
			if got.Profile != tc.p.Name || got.Gaps != len(tc.gaps) {
				t.Fatalf("the page's first script saw profile %q with %d gaps checked, want %q with %d",
					got.Profile, got.Gaps, tc.p.Name, len(tc.gaps))
			}
			if len(got.Failed) > 0 {
				t.Errorf("gaps that do not bite: %q", got.Failed)
			}
		})
	}
}

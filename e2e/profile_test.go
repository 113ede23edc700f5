package e2e

import (
	"strconv"
	"strings"
)

// A Profile emulates a browser engine's capabilities inside Chromium. Its
// Script runs in every document (and frame) of a page before any of the
// page's own scripts, so the page sees the emulated engine from its first
// line on.
type Profile struct {
	// Name identifies the profile in test names: "modern", "ie11", ...
	Name string
	// Script is the JavaScript injected before the page's scripts. Empty
	// means the page runs on Chromium as is.
	Script string
	// NeedsPolyfill tells that the profile has no native EventSource, so a
	// page needs polysse's script to subscribe at all.
	NeedsPolyfill bool
}

// The profiles. Later profiles (firefox: a fake native EventSource that
// ends CLOSED the way Firefox does) are added next to these.
var (
	// Modern is Chromium as is: Chrome, Safari and Edge 79+.
	Modern = Profile{Name: "modern"}

	// Nativeless is Chromium without a native EventSource, which forces
	// the polyfill onto an otherwise modern engine. It isolates the
	// polyfill's behaviour from the legacy-engine emulations.
	Nativeless = Profile{
		Name:          "nativeless",
		Script:        deleteGlobals("nativeless", "EventSource"),
		NeedsPolyfill: true,
	}

	// EdgeHTML is EdgeHTML 16-18: WebAssembly (MVP) is there, EventSource,
	// the encoding API and globalThis are not.
	EdgeHTML = Profile{
		Name:          "edgehtml",
		Script:        deleteGlobals("edgehtml", "EventSource", "TextEncoder", "TextDecoder", "globalThis"),
		NeedsPolyfill: true,
	}

	// IE11 is Internet Explorer 10-11: XHR streaming only, no WebAssembly,
	// fetch, promises, streams or encoding API.
	IE11 = Profile{
		Name: "ie11",
		Script: deleteGlobals("ie11", "EventSource", "WebAssembly", "fetch", "Promise",
			"ReadableStream", "TextEncoder", "TextDecoder"),
		NeedsPolyfill: true,
	}
)

// Profiles lists every defined profile, for tests that run on all of them.
func Profiles() []Profile { return []Profile{Modern, Nativeless, EdgeHTML, IE11} }

// deleteGlobals returns a profile script that removes the named globals
// from window. It throws when a name survives the deletion: a profile that
// silently failed to remove an API would make every test under it prove
// nothing, and the harness fails a page on any uncaught exception. The script
// is ES5 and sets window.__e2eProfile so a page (or a failing test's log)
// can tell which profile it ran under.
func deleteGlobals(profile string, names ...string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strconv.Quote(n)
	}
	return `(function (w) {
  var names = [` + strings.Join(quoted, ", ") + `];
  for (var i = 0; i < names.length; i++) {
    try { delete w[names[i]]; } catch (e) {}
    if (names[i] in w) {
      throw new Error("e2e profile ` + profile + `: could not delete " + names[i]);
    }
  }
  w.__e2eProfile = ` + strconv.Quote(profile) + `;
})(window);`
}

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

// The profiles.
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

	// Firefox is a native EventSource that gives up the way Firefox does:
	// Chromium's own, wrapped so that a failed connection attempt (a
	// refused reconnection, a 5xx, a proxy's 502) leaves it CLOSED where
	// Chromium would keep retrying. A stream that drops after it opened is
	// still re-established once, as Firefox does for the network errors of
	// its allowlist. Setting window.__e2eFirefoxSilent makes it go CLOSED
	// without firing error, the "silent close" a supervisor must notice.
	Firefox = Profile{
		Name:   "firefox",
		Script: firefoxScript,
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
func Profiles() []Profile { return []Profile{Modern, Firefox, Nativeless, EdgeHTML, IE11} }

// firefoxScript replaces window.EventSource with a Firefox-like one over
// Chromium's. Events of every type a page listens for are copied from the
// inner EventSource; open and error follow the rules above.
const firefoxScript = `(function (w) {
  var Native = w.EventSource;
  if (!Native) throw new Error("e2e profile firefox: no EventSource to wrap");
  class EventSource extends EventTarget {
    constructor(url, init) {
      super();
      var es = arguments.length > 1 ? new Native(url, init) : new Native(url);
      var self = this;
      this._es = es;
      this._closed = false;
      this._types = {};
      this.onopen = this.onmessage = this.onerror = null;
      var wasOpen = false;
      es.onopen = function () {
        wasOpen = true;
        self._fire(new Event("open"));
      };
      es.onerror = function () {
        if (self._closed) return;
        if (es.readyState === 0 && wasOpen) {
          wasOpen = false; // a drop after open: reconnect, once
          self._fire(new Event("error"));
          return;
        }
        // A failed connection attempt: Firefox gives up.
        es.close();
        self._closed = true;
        w.__e2eFirefoxClosed = (w.__e2eFirefoxClosed || 0) + 1;
        if (!w.__e2eFirefoxSilent) self._fire(new Event("error"));
      };
      this._listen("message");
    }
    get url() { return this._es.url; }
    get withCredentials() { return this._es.withCredentials; }
    get readyState() { return this._closed ? 2 : this._es.readyState; }
    close() { this._closed = true; this._es.close(); }
    addEventListener(type, fn, opts) {
      if (type !== "open" && type !== "error") this._listen(type);
      super.addEventListener(type, fn, opts);
    }
    _listen(type) {
      if (this._types[type]) return;
      this._types[type] = true;
      var self = this;
      this._es.addEventListener(type, function (e) {
        if (!self._closed) self._fire(new MessageEvent(type, {data: e.data, lastEventId: e.lastEventId, origin: e.origin}));
      });
    }
    _fire(e) {
      var h = this["on" + e.type];
      if (typeof h === "function") h.call(this, e);
      this.dispatchEvent(e);
    }
  }
  ["CONNECTING", "OPEN", "CLOSED"].forEach(function (name, i) {
    Object.defineProperty(EventSource, name, {value: i, enumerable: true});
    Object.defineProperty(EventSource.prototype, name, {value: i, enumerable: true});
  });
  w.EventSource = EventSource;
  w.__e2eProfile = "firefox";
})(window);`

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

package e2e

import (
	"fmt"
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

	// EdgeHTML is EdgeHTML 16: WebAssembly (MVP) is there; EventSource,
	// the encoding API, globalThis, a constructible EventTarget and what
	// else edgeHTMLGaps lists are not.
	EdgeHTML = Profile{
		Name:          "edgehtml",
		Script:        gapScript("edgehtml", edgeHTMLGaps),
		NeedsPolyfill: true,
	}

	// IE11 is Internet Explorer 11 (and 10): XHR streaming only, no
	// WebAssembly, fetch, promises, streams, encoding API, and none of
	// what ie11Gaps lists.
	IE11 = Profile{
		Name:          "ie11",
		Script:        gapScript("ie11", ie11Gaps),
		NeedsPolyfill: true,
	}
)

// A gap is one thing a legacy engine lacked, after MDN browser-compat-data
// (github.com/mdn/browser-compat-data: IE entries as of its v6.0.22,
// EdgeHTML's as "edge" versions below 79; "mirror" means Chromium-based
// Edge only). remove is JavaScript that takes it away from the page;
// gone is an expression that is true once it is gone. w is window.
type gap struct {
	name, remove, gone string
}

// Gap constructors.

// global removes a global.
func global(name string) gap {
	q := strconv.Quote(name)
	return gap{name, "del(w, " + q + ");", "!(" + q + " in w)"}
}

// method removes a property of an object reachable from window, such as
// "Array.prototype.includes" or "Document.prototype.currentScript".
func method(path string) gap {
	i := strings.LastIndex(path, ".")
	obj, name := path[:i], strconv.Quote(path[i+1:])
	return gap{path, "del(w." + obj + ", " + name + ");", "!(" + name + " in w." + obj + ")"}
}

// notConstructible replaces a constructor with one that throws, as IE's
// Event, CustomEvent, MessageEvent, URL and EventTarget do, keeping its
// prototype (instanceof and document.createEvent go on working) and its
// statics.
func notConstructible(name string) gap {
	q := strconv.Quote(name)
	return gap{name + "()", "noNew(" + q + ");", "throws(function () { return new w[" + q + "](" + ctorArg(name) + "); })"}
}

func ctorArg(name string) string {
	switch name {
	case "URL":
		return `"http://a/"`
	case "EventTarget":
		return ""
	}
	return `"x"`
}

// The two lists. Each removal is checked by gapScript before the page's
// first script runs.
var (
	edgeHTMLGaps = []gap{
		global("EventSource"), global("TextEncoder"), global("TextDecoder"), global("globalThis"),
		global("URLSearchParams"), // EdgeHTML 17
		global("queueMicrotask"), global("reportError"), global("structuredClone"),
		notConstructible("EventTarget"),
		method("Promise.prototype.finally"), // EdgeHTML 18
		method("Object.fromEntries"), method("Object.hasOwn"),
		method("Array.prototype.flat"), method("Array.prototype.flatMap"), method("Array.prototype.at"),
		method("String.prototype.matchAll"), method("String.prototype.replaceAll"),
		method("String.prototype.trimStart"), method("String.prototype.trimEnd"), method("String.prototype.at"),
	}

	ie11Gaps = []gap{
		global("EventSource"), global("WebAssembly"), global("fetch"), global("Request"), global("Response"),
		global("Headers"), global("Promise"), global("ReadableStream"), global("WritableStream"),
		global("TransformStream"), global("TextEncoder"), global("TextDecoder"), global("globalThis"),
		global("Symbol"), global("Reflect"), global("Proxy"), global("WeakSet"), global("URLSearchParams"),
		global("AbortController"), global("AbortSignal"), global("queueMicrotask"), global("reportError"),
		global("structuredClone"),
		{"crypto (msCrypto instead)", "w.msCrypto = w.crypto; del(w, \"crypto\");", "!(\"crypto\" in w) && !!w.msCrypto"},
		{"Map(iterable)", "ignoresIterable(\"Map\");", "new w.Map([[1, 2]]).size === 0"},
		{"Set(iterable)", "ignoresIterable(\"Set\");", "new w.Set([1]).size === 0"},
		notConstructible("Event"), notConstructible("CustomEvent"), notConstructible("MessageEvent"),
		notConstructible("URL"), notConstructible("EventTarget"),
		method("Document.prototype.currentScript"), method("XMLHttpRequest.prototype.responseURL"),
		method("Object.assign"), method("Object.values"), method("Object.entries"), method("Object.fromEntries"),
		method("Object.getOwnPropertyDescriptors"), method("Object.is"),
		method("Array.from"), method("Array.of"),
		method("Array.prototype.includes"), method("Array.prototype.find"), method("Array.prototype.findIndex"),
		method("Array.prototype.fill"), method("Array.prototype.copyWithin"), method("Array.prototype.entries"),
		method("Array.prototype.keys"), method("Array.prototype.values"), method("Array.prototype.flat"),
		method("String.prototype.includes"), method("String.prototype.startsWith"),
		method("String.prototype.endsWith"), method("String.prototype.repeat"), method("String.prototype.padStart"),
		method("String.prototype.padEnd"), method("String.prototype.codePointAt"), method("String.fromCodePoint"),
		method("Number.isNaN"), method("Number.isFinite"), method("Number.isInteger"), method("Math.trunc"),
		method("Math.sign"),
	}
)

// gapScript returns a profile script that takes every gap away, then checks
// that each is gone and throws naming any that is not: a profile that
// silently kept an API would make every test under it prove nothing, and
// the harness fails a page on any uncaught exception. ES5; it sets
// window.__e2eProfile so a page (or a failing test's log) can tell which
// profile it ran under, and window.__e2eGaps to the number of gaps checked.
func gapScript(profile string, gaps []gap) string {
	var b strings.Builder
	b.WriteString(`(function (w) {
  function del(o, k) {
    if (!o) return;
    try { delete o[k]; } catch (e) {}
    // An own property that will not go is hidden instead.
    if (k in o) { try { Object.defineProperty(o, k, {value: undefined, configurable: true, writable: true}); delete o[k]; } catch (e) {} }
  }
  function throws(f) { try { f(); return false; } catch (e) { return true; } }
  function noNew(name) {
    var O = w[name];
    var F = function () { throw new TypeError("Object doesn't support this action"); };
    if (O) {
      F.prototype = O.prototype;
      var statics = Object.getOwnPropertyNames(O);
      for (var i = 0; i < statics.length; i++) {
        if (!/^(length|name|prototype|arguments|caller)$/.test(statics[i])) {
          try { Object.defineProperty(F, statics[i], Object.getOwnPropertyDescriptor(O, statics[i])); } catch (e) {}
        }
      }
    }
    Object.defineProperty(w, name, {value: F, writable: true, configurable: true});
  }
  function ignoresIterable(name) {
    var O = w[name];
    var F = function () { return new O(); };
    F.prototype = O.prototype;
    Object.defineProperty(w, name, {value: F, writable: true, configurable: true});
  }
`)
	for _, g := range gaps {
		b.WriteString("  " + g.remove + "\n")
	}
	b.WriteString("  var kept = [];\n")
	for _, g := range gaps {
		fmt.Fprintf(&b, "  if (!(%s)) kept.push(%s);\n", g.gone, strconv.Quote(g.name))
	}
	fmt.Fprintf(&b, `  if (kept.length) throw new Error("e2e profile %s: still there: " + kept.join(", "));
  w.__e2eProfile = %s;
  w.__e2eGaps = %d;
})(window);`, profile, strconv.Quote(profile), len(gaps))
	return b.String()
}

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

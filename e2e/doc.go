// Package e2e holds the end-to-end tests of polysse: headless Chromium,
// driven by chromedp, loads real pages against the real polysse binary and
// against small fault-injecting test servers.
//
// Legacy browsers are emulated as capability profiles: a [Profile] is a
// script that runs in every document before the page's own scripts and
// deletes (or replaces) the APIs that the emulated engine lacks. The same
// page can so be checked on a modern engine, with the polyfill forced, and
// on EdgeHTML- and IE11-like capability sets, side by side.
//
// Everything lives in the package's _test.go files, so that the browser
// driver never becomes a dependency of a build; this file only carries the
// package documentation. Run the suite with
//
//	go test ./e2e/
//
// It needs Chromium at /usr/bin/chromium (or at $CHROMIUM); scripts/deps.sh
// installs it. Without a browser the browser tests skip, except when the
// environment variable CI is set: then they fail, so a CI run can never pass
// by testing nothing. The same holds for tests that need the built polyfill
// (web/dist, or $E2E_POLYFILL_DIR).
//
// TestConformance runs the server-sent events conformance cases as
// TestConformance/<case>/<column>, with the columns native and polyfill;
// $E2E_COLUMNS (for example "native,polyfill,edgehtml,ie11") adds the
// polyfill under the legacy profiles.
//
// The benchmarks (BenchmarkBrowser, BenchmarkColdStartFloor,
// BenchmarkCluster) are documented where they are defined; $E2E_JS_FLAGS
// passes V8 flags to Chromium for measurements that need them.
package e2e

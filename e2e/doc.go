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
// The folder is a Go module of its own (github.com/polysse/polysse/e2e, with
// a replace of the library at ../), so that the browser driver never becomes
// a requirement of the library's go.mod; everything but this file lives in
// _test.go files. Run the suite from this folder:
//
//	cd e2e && go test .
//
// It needs Chromium at /usr/bin/chromium (or at $CHROMIUM); scripts/deps.sh
// installs it. Without a browser the browser tests skip, except when the
// environment variable CI is set: then they fail, so a CI run can never pass
// by testing nothing. The same holds for tests that need the built polyfill
// (web/dist, or $E2E_POLYFILL_DIR), Firefox, redis-server and nginx. Paths
// into the rest of the repository (web/dist, web/build.sh, docs/nginx.conf)
// are relative to this folder, which is the tests' working directory; the
// polysse binary is built from the repository's root module.
//
// # Files
//
// A file named for a feature holds that feature's tests; helper_*.go holds
// only helpers (the rig the tests share); bench_*.go holds the benchmarks,
// and bench_helper_*.go only what they share.
//
//   - helper_chromium_test.go: TestMain, the shared headless Chromium
//     ([Browser]).
//   - helper_page_test.go: a [Page] under a [Profile], with [RunPage],
//     [Eval], [Page.WaitFor]; page errors fail the test.
//   - helper_profile_test.go: the capability profiles ([Modern], [Firefox],
//     [Nativeless], [EdgeHTML], [IE11]).
//   - helper_hublauncher_test.go: builds bin/polysse once and launches it on
//     a free port ([StartHub], [Hub.Publish]). Every process the tests start
//     (the hub, nginx, redis-server through redistest) goes through the
//     repository's one launcher, internal/launch, which loadtest/ uses too.
//   - helper_caseserver_test.go: the scripted event-stream server of the
//     conformance cases.
//   - helper_legacy_test.go: the fault-injecting proxy in front of the hub
//     and the page of the legacy-reach tests.
//   - helper_firefox_test.go: real Firefox over WebDriver BiDi
//     (web/test/lib/firefox.mjs).
//   - helper_cluster_test.go: polysse nodes on one redis-server behind a
//     round-robin proxy, subscribers, publishers and the delivery check.
//   - bench_helper_server_test.go, bench_helper_profiler_test.go: the
//     benchmarks' loopback servers and Chromium's CPU profiler.
//
// # Features and their tests
//
// The standard (WHATWG server-sent events), native beside the polyfill:
//   - parsing, dispatch, reconnection, Last-Event-ID, redirects, CORS,
//     content types, status codes, close(): TestConformance
//     (conformance_test.go), as TestConformance/<case>/<column>, with the
//     columns native and polyfill; $E2E_COLUMNS (for example
//     "native,polyfill,edgehtml,ie11") adds the polyfill under the legacy
//     profiles.
//   - listener order, once, signal, exceptions, stopImmediatePropagation,
//     handleEvent and the event's target fields in the polyfill's own
//     dispatch: TestListenerDispatch (dispatch_test.go).
//
// The script and its engines:
//   - the engine is fetched only when needed, once per page:
//     TestEngineFetchedOnlyWhenNeeded (engine_test.go).
//   - every profile gets every event in order, once, across a hub restart,
//     a 502 proxy, a buffering proxy, close() and three streams on a page:
//     TestLegacy (legacy_test.go); the legacy demo pages: TestLegacyDemoPages.
//   - the profiles really remove what they claim: TestProfileGaps
//     (profile_test.go).
//   - failures after which the browser's own EventSource stays CLOSED, in
//     real Firefox and in Chromium, survived by the polyfill: TestBrowserGap
//     (browsergap_test.go); request headers never follow a redirect:
//     TestHeadersNotRedirected.
//
// The hub and the binary:
//   - the demo page, every event type, the favicon:
//     TestDemoPageShowsPublishedEvent, TestDemoPageShowsEveryEventType,
//     TestFavicon (demo_test.go); the status page:
//     TestStatusPageShowsLiveFigures (status_test.go).
//   - Mercure draft-07 and draft-08 on one binary, `polysse token`:
//     TestBinaryServesBothDrafts (mercure_test.go).
//   - no acknowledged event lost to SIGKILL, SIGTERM drains streams, cut
//     connections lose nothing: TestKill9KeepsEveryAcknowledgedEvent,
//     TestSIGTERMDrainsUnderLoad, TestCutConnectionsLoseNothing
//     (faults_test.go).
//   - behind nginx as shipped (docs/nginx.conf), and misconfigured to buffer,
//     where the polyfill falls back to long-poll: TestNginx (nginx_test.go).
//   - scale-out on Redis: a node killed, Redis restarted, a page surviving
//     a node kill: TestClusterNodeKilled, TestClusterRedisRestarted,
//     TestClusterPageSurvivesNodeKill (cluster_test.go).
//
// The harness itself (a page error fails, requests are recorded, profiles
// apply, a crashed or closed page is reported with its cause):
// TestHarness* (harness_test.go). $E2E_CHROMIUM_LOG=FILE keeps Chromium's
// output, its logging on, in FILE (it is discarded otherwise).
//
// # Benchmarks
//
// Each is documented where it is defined, with its command (run from this
// folder); $E2E_JS_FLAGS passes V8 flags to Chromium for measurements that
// need them.
//   - BenchmarkBrowser (bench_browser_test.go): throughput, latency, cold
//     start and reconnection, native beside polysse and event-source-polyfill.
//   - BenchmarkBrowserMatrix (bench_matrix_test.go): throughput per event
//     shape, per engine and transport.
//   - BenchmarkBrowserFirstEvent (bench_firstevent_test.go): the wait for the
//     first event, first visit and later page.
//   - BenchmarkBrowserMemory (bench_memory_test.go): a page's memory over
//     1 GB of stream.
//   - BenchmarkColdStartFloor (bench_coldstartfloor_test.go): the engine's
//     cold start beside the least Go program (wasm/floor).
//   - BenchmarkCluster (bench_cluster_test.go): the cost of sharing the log
//     through Redis.
package e2e

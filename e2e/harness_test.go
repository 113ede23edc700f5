package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// These tests check the harness itself against pages of their own, so a
// broken harness shows up as itself and not as a failure of polysse.

// servePage serves html at / and 204 everywhere else, on loopback.
func servePage(t *testing.T, html string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, html)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestHarnessEvalAndWait(t *testing.T) {
	t.Parallel()
	srv := servePage(t, `<!doctype html><script>
window.early = typeof window.injected;
setTimeout(function () { window.late = {n: 42, s: "ok"}; }, 100);
</script>`)
	pg := RunPage(t, Modern, srv.URL, WithScript(`window.injected = 1;`))

	if got := Eval[string](pg, `window.early`); got != "number" {
		t.Errorf("injected script ran after the page's: typeof injected = %q", got)
	}
	pg.WaitFor(`window.late`, 5*time.Second, `window.late`)
	type late struct {
		N int
		S string
	}
	if got := Eval[late](pg, `window.late`); got != (late{42, "ok"}) {
		t.Errorf("Eval = %+v", got)
	}
	if got := Eval[int](pg, `Promise.resolve(7)`); got != 7 {
		t.Errorf("Eval of a promise = %d, want 7", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := pg.Wait(ctx, `nosuchthing.x`); err == nil || !strings.Contains(err.Error(), "nosuchthing") {
		t.Errorf("Wait on a throwing condition = %v, want a timeout naming the exception", err)
	}
}

func TestHarnessProfiles(t *testing.T) {
	t.Parallel()
	srv := servePage(t, `<!doctype html><title>p</title>`)
	globals := []string{"EventSource", "WebAssembly", "fetch", "Promise", "ReadableStream",
		"TextEncoder", "TextDecoder", "globalThis"}
	missing := map[string][]string{
		"modern":     nil,
		"nativeless": {"EventSource"},
		"edgehtml":   {"EventSource", "TextEncoder", "TextDecoder", "globalThis"},
		"ie11":       {"EventSource", "WebAssembly", "fetch", "Promise", "ReadableStream", "TextEncoder", "TextDecoder", "globalThis"},
	}
	for _, p := range Profiles() {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			pg := RunPage(t, p, srv.URL)
			var want []string
			for _, g := range globals {
				gone := contains(missing[p.Name], g)
				if gone {
					want = append(want, g)
				}
			}
			got := Eval[[]string](pg, `(function () {
  var names = `+jsArray(globals)+`, out = [];
  for (var i = 0; i < names.length; i++) if (!(names[i] in window)) out.push(names[i]);
  return out;
})()`)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("missing globals = %v, want %v", got, want)
			}
			if p.NeedsPolyfill != contains(want, "EventSource") {
				t.Errorf("NeedsPolyfill = %v but EventSource missing = %v", p.NeedsPolyfill, contains(want, "EventSource"))
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func jsArray(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ",") + "]"
}

// errorRecorder stands in for the test so that the page's cleanup check
// can be observed failing.
type errorRecorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *errorRecorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestHarnessFailsOnPageErrors(t *testing.T) {
	t.Parallel()
	srv := servePage(t, `<!doctype html><script>
console.error("boom", 1);
setTimeout(function () { throw new Error("late kaboom"); }, 50);
</script>`)
	rec := &errorRecorder{TB: t}
	t.Run("page", func(t *testing.T) {
		rec.TB = t
		pg := RunPage(rec, Modern, srv.URL)
		pg.WaitFor(`(window.__t = (window.__t || 0) + 1) > 10`, 5*time.Second)
	})
	if len(rec.errs) != 1 {
		t.Fatalf("cleanup reported %d failures, want 1: %q", len(rec.errs), rec.errs)
	}
	for _, want := range []string{"console.error: boom 1", "late kaboom"} {
		if !strings.Contains(rec.errs[0], want) {
			t.Errorf("cleanup failure %q does not mention %q", rec.errs[0], want)
		}
	}
}

func TestHarnessAllowErrors(t *testing.T) {
	t.Parallel()
	srv := servePage(t, `<!doctype html><script>console.error("expected");</script>`)
	pg := RunPage(t, Modern, srv.URL, AllowErrors())
	pg.WaitFor(`true`, time.Second)
	if errs := pg.Errors(); len(errs) != 1 || !strings.Contains(errs[0], "expected") {
		t.Errorf("Errors() = %q", errs)
	}
}

func TestHarnessRecordsRequests(t *testing.T) {
	t.Parallel()
	srv := servePage(t, `<!doctype html><script>
fetch("/fetched.bin").then(function () { window.done = true; });
</script>`)
	pg := RunPage(t, Modern, srv.URL, RecordRequests())
	pg.WaitFor(`window.done`, 5*time.Second)
	if !pg.Fetched("/fetched.bin") {
		t.Errorf("request to /fetched.bin not recorded: %+v", pg.Requests())
	}
	if pg.Fetched(".wasm") {
		t.Errorf("a .wasm request recorded that never happened: %+v", pg.Requests())
	}
	unrecorded := RunPage(t, Modern, srv.URL)
	unrecorded.WaitFor(`window.done`, 5*time.Second)
	if n := len(unrecorded.Requests()); n != 0 {
		t.Errorf("page without RecordRequests recorded %d requests", n)
	}
	quiet := RunPage(t, Modern, srv.URL, QuietNetwork())
	quiet.WaitFor(`window.done`, 5*time.Second)
}

func TestHarnessAllowConsoleErrors(t *testing.T) {
	t.Parallel()
	srv := servePage(t, `<!doctype html><script>
console.error("reported");
setTimeout(function () { throw new Error("still fatal"); }, 50);
</script>`)
	rec := &errorRecorder{TB: t}
	t.Run("page", func(t *testing.T) {
		rec.TB = t
		pg := RunPage(rec, Modern, srv.URL, AllowConsoleErrors())
		pg.WaitFor(`(window.__t = (window.__t || 0) + 1) > 10`, 5*time.Second)
	})
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "still fatal") || strings.Contains(rec.errs[0], "reported") {
		t.Errorf("cleanup failures = %q, want one naming only the exception", rec.errs)
	}
}

// TestHarnessReportsLostPage crashes a page's renderer and closes another
// page's tab behind the harness's back: calls on either end at once with
// an error that wraps ErrPageLost and says why, and the test fails at
// cleanup even if it did not look. A call that outlives its caller's
// deadline says so, not "context canceled".
func TestHarnessReportsLostPage(t *testing.T) {
	t.Parallel()
	srv := servePage(t, `<!doctype html><p>here</p>`)
	for _, tc := range []struct {
		name string
		lose cdp.Command[cdp.Empty, cdp.Empty]
		want []string // one of them: the browser tells some losses twice, in either order
	}{
		{"crash", page.Crash, []string{"renderer crashed"}},
		{"close", page.Close, []string{"tab was closed", "DevTools detached"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &errorRecorder{TB: t}
			t.Run("page", func(t *testing.T) {
				rec.TB = t
				pg := RunPage(rec, Modern, srv.URL)
				ctx, cancel := context.WithTimeout(pg.Context(), EvalTimeout)
				defer cancel()
				// The crash ends the call that caused it, or not: only
				// what follows matters.
				_, _ = chromedp.Call(ctx, tc.lose, cdp.Empty{})
				began := time.Now()
				_, err := Evaluate[int](ctx, pg, `new Promise(function () {})`)
				if !errors.Is(err, ErrPageLost) || !containsAny(err.Error(), tc.want) {
					t.Errorf("Evaluate on the lost page: %v, want an error wrapping ErrPageLost that says one of %q", err, tc.want)
				}
				t.Logf("Evaluate on the lost page: %v", err)
				if d := time.Since(began); d > EvalTimeout/2 {
					t.Errorf("Evaluate on the lost page returned after %v", d)
				}
			})
			if len(rec.errs) != 1 || !containsAny(rec.errs[0], tc.want) {
				t.Errorf("cleanup failures = %q, want one saying one of %q", rec.errs, tc.want)
			}
		})
	}
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		pg := RunPage(t, Modern, srv.URL)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := Evaluate[int](ctx, pg, `new Promise(function () {})`)
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrPageLost) {
			t.Errorf("Evaluate past its deadline: %v, want context.DeadlineExceeded", err)
		}
	})
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

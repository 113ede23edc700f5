package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// Bounds of the page helpers. A test that needs a longer wait passes its own
// timeout to WaitFor, or its own context to Wait and Evaluate.
const (
	// NavigateTimeout bounds opening a tab and loading a page.
	NavigateTimeout = 15 * time.Second
	// EvalTimeout bounds one Eval.
	EvalTimeout = 10 * time.Second
	// pollInterval is how often Wait re-evaluates its condition: short
	// enough that a test waits for the browser, not for the poll.
	pollInterval = 20 * time.Millisecond
)

// ErrPageLost is wrapped by the error of a page call made after the page's
// renderer crashed or its tab went away without the test closing it. The
// error says why, as far as the browser told.
var ErrPageLost = errors.New("e2e: page lost")

// A Page is one browser tab, with its own browser context, on which a test
// runs. It records console errors, uncaught exceptions and (when asked)
// network requests; any console error or uncaught exception fails the test
// when the page is cleaned up, unless AllowErrors or AllowConsoleErrors
// says otherwise. A renderer crash, or the tab going away, ends every call
// on the page at once with an error that wraps ErrPageLost and says why,
// and fails the test.
type Page struct {
	t       testing.TB
	ctx     context.Context // the tab's chromedp context, ended with the loss as cause when the page is lost
	lose    context.CancelCauseFunc
	Profile Profile

	mu            sync.Mutex
	targetID      target.ID     // the tab's, to pick its own from the Target domain's events
	closing       bool          // close has begun: the tab going away is expected
	lost          []string      // why the page was lost, in the browser's words, in the order told
	crashed       bool          // Inspector.targetCrashed came
	status        chan struct{} // closed when Target.targetCrashed, with the termination status, came
	allowErrors   bool          // neither console errors nor exceptions fail the test
	allowConsole  bool          // console errors do not fail the test
	consoleErrors []string      // console.error and console.assert calls
	exceptions    []string      // uncaught exceptions
	console       []string      // every console call and exception, for the log of a failed test
	requests      []Request     // when recording
}

// A Request is one network request the page made, as the browser reported
// it just before sending.
type Request struct {
	URL    string
	Method string
	// Type is the resource type: "Document", "Script", "Fetch", "XHR",
	// "EventSource", "Other", ...
	Type string
}

// A PageOption changes how RunPage sets up a page.
type PageOption func(*pageConfig)

type pageConfig struct {
	allowErrors    bool
	allowConsole   bool
	recordRequests bool
	quietNetwork   bool
	scripts        []string
}

// AllowErrors lets console errors and uncaught exceptions happen without
// failing the test, for tests that provoke them. They are still recorded
// (see Page.Errors).
func AllowErrors() PageOption { return func(c *pageConfig) { c.allowErrors = true } }

// AllowConsoleErrors lets the page call console.error without failing the
// test, while uncaught exceptions still fail it. It suits tests that judge
// the page by what it does, where a library reporting a provoked failure on
// the console (as Chromium itself does for EventSource) is fine.
func AllowConsoleErrors() PageOption { return func(c *pageConfig) { c.allowConsole = true } }

// RecordRequests makes the page record every network request (see
// Page.Requests), so a test can assert what was, or was not, fetched.
func RecordRequests() PageOption { return func(c *pageConfig) { c.recordRequests = true } }

// QuietNetwork switches off the DevTools Network domain (chromedp enables it
// on every tab). With it on, Chromium sends the driver a protocol message per
// EventSource message, which skews throughput measurements. It cannot be
// combined with RecordRequests.
func QuietNetwork() PageOption { return func(c *pageConfig) { c.quietNetwork = true } }

// WithScript injects one more script before the page's own, after the
// profile's. Tests use it for instrumentation that must see the page from
// its first line, such as wrapping a constructor.
func WithScript(js string) PageOption {
	return func(c *pageConfig) { c.scripts = append(c.scripts, js) }
}

// RunPage opens url in a new tab under profile p and returns the loaded
// page. The tab is closed when the test ends. An empty url opens the tab on
// about:blank, for tests that navigate later.
func RunPage(t testing.TB, p Profile, url string, opts ...PageOption) *Page {
	t.Helper()
	var cfg pageConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.quietNetwork && cfg.recordRequests {
		t.Fatal("e2e: QuietNetwork and RecordRequests exclude each other")
	}
	parent := Browser(t)

	tab, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	// Page calls use a child of the tab's context, which a crash ends with
	// its reason as cause; ending it does not close the tab.
	ctx, lose := context.WithCancelCause(tab)
	pg := &Page{t: t, ctx: ctx, lose: lose, Profile: p, allowErrors: cfg.allowErrors, allowConsole: cfg.allowConsole,
		status: make(chan struct{})}
	t.Cleanup(func() { pg.close(cancel) })

	// Listen creates the tab, and creating a tab binds the tab's life to
	// the context of that first call, so the call gets the untimed context
	// and its bound comes from the side.
	if err := bounded(tab, NavigateTimeout, func() error {
		return chromedp.Listen(tab, pg.listen(cfg.recordRequests))
	}); err != nil {
		t.Fatalf("e2e: opening a tab: %v", err)
	}
	if c := chromedp.FromContext(tab); c != nil && c.Target != nil {
		pg.mu.Lock()
		pg.targetID = c.Target.TargetID
		pg.mu.Unlock()
	}
	if cfg.quietNetwork {
		if _, err := callTimeout(ctx, NavigateTimeout, network.Disable, cdp.Empty{}); err != nil {
			t.Fatalf("e2e: disabling the Network domain: %v", err)
		}
	}
	scripts := cfg.scripts
	if p.Script != "" {
		scripts = append([]string{p.Script}, scripts...)
	}
	for _, s := range scripts {
		if _, err := callTimeout(ctx, NavigateTimeout, page.AddScriptToEvaluateOnNewDocument,
			page.AddScriptToEvaluateOnNewDocumentParams{Source: s}); err != nil {
			t.Fatalf("e2e: injecting a script (%s profile): %v", p.Name, err)
		}
	}
	if url != "" {
		pg.Navigate(url)
	}
	return pg
}

// bounded runs f, which must be a chromedp call made with an untimed
// context, and gives up after d.
func bounded(ctx context.Context, d time.Duration, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		return fmt.Errorf("no answer after %v", d)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func callTimeout[P, R any](ctx context.Context, d time.Duration, cmd cdp.Command[P, R], params P) (R, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return chromedp.Call(ctx, cmd, params)
}

// listen returns the event handler of the tab. It runs on chromedp's read
// loop, in protocol order, so by the time a later command returns every
// event sent before its reply has been recorded: close relies on that.
func (pg *Page) listen(recordRequests bool) func(any) {
	return func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			msg := fmt.Sprintf("console.%s: %s", ev.Type, formatArgs(ev.Args))
			pg.mu.Lock()
			pg.console = append(pg.console, msg)
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				pg.consoleErrors = append(pg.consoleErrors, msg)
			}
			pg.mu.Unlock()
		case *runtime.EventExceptionThrown:
			msg := "uncaught: " + exceptionText(ev.ExceptionDetails)
			pg.mu.Lock()
			pg.console = append(pg.console, msg)
			pg.exceptions = append(pg.exceptions, msg)
			pg.mu.Unlock()
		case *inspector.EventTargetCrashed:
			pg.mu.Lock()
			pg.crashed = true
			pg.mu.Unlock()
			pg.markLost("the renderer crashed (Inspector.targetCrashed)")
		case *inspector.EventDetached:
			pg.markLost(fmt.Sprintf("DevTools detached from the tab (Inspector.detached: %s)", ev.Reason))
		// The tab's session discovers targets too (chromedp turns it on),
		// so it hears of every target: only its own count.
		case *target.EventTargetCrashed:
			if pg.isTarget(ev.TargetID) {
				pg.markLost(fmt.Sprintf("termination status %q, error code %d (Target.targetCrashed)", ev.Status, ev.ErrorCode))
				pg.mu.Lock()
				select {
				case <-pg.status:
				default:
					close(pg.status)
				}
				pg.mu.Unlock()
			}
		case *target.EventTargetDestroyed:
			if pg.isTarget(ev.TargetID) {
				pg.markLost("the tab was closed (Target.targetDestroyed)")
			}
		case *network.EventRequestWillBeSent:
			if !recordRequests || ev.Request == nil {
				return
			}
			pg.mu.Lock()
			pg.requests = append(pg.requests, Request{
				URL: ev.Request.URL, Method: ev.Request.Method, Type: string(ev.Type),
			})
			pg.mu.Unlock()
		}
	}
}

// markLost records why the page was lost and ends the calls on it, unless
// the test is closing the page itself. It runs on chromedp's read loops, so
// it only records and cancels.
func (pg *Page) markLost(why string) {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if pg.closing {
		return
	}
	pg.lost = append(pg.lost, why)
	pg.lose(fmt.Errorf("%w: %s", ErrPageLost, why))
}

func (pg *Page) isTarget(id target.ID) bool {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	return id != "" && id == pg.targetID
}

// crashStatusWait bounds how long Lost waits for a crash's termination
// status: the tab's session tells the crash (Inspector.targetCrashed) and
// then its status (Target.targetCrashed), which a call that the first ended
// may otherwise miss.
const crashStatusWait = time.Second

// Lost returns nil while the page lives, and once it is lost an error that
// wraps ErrPageLost and gives every reason the browser told.
func (pg *Page) Lost() error {
	pg.mu.Lock()
	crashed := pg.crashed
	pg.mu.Unlock()
	if crashed {
		select {
		case <-pg.status:
		case <-time.After(crashStatusWait):
		}
	}
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if len(pg.lost) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrPageLost, strings.Join(pg.lost, "; "))
}

// explain gives err, the error of a page call bounded by ctx, its cause: the
// page's loss, or ctx's own end (a deadline, say, which a call bounded
// through within would otherwise report as a bare "context canceled").
func (pg *Page) explain(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if lost := pg.Lost(); lost != nil {
		return fmt.Errorf("%w (%w)", lost, err)
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
		return fmt.Errorf("%w (%w)", cause, err)
	}
	return err
}

func formatArgs(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		var s string
		switch {
		case a == nil:
			continue
		case a.Type == runtime.RemoteObjectTypeString && len(a.Value) > 0:
			if json.Unmarshal(a.Value, &s) != nil {
				s = string(a.Value)
			}
		case len(a.Value) > 0:
			s = string(a.Value)
		case a.UnserializableValue != "":
			s = string(a.UnserializableValue)
		case a.Description != "":
			s = a.Description
		default:
			s = string(a.Type)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	s := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		s += " " + d.Exception.Description
	}
	if d.URL != "" {
		s += fmt.Sprintf(" (%s:%d:%d)", d.URL, d.LineNumber+1, d.ColumnNumber+1)
	}
	return s
}

// close checks the page's error record and closes the tab.
func (pg *Page) close(cancel context.CancelFunc) {
	// A round trip flushes the events the browser sent before it: errors
	// that happened just before the test ended still count.
	ctx, stop := context.WithTimeout(pg.ctx, 5*time.Second)
	_, _ = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`0`))
	stop()

	pg.mu.Lock()
	var errs []string
	if !pg.allowErrors {
		errs = append(errs, pg.exceptions...)
		if !pg.allowConsole {
			errs = append(errs, pg.consoleErrors...)
		}
	}
	console := pg.console
	pg.closing = true
	pg.mu.Unlock()
	if lost := pg.Lost(); lost != nil {
		pg.t.Errorf("%v", lost)
	}
	if len(errs) > 0 {
		pg.t.Errorf("e2e: page (%s profile) had %d console error(s) or uncaught exception(s):\n  %s",
			pg.Profile.Name, len(errs), strings.Join(errs, "\n  "))
	} else if pg.t.Failed() && len(console) > 0 {
		pg.t.Logf("e2e: console of the page (%s profile):\n  %s", pg.Profile.Name, strings.Join(console, "\n  "))
	}

	// Closing a tab normally takes milliseconds; do not let a wedged one
	// hold the test.
	done := make(chan struct{})
	go func() { cancel(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		pg.t.Logf("e2e: closing the tab took more than 10s; leaving it")
	}
}

// Context returns the tab's chromedp context, for chromedp actions the
// helpers do not cover. Derive timeouts from it; never cancel it.
func (pg *Page) Context() context.Context { return pg.ctx }

// Navigate loads url in the page and waits for its load event.
func (pg *Page) Navigate(url string) {
	pg.t.Helper()
	ctx, cancel := context.WithTimeout(pg.ctx, NavigateTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		pg.t.Fatalf("e2e: navigating to %s: %v", url, pg.explain(ctx, err))
	}
}

// AllowErrors switches off the error check for the rest of the page's
// life, for a test that decides only after opening the page that it will
// provoke errors.
func (pg *Page) AllowErrors() {
	pg.mu.Lock()
	pg.allowErrors = true
	pg.mu.Unlock()
}

// Errors returns the console errors and then the uncaught exceptions so far.
func (pg *Page) Errors() []string {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	return append(append([]string(nil), pg.consoleErrors...), pg.exceptions...)
}

// Requests returns the requests recorded so far (none unless the page was
// opened with RecordRequests).
func (pg *Page) Requests() []Request {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	return append([]Request(nil), pg.requests...)
}

// Fetched reports whether any recorded request's URL contains substr.
func (pg *Page) Fetched(substr string) bool {
	for _, r := range pg.Requests() {
		if strings.Contains(r.URL, substr) {
			return true
		}
	}
	return false
}

// Evaluate evaluates the JavaScript expression in the page and decodes its
// value (awaiting it when it is a promise) into a T. It is bounded by ctx,
// which need not be derived from the page's context.
func Evaluate[T any](ctx context.Context, pg *Page, expr string) (T, error) {
	tctx, cancel := pg.within(ctx)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	return v, pg.explain(ctx, err)
}

// within returns the tab's context, ended also when ctx ends (with ctx's
// cause), so callers may bound page calls with any context they have.
func (pg *Page) within(ctx context.Context) (context.Context, context.CancelFunc) {
	tctx, cancel := context.WithCancelCause(pg.ctx)
	stop := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	return tctx, func() { stop(); cancel(nil) }
}

// Eval is Evaluate bounded by EvalTimeout that fails the test on error.
func Eval[T any](pg *Page, expr string) T {
	pg.t.Helper()
	ctx, cancel := context.WithTimeout(pg.ctx, EvalTimeout)
	defer cancel()
	v, err := Evaluate[T](ctx, pg, expr)
	if err != nil {
		pg.t.Fatalf("e2e: evaluating %s: %v", expr, err)
	}
	return v
}

// Exec runs JavaScript in the page for its effect, failing the test on error.
func (pg *Page) Exec(js string) {
	pg.t.Helper()
	Eval[chromedp.Void](pg, js)
}

// Wait polls the JavaScript condition until it is truthy or ctx ends. A
// condition that throws counts as false, so a test can wait on state that a
// page script has not created yet; the last exception is in the error.
func (pg *Page) Wait(ctx context.Context, cond string) error {
	expr := "!!(" + cond + ")"
	var last error
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		ok, err := Evaluate[bool](ctx, pg, expr)
		if err == nil && ok {
			return nil
		}
		var exc *chromedp.ExceptionError
		switch {
		case err == nil:
		case errors.As(err, &exc):
			last = err
		case ctx.Err() != nil:
		default:
			return err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%w (last exception: %v)", ctx.Err(), last)
			}
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

// WaitFor waits up to timeout for the JavaScript condition to be truthy and
// fails the test when it is not. debug, when given, is an expression whose
// JSON value goes into the failure message (window.__log, say), so a failed
// wait shows what the page did instead.
func (pg *Page) WaitFor(cond string, timeout time.Duration, debug ...string) {
	pg.t.Helper()
	ctx, cancel := context.WithTimeout(pg.ctx, timeout)
	defer cancel()
	err := pg.Wait(ctx, cond)
	if err == nil {
		return
	}
	msg := fmt.Sprintf("e2e: waiting %v for %s: %v", timeout, cond, err)
	for _, d := range debug {
		dctx, dcancel := context.WithTimeout(pg.ctx, EvalTimeout)
		raw, derr := Evaluate[[]byte](dctx, pg, "JSON.stringify("+d+")")
		dcancel()
		if derr != nil {
			msg += fmt.Sprintf("\n  %s: (%v)", d, derr)
			continue
		}
		var s string
		_ = json.Unmarshal(raw, &s)
		msg += fmt.Sprintf("\n  %s = %s", d, s)
	}
	pg.t.Fatal(msg)
}

// TrackEventSources is a script for WithScript that records every
// EventSource the page creates in window.__e2eSources, so a test can wait
// for a page's stream to be OPEN before it publishes, instead of sleeping.
// It wraps whatever window.EventSource is when it runs (the native one under
// Modern); instances keep their prototype, so instanceof still holds.
const TrackEventSources = `(function (w) {
  var Native = w.EventSource;
  w.__e2eSources = [];
  if (!Native) return;
  function EventSource(url, init) {
    var es = arguments.length > 1 ? new Native(url, init) : new Native(url);
    w.__e2eSources.push(es);
    return es;
  }
  EventSource.prototype = Native.prototype;
  EventSource.CONNECTING = 0;
  EventSource.OPEN = 1;
  EventSource.CLOSED = 2;
  w.EventSource = EventSource;
})(window);`

// AnySourceOpen is a WaitFor condition: a tracked EventSource is OPEN.
const AnySourceOpen = `window.__e2eSources && window.__e2eSources.some(function (s) { return s.readyState === 1; })`

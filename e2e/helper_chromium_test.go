package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultChromium is where Debian's chromium package puts the browser.
// $CHROMIUM overrides it.
const DefaultChromium = "/usr/bin/chromium"

// browserStartTimeout bounds the launch of Chromium. A cold start on a slow
// two-core machine takes a second or two; anything near this bound is broken.
const browserStartTimeout = 30 * time.Second

// errNoChromium marks the one launch failure that may skip tests (outside
// CI): the browser is not installed. Every other launch failure fails them.
var errNoChromium = errors.New("chromium not found")

// browser is the one Chromium process that every test of the binary shares.
// Each page gets its own tab in its own browser context (an incognito-like
// profile), so cookies, cache and connections do not leak between tests that
// run in parallel.
var browser struct {
	once    sync.Once
	ctx     context.Context // the chromedp context that owns the process
	cancel  func()
	dataDir string
	log     *os.File // Chromium's output, when $E2E_CHROMIUM_LOG names a file
	err     error
}

// defaultParallel replaces go test's default -parallel (GOMAXPROCS) when the
// flag is not given: browser tests spend their time waiting on the browser
// and the network, not computing, so two cores run six tabs comfortably and
// the suite stays within its time budget.
const defaultParallel = "6"

// TestMain owns the resources that live as long as the test binary: the
// browser and the polysse binary built for [StartHub].
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", defaultParallel)
	}
	code := m.Run()
	stopBrowser()
	stopFirefox()
	removeHubBinary()
	os.Exit(code)
}

// chromiumPath returns the browser executable the suite uses.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return DefaultChromium
}

// Browser returns the shared browser context, launching Chromium on first
// use. Tests that only need the hub never pay for a browser. When Chromium
// is missing the test is skipped, or failed when $CI is set.
func Browser(t testing.TB) context.Context {
	t.Helper()
	browser.once.Do(startBrowser)
	switch {
	case browser.err == nil:
		return browser.ctx
	case errors.Is(browser.err, errNoChromium) && os.Getenv("CI") == "":
		t.Skipf("e2e: %v; install it with scripts/deps.sh or set $CHROMIUM (under CI this fails)", browser.err)
	default:
		t.Fatalf("e2e: %v", browser.err)
	}
	return nil
}

func startBrowser() {
	path := chromiumPath()
	if _, err := exec.LookPath(path); err != nil {
		browser.err = fmt.Errorf("%w at %s: %v", errNoChromium, path, err)
		return
	}
	dir, err := os.MkdirTemp("", "polysse-e2e-chromium-")
	if err != nil {
		browser.err = fmt.Errorf("chromium user-data dir: %w", err)
		return
	}
	browser.dataDir = dir

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		// QUIC is irrelevant on loopback and only adds background sockets.
		chromedp.Flag("disable-quic", true),
	)
	// $E2E_JS_FLAGS reaches V8, for measurements that ask what a V8 setting
	// a page cannot choose would change (--no-wasm-lazy-compilation, say).
	if f := os.Getenv("E2E_JS_FLAGS"); f != "" {
		opts = append(opts, chromedp.Flag("js-flags", f))
	}
	// $E2E_CHROMIUM_LOG names a file for Chromium's stdout and stderr, its
	// logging on: what the browser said when a renderer died (chromedp
	// discards the output otherwise).
	if p := os.Getenv("E2E_CHROMIUM_LOG"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			browser.err = fmt.Errorf("chromium log: %w", err)
			return
		}
		browser.log = f
		opts = append(opts, chromedp.CombinedOutput(f),
			chromedp.Flag("enable-logging", "stderr"), chromedp.Flag("v", "0"))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	browser.ctx = ctx
	browser.cancel = func() { cancelCtx(); cancelAlloc() }

	// The first Run binds the browser's life to its context, so it must get
	// the untimed context; the timeout is enforced from the side instead.
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(ctx) }()
	select {
	case err = <-done:
	case <-time.After(browserStartTimeout):
		err = fmt.Errorf("no answer after %v", browserStartTimeout)
	}
	if err != nil {
		browser.cancel()
		if browser.log != nil {
			browser.log.Close()
		}
		browser.err = fmt.Errorf("starting %s: %w", path, err)
	}
}

func stopBrowser() {
	if browser.cancel == nil {
		return
	}
	// Cancel closes the browser gracefully; bound it so a wedged browser
	// cannot hold the test binary.
	ctx, cancel := context.WithTimeout(browser.ctx, 10*time.Second)
	defer cancel()
	_ = chromedp.Cancel(ctx)
	browser.cancel() // waits for the process and its output
	if browser.log != nil {
		browser.log.Close()
	}
	if browser.dataDir != "" {
		os.RemoveAll(browser.dataDir)
	}
}

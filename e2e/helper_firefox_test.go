package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Real Firefox: Debian's firefox-esr, headless, driven over WebDriver BiDi
// by puppeteer-core through a small Node program (web/test/lib/firefox.mjs)
// that this file talks to in JSON lines. One Firefox serves the whole test
// binary, a tab per page, as one Chromium does.

// DefaultFirefox is the Firefox binary; $FIREFOX overrides it.
const DefaultFirefox = "/usr/bin/firefox-esr"

// firefoxDriverScript is the driver, relative to this package.
const firefoxDriverScript = "../web/test/lib/firefox.mjs"

var errNoFirefox = errors.New("firefox not found")

// ffDriver is the running driver.
type ffDriver struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	version string

	mu      sync.Mutex
	next    int
	waiting map[int]chan ffAnswer
	dead    error
}

type ffAnswer struct {
	ID    int             `json:"id"`
	Page  int             `json:"page"`
	Value json.RawMessage `json:"value"`
	Error string          `json:"error"`
	Ready string          `json:"ready"`
}

var firefox struct {
	once sync.Once
	d    *ffDriver
	err  error
}

// FirefoxDriver returns the shared Firefox driver, starting it on first use.
// When Firefox, Node or puppeteer-core is missing the test is skipped, or
// failed when $CI is set.
func FirefoxDriver(t testing.TB) *ffDriver {
	t.Helper()
	firefox.once.Do(startFirefox)
	switch {
	case firefox.err == nil:
		return firefox.d
	case errors.Is(firefox.err, errNoFirefox) && os.Getenv("CI") == "":
		t.Skipf("e2e: %v; install firefox-esr (scripts/deps.sh) and run npm ci in web/ (under CI this fails)", firefox.err)
	default:
		t.Fatalf("e2e: %v", firefox.err)
	}
	return nil
}

func startFirefox() {
	bin := DefaultFirefox
	if p := os.Getenv("FIREFOX"); p != "" {
		bin = p
	}
	if _, err := exec.LookPath(bin); err != nil {
		firefox.err = fmt.Errorf("%w at %s: %v", errNoFirefox, bin, err)
		return
	}
	node, err := exec.LookPath("node")
	if err != nil {
		firefox.err = fmt.Errorf("%w: node is needed to drive it: %v", errNoFirefox, err)
		return
	}
	script, _ := filepath.Abs(firefoxDriverScript)
	if _, err := os.Stat(filepath.Join(filepath.Dir(script), "../../node_modules/puppeteer-core")); err != nil {
		firefox.err = fmt.Errorf("%w: puppeteer-core is not installed in web/node_modules (npm ci)", errNoFirefox)
		return
	}
	cmd := exec.Command(node, script)
	cmd.Env = append(os.Environ(), "FIREFOX="+bin)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		firefox.err = err
		return
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		firefox.err = err
		return
	}
	if err := cmd.Start(); err != nil {
		firefox.err = fmt.Errorf("starting the Firefox driver: %w", err)
		return
	}
	d := &ffDriver{cmd: cmd, in: in, waiting: map[int]chan ffAnswer{}}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	ready := make(chan error, 1)
	go func() {
		first := true
		for sc.Scan() {
			var a ffAnswer
			if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
				continue
			}
			if first {
				first = false
				if a.Error != "" {
					ready <- errors.New(a.Error)
					return
				}
				d.version = a.Ready
				ready <- nil
				continue
			}
			d.mu.Lock()
			ch := d.waiting[a.ID]
			delete(d.waiting, a.ID)
			d.mu.Unlock()
			if ch != nil {
				ch <- a
			}
		}
		d.mu.Lock()
		d.dead = errors.New("the Firefox driver exited")
		for id, ch := range d.waiting {
			close(ch)
			delete(d.waiting, id)
		}
		d.mu.Unlock()
		if first {
			ready <- errors.New("the Firefox driver exited before Firefox ran")
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			firefox.err = err
			return
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		firefox.err = errors.New("Firefox did not start within 60s")
		return
	}
	firefox.d = d
}

// stopFirefox ends the driver, which closes Firefox (TestMain).
func stopFirefox() {
	if d := firefox.d; d != nil {
		d.in.Close()
		done := make(chan struct{})
		go func() { d.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			d.cmd.Process.Kill()
			<-done
		}
	}
}

// call sends one request and waits for its answer.
func (d *ffDriver) call(ctx context.Context, req map[string]any) (ffAnswer, error) {
	d.mu.Lock()
	if d.dead != nil {
		d.mu.Unlock()
		return ffAnswer{}, d.dead
	}
	d.next++
	id := d.next
	ch := make(chan ffAnswer, 1)
	d.waiting[id] = ch
	req["id"] = id
	b, _ := json.Marshal(req)
	_, err := d.in.Write(append(b, '\n'))
	d.mu.Unlock()
	if err != nil {
		return ffAnswer{}, fmt.Errorf("firefox driver: %w", err)
	}
	select {
	case a, ok := <-ch:
		if !ok {
			return ffAnswer{}, errors.New("the Firefox driver exited")
		}
		if a.Error != "" {
			return a, fmt.Errorf("firefox: %s", a.Error)
		}
		return a, nil
	case <-ctx.Done():
		d.mu.Lock()
		delete(d.waiting, id)
		d.mu.Unlock()
		return ffAnswer{}, ctx.Err()
	}
}

// ffPage is one Firefox tab.
type ffPage struct {
	t  testing.TB
	d  *ffDriver
	id int
}

// OpenFirefox opens url in a new Firefox tab, closed when the test ends.
func OpenFirefox(t testing.TB, url string) *ffPage {
	t.Helper()
	d := FirefoxDriver(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	a, err := d.call(ctx, map[string]any{"op": "open", "url": url})
	if err != nil {
		t.Fatalf("e2e: opening %s in Firefox: %v", url, err)
	}
	p := &ffPage{t: t, d: d, id: a.Page}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d.call(ctx, map[string]any{"op": "close", "page": p.id})
	})
	return p
}

// eval evaluates expr in the page and returns its value as JSON.
func (p *ffPage) eval(ctx context.Context, expr string) (json.RawMessage, error) {
	a, err := p.d.call(ctx, map[string]any{"op": "eval", "page": p.id, "expr": expr})
	return a.Value, err
}

// jsPage is what the browser-independent tests need of a page: Chromium's
// (*Page) or Firefox's (*ffPage).
type jsPage interface {
	eval(ctx context.Context, expr string) (json.RawMessage, error)
}

func (pg *Page) eval(ctx context.Context, expr string) (json.RawMessage, error) {
	return Evaluate[json.RawMessage](ctx, pg, expr)
}

// evalAs evaluates expr and decodes its value into T, failing the test on
// an error.
func evalAs[T any](t testing.TB, p jsPage, expr string) T {
	t.Helper()
	var v T
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	raw, err := p.eval(ctx, expr)
	if err == nil {
		err = json.Unmarshal(raw, &v)
	}
	if err != nil {
		t.Fatalf("e2e: evaluating %s: %v", expr, err)
	}
	return v
}

// waitTrue polls cond until it is true or ctx ends.
func waitTrue(ctx context.Context, p jsPage, cond string) error {
	for {
		raw, err := p.eval(ctx, "!!("+cond+")")
		if err == nil && string(raw) == "true" {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%s: %w (last error: %v)", cond, ctx.Err(), err)
			}
			return fmt.Errorf("%s: %w", cond, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

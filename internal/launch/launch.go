// Package launch runs the processes that polysse's tests and load tests
// start beside themselves — the polysse binary, redis-server, nginx, the
// peer servers of the load test — and owns their lifetime: it starts one
// with its arguments and environment, keeps what it writes for failure
// messages, waits until it is ready (a TCP port, an HTTP endpoint, a line
// of its output), and stops it, gracefully and then forcibly.
//
// A process never outlives what started it: the context given to [Start]
// ends it (stop signal, then SIGKILL), [StartTest] stops it when the test
// ends, and on Linux the kernel kills it when the starting process dies
// (Pdeathsig), so that a test binary killed by its timeout leaves no server
// behind.
//
// What a process writes is kept in a [Buffer], a writer that concurrent
// writers and readers share; tests use one for any log they print when
// they fail.
//
// Ports are picked by asking the kernel for a free one ([FreeAddr]); as
// another process can take it before the child binds it, [OnFreeAddr] tries
// again with another when the start fails with [ErrAddrInUse].
//
// The package is for the repository's own tests and tools (e2e/, loadtest/,
// server/store/redisstore/redistest); it is internal so that its API can
// follow them.
package launch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Defaults of a [Spec]'s bounds.
const (
	// DefaultReadyTimeout bounds the wait for Spec.Ready.
	DefaultReadyTimeout = 10 * time.Second
	// DefaultStopTimeout is how long a process gets to exit after its stop
	// signal before it is killed.
	DefaultStopTimeout = 5 * time.Second
	// OutputLimit is how much of a process's output Output returns: the
	// last bytes, which are the ones a failure message needs.
	OutputLimit = 1 << 20
	// probeInterval is the pause between two readiness probes.
	probeInterval = 20 * time.Millisecond
)

// Errors that [Start], [Process.Stop] and [OnFreeAddr] wrap, to be told
// apart with errors.Is.
var (
	// ErrExited: the process exited before it was ready.
	ErrExited = errors.New("exited before it was ready")
	// ErrAddrInUse: the process exited before it was ready, saying that
	// its address was already in use (another process took the port first).
	ErrAddrInUse = errors.New("address already in use")
	// ErrNotReady: the process was not ready within Spec.ReadyTimeout.
	ErrNotReady = errors.New("not ready in time")
	// ErrKilled: the process did not exit on its stop signal within
	// Spec.StopTimeout, and was killed.
	ErrKilled = errors.New("ignored its stop signal and was killed")
)

// A Probe reports whether a started process is ready: nil when it is. Start
// calls it until it returns nil, the process exits or Spec.ReadyTimeout
// passes; ctx ends with that bound.
type Probe func(ctx context.Context) error

// Spec describes a process to start.
type Spec struct {
	// Name names the process in messages; the base name of Path when empty.
	Name string
	// Path is the program to run, a path or a name looked up in PATH.
	Path string
	// Args are its arguments, without the program name.
	Args []string
	// Env is added to this process's environment (a later value of a name
	// wins); nil runs it in this process's environment.
	Env []string
	// Dir is its working directory; empty for this process's.
	Dir string
	// Log, when not nil, receives a copy of everything the process writes
	// to stdout and stderr, as it comes (a load test's log file).
	Log io.Writer

	// Ready tells when the process is ready; nil: once it runs.
	Ready Probe
	// ReadyTimeout bounds the wait for Ready; DefaultReadyTimeout when 0.
	ReadyTimeout time.Duration

	// StopSignal asks the process to stop; SIGTERM when nil.
	StopSignal os.Signal
	// StopTimeout is how long it gets to exit after StopSignal before it
	// is killed; DefaultStopTimeout when 0.
	StopTimeout time.Duration
	// StrictStop makes a test that StartTest ran the process for fail when
	// the process had to be killed at the end: for the program under test,
	// whose graceful shutdown is part of what the tests check.
	StrictStop bool
}

// A Process is a started process. Its methods are safe for concurrent use.
type Process struct {
	name        string
	cmd         *exec.Cmd
	out         *Buffer
	stopSignal  os.Signal
	stopTimeout time.Duration
	done        chan struct{} // closed once the process has been waited for
	waitErr     error         // what cmd.Wait returned; read after done
}

// Start starts the process spec describes and waits until it is ready. ctx
// bounds the process's life: when ctx ends, the process gets its stop
// signal and, after StopTimeout, SIGKILL. When the process is not ready (it
// exited, or Ready kept failing for ReadyTimeout) Start kills it and
// returns an error that wraps ErrExited, ErrAddrInUse or ErrNotReady and
// holds the process's output.
func Start(ctx context.Context, spec Spec) (*Process, error) {
	name := spec.Name
	if name == "" {
		name = filepath.Base(spec.Path)
	}
	p := &Process{
		name:        name,
		out:         &Buffer{copyTo: spec.Log},
		stopSignal:  orDefault(spec.StopSignal, os.Signal(syscall.SIGTERM)),
		stopTimeout: orDefault(spec.StopTimeout, DefaultStopTimeout),
		done:        make(chan struct{}),
	}
	cmd := exec.CommandContext(ctx, spec.Path, spec.Args...)
	if spec.Env != nil {
		cmd.Env = append(os.Environ(), spec.Env...)
	}
	cmd.Dir = spec.Dir
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = sysProcAttr()
	// When ctx ends: the stop signal, and SIGKILL once StopTimeout has
	// passed. WaitDelay also bounds the wait for output pipes that a
	// child of the process may hold after it exited.
	cmd.Cancel = func() error { return cmd.Process.Signal(p.stopSignal) }
	cmd.WaitDelay = p.stopTimeout
	p.cmd = cmd
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("launch: starting %s: %w", name, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	if spec.Ready == nil {
		return p, nil
	}
	if err := p.waitReady(ctx, spec.Ready, orDefault(spec.ReadyTimeout, DefaultReadyTimeout)); err != nil {
		_ = p.Kill(context.Background())
		return nil, err
	}
	return p, nil
}

// orDefault returns v, or def when v is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// waitReady calls ready until it returns nil, the process exits or timeout
// passes.
func (p *Process) waitReady(ctx context.Context, ready Probe, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(probeInterval)
	defer tick.Stop()
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			if strings.Contains(strings.ToLower(p.Output()), "address already in use") {
				return fmt.Errorf("launch: %s: %w (%v); output:\n%s", p.name, ErrAddrInUse, p.cmd.ProcessState, p.Output())
			}
			return fmt.Errorf("launch: %s %w (%v); output:\n%s", p.name, ErrExited, p.cmd.ProcessState, p.Output())
		case <-ctx.Done():
			return fmt.Errorf("launch: %s %w: %v after %v; output:\n%s", p.name, ErrNotReady, err, timeout, p.Output())
		case <-tick.C:
		}
	}
}

// StartTest starts the process as Start does for the test of tb, which it
// outlives by no more than its stop: when the test ends the process is
// stopped (a failure of the test if it had to be killed and spec.StrictStop
// is set), and its output goes to the test's log if the test failed. The
// error is Start's; what to do with it (fail, skip, try another port) is the
// caller's.
func StartTest(tb testing.TB, spec Spec) (*Process, error) {
	tb.Helper()
	// Not tb.Context(): it ends before the cleanups run, which would kill
	// the process behind the back of the stop below, and of any cleanup
	// registered later that still needs it.
	p, err := Start(context.Background(), spec)
	if err != nil {
		return nil, err
	}
	tb.Cleanup(func() {
		if err := p.Stop(context.Background()); err != nil && spec.StrictStop {
			tb.Errorf("%v", err)
		}
		if tb.Failed() {
			tb.Logf("launch: %s output:\n%s", p.name, p.Output())
		}
	})
	return p, nil
}

// Name is the process's name in messages.
func (p *Process) Name() string { return p.name }

// Pid is the process's id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Output returns what the process wrote to stdout and stderr so far (the
// last OutputLimit bytes of it).
func (p *Process) Output() string { return p.out.String() }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for the process to exit and returns what exec.Cmd.Wait
// returned (nil for status 0, unless the end of Start's context stopped
// it), or ctx's error if ctx ends first.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.waitErr
	case <-ctx.Done():
		return fmt.Errorf("launch: waiting for %s: %w", p.name, ctx.Err())
	}
}

// Signal sends sig to the process; signalling one that has exited does
// nothing.
func (p *Process) Signal(sig os.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("launch: %v to %s: %w", sig, p.name, err)
	}
	return nil
}

// Stop sends the stop signal and waits for the process to exit; when it
// has not within StopTimeout, or ctx ends first, it kills the process and
// returns an error wrapping ErrKilled. Stopping a process that has exited
// does nothing.
func (p *Process) Stop(ctx context.Context) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.Signal(p.stopSignal); err != nil {
		return err
	}
	timer := time.NewTimer(p.stopTimeout)
	defer timer.Stop()
	waited := p.stopTimeout
	select {
	case <-p.done:
		return nil
	case <-timer.C:
	case <-ctx.Done():
		waited = 0 // the caller's bound, not the process's
	}
	if err := p.Kill(context.Background()); err != nil {
		return err
	}
	if waited == 0 {
		return fmt.Errorf("launch: %s %w (%v): %w", p.name, ErrKilled, p.stopSignal, ctx.Err())
	}
	return fmt.Errorf("launch: %s %w (%v, waited %v)", p.name, ErrKilled, p.stopSignal, waited)
}

// Kill ends the process at once (SIGKILL), as a crash would, and waits
// until it has exited or ctx ends.
func (p *Process) Kill(ctx context.Context) error {
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("launch: %s still running after SIGKILL: %w", p.name, ctx.Err())
	}
}

// WaitLine waits for a line of the process's output (from its start, as
// far as OutputLimit keeps it) for which match is true, and returns it
// without its line ending. It fails when the process exits or ctx ends
// first; the error does not hold the output, which Output returns.
func (p *Process) WaitLine(ctx context.Context, match func(line string) bool) (string, error) {
	var from int64
	for {
		line, next, changed := p.out.scan(from, match)
		if line != "" {
			return line, nil
		}
		from = next
		select {
		case <-changed:
		case <-p.done:
			// What it wrote last may have come with its exit.
			if line, _, _ := p.out.scan(from, match); line != "" {
				return line, nil
			}
			return "", fmt.Errorf("launch: %s exited (%v) before writing the line awaited", p.name, p.cmd.ProcessState)
		case <-ctx.Done():
			return "", fmt.Errorf("launch: waiting for a line of %s: %w", p.name, ctx.Err())
		}
	}
}

// TCP is a Probe that is ready once addr (host:port) accepts a connection.
func TCP(addr string) Probe {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// HTTP is a Probe that is ready once a GET of url answers 200.
func HTTP(url string) Probe {
	client := &http.Client{Timeout: time.Second}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, res.Status)
		}
		return nil
	}
}

// FreeAddr returns an address of 127.0.0.1, "127.0.0.1:PORT", whose port
// nothing listens on now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("launch: finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// FreePort returns a port of 127.0.0.1 that nothing listens on now.
func FreePort() (int, error) {
	addr, err := FreeAddr()
	if err != nil {
		return 0, err
	}
	_, port, _ := net.SplitHostPort(addr)
	return strconv.Atoi(port)
}

// OnFreeAddr calls start with a free address of 127.0.0.1 and returns what
// it returns, unless its error wraps ErrAddrInUse: then the port was taken
// between FreeAddr and the process binding it, and it tries another, up to
// attempts times in all.
func OnFreeAddr[T any](attempts int, start func(addr string) (T, error)) (T, error) {
	var zero T
	err := errors.New("launch: OnFreeAddr: no attempt")
	for range attempts {
		var addr string
		if addr, err = FreeAddr(); err != nil {
			return zero, err
		}
		var v T
		if v, err = start(addr); !errors.Is(err, ErrAddrInUse) {
			return v, err
		}
	}
	return zero, err
}

// A Buffer is a writer that keeps the last bytes written to it (at least
// OutputLimit, at most twice that) for concurrent writers and readers: what
// a Process keeps of its output, and as well any other log that a test
// reads or prints when it fails. Its zero value is ready to use.
type Buffer struct {
	// copyTo, when not nil, receives a copy of every write (Spec.Log).
	copyTo io.Writer

	mu      sync.Mutex
	buf     []byte
	dropped int64         // bytes dropped from the front of buf
	changed chan struct{} // closed at the next write; nil when nobody waits
}

// Write keeps p.
func (b *Buffer) Write(p []byte) (int, error) {
	if b.copyTo != nil {
		// A failing log must not stop the process's output.
		_, _ = b.copyTo.Write(p)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	// Trimmed to OutputLimit only once it holds twice that, so that a
	// chatty writer does not cost a copy of the whole tail per write.
	if over := len(b.buf) - OutputLimit; len(b.buf) > 2*OutputLimit {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.dropped += int64(over)
	}
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return len(p), nil
}

// String returns the last OutputLimit bytes written.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf[max(0, len(b.buf)-OutputLimit):])
}

// scan looks for a whole line at or after offset from (counted from the
// first byte ever written) for which match is true. It returns the line,
// or "" and the offset to go on from with a channel closed at the next
// write.
func (b *Buffer) scan(from int64, match func(string) bool) (line string, next int64, changed <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := max(from-b.dropped, 0)
	for {
		end := bytes.IndexByte(b.buf[i:], '\n')
		if end < 0 {
			if b.changed == nil {
				b.changed = make(chan struct{})
			}
			return "", b.dropped + i, b.changed
		}
		l := strings.TrimSuffix(string(b.buf[i:i+int64(end)]), "\r")
		if match(l) {
			return l, 0, nil
		}
		i += int64(end) + 1
	}
}

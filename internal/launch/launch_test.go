package launch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// helperEnv names the variable that makes this test binary a child process
// of the tests (TestMain): its value is what the child does, its first
// argument an address where that needs one.
const helperEnv = "LAUNCH_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// helper is the child's main:
//
//	serve ADDR        listen on ADDR, answer /healthz, say "listening ADDR", exit 0 on SIGTERM
//	stubborn          say "started", ignore SIGTERM
//	exit              say "bye" and exit 3
//	inuse ADDR        fail to bind as a server does when ADDR is taken
//	silent            run and say nothing until SIGTERM
//	env NAME          print the value of $NAME, then wait for SIGTERM
func helper(mode string, args []string) int {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	switch mode {
	case "serve":
		ln, err := net.Listen("tcp", args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(http.ResponseWriter, *http.Request) {})
		go http.Serve(ln, mux)
		fmt.Println("noise")
		fmt.Println("listening", ln.Addr())
		<-term
		fmt.Println("stopping")
		return 0
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("started")
		select {}
	case "exit":
		fmt.Fprintln(os.Stderr, "bye")
		return 3
	case "inuse":
		fmt.Fprintf(os.Stderr, "listen tcp %s: bind: Address already in use\n", args[0])
		return 1
	case "silent":
		<-term
		return 0
	case "env":
		fmt.Println(os.Getenv(args[0]))
		<-term
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown mode", mode)
	return 2
}

// child is the spec of a helper child. Under -race the child would sleep a
// second at its exit (the race detector's atexit_sleep_ms), longer than
// the stop timeouts of these tests.
func child(mode string, args ...string) Spec {
	return Spec{Name: "helper-" + mode, Path: os.Args[0], Args: args, Env: []string{helperEnv + "=" + mode, "GORACE=atexit_sleep_ms=0"}}
}

// awaitSignals waits until the child has set up its signal handling: it
// says so by its first line ("started", or "listening ADDR" after "noise").
func awaitSignals(t *testing.T, p *Process) {
	t.Helper()
	if _, err := p.WaitLine(t.Context(), func(l string) bool { return l == "started" || strings.HasPrefix(l, "listening ") }); err != nil {
		t.Fatal(err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestStartReady(t *testing.T) {
	addr := freeAddr(t)
	cases := []struct {
		name  string
		spec  Spec
		probe Probe
	}{
		{"no probe", child("serve", "127.0.0.1:0"), nil},
		{"TCP", child("serve", addr), TCP(addr)},
		{"HTTP", child("serve", addr), HTTP("http://" + addr + "/healthz")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := c.spec
			spec.Ready = c.probe
			p, err := Start(t.Context(), spec)
			if err != nil {
				t.Fatal(err)
			}
			awaitSignals(t, p)
			if c.probe != nil {
				if err := c.probe(t.Context()); err != nil {
					t.Errorf("ready, but the probe fails now: %v", err)
				}
			}
			if err := p.Stop(t.Context()); err != nil {
				t.Fatalf("stop: %v", err)
			}
			if err := p.Wait(t.Context()); err != nil {
				t.Errorf("exit after SIGTERM: %v, want status 0", err)
			}
			if out := p.Output(); !strings.Contains(out, "stopping") {
				t.Errorf("output %q lacks what the child wrote at its stop", out)
			}
		})
	}
}

func TestStartFails(t *testing.T) {
	addr := freeAddr(t)
	cases := []struct {
		name    string
		spec    Spec
		want    error
		wantOut string
	}{
		{"exits", child("exit"), ErrExited, "bye"},
		{"address in use", child("inuse", addr), ErrAddrInUse, "Address already in use"},
		{"never ready", child("silent"), ErrNotReady, ""},
		{"no such program", Spec{Path: "/nonexistent/launch-test"}, os.ErrNotExist, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := c.spec
			spec.Ready = TCP(addr) // nothing listens there
			spec.ReadyTimeout = 500 * time.Millisecond
			p, err := Start(t.Context(), spec)
			if !errors.Is(err, c.want) {
				t.Fatalf("Start: %v, want %v", err, c.want)
			}
			if p != nil {
				t.Errorf("a process returned with the error")
			}
			if !strings.Contains(err.Error(), c.wantOut) {
				t.Errorf("error %q does not hold the output %q", err, c.wantOut)
			}
		})
	}
}

// TestStop: a process asked to stop, by Stop or by the end of the context
// given to Start, gets its stop signal, and SIGKILL when it ignores that
// for StopTimeout.
func TestStop(t *testing.T) {
	cases := []struct {
		name   string
		mode   string
		byCtx  bool  // cancel Start's context rather than call Stop
		want   error // from Stop
		status string
	}{
		{"Stop, honoured", "serve", false, nil, "exit status 0"},
		{"Stop, ignored", "stubborn", false, ErrKilled, "signal: killed"},
		{"context, honoured", "serve", true, nil, "exit status 0"},
		{"context, ignored", "stubborn", true, nil, "signal: killed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			spec := child(c.mode, "127.0.0.1:0")
			spec.StopTimeout = 300 * time.Millisecond
			p, err := Start(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			awaitSignals(t, p)
			if c.byCtx {
				cancel()
				select {
				case <-p.Done():
				case <-time.After(5 * time.Second):
					t.Fatal("the process outlived its context")
				}
			} else if err := p.Stop(t.Context()); !errors.Is(err, c.want) {
				t.Fatalf("Stop: %v, want %v", err, c.want)
			}
			select {
			case <-p.Done():
			default:
				t.Fatal("Stop returned with the process running")
			}
			if st := p.cmd.ProcessState.String(); st != c.status {
				t.Errorf("ended with %q, want %q", st, c.status)
			}
			if err := p.Stop(t.Context()); err != nil {
				t.Errorf("second Stop: %v, want nothing to do", err)
			}
		})
	}
}

// TestStartTest: the process of a test is stopped when the test ends, and
// StrictStop makes a kill at the end a failure.
func TestStartTest(t *testing.T) {
	cases := []struct {
		mode       string
		strict     bool
		wantFailed bool
	}{
		{"serve", true, false},
		{"stubborn", false, false},
		{"stubborn", true, true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s strict=%v", c.mode, c.strict), func(t *testing.T) {
			spec := child(c.mode, "127.0.0.1:0")
			spec.StopTimeout, spec.StrictStop = 300*time.Millisecond, c.strict
			tb := &recordingTB{TB: t}
			p, err := StartTest(tb, spec)
			if err != nil {
				t.Fatal(err)
			}
			awaitSignals(t, p)
			tb.runCleanups()
			select {
			case <-p.Done():
			default:
				t.Fatal("the process outlived its test")
			}
			if tb.failed != c.wantFailed {
				t.Errorf("test failed: %v, want %v (%q)", tb.failed, c.wantFailed, tb.errors)
			}
		})
	}
}

// recordingTB runs its cleanups when told, and records failures rather
// than failing the real test.
type recordingTB struct {
	testing.TB
	cleanups []func()
	failed   bool
	errors   []string
}

func (r *recordingTB) Cleanup(f func())                { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Failed() bool                    { return r.failed }
func (r *recordingTB) Logf(format string, args ...any) {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.failed = true
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingTB) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func TestWaitLine(t *testing.T) {
	spec := child("env", "LAUNCH_TEST_VALUE")
	spec.Env = append(spec.Env, "LAUNCH_TEST_VALUE=hello from the environment")
	cases := []struct {
		name  string
		match func(string) bool
		want  string
		fails bool
	}{
		{"a line written", func(l string) bool { return strings.HasPrefix(l, "hello") }, "hello from the environment", false},
		{"a line never written", func(l string) bool { return l == "never" }, "", true},
	}
	p, err := Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(t.Context())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			got, err := p.WaitLine(ctx, c.match)
			if (err != nil) != c.fails || got != c.want {
				t.Fatalf("WaitLine: %q, %v; want %q, failing: %v", got, err, c.want, c.fails)
			}
		})
	}
}

func TestOnFreeAddr(t *testing.T) {
	other := errors.New("another failure")
	cases := []struct {
		name      string
		attempts  int
		errs      []error // what each call returns
		wantCalls int
		want      error
	}{
		{"first free", 3, []error{nil}, 1, nil},
		{"taken twice", 3, []error{ErrAddrInUse, ErrAddrInUse, nil}, 3, nil},
		{"always taken", 3, []error{ErrAddrInUse, ErrAddrInUse, ErrAddrInUse}, 3, ErrAddrInUse},
		{"another failure stops", 3, []error{fmt.Errorf("wrapped: %w", other)}, 1, other},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var calls atomic.Int32
			got, err := OnFreeAddr(c.attempts, func(addr string) (string, error) {
				if host, _, err := net.SplitHostPort(addr); err != nil || host != "127.0.0.1" {
					t.Errorf("address %q is not a loopback host:port", addr)
				}
				n := calls.Add(1)
				return addr, c.errs[n-1]
			})
			if int(calls.Load()) != c.wantCalls || !errors.Is(err, c.want) {
				t.Fatalf("%d calls, %v; want %d, %v", calls.Load(), err, c.wantCalls, c.want)
			}
			if err == nil && got == "" {
				t.Errorf("no value without an error")
			}
		})
	}
}

func TestFreePort(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("port %d is not free: %v", port, err)
	}
	ln.Close()
}

// TestBufferKeepsTheTail: past OutputLimit the oldest bytes go (from what
// Output returns at once, from memory at twice the limit), and lines are
// found across writes.
func TestBufferKeepsTheTail(t *testing.T) {
	cases := []struct {
		name    string
		writes  []string
		want    string // suffix of what is kept
		wantLen int
		line    string // a whole line to find; "" for none
	}{
		{"short", []string{"a\n", "b"}, "a\nb", 3, "a"},
		{"line across writes", []string{"lis", "tening x\n"}, "listening x\n", 12, "listening x"},
		{"over the limit", []string{strings.Repeat("x", OutputLimit), "\ntail\n"}, "\ntail\n", OutputLimit, "tail"},
		{"over twice the limit", []string{strings.Repeat("x", 2*OutputLimit), "\ntail\n"}, "\ntail\n", OutputLimit, "tail"},
		{"no line end", []string{"partial"}, "partial", 7, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var o Buffer
			for _, w := range c.writes {
				o.Write([]byte(w))
			}
			s := o.String()
			if len(s) != c.wantLen || !strings.HasSuffix(s, c.want) {
				t.Errorf("kept %d bytes ending %q, want %d ending %q", len(s), s[max(0, len(s)-20):], c.wantLen, c.want)
			}
			line, _, _ := o.scan(0, func(l string) bool { return !strings.HasPrefix(l, "xxx") })
			if line != c.line {
				t.Errorf("line %q, want %q", line, c.line)
			}
		})
	}
}

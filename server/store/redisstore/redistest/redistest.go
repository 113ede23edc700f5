// Package redistest runs a real redis-server for tests: on a free port of
// 127.0.0.1, in a temporary directory, stopped when the test ends.
//
//	func TestSomething(t *testing.T) {
//		srv := redistest.Start(t)
//		l, err := redisstore.Open(t.Context(), srv.URL(), store.Bounds{})
//		...
//	}
//
// Start runs $REDIS_SERVER if set, else redis-server from PATH, else
// /usr/bin/redis-server. When there is none, Start skips the test with a
// message saying how to install it, unless the environment variable CI is
// set: then it fails the test, so that a CI machine without Redis does not
// pass by skipping. `make deps` installs it (Debian's redis-server). The
// process is run by internal/launch, as every process the tests start.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/polysse/polysse/internal/launch"
)

// Binary is the redis-server that Start runs when it is not on PATH.
const Binary = "/usr/bin/redis-server"

// EnvBinary names the environment variable that, when set, is the path of
// the redis-server to run instead of looking for one.
const EnvBinary = "REDIS_SERVER"

func findBinary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvBinary, p, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	if _, err := exec.LookPath(Binary); err == nil {
		return Binary, nil
	}
	return "", errors.New("redis-server is not installed")
}

// How long a server may take to start answering, and to stop.
const (
	startTimeout = 10 * time.Second
	stopTimeout  = 10 * time.Second
)

// Server is a redis-server run for a test. Its methods fail the test they
// were started for when something goes wrong; they are safe for concurrent
// use.
type Server struct {
	tb   testing.TB
	bin  string
	dir  string
	port int
	args []string
	// sentinelConf is a Sentinel's config file, which redis-server rewrites;
	// empty for a data server.
	sentinelConf string

	mu   sync.Mutex
	proc *launch.Process // the running process; nil when stopped
}

// Start starts a redis-server and stops it when tb's test ends. The server
// saves nothing by itself (--save "" --appendonly no): Stop saves its data
// set to its directory and Restart loads it, so a stopped and restarted
// server has the data it had. args are more redis-server arguments, such as
// "--maxmemory", "10mb".
func Start(tb testing.TB, args ...string) *Server {
	tb.Helper()
	return start(tb, "", args)
}

// StartSentinel starts a Redis Sentinel (redis-server --sentinel) that
// monitors master under name, with a quorum of one, and stops it when tb's
// test ends. Its URL is a redis:// URL; clients name the master themselves.
func StartSentinel(tb testing.TB, master *Server, name string, args ...string) *Server {
	tb.Helper()
	conf := filepath.Join(tb.TempDir(), "sentinel.conf")
	host, port, _ := net.SplitHostPort(master.Addr())
	text := fmt.Sprintf("sentinel monitor %s %s %s 1\nsentinel down-after-milliseconds %s 1000\n", name, host, port, name)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	return start(tb, conf, args)
}

func start(tb testing.TB, sentinelConf string, args []string) *Server {
	tb.Helper()
	bin, err := findBinary()
	if err != nil {
		msg := err.Error() + " (Debian: apt-get install redis-server, or make deps)"
		if os.Getenv("CI") != "" {
			tb.Fatalf("redistest: %s; CI is set, so this fails instead of skipping", msg)
		}
		tb.Skip("redistest: " + msg + "; skipping")
	}
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir(), args: args, sentinelConf: sentinelConf}
	// A free port can be taken between finding it and the server binding
	// it: OnFreeAddr tries a few.
	if _, err := launch.OnFreeAddr(5, func(addr string) (*launch.Process, error) {
		_, port, _ := net.SplitHostPort(addr)
		s.port, _ = strconv.Atoi(port)
		return s.start()
	}); err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	return s
}

// FreePort returns a port of 127.0.0.1 that nothing listens on now, for a
// server's other ports (a Cluster bus: --cluster-port).
func FreePort(tb testing.TB) int {
	tb.Helper()
	port, err := launch.FreePort()
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	return port
}

// start runs the process on s.port and waits until it answers PING. The
// process ends with the test at the latest, killed: what it did not save
// is lost, and its directory goes too.
func (s *Server) start() (*launch.Process, error) {
	args := append([]string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--dbfilename", "dump.rdb",
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--protected-mode", "yes",
		"--loglevel", "warning",
	}, s.args...)
	if s.sentinelConf != "" {
		args = append([]string{s.sentinelConf, "--sentinel"}, args...)
	}
	p, err := launch.StartTest(s.tb, launch.Spec{
		Name:         "redis-server on port " + strconv.Itoa(s.port),
		Path:         s.bin,
		Args:         args,
		Dir:          s.dir,
		Ready:        func(context.Context) error { return s.ping() },
		ReadyTimeout: startTimeout,
		// SIGKILL: a paused server is ended too, and Stop is the way to
		// save.
		StopSignal: syscall.SIGKILL,
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	return p, nil
}

// ping sends PING on a fresh connection and reads PONG. A server loading
// its data set answers an error, which is not ready either.
func (s *Server) ping() error {
	return s.command("PING", "+PONG")
}

// command sends cmd (an inline command) and checks the reply starts with
// want.
func (s *Server) command(cmd, want string) error {
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, want) {
		return fmt.Errorf("%s answered %q", cmd, strings.TrimSpace(line))
	}
	return nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is a redis:// URL of the server's database 0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Dir is the server's working directory, where Stop saves its data.
func (s *Server) Dir() string { return s.dir }

// Running reports whether the server process is running.
func (s *Server) Running() bool { return s.running() != nil }

// running returns the running process, or nil.
func (s *Server) running() *launch.Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	select {
	case <-s.proc.Done():
		s.proc = nil
	default:
	}
	return s.proc
}

// Stop shuts the server down cleanly, saving its data set to its
// directory (SHUTDOWN SAVE), and waits for the process to end: clients get
// their connections closed and new ones refused. Stopping a stopped server
// does nothing.
func (s *Server) Stop() {
	s.tb.Helper()
	p := s.running()
	if p == nil {
		return
	}
	s.Resume()
	if s.sentinelConf != "" {
		// A Sentinel keeps its state in its config file, as it goes.
		s.signal(syscall.SIGTERM)
	} else if err := s.command("SHUTDOWN SAVE", "-"); err == nil {
		// SHUTDOWN answers nothing when it succeeds: the connection just
		// closes.
		s.tb.Errorf("redistest: SHUTDOWN SAVE refused")
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := p.Wait(ctx); errors.Is(err, context.DeadlineExceeded) {
		s.tb.Errorf("redistest: redis-server on port %d did not stop in %v; killing it", s.port, stopTimeout)
		s.kill()
	}
}

// Kill ends the server at once (SIGKILL), as a crash would: what was not
// saved is lost. Killing a stopped server does nothing.
func (s *Server) Kill() {
	s.kill()
}

// Pause freezes the server (SIGSTOP), as a hung or unreachable host would
// look: connections are accepted by the kernel but nothing is answered.
// Resume undoes it; cleanup ends a paused server too.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume lets a paused server go on.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.tb.Helper()
	p := s.running()
	if p == nil {
		s.tb.Fatalf("redistest: %v: the server is not running", sig)
	}
	if err := p.Signal(sig); err != nil {
		s.tb.Fatalf("redistest: %v", err)
	}
}

// Restart starts the server again, stopping it first if it is running, on
// the same port and with the data that Stop saved.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	// Another process may bind the port in between; it is rare, and the
	// port is released again soon after a test's own connections close.
	deadline := time.Now().Add(startTimeout)
	for {
		_, err := s.start()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("redistest: restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *Server) kill() {
	p := s.running()
	if p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := p.Kill(ctx); err != nil {
		s.tb.Errorf("redistest: killing redis-server: %v", err)
	}
}

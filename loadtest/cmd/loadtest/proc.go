package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/polysse/polysse/internal/launch"
)

// Bounds of a server process.
const (
	// serverStartTimeout bounds the wait for a server's listening line.
	serverStartTimeout = 20 * time.Second
	// serverStopTimeout is how long a server gets to exit after SIGTERM
	// before it is killed.
	serverStopTimeout = 10 * time.Second
)

// process is one server under test, in its own process.
type process struct {
	*launch.Process
	addr        string
	metricsAddr string // bin/polysse's -metrics-addr listener (startHub only)
	log         *os.File
}

// startLogged runs bin with args, its output going to logPath, and waits
// for the address lines that addrs finds in it (the server chooses its
// port: it listens on 127.0.0.1:0). ctx bounds the process's life.
func startLogged(ctx context.Context, bin, logPath string, args []string, addrs func(context.Context, *launch.Process) (addr, metrics string, err error)) (*process, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	lp, err := launch.Start(ctx, launch.Spec{Path: bin, Args: args, Log: logf, StopTimeout: serverStopTimeout})
	if err != nil {
		logf.Close()
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, serverStartTimeout)
	defer cancel()
	p := &process{Process: lp, log: logf}
	if p.addr, p.metricsAddr, err = addrs(wctx, lp); err != nil {
		_ = lp.Kill(context.Background())
		logf.Close()
		return nil, fmt.Errorf("%s did not log its listening address within %v (see %s): %w", filepath.Base(bin), serverStartTimeout, logPath, err)
	}
	return p, nil
}

// start runs bin with args (one of the mains in ../../servers), waits for
// its "listening ADDR" line and returns; its output goes to logPath.
func start(ctx context.Context, bin string, logPath string, args ...string) (*process, error) {
	return startLogged(ctx, bin, logPath, args, func(ctx context.Context, p *launch.Process) (string, string, error) {
		line, err := p.WaitLine(ctx, func(l string) bool { return strings.HasPrefix(l, "listening ") })
		return strings.TrimPrefix(line, "listening "), "", err
	})
}

// stop ends the process: SIGTERM, then SIGKILL after serverStopTimeout.
func (p *process) stop() {
	_ = p.Stop(context.Background())
	p.log.Close()
}

// rssKB reads the process's resident set size (VmRSS) in KiB.
func (p *process) rssKB() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// cpu reads the process's user+system CPU time from /proc/PID/stat.
func (p *process) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid()))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14, stime 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / hz
}

// loadAvg returns /proc/loadavg's first three fields.
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/polysse/polysse/internal/launch"
)

// The soak and slow-client measurements run the product itself, bin/polysse
// (`make go-build`), rather than the embedding main in ../../servers: what
// they check — open files, goroutines, the slow-client counter — is read
// from the binary's own /metrics and /proc, with its real flags and store.

// startHub runs `bin serve -addr 127.0.0.1:0 -metrics-addr 127.0.0.1:0
// args...`, waits for its "polysse listening" log line and returns the
// process with the addresses it chose (the metrics listener's is logged
// before). Its log goes to logPath; ctx bounds its life.
func startHub(ctx context.Context, bin, logPath string, args ...string) (*process, error) {
	// One load generator opens every stream: no per-client limit.
	args = append([]string{"serve", "-addr", "127.0.0.1:0", "-metrics-addr", "127.0.0.1:0", "-log-level", "info", "-max-subscribers-per-client", "-1"}, args...)
	return startLogged(ctx, bin, logPath, args, func(ctx context.Context, p *launch.Process) (string, string, error) {
		// The binary logs with slog's text handler:
		//   time=… level=INFO msg="metrics listening" addr=127.0.0.1:PORT url=…
		//   time=… level=INFO msg="polysse listening" addr=127.0.0.1:PORT url=…
		metrics, err := p.WaitLine(ctx, func(l string) bool { return strings.Contains(l, `msg="metrics listening"`) })
		if err != nil {
			return "", "", err
		}
		hub, err := p.WaitLine(ctx, func(l string) bool { return strings.Contains(l, `msg="polysse listening"`) })
		return logAddr(hub), logAddr(metrics), err
	})
}

// logAddr returns the value of the addr= field of a log line.
func logAddr(line string) string {
	for _, f := range strings.Fields(line) {
		if a, ok := strings.CutPrefix(f, "addr="); ok {
			return a
		}
	}
	return ""
}

// openFiles counts the process's open file descriptors.
func (p *process) openFiles() int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.Pid()))
	if err != nil {
		return -1
	}
	return len(ents)
}

// metricsClient scrapes /metrics over one kept-alive connection, so that
// scraping adds no connection (and no goroutine, no file) of its own
// between two readings.
var metricsClient = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1, DisableCompression: true},
}

// scrape reads /metrics from the hub's -metrics-addr listener at addr and returns each sample, summed over its
// labels (polysse_streams_open is one sample per transport and engine).
func scrape(addr string) (map[string]float64, error) {
	res, err := metricsClient.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %s", res.Status)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		name := line[:i]
		if j := strings.IndexByte(name, '{'); j >= 0 {
			name = name[:j]
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[name] += v
	}
	return m, sc.Err()
}

// rssParts reads VmRSS and its anonymous and file-backed parts (RssAnon,
// RssFile) in KiB: a growing bolt file shows in the second, a leak of
// memory in the first.
func (p *process) rssParts() (rss, anon, file float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0, 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		switch k {
		case "VmRSS":
			rss = n
		case "RssAnon":
			anon = n
		case "RssFile":
			file = n
		}
	}
	return rss, anon, file
}

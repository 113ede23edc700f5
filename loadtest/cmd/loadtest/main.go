// Command loadtest measures polysse's hub against its Go peers in one run:
// idle memory per stream, fan-out, latency, publish rate and resume. Each
// server runs in its own process (the mains in ../../servers), started anew
// for each scenario; this process is the load generator: it opens the
// subscriber connections from several 127.0.0.x source addresses, reads
// them with polysse's sse.Decoder, publishes over HTTP with a token, reads
// the server's RSS and CPU time from /proc, and prints a table per scenario.
// Everything is on loopback, bounded in count and time, and stops by itself.
//
//	loadtest -bin ./bin [-quick] [-servers polysse,r3labs,go-sse,mercure]
//	         [-scenarios idle,fanout,latency,rate,resume] [-img ../docs/img]
//	         [-json results.json] [-md results.md]
//	loadtest -scenarios slowpeer [-polysse ../bin/polysse]  (slowpeer.go)
//	loadtest soak [-polysse ../bin/polysse] [-duration 10m]  (soak.go; make soak)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/polysse/polysse/server/auth"
)

// target is one server under test.
type target struct {
	Name string `json:"name"`
	bin  string
	args []string
	// subPath is the subscribe path and query for a topic.
	subPath func(topic string) string
	// HistoryArgs start the server with a replay history, kept in
	// HistoryStore ("" when the server has none).
	HistoryArgs  []string `json:"-"`
	HistoryStore string   `json:"history_store"`
}

func targets(binDir, shm string) []*target {
	mercure := func(topic string) string { return "/.well-known/mercure?topic=" + topic }
	return []*target{
		{Name: "polysse", bin: "polysse", subPath: mercure,
			HistoryArgs: []string{"-history"}, HistoryStore: "memory (its default log)"},
		{Name: "polysse-bolt", bin: "polysse", args: []string{"-bolt", "-history-dir", shm}, subPath: mercure,
			HistoryArgs: []string{"-history"}, HistoryStore: "bolt file on " + shm},
		{Name: "polysse-nohijack", bin: "polysse", args: []string{"-no-hijack"}, subPath: mercure,
			HistoryArgs: []string{"-history"}, HistoryStore: "memory (its default log)"},
		{Name: "r3labs", bin: "r3labs", subPath: func(t string) string { return "/events?stream=" + t },
			HistoryArgs: []string{"-history"}, HistoryStore: "memory (AutoReplay event log)"},
		{Name: "go-sse", bin: "gosse", subPath: func(t string) string { return "/events?topic=" + t },
			HistoryArgs: []string{"-history"}, HistoryStore: "memory (FiniteReplayer)"},
		{Name: "mercure", bin: "mercure", subPath: mercure,
			HistoryArgs: []string{"-history", "-history-dir", shm}, HistoryStore: "bolt transport on " + shm},
	}
}

// runEnv is what scenarios share.
type runEnv struct {
	binDir  string
	logDir  string
	token   string
	key     string
	profile string // folder for CPU profiles of polysse, or ""
	log     *os.File
}

func (e *runEnv) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	fmt.Fprintln(os.Stderr, line)
	if e.log != nil {
		fmt.Fprintln(e.log, line)
	}
}

func (e *runEnv) start(ctx context.Context, t *target, scenario string, extra ...string) (*process, error) {
	args := append([]string{"-addr", "127.0.0.1:0", "-key", e.key}, t.args...)
	args = append(args, extra...)
	if e.profile != "" && strings.HasPrefix(t.Name, "polysse") {
		args = append(args, "-cpuprofile", filepath.Join(e.profile, t.Name+"-"+scenario+".cpu.pprof"),
			"-memprofile", filepath.Join(e.profile, t.Name+"-"+scenario+".heap.pprof"),
			"-pprof", pprofAddr)
	}
	return start(ctx, filepath.Join(e.binDir, t.bin), filepath.Join(e.logDir, t.Name+"-"+scenario+".log"), args...)
}

// pprofAddr is where a profiled server serves net/http/pprof.
const pprofAddr = "127.0.0.1:6061"

// saveHeap saves the live heap of a profiled server (after a GC) as name.
func (e *runEnv) saveHeap(t *target, name string) {
	if e.profile == "" || !strings.HasPrefix(t.Name, "polysse") {
		return
	}
	res, err := http.Get("http://" + pprofAddr + "/debug/pprof/heap?gc=1")
	if err != nil {
		e.logf("  heap profile: %v", err)
		return
	}
	defer res.Body.Close()
	out, err := os.Create(filepath.Join(e.profile, t.Name+"-"+name+".live.pprof"))
	if err != nil {
		return
	}
	defer out.Close()
	_, _ = io.Copy(out, res.Body)
}

// results is one run's figures, by server.
type results struct {
	Date      string                  `json:"date"`
	Quick     bool                    `json:"quick"`
	LoadStart string                  `json:"load_start"`
	LoadEnd   string                  `json:"load_end"`
	Servers   []string                `json:"servers"`
	Idle      map[string]idleResult   `json:"idle"`
	Fanout    map[string]fanResult    `json:"fanout"`
	Latency   map[string]latResult    `json:"latency"`
	Rate      map[string]rateResult   `json:"rate"`
	Resume    map[string]resumeResult `json:"resume"`
	SlowPeer  *slowResult             `json:"slowpeer,omitempty"`
	Targets   map[string]*target      `json:"targets"`
	Seconds   float64                 `json:"seconds"`
	Notes     []string                `json:"notes,omitempty"`
	extra     map[string]json.RawMessage
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "publish" {
		publishCmd(os.Args[2:])
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "soak" {
		os.Exit(soakCmd(os.Args[2:]))
	}
	binDir := flag.String("bin", "bin", "folder of the server binaries (polysse, r3labs, gosse, mercure)")
	quickRun := flag.Bool("quick", os.Getenv("QUICK") != "", "a short run for development (also QUICK=1)")
	servers := flag.String("servers", "polysse,r3labs,go-sse,mercure", "servers to measure, among polysse, polysse-bolt, polysse-nohijack, r3labs, go-sse, mercure")
	scenarios := flag.String("scenarios", "idle,fanout,latency,rate,resume", "scenarios to run")
	imgDir := flag.String("img", "", "write the SVG charts to this folder")
	jsonOut := flag.String("json", "", "write the results as JSON to this file")
	mdOut := flag.String("md", "", "write the tables as Markdown to this file")
	logDir := flag.String("logs", "", "folder for the servers' logs (default: a temporary one)")
	profile := flag.String("profile", "", "write polysse's CPU and heap profiles to this folder")
	flag.Parse()

	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	z := full
	if *quickRun {
		z = quick
	}
	if need := z.idleSteps[len(z.idleSteps)-1] + 200; int(lim.Cur) < need {
		log.Fatalf("open files limit %d is below the %d this run needs", lim.Cur, need)
	}
	shm := "/dev/shm"
	if st, err := os.Stat(shm); err != nil || !st.IsDir() {
		shm = os.TempDir()
	}
	if *logDir == "" {
		d, err := os.MkdirTemp("", "polysse-loadtest-")
		if err != nil {
			log.Fatal(err)
		}
		*logDir = d
	}
	key := "loadtest-key"
	sig, err := auth.NewSigner(key)
	if err != nil {
		log.Fatal(err)
	}
	token, err := sig.Sign(auth.Claims{Publish: []string{"*"}}, 2*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	env := &runEnv{binDir: *binDir, logDir: *logDir, token: token, key: key, profile: *profile}
	_ = os.MkdirAll(*logDir, 0o755)
	if env.log, err = os.Create(filepath.Join(*logDir, "run.log")); err != nil {
		log.Fatal(err)
	}
	all := map[string]*target{}
	for _, t := range targets(*binDir, shm) {
		all[t.Name] = t
	}
	var run []*target
	for _, name := range strings.Split(*servers, ",") {
		t, ok := all[strings.TrimSpace(name)]
		if !ok {
			log.Fatalf("unknown server %q", name)
		}
		run = append(run, t)
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*scenarios, ",") {
		want[strings.TrimSpace(s)] = true
	}

	res := &results{
		Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Quick: *quickRun, LoadStart: loadAvg(),
		Idle: map[string]idleResult{}, Fanout: map[string]fanResult{}, Latency: map[string]latResult{},
		Rate: map[string]rateResult{}, Resume: map[string]resumeResult{}, Targets: map[string]*target{},
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	env.logf("loadtest: %s run, servers %s, logs in %s, load average %s", map[bool]string{true: "quick", false: "full"}[*quickRun], *servers, *logDir, res.LoadStart)
	// Scenario by scenario, every server in turn, so that the servers
	// of one table are measured close together in time.
	for _, sc := range []struct {
		name string
		fn   func(*target)
	}{
		{"idle", func(t *target) { res.Idle[t.Name] = idle(ctx, t, z, env) }},
		{"fanout", func(t *target) { res.Fanout[t.Name] = fanout(ctx, t, z, env) }},
		{"latency", func(t *target) { res.Latency[t.Name] = latency(ctx, t, z, env) }},
		{"rate", func(t *target) { res.Rate[t.Name] = rate(ctx, t, z, env) }},
		{"resume", func(t *target) { res.Resume[t.Name] = resume(ctx, t, z, env) }},
	} {
		if !want[sc.name] {
			continue
		}
		env.logf("== %s", sc.name)
		for _, t := range run {
			if ctx.Err() != nil {
				break
			}
			sc.fn(t)
			time.Sleep(time.Second) // let sockets in TIME_WAIT and the CPU settle
		}
	}
	if want["slowpeer"] && ctx.Err() == nil {
		env.logf("== slowpeer")
		res.SlowPeer = slowPeer(ctx, *quickRun, env)
	}
	for _, t := range run {
		res.Servers = append(res.Servers, t.Name)
		res.Targets[t.Name] = t
	}
	res.LoadEnd = loadAvg()
	res.Seconds = time.Since(began).Seconds()
	md := report(res, z) + slowReport(res.SlowPeer)
	fmt.Println(md)
	if *mdOut != "" {
		if err := os.WriteFile(*mdOut, []byte(md), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if *imgDir != "" {
		if err := charts(res, *imgDir); err != nil {
			log.Fatal(err)
		}
	}
}

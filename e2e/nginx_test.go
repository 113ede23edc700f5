package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/polysse/polysse/internal/launch"
)

// polysse behind nginx, configured with docs/nginx.conf as shipped: pages
// under every profile get their events. Then the same nginx misconfigured:
// with proxy_buffering left on (and X-Accel-Buffering ignored), and with
// that and gzip on event streams, which is what holds a stream back in
// nginx: there the polyfill must fall back to long-poll, and events still
// arrive.

// nginxBinary is Debian's nginx (packages nginx or nginx-light).
const nginxBinary = "/usr/sbin/nginx"

// nginxConfTemplate is the shipped configuration, relative to this package.
const nginxConfTemplate = "../docs/nginx.conf"

// nginxPath returns nginx's path, or skips the test (fails it under CI).
func nginxPath(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(nginxBinary); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("e2e: nginx is missing at %s (scripts/deps.sh installs it): %v", nginxBinary, err)
		}
		t.Skipf("e2e: nginx not installed at %s; scripts/deps.sh installs it (under CI this fails)", nginxBinary)
	}
	return nginxBinary
}

// startNginx runs nginx in the foreground on a free loopback port, in front
// of upstream (host:port), with docs/nginx.conf edited by edit, and returns
// its base URL. It is stopped when the test ends.
func startNginx(t *testing.T, upstream string, edit func(string) string) string {
	t.Helper()
	bin := nginxPath(t)
	tmpl, err := os.ReadFile(nginxConfTemplate)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	base, err := launch.OnFreeAddr(3, func(addr string) (string, error) {
		conf := replaceOnce(t, string(tmpl), "server 127.0.0.1:8080;", "server "+upstream+";")
		conf = replaceOnce(t, conf, "listen 80;", "listen "+addr+";")
		if edit != nil {
			conf = edit(conf)
		}
		site := filepath.Join(dir, "polysse.conf")
		if err := os.WriteFile(site, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		user := ""
		if os.Geteuid() == 0 {
			user = "user root root;\n" // workers would be nobody, locked out of the temp folders
		}
		main := fmt.Sprintf(`daemon off;
master_process on;
worker_processes 1;
%spid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path %[2]s/client_body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    include %[3]s;
}
`, user, dir, site)
		confPath := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(confPath, []byte(main), 0o644); err != nil {
			t.Fatal(err)
		}
		base := "http://" + addr
		// nginx says on stderr that it could not bind (launch.ErrAddrInUse);
		// SIGQUIT is its graceful stop.
		if _, err := launch.StartTest(t, launch.Spec{
			Name:       "nginx " + addr,
			Path:       bin,
			Args:       []string{"-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log")},
			Ready:      launch.HTTP(base + "/healthz"),
			StopSignal: syscall.SIGQUIT,
		}); err != nil {
			return "", err
		}
		t.Cleanup(func() {
			if t.Failed() {
				log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
				t.Logf("nginx error.log:\n%s\nconfig:\n%s", log, conf)
			}
		})
		return base, nil
	})
	if err != nil {
		t.Fatalf("e2e: nginx did not start: %v", err)
	}
	return base
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("e2e: %s has %q %d times, want once: the test needs a look", nginxConfTemplate, old, n)
	}
	return strings.Replace(s, old, new, 1)
}

func TestNginx(t *testing.T) {
	t.Parallel()
	nginxPath(t)
	hub := StartHub(t)
	upstream := strings.TrimPrefix(hub.URL, "http://")
	if _, _, err := net.SplitHostPort(upstream); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		name string
		// buffering replaces "proxy_buffering off;" in the shipped file;
		// empty keeps it.
		buffering string
		// poll: the stream is held back, so the page must fall back to
		// long-poll; otherwise it must not.
		poll bool
	}{
		{"as-shipped", "", false},
		{"buffering-on", "proxy_buffering on; proxy_ignore_headers X-Accel-Buffering;", false},
		// What holds a stream back in nginx: compressing it.
		{"buffering-and-gzip", "proxy_buffering on; proxy_ignore_headers X-Accel-Buffering; gzip on; gzip_types text/event-stream;", true},
	} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			base := startNginx(t, upstream, func(conf string) string {
				if v.buffering == "" {
					return conf
				}
				return replaceOnce(t, conf, "proxy_buffering off;", v.buffering)
			})
			for _, p := range []Profile{Modern, Firefox, EdgeHTML, IE11} {
				t.Run(p.Name, func(t *testing.T) {
					t.Parallel()
					nginxPage(t, hub, base, p, v.poll)
				})
			}
		})
	}
}

// nginxPage opens the legacy demo page through nginx under profile p,
// publishes through nginx, and checks the events arrive, on long-poll
// exactly when poll says.
func nginxPage(t *testing.T, hub *Hub, base string, p Profile, poll bool) {
	topic := "e2e/nginx/" + strconv.FormatInt(time.Now().UnixNano(), 36)
	pg := RunPage(t, p, base+"/legacy.html?emulate=0&profile="+p.Name+"&fallbackTimeout=3000&topic="+topic, RecordRequests())
	polled := func() bool {
		for _, r := range pg.Requests() {
			if strings.Contains(r.URL, "transport=poll") {
				return true
			}
		}
		return false
	}
	if poll {
		waitUntil(t, 20*time.Second, "a long-poll request", polled)
		time.Sleep(300 * time.Millisecond) // the first poll starts from the hub's present
	} else {
		pg.WaitFor(`__legacy.es.readyState === 1`, 10*time.Second, `__legacy.es.readyState`)
	}
	via := &Hub{URL: base, Key: hub.Key, t: t}
	want := []string{"one", "two", "three"}
	for _, d := range want {
		via.Publish(Update{Topics: []string{topic}, Data: d})
	}
	pg.WaitFor(`__legacy.got.join(",") === "one,two,three"`, 15*time.Second, `__legacy.got`, `__legacy.transport()`)
	time.Sleep(300 * time.Millisecond)
	if got := Eval[[]string](pg, `__legacy.got`); strings.Join(got, ",") != "one,two,three" {
		t.Errorf("got %q: a late duplicate", got)
	}
	if !poll && polled() {
		t.Errorf("fell back to long-poll behind an nginx that streams; requests:\n%s", requestList(pg.Requests()))
	}
	t.Logf("transport: %s", Eval[string](pg, `__legacy.transport()`))
}

package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestPublicListenerExposure checks what each listener serves: counters
// (/metrics, the status stream) tell an observer when private updates are
// published, so without -demo/-demo-pages they are not on the public
// listener at all, and /metrics is only on -metrics-addr.
func TestPublicListenerExposure(t *testing.T) {
	type want struct {
		method, path string
		status       int
		body         string // in the body, when not empty
	}
	metricsAddr := freeLoopback(t)
	cases := []struct {
		name  string
		args  []string
		wants []want
	}{
		{"default", nil, []want{
			{"GET", "/metrics", 404, ""},
			{"GET", "/status/events", 404, ""},
			{"GET", "/status.html", 404, ""},
			{"GET", "/index.html", 404, ""},
			{"GET", "/legacy.html", 404, ""},
			{"GET", "/", 200, "/.well-known/mercure"},
			{"POST", "/", 405, "POST /.well-known/mercure"},
			{"POST", "/demo/publish", 405, ""},
			{"GET", "/favicon.ico", 200, ""},
			{"GET", "/polyfill/eventsource.js", 200, "EventSourcePolyfill"},
		}},
		{"metrics listener", []string{"-metrics-addr", metricsAddr}, []want{
			{"GET", "/metrics", 404, ""},
			{"GET", "http://" + metricsAddr + "/metrics", 200, "polysse_"},
			{"GET", "http://" + metricsAddr + "/", 404, ""},
			{"GET", "http://" + metricsAddr + "/.well-known/mercure?topic=x", 404, ""},
		}},
		{"demo pages", []string{"-demo-pages"}, []want{
			{"GET", "/status.html", 200, "<title>"},
			{"GET", "/", 200, "<title>"},
			{"POST", "/", 405, ""},
			{"PUT", "/index.html", 405, ""},
			{"GET", "/metrics", 404, ""},
			{"POST", "/demo/publish", 405, ""},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := serve(t, http.DefaultClient, "http", c.args...)
			for _, w := range c.wants {
				u := w.path
				if !strings.HasPrefix(u, "http") {
					u = "http://" + addr + u
				}
				req, _ := http.NewRequest(w.method, u, strings.NewReader("topic=x&data=y"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
				res.Body.Close()
				if res.StatusCode != w.status || !strings.Contains(string(b), w.body) {
					t.Errorf("%s %s: %d %.80q, want %d with %q", w.method, w.path, res.StatusCode, b, w.status, w.body)
				}
			}
		})
	}
}

// TestStatusStreamOnlyWithDemoPages reads the first status event where the
// stream is served.
func TestStatusStreamOnlyWithDemoPages(t *testing.T) {
	addr := serve(t, http.DefaultClient, "http", "-demo-pages")
	res, err := http.Get("http://" + addr + "/status/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	buf := make([]byte, 64)
	n, _ := io.ReadAtLeast(res.Body, buf, len("event: status"))
	if res.StatusCode != 200 || !strings.HasPrefix(string(buf[:n]), "event: status") {
		t.Fatalf("/status/events with -demo-pages: %d %q", res.StatusCode, buf[:n])
	}
}

// TestDemoPublishForm checks the -demo form's limits: demo/* topics only,
// and from a browser only the hub's own pages.
func TestDemoPublishForm(t *testing.T) {
	addr := serve(t, http.DefaultClient, "http", "-demo")
	cases := []struct {
		name   string
		topics []string
		origin string
		status int
	}{
		{"demo topic", []string{"demo/chat"}, "", 200},
		{"demo topic from the hub's page", []string{"demo/chat"}, "http://" + addr, 200},
		{"another site's page", []string{"demo/chat"}, "https://evil.example", 403},
		{"a real topic", []string{"https://example.com/books/1"}, "", 403},
		{"one real topic among demo ones", []string{"demo/a", "orders/1"}, "", 403},
		{"the bare prefix", []string{"demo/"}, "", 403},
		{"a look-alike", []string{"demoX/1"}, "", 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			form := url.Values{"topic": c.topics, "data": {"d"}}
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/demo/publish", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if c.origin != "" {
				req.Header.Set("Origin", c.origin)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != c.status {
				t.Errorf("%d %q, want %d", res.StatusCode, b, c.status)
			}
		})
	}
}

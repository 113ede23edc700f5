package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestHardeningFlags: the flags of issue 15 reach the hub.
func TestHardeningFlags(t *testing.T) {
	token := mint(t)
	publish := func(addr string, form url.Values, header http.Header) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/.well-known/mercure", strings.NewReader(form.Encode()))
		req.Header = header
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	subscribe := func(t *testing.T, addr, query string) int {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		t.Cleanup(cancel)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/.well-known/mercure?"+query, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res.StatusCode
	}
	t.Run("publish-origins", func(t *testing.T) {
		addr := serve(t, http.DefaultClient, "http", "-publish-origins", "https://app.example")
		cookie := func(origin string) http.Header {
			return http.Header{"Cookie": {"mercureAuthorization=" + token}, "Origin": {origin}}
		}
		if got := publish(addr, url.Values{"topic": {"t"}, "data": {"x"}}, cookie("https://app.example")); got != http.StatusOK {
			t.Errorf("cookie publish from a listed origin: %d, want 200", got)
		}
		if got := publish(addr, url.Values{"topic": {"t"}, "data": {"x"}}, cookie("https://evil.example")); got != http.StatusForbidden {
			t.Errorf("cookie publish from another origin: %d, want 403", got)
		}
	})
	t.Run("max-subscribers-per-client", func(t *testing.T) {
		addr := serve(t, http.DefaultClient, "http", "-max-subscribers-per-client", "1")
		if got := subscribe(t, addr, "topic=t"); got != http.StatusOK {
			t.Fatalf("first stream: %d", got)
		}
		if got := subscribe(t, addr, "topic=t"); got != http.StatusTooManyRequests {
			t.Errorf("second stream of one client: %d, want 429", got)
		}
	})
	t.Run("max-template-vars", func(t *testing.T) {
		addr := serve(t, http.DefaultClient, "http", "-max-template-vars", "2")
		if got := subscribe(t, addr, url.Values{"topic": {"{a}/{b}/{c}"}}.Encode()); got != http.StatusBadRequest {
			t.Errorf("3 template variables over a budget of 2: %d, want 400", got)
		}
	})
	t.Run("log-max-bytes", func(t *testing.T) {
		addr := serve(t, http.DefaultClient, "http", "-log-max-bytes", "4096")
		bearer := http.Header{"Authorization": {"Bearer " + token}}
		for i := range 4 {
			if got := publish(addr, url.Values{"topic": {"t"}, "data": {strings.Repeat("x", 1500)}, "id": {"b" + string(rune('0'+i))}}, bearer.Clone()); got != http.StatusOK {
				t.Fatalf("publish %d: %d", i, got)
			}
		}
		// Four updates of about 1.6 KB: the first two are gone, so
		// resuming from the first is from an unknown id.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/.well-known/mercure?topic=t&transport=poll&lastEventID=b0", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(body), "polysse-missed") || strings.Contains(string(body), "id: b1\n") {
			t.Errorf("resume from a trimmed id: %q, want polysse-missed and no b1", body)
		}
	})
}

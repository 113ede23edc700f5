package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/sse"
)

// BenchmarkFanoutMatchers publishes to a hub with 100 subscribers of one
// kind each and waits until every subscriber has read every update: the
// cost of routing by exact topic (draft-07 topic=, draft-08 match=) next
// to routing by pattern (draft-07 URI template, draft-08 URL pattern),
// where each update has a new topic, so that no answer is cached across
// publishes. ns/op is per update delivered to all 100.
func BenchmarkFanoutMatchers(b *testing.B) {
	const subscribers = 100
	kinds := []struct {
		name, query string
		topic       func(i int) string
	}{
		{"draft07-exact", "topic=" + url.QueryEscape("https://example.com/books/1"), func(int) string { return "https://example.com/books/1" }},
		{"draft08-exact", "match=" + url.QueryEscape("https://example.com/books/1"), func(int) string { return "https://example.com/books/1" }},
		{"draft07-template", "topic=" + url.QueryEscape("https://example.com/books/{id}"), func(i int) string { return "https://example.com/books/" + strconv.Itoa(i) }},
		{"draft08-urlpattern", "match_urlpattern=" + url.QueryEscape("https://example.com/books/:id"), func(i int) string { return "https://example.com/books/" + strconv.Itoa(i) }},
	}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			e := newEnv(b, nil, withDraft08())
			var got atomic.Int64
			var wg sync.WaitGroup
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opened := make(chan struct{}, subscribers)
			for range subscribers {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+hubPath+"?"+k.query, nil)
				res, err := http.DefaultClient.Do(req)
				if err != nil || res.StatusCode != 200 {
					b.Fatalf("subscribe: %v %v", err, res)
				}
				opened <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					rd := sse.NewReader(res.Body, sse.Limits{})
					for {
						ev, err := rd.Next()
						if err != nil {
							return
						}
						if ev.Data == "x" {
							got.Add(1)
						}
					}
				}()
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := e.hub.Publish(ctx, &store.Update{Topics: []string{k.topic(i)}, Event: sse.Event{Data: "x"}}); err != nil {
					b.Fatal(err)
				}
			}
			want := int64(b.N) * subscribers
			deadline := time.Now().Add(time.Minute)
			for got.Load() < want && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			if n := got.Load(); n < want {
				b.Fatalf("delivered %d of %d", n, want)
			}
			cancel()
			wg.Wait()
		})
	}
}

// BenchmarkPublishDrafts publishes over HTTP with a draft-07 token and
// with a draft-08 access token (each publish verifies the token, and for
// draft-08 checks the URL-pattern grant), next to each other.
func BenchmarkPublishDrafts(b *testing.B) {
	e := newEnv(b, nil, withDraft08())
	tok07 := e.token(auth.Claims{Publish: []string{"https://example.com/books/{id}"}})
	tok08 := e.token08(time.Hour, detail("publish", "urlpattern:https://example.com/books/:id"))
	for _, c := range []struct{ name, tok string }{{"draft07", tok07}, {"draft08", tok08}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				req, _ := http.NewRequest(http.MethodPost, e.srv.URL+hubPath, strings.NewReader("topic=https%3A%2F%2Fexample.com%2Fbooks%2F"+strconv.Itoa(i)+"&data=x"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", "Bearer "+c.tok)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatal(fmt.Sprint("status ", res.StatusCode))
				}
			}
		})
	}
}

package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/sse"
)

// demoTopics are what the demo publisher posts to.
var demoTopics = [...]string{"demo/clock", "demo/counter", "demo/quotes"}

var demoQuotes = [...]string{
	"Events flow one way: publisher, hub, log, fan-out, network, page.",
	"A client that reconnects with its last event id misses nothing.",
	"Old browsers get the same events, by another road.",
}

// demoPublisher posts to the demo topics every second until ctx is done.
func demoPublisher(ctx context.Context, hub *server.Hub, logger *slog.Logger) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			updates := []*store.Update{
				{Topics: []string{demoTopics[0]}, Event: sse.Event{Type: "tick", Data: now.UTC().Format(time.RFC3339)}},
				{Topics: []string{demoTopics[1]}, Event: sse.Event{Data: strconv.Itoa(n)}},
			}
			if n%5 == 0 {
				updates = append(updates, &store.Update{Topics: []string{demoTopics[2]}, Event: sse.Event{Data: demoQuotes[(n/5)%len(demoQuotes)]}})
			}
			for _, u := range updates {
				if _, err := hub.Publish(ctx, u); err != nil && ctx.Err() == nil {
					logger.Warn("demo publish failed", "topic", u.Topics[0], "err", err)
				}
			}
		}
	}
}

// demoTopicPrefix is the only namespace the demo form may publish to, so
// that -demo left on cannot be used to forge updates on real topics.
const demoTopicPrefix = "demo/"

// demoPublishHandler lets the demo page's form publish without holding a
// token: it exists only with -demo, which is for a person's own machine,
// takes demo/* topics only and, from a browser, only the hub's own pages.
func demoPublishHandler(hub *server.Hub, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			u, err := url.Parse(origin)
			if err != nil || u.Host != r.Host {
				http.Error(w, "the demo form publishes from the hub's own pages only (Origin "+origin+")", http.StatusForbidden)
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "invalid form: "+err.Error(), http.StatusBadRequest)
			return
		}
		for _, t := range r.PostForm["topic"] {
			if !strings.HasPrefix(t, demoTopicPrefix) || len(t) == len(demoTopicPrefix) {
				http.Error(w, "the demo form publishes to demo/* topics only, not "+strconv.Quote(t)+": publish to other topics at /.well-known/mercure with a token", http.StatusForbidden)
				return
			}
		}
		u := &store.Update{
			Topics: r.PostForm["topic"],
			Event:  sse.Event{Type: r.PostForm.Get("type"), Data: r.PostForm.Get("data")},
		}
		id, err := hub.Publish(r.Context(), u)
		if err != nil {
			status := http.StatusServiceUnavailable
			if errors.Is(err, server.ErrInvalidUpdate) {
				status = http.StatusBadRequest
			}
			logger.Debug("demo form publish refused", "err", err)
			http.Error(w, err.Error(), status)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(id))
	})
}

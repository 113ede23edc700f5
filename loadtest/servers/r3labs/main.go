// Command r3labs serves github.com/r3labs/sse/v2 for the load test, as its
// README shows: sse.New(), its handler at /events with ?stream=, and
// server.Publish. It has no publish endpoint of its own, so this one adds
// POST /.well-known/mercure behind a publisher token check. Its defaults
// are kept: AutoReplay on (every event is kept, and replayed by id).
package main

import (
	"context"
	"net/http"

	"github.com/r3labs/sse/v2"

	"github.com/polysse/polysse/loadtest/internal/serve"
)

func main() {
	f := serve.Parse()
	server := sse.New()
	server.AutoStream = true // a stream per topic, created by its first subscriber or publish
	check := serve.NewPublisherCheck(f.Key)
	mux := http.NewServeMux()
	mux.HandleFunc("/events", server.ServeHTTP)
	mux.HandleFunc("POST /.well-known/mercure", func(w http.ResponseWriter, r *http.Request) {
		if !check.Allow(r) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		topic, data := r.PostFormValue("topic"), r.PostFormValue("data")
		if topic == "" {
			http.Error(w, "missing topic", http.StatusBadRequest)
			return
		}
		if !server.StreamExists(topic) {
			server.CreateStream(topic)
		}
		server.Publish(topic, &sse.Event{Data: []byte(data)})
	})
	serve.Run(f, mux, func(context.Context) { server.Close() })
}

// Command gosse serves github.com/tmaxmax/go-sse for the load test, as its
// README shows: an sse.Server (Joe, the default provider) as the handler,
// topics from the ?topic= parameters through OnSession, and Publish. It has
// no publish endpoint of its own, so this one adds POST
// /.well-known/mercure behind a publisher token check. With -history, Joe
// gets a FiniteReplayer with automatic ids, as its README shows for replay.
package main

import (
	"context"
	"log"
	"net/http"

	sse "github.com/tmaxmax/go-sse"

	"github.com/polysse/polysse/loadtest/internal/serve"
)

func main() {
	f := serve.Parse()
	joe := &sse.Joe{}
	if f.History {
		r, err := sse.NewFiniteReplayer(100_000, true)
		if err != nil {
			log.Fatal(err)
		}
		joe.Replayer = r
	}
	server := &sse.Server{
		Provider: joe,
		OnSession: func(w http.ResponseWriter, r *http.Request) ([]string, bool) {
			topics := r.URL.Query()["topic"]
			if len(topics) == 0 {
				http.Error(w, "missing topic", http.StatusBadRequest)
				return nil, false
			}
			return topics, true
		},
	}
	check := serve.NewPublisherCheck(f.Key)
	mux := http.NewServeMux()
	mux.Handle("GET /events", server)
	mux.HandleFunc("POST /.well-known/mercure", func(w http.ResponseWriter, r *http.Request) {
		if !check.Allow(r) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		topic := r.PostFormValue("topic")
		if topic == "" {
			http.Error(w, "missing topic", http.StatusBadRequest)
			return
		}
		m := &sse.Message{}
		m.AppendData(r.PostFormValue("data"))
		if err := server.Publish(m, topic); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	})
	serve.Run(f, mux, func(ctx context.Context) { _ = server.Shutdown(ctx) })
}

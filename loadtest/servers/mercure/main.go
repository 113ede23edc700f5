// Command mercure serves the Mercure hub (github.com/dunglas/mercure) for
// the load test, as its README and package example show for library use:
// mercure.NewHub with a publisher JWT and anonymous subscribers, mounted at
// /.well-known/mercure. By default it uses Mercure's default transport, the
// local one, which keeps no history; with -history it uses the Bolt
// transport, Mercure's history-keeping one, with its file in -history-dir.
package main

import (
	"context"
	"log"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/dunglas/mercure"

	"github.com/polysse/polysse/loadtest/internal/serve"
)

func main() {
	f := serve.Parse()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := []mercure.Option{
		mercure.WithPublisherJWT([]byte(f.Key), "HS256"),
		mercure.WithAnonymous(),
		mercure.WithLogger(logger),
	}
	if f.History {
		path := filepath.Join(f.HistoryDir, "mercure-"+strconv.Itoa(os.Getpid())+".db")
		defer os.Remove(path)
		t, err := mercure.NewBoltTransport(mercure.NewSubscriberList(mercure.DefaultSubscriberListCacheSize), logger, path, "", 0, 0)
		if err != nil {
			log.Fatal(err)
		}
		opts = append(opts, mercure.WithTransport(t))
	}
	h, err := mercure.NewHub(ctx, opts...)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/.well-known/mercure", h)
	serve.Run(f, mux, func(ctx context.Context) { _ = h.Stop(ctx) })
}

// Command polysse serves the polysse hub for the load test, as its README
// shows for embedding: server.New with an in-memory log, mounted at
// /.well-known/mercure (subscribe and publish).
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/polysse/polysse/loadtest/internal/serve"
	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/boltstore"
	"github.com/polysse/polysse/server/store/memstore"
)

func main() {
	noHijack := flag.Bool("no-hijack", false, "keep every stream on the ordinary handler path (for comparison)")
	bolt := flag.Bool("bolt", false, "keep the replay log in a bolt file in -history-dir instead of memory")
	f := serve.Parse()
	v, err := auth.NewVerifier(f.Key)
	if err != nil {
		log.Fatal(err)
	}
	var l store.Log = memstore.New(store.Bounds{})
	if *bolt {
		path := filepath.Join(f.HistoryDir, "polysse-"+strconv.Itoa(os.Getpid())+".db")
		defer os.Remove(path)
		if l, err = boltstore.Open(path, store.Bounds{}); err != nil {
			log.Fatal(err)
		}
	}
	hub, err := server.New(context.Background(), server.Config{
		Log:            l,
		PublisherKey:   v,
		AllowAnonymous: true,
		// The load generator is one client of many streams, as for the
		// peers, which have no per-client limit.
		MaxSubscribersPerClient: -1,
		DisableHijack:           *noHijack,
		Logger:                  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/.well-known/mercure", hub)
	serve.Run(f, mux, func(ctx context.Context) {
		_ = hub.Shutdown(ctx)
		_ = hub.Close()
		_ = l.Close()
	})
}

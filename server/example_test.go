package server_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/gorilla/mux"

	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/boltstore"
	"github.com/polysse/polysse/server/store/memstore"
	"github.com/polysse/polysse/sse"
)

// printEvents long-polls url for what is kept after the earliest update
// and prints each event's data: a finite read, so the examples end.
func printEvents(url string) {
	res, err := http.Get(url + "?topic=books/{id}&transport=poll&lastEventID=earliest")
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	rd := sse.NewReader(res.Body, sse.Limits{})
	for {
		ev, err := rd.Next()
		if err != nil {
			return
		}
		fmt.Printf("%s: %s\n", ev.Type, ev.Data)
	}
}

// Embedding the hub in an existing net/http server: the hub is an
// http.Handler, mounted where Mercure clients expect it.
func Example() {
	hub, err := server.New(context.Background(), server.Config{AllowAnonymous: true})
	if err != nil {
		log.Fatal(err)
	}
	defer hub.Close()

	mux := http.NewServeMux()
	mux.Handle("/.well-known/mercure", hub)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "the rest of the app") })
	srv := httptest.NewServer(mux) // in a real program: http.ListenAndServe(":8080", mux)
	defer srv.Close()

	if _, err := hub.Publish(context.Background(), &store.Update{
		Topics: []string{"books/1"},
		Event:  sse.Event{Data: "Dune is back in stock"},
	}); err != nil {
		log.Fatal(err)
	}
	printEvents(srv.URL + "/.well-known/mercure")
	// Output:
	// message: Dune is back in stock
}

// Mounting the hub on a gorilla/mux router, beside the app's own routes.
func Example_gorillaMux() {
	hub, err := server.New(context.Background(), server.Config{AllowAnonymous: true})
	if err != nil {
		log.Fatal(err)
	}
	defer hub.Close()

	r := mux.NewRouter()
	r.Handle("/.well-known/mercure", hub).Methods(http.MethodGet, http.MethodPost, http.MethodOptions)
	r.HandleFunc("/books/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "book", mux.Vars(r)["id"])
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	_, _ = hub.Publish(context.Background(), &store.Update{Topics: []string{"books/2"}, Event: sse.Event{Type: "price", Data: "9.99"}})
	printEvents(srv.URL + "/.well-known/mercure")
	// Output:
	// price: 9.99
}

// Publishing from Go needs no token: the program holds the hub. The update
// is acknowledged once the log has stored it, and its id returned.
func ExampleHub_Publish() {
	hub, err := server.New(context.Background(), server.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer hub.Close()

	id, err := hub.Publish(context.Background(), &store.Update{
		Topics:  []string{"https://example.com/books/1", "https://example.com/authors/7"},
		Private: true, // only subscribers whose token covers a topic receive it
		Event:   sse.Event{ID: "book-1-v2", Type: "update", Data: `{"title":"Dune"}`},
	})
	fmt.Println(id, err)

	_, err = hub.Publish(context.Background(), &store.Update{Topics: []string{"t"}, Event: sse.Event{ID: "two\nlines"}})
	fmt.Println(err)
	// Output:
	// book-1-v2 <nil>
	// invalid update: id: sse: invalid event id: contains a line feed (LF) at byte 3
}

// Choosing a store: the in-memory ring is the library's default; a bbolt
// file keeps the history across restarts (the binary's default); Redis
// Streams (package redisstore) shares it between nodes.
func Example_store() {
	dir, _ := os.MkdirTemp("", "polysse-example")
	defer os.RemoveAll(dir)

	bounds := store.Bounds{MaxCount: 10_000, MaxAge: 0} // zero: the default age bound
	log1, err := boltstore.Open(filepath.Join(dir, "events.db"), bounds)
	if err != nil {
		log.Fatal(err)
	}
	hub, _ := server.New(context.Background(), server.Config{Log: log1, AllowAnonymous: true})
	_, _ = hub.Publish(context.Background(), &store.Update{Topics: []string{"books/3"}, Event: sse.Event{Data: "kept on disk"}})
	hub.Close()
	log1.Close() // the hub closes only a log it created itself

	// A restart on the same file: the history is still there.
	log2, _ := boltstore.Open(filepath.Join(dir, "events.db"), bounds)
	defer log2.Close()
	hub, _ = server.New(context.Background(), server.Config{Log: log2, AllowAnonymous: true})
	defer hub.Close()
	srv := httptest.NewServer(hub)
	defer srv.Close()
	printEvents(srv.URL)
	// Output:
	// message: kept on disk
}

// countingLog is a custom log: it wraps another store.Log and counts what
// is appended. Any type with the store.Log methods can back a hub.
type countingLog struct {
	store.Log
	appended atomic.Int64
}

func (l *countingLog) Append(ctx context.Context, u *store.Update) error {
	if strings.HasPrefix(u.Topics[0], "audit/") {
		return fmt.Errorf("audit topics are read-only")
	}
	if err := l.Log.Append(ctx, u); err != nil {
		return err
	}
	l.appended.Add(1)
	return nil
}

// Writing a custom log: wrap one of polysse's logs (or implement
// store.Log from scratch, and check it with the storetest package's
// conformance suite).
func Example_customLog() {
	logs := &countingLog{Log: memstore.New(store.Bounds{})}
	defer logs.Close()
	hub, err := server.New(context.Background(), server.Config{Log: logs})
	if err != nil {
		log.Fatal(err)
	}
	defer hub.Close()

	_, err = hub.Publish(context.Background(), &store.Update{Topics: []string{"books/4"}, Event: sse.Event{Data: "x"}})
	fmt.Println(err, logs.appended.Load())
	_, err = hub.Publish(context.Background(), &store.Update{Topics: []string{"audit/1"}, Event: sse.Event{Data: "x"}})
	fmt.Println(err, logs.appended.Load())
	// Output:
	// <nil> 1
	// server: publish: audit topics are read-only 1
}

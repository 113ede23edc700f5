package client_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/polysse/polysse/client"
	"github.com/polysse/polysse/sse"
)

func ExampleClient_Subscribe() {
	// A server that sends two events and ends the response; asked to
	// resume after them, it says there is nothing more with a 204.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get("Last-Event-ID"); id != "" {
			fmt.Println("server: resume after", id)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "retry: 10\n\nid: 1\ndata: hello\n\nid: 2\nevent: greeting\ndata: world\n\n")
	}))
	defer srv.Close()

	c := &client.Client{
		// Called at every connection attempt: a token could be
		// refreshed here.
		Header: func(ctx context.Context) (http.Header, error) {
			return http.Header{"Authorization": {"Bearer token"}}, nil
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.Subscribe(ctx, srv.URL, "", func(ev sse.Event) error {
		fmt.Printf("%s %q, id %s\n", ev.Type, ev.Data, ev.ID)
		return nil
	})
	fmt.Println("Subscribe returned", err)
	// Output:
	// message "hello", id 1
	// greeting "world", id 2
	// server: resume after 2
	// Subscribe returned <nil>
}

func ExampleClient_Open() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		// An event, then an id-only frame: the cursor moves on with no
		// event to deliver.
		io.WriteString(w, "id: 1\ndata: first\n\nid: 2\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()

	s := new(client.Client).Open(context.Background(), srv.URL, "")
	defer s.Close()
	ev, err := s.Next()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q, resume from %s\n", ev.Data, s.LastEventID())
	// Output:
	// "first", resume from 2
}

func ExamplePublish() {
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer publisher-jwt" {
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		r.ParseForm()
		fmt.Println("hub: topics", r.PostForm["topic"], "data", r.PostForm.Get("data"), "private", r.PostForm.Get("private"))
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "urn:uuid:3a5c")
	}))
	defer hub.Close()

	ctx := context.Background()
	u := client.Update{Topics: []string{"books/1", "books"}, Data: `{"title":"Dune"}`, Private: true}
	id, err := client.Publish(ctx, nil, hub.URL+"/.well-known/mercure", "publisher-jwt", u)
	fmt.Println(id, err)

	_, err = client.Publish(ctx, nil, hub.URL+"/.well-known/mercure", "stale-jwt", u)
	fmt.Println(err)
	// Output:
	// hub: topics [books/1 books] data {"title":"Dune"} private on
	// urn:uuid:3a5c <nil>
	// client: publish: 401 Unauthorized: invalid token
}

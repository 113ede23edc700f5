package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/sse"
)

func TestSubscribeHeadersAreSentAtOnce(t *testing.T) {
	e := newEnv(t, nil)
	res, err := http.Get(e.srv.URL + "?topic=a") // returns as soon as headers arrive
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	checkStreamHeaders(t, res, nil)
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil || line != "retry: "+strconv.Itoa(int(server.DefaultRetry/time.Millisecond))+"\n" {
		t.Errorf("first line %q, %v; want the initial retry", line, err)
	}
}

func TestPublishReachesSubscribersOfMatchingTopics(t *testing.T) {
	e := newEnv(t, nil)
	exact := e.subscribe("topic=https://example.com/books/1", nil)
	tmpl := e.subscribe("topic="+url.QueryEscape("https://example.com/books/{id}"), nil)
	all := e.subscribe("topic=*", nil)
	other := e.subscribe("topic=https://example.com/authors/1", nil)

	id := e.publish("a book", "https://example.com/books/1")
	for name, s := range map[string]*stream{"exact": exact, "template": tmpl, "wildcard": all} {
		ev := s.next(t)
		if ev.Data != "a book" || ev.ID != id || ev.Type != "message" {
			t.Errorf("%s got %+v, want data %q id %q", name, ev, "a book", id)
		}
	}
	other.none(t, 100*time.Millisecond)
}

func TestAlternateTopicsAndEventFields(t *testing.T) {
	e := newEnv(t, nil)
	s := e.subscribe("topic=alt", nil)
	f := url.Values{"topic": {"canonical", "alt"}, "data": {"line1\nline2"}, "id": {"my-id"}, "type": {"update"}, "retry": {"1234"}}
	code, body := e.post(e.token(auth.Claims{Publish: []string{"*"}}), f)
	if code != 200 || body != "my-id" {
		t.Fatalf("publish: %d %q", code, body)
	}
	ev := s.next(t)
	if ev.Data != "line1\nline2" || ev.ID != "my-id" || ev.Type != "update" {
		t.Errorf("got %+v", ev)
	}
	if ms, ok := s.rd.Retry(); !ok || ms != 1234 {
		t.Errorf("retry = %d, %v; want 1234", ms, ok)
	}
}

func TestGeneratedIDsAreUniqueAndSorted(t *testing.T) {
	e := newEnv(t, nil)
	var prev string
	seen := map[string]bool{}
	for i := range 50 {
		id := e.publish(strconv.Itoa(i), "t")
		if seen[id] || id <= prev {
			t.Fatalf("id %q after %q: not unique and increasing", id, prev)
		}
		seen[id], prev = true, id
	}
}

func TestResumeForms(t *testing.T) {
	e := newEnv(t, nil)
	var ids []string
	for i := range 5 {
		ids = append(ids, e.publish("e"+strconv.Itoa(i), "t"))
	}
	e.publish("other topic", "u")
	cases := []struct {
		name   string
		query  string
		header http.Header
		want   []string
		// wantHeader is the Last-Event-ID response header draft-07
		// requires: the id preceding the first event sent, or earliest.
		wantHeader string
	}{
		{"header", "topic=t", http.Header{"Last-Event-ID": {ids[1]}}, []string{"e2", "e3", "e4"}, ids[1]},
		{"lastEventID", "topic=t&lastEventID=" + url.QueryEscape(ids[2]), nil, []string{"e3", "e4"}, ids[2]},
		{"lastEventId", "topic=t&lastEventId=" + url.QueryEscape(ids[3]), nil, []string{"e4"}, ids[3]},
		{"earliest", "topic=t", http.Header{"Last-Event-ID": {"earliest"}}, []string{"e0", "e1", "e2", "e3", "e4"}, "earliest"},
		{"header wins over query", "topic=t&lastEventID=" + url.QueryEscape(ids[0]), http.Header{"Last-Event-ID": {ids[3]}}, []string{"e4"}, ids[3]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := e.subscribe(c.query, c.header)
			if got := s.res.Header.Get("Last-Event-ID"); got != c.wantHeader {
				t.Errorf("Last-Event-ID response header %q, want %q", got, c.wantHeader)
			}
			for _, want := range c.want {
				if ev := s.next(t); ev.Data != want {
					t.Fatalf("got %q, want %q", ev.Data, want)
				}
			}
			s.none(t, 50*time.Millisecond)
		})
	}
}

// TestUnknownLastEventIDReplaysNothingWithMissedEvent: as Mercure says, an
// id the log does not hold replays nothing (the response header says
// earliest); the typed notice tells an EventSource, which cannot read
// headers, and the stream goes on with what is published next.
func TestUnknownLastEventIDReplaysNothingWithMissedEvent(t *testing.T) {
	e := newEnv(t, nil)
	e.publish("kept", "t")
	s := e.subscribe("topic=t", http.Header{"Last-Event-ID": {"never-issued"}})
	if got := s.res.Header.Get("Last-Event-ID"); got != "earliest" {
		t.Errorf("Last-Event-ID response header %q, want earliest", got)
	}
	if ev := s.next(t); ev.Type != server.MissedEventType || ev.Data != `{"lastEventId":"never-issued"}` {
		t.Fatalf("first event %+v, want the missed notice", ev)
	}
	e.publish("next", "t")
	if ev := s.next(t); ev.Data != "next" {
		t.Fatalf("got %+v, want the update published after the subscription, not the kept one", ev)
	}
}

func TestFreshStreamGetsCursorSoADropLosesNothing(t *testing.T) {
	e := newEnv(t, nil)
	e.publish("before", "t")
	res, err := http.Get(e.srv.URL + "?topic=t")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	// The stream opens with retry, then an id alone: a cursor that sets the
	// client's last event id without dispatching an event.
	r := bufio.NewReader(res.Body)
	var cursor string
	for cursor == "" {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "data:") {
			t.Fatalf("an event before the cursor: %q", line)
		}
		if id, ok := strings.CutPrefix(line, "id: "); ok {
			cursor = strings.TrimSuffix(id, "\n")
		}
	}
	res.Body.Close() // the stream drops before its first event
	e.publish("after", "t")
	s := e.subscribe("topic=t", http.Header{"Last-Event-ID": {cursor}})
	if ev := s.next(t); ev.Data != "after" {
		t.Fatalf("resume from the cursor: got %q, want the update published during the drop", ev.Data)
	}
	s.none(t, 50*time.Millisecond)
}

func TestPublishAuthorization(t *testing.T) {
	e := newEnv(t, nil)
	other, _ := auth.NewSigner("another-secret")
	bad, _ := other.Sign(auth.Claims{Publish: []string{"*"}}, time.Hour)
	cases := []struct {
		name  string
		token string
		form  url.Values
		want  int
	}{
		{"no token", "", url.Values{"topic": {"t"}, "data": {"x"}}, 401},
		{"wrong key", bad, url.Values{"topic": {"t"}, "data": {"x"}}, 401},
		{"subscriber token", e.token(auth.Claims{Subscribe: []string{"*"}}), url.Values{"topic": {"t"}, "data": {"x"}}, 403},
		{"other topic", e.token(auth.Claims{Publish: []string{"books/{id}"}}), url.Values{"topic": {"authors/1"}, "data": {"x"}}, 403},
		{"one alternate not allowed", e.token(auth.Claims{Publish: []string{"books/{id}"}}), url.Values{"topic": {"books/1", "authors/1"}, "data": {"x"}}, 403},
		{"allowed by template", e.token(auth.Claims{Publish: []string{"books/{id}"}}), url.Values{"topic": {"books/1"}, "data": {"x"}}, 200},
		{"missing topic", e.token(auth.Claims{Publish: []string{"*"}}), url.Values{"data": {"x"}}, 400},
		{"id with LF", e.token(auth.Claims{Publish: []string{"*"}}), url.Values{"topic": {"t"}, "id": {"a\nb"}}, 400},
		{"id with CR", e.token(auth.Claims{Publish: []string{"*"}}), url.Values{"topic": {"t"}, "id": {"a\rb"}}, 400},
		{"id with NUL", e.token(auth.Claims{Publish: []string{"*"}}), url.Values{"topic": {"t"}, "id": {"a\x00b"}}, 400},
		{"type with LF", e.token(auth.Claims{Publish: []string{"*"}}), url.Values{"topic": {"t"}, "type": {"a\nb"}}, 400},
		{"retry not digits", e.token(auth.Claims{Publish: []string{"*"}}), url.Values{"topic": {"t"}, "retry": {"-1"}}, 400},
		{"reserved id", e.token(auth.Claims{Publish: []string{"*"}}), url.Values{"topic": {"t"}, "id": {"earliest"}}, 400},
		{"data too large", e.token(auth.Claims{Publish: []string{"*"}}), url.Values{"topic": {"t"}, "data": {strings.Repeat("x", server.DefaultMaxEventBytes+1)}}, 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := e.post(c.token, c.form)
			if code != c.want {
				t.Fatalf("got %d %q, want %d", code, body, c.want)
			}
			if code >= 400 && strings.TrimSpace(body) == "" {
				t.Error("an error without a reason")
			}
		})
	}
}

func TestPublishBodyLimit(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.MaxPublishBytes = 1024 })
	code, _ := e.post(e.token(auth.Claims{Publish: []string{"*"}}), url.Values{"topic": {"t"}, "data": {strings.Repeat("x", 2000)}})
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("got %d, want 413", code)
	}
}

func TestPrivateUpdatesReachOnlyAuthorizedSubscribers(t *testing.T) {
	e := newEnv(t, nil)
	anon := e.subscribe("topic=*", nil)
	wrong := e.subscribe("topic=*", http.Header{"Authorization": {"Bearer " + e.token(auth.Claims{Subscribe: []string{"other"}})}})
	right := e.subscribe("topic=*", http.Header{"Authorization": {"Bearer " + e.token(auth.Claims{Subscribe: []string{"secret/{x}"}})}})
	code, body := e.post(e.token(auth.Claims{Publish: []string{"*"}}), url.Values{"topic": {"secret/1"}, "data": {"private"}, "private": {"on"}})
	if code != 200 {
		t.Fatalf("publish: %d %s", code, body)
	}
	e.publish("public", "public/1")
	if ev := right.next(t); ev.Data != "private" {
		t.Fatalf("authorized subscriber got %q", ev.Data)
	}
	for name, s := range map[string]*stream{"anonymous": anon, "other claim": wrong} {
		if ev := s.next(t); ev.Data != "public" {
			t.Errorf("%s subscriber got %q before the public update", name, ev.Data)
		}
	}
	// Replay is filtered too.
	replay := e.subscribe("topic=*", http.Header{"Last-Event-ID": {"earliest"}})
	if ev := replay.next(t); ev.Data != "public" {
		t.Errorf("anonymous replay got %q, want only the public update", ev.Data)
	}
}

func TestSubscriberAuthentication(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.AllowAnonymous = false })
	cases := []struct {
		name   string
		header http.Header
		query  string
		want   int
	}{
		{"anonymous refused", nil, "topic=t", 401},
		{"bad token", http.Header{"Authorization": {"Bearer nope"}}, "topic=t", 401},
		{"header token", http.Header{"Authorization": {"Bearer " + e.token(auth.Claims{Subscribe: []string{"t"}})}}, "topic=t", 200},
		{"cookie token", http.Header{"Cookie": {"mercureAuthorization=" + e.token(auth.Claims{Subscribe: []string{"t"}})}}, "topic=t", 200},
		{"query token", nil, "topic=t&authorization=" + e.token(auth.Claims{Subscribe: []string{"t"}}), 200},
		{"missing topic", http.Header{"Authorization": {"Bearer " + e.token(auth.Claims{Subscribe: []string{"t"}})}}, "", 400},
		// Authentication comes before parsing (TestSubscribeAuthenticatesBeforeParsing).
		{"invalid template, anonymous", nil, "topic=" + url.QueryEscape("a/{b"), 401},
		{"invalid template", http.Header{"Authorization": {"Bearer " + e.token(auth.Claims{Subscribe: []string{"t"}})}}, "topic=" + url.QueryEscape("a/{b"), 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := e.subscribe(c.query, c.header)
			if s.res.StatusCode != c.want {
				t.Fatalf("got %d, want %d", s.res.StatusCode, c.want)
			}
		})
	}
}

func TestPollTransport(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.PollTimeout = 300 * time.Millisecond })
	first := e.publish("a", "t")
	e.publish("b", "t")

	// Pending events: delivered, then the response ends with a short retry.
	res, body := get(t, e.srv.URL+"?topic=t&transport=poll&lastEventID="+url.QueryEscape(first))
	if !strings.Contains(body, "data: b\n") || !strings.HasSuffix(body, "retry: "+strconv.Itoa(int(server.DefaultPollRetry/time.Millisecond))+"\n\n") {
		t.Fatalf("poll with pending events: %d %q", res.StatusCode, body)
	}
	// Nothing pending: the response waits for its bound, then ends.
	start := time.Now()
	_, body = get(t, e.srv.URL+"?topic=nothing&transport=poll")
	if d := time.Since(start); d < 250*time.Millisecond || strings.Contains(body, "data:") {
		t.Fatalf("empty poll after %v: %q", d, body)
	}
	// Waiting: an event published during the poll ends it early. Published
	// once the poll is subscribed, or it would be before the poll's head.
	waitFor(t, func() bool { return e.hub.Subscribers() == 0 })
	published := make(chan error, 1)
	go func() {
		for deadline := time.Now().Add(5 * time.Second); e.hub.Subscribers() == 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				published <- errors.New("the poll never subscribed")
				return
			}
		}
		_, err := e.hub.Publish(context.Background(), &store.Update{Topics: []string{"t"}, Event: sse.Event{Data: "c"}})
		published <- err
	}()
	_, body = get(t, e.srv.URL+"?topic=t&transport=poll")
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "data: c\n") {
		t.Fatalf("poll while publishing: %q", body)
	}
}

func TestSlowSubscriberIsCutOffAndResumes(t *testing.T) {
	// A subscriber that does not keep up is cut off when its queue
	// overflows, at once even while a write to it is blocked (a long write
	// timeout shows it), or when a write to it times out (a queue too big
	// to overflow shows that).
	cases := []struct {
		name          string
		reads         bool
		maxQueueBytes int
		writeTimeout  time.Duration
	}{
		{"never reads, queue overflows", false, 256 << 10, time.Minute},
		{"never reads, write times out", false, 1 << 30, 500 * time.Millisecond},
		{"reads too slowly, queue overflows", true, 256 << 10, time.Minute},
	}
	for _, hijack := range []bool{true, false} {
		for _, tc := range cases {
			name := tc.name
			if !hijack {
				name += ", no hijack"
			}
			t.Run(name, func(t *testing.T) {
				testSlowSubscriber(t, hijack, tc.reads, tc.maxQueueBytes, tc.writeTimeout)
			})
		}
	}
}

func testSlowSubscriber(t *testing.T, hijack, reads bool, maxQueueBytes int, writeTimeout time.Duration) {
	e := newEnv(t, func(c *server.Config) {
		c.MaxQueueBytes = maxQueueBytes
		c.WriteTimeout = writeTimeout
		c.DisableHijack = !hijack
	})
	conn := rawSubscribe(t, e.srv.URL, "topic=t")
	defer conn.Close()
	if reads {
		// About 100 KB/s, until the hub closes the connection.
		go func() {
			buf := make([]byte, 1024)
			for {
				if _, err := conn.(io.Reader).Read(buf); err != nil {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	fast := e.subscribe("topic=t", nil)
	data := strings.Repeat("x", 1024)
	// Far more than loopback socket buffers and the queue absorb, in
	// batches that a reading subscriber keeps up with.
	const batches, batch = 400, 64
	for b := range batches {
		for i := range batch {
			id := "id-" + strconv.Itoa(b*batch+i)
			if _, err := e.hub.Publish(context.Background(), &store.Update{Topics: []string{"t"}, Event: sse.Event{Data: data, ID: id}}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range batch {
			if ev := fast.next(t); ev.ID != "id-"+strconv.Itoa(b*batch+i) {
				t.Fatalf("reading subscriber: got %q at %d", ev.ID, b*batch+i)
			}
		}
	}
	// The slow one was cut off, and counted; the hub holds one stream again.
	deadline := time.Now().Add(5 * time.Second)
	for e.hub.Subscribers() > 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := e.hub.Subscribers(); n != 1 {
		t.Fatalf("%d subscribers, want the slow one cut off", n)
	}
	if n := e.hub.Stats().CutOff; n != 1 {
		t.Errorf("Stats().CutOff = %d, want 1", n)
	}
	// It resumes from the log with nothing lost.
	s := e.subscribe("topic=t", http.Header{"Last-Event-ID": {"id-999"}})
	for i := 1000; i < batches*batch; i++ {
		if ev := s.next(t); ev.ID != "id-"+strconv.Itoa(i) {
			t.Fatalf("resume: got %q, want id-%d", ev.ID, i)
		}
	}
}

func TestGoAPIPublishValidates(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.hub.Publish(context.Background(), &store.Update{Topics: []string{"t"}, Event: sse.Event{ID: "x\ny"}})
	if !errors.Is(err, server.ErrInvalidUpdate) {
		t.Fatalf("got %v, want ErrInvalidUpdate", err)
	}
	_, err = e.hub.Publish(context.Background(), &store.Update{Event: sse.Event{Data: "no topic"}})
	if !errors.Is(err, server.ErrInvalidUpdate) {
		t.Fatalf("got %v, want ErrInvalidUpdate", err)
	}
}

func get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// rawSubscribe opens a subscription over a bare TCP connection that the
// test never reads from.
func rawSubscribe(t *testing.T, base, query string) io.Closer {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /?%s HTTP/1.1\r\nHost: %s\r\n\r\n", query, u.Host)
	return conn
}

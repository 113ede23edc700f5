package server_test

import (
	"bufio"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/topic"
)

// hostile values for every publish field: line breaks of each kind, NUL,
// U+2028, invalid UTF-8, a would-be field, and a long value.
var hostile = []string{
	"a\nid: injected\n\ndata: injected",
	"a\rid: injected\r\rdata: injected",
	"a\r\nid: injected\r\n\r\ndata: injected",
	"a\x00b",
	"a\u2028b\u2029c",
	"a\xffb\xc3",
	"\n\n\n",
	"retry: 1\nevent: injected",
	":comment\ndata: injected",
	strings.Repeat("long\n", 20000),
}

// TestNothingPublishedCanInjectAFieldOrEvent publishes each hostile value
// in each field and reads the raw wire on every transport: the only lines
// are the ones the hub writes itself, and exactly one event is dispatched.
func TestNothingPublishedCanInjectAFieldOrEvent(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.token(auth.Claims{Publish: []string{"*"}})
	transports := []struct{ name, query string }{
		{"stream", "topic=t"},
		{"padded", "topic=t&padding=true"},
		{"poll", "topic=t&transport=poll"},
	}
	for _, field := range []string{"data", "id", "type", "retry", "topic"} {
		for i, v := range hostile {
			form := url.Values{"topic": {"t"}, "data": {"ok"}}
			if field == "topic" {
				form["topic"] = []string{"t", v}
			} else {
				form.Set(field, v)
			}
			// Resuming after a marker replays exactly the update under test.
			marker := e.publish("marker", "t")
			code, body := e.post(tok, form)
			accepted := code == http.StatusOK
			tooLong := field == "topic" && len(v) > topic.MaxLength
			// A URL parser strips tabs and newlines, so a topic of line
			// breaks alone resolves to the hub's own URL: its reserved
			// namespace, refused whatever the draft.
			reserved := field == "topic" && code == http.StatusForbidden && strings.Contains(body, "reserved namespace")
			if !accepted && !tooLong && !reserved && (field == "data" || field == "topic") {
				t.Errorf("%s #%d refused (%d %s); data and topics may hold anything", field, i, code, body)
			}
			if !accepted && strings.TrimSpace(body) == "" {
				t.Errorf("%s #%d refused without a reason", field, i)
			}
			if !accepted {
				continue
			}
			for _, tr := range transports {
				lines := rawEvent(t, e.srv.URL+"?"+tr.query+"&lastEventID="+url.QueryEscape(marker))
				checkLines(t, field, i, tr.name, lines)
				if field == "data" {
					// The whole value in this one event: nothing split off
					// into a second one.
					want := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(v)
					if got := dataOf(lines); got != want {
						t.Errorf("data #%d over %s: the event carries %d bytes of data, want all %d", i, tr.name, len(got), len(want))
					}
				}
			}
		}
	}
}

// rawEvent reads one poll-or-stream response until its first event is
// complete, and returns the raw lines of that event.
func rawEvent(t *testing.T, u string) []string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r := bufio.NewReaderSize(res.Body, 1<<20)
	var ev []string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: %v after %q", u, err, ev)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if hasData(ev) {
				return ev
			}
			ev = nil
			continue
		}
		ev = append(ev, line)
	}
	t.Fatalf("%s: no event", u)
	return nil
}

func dataOf(lines []string) string {
	var parts []string
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "data: "); ok {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, "\n")
}

func hasData(lines []string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, "data:") {
			return true
		}
	}
	return false
}

// checkLines asserts that an event's lines are only fields the hub writes,
// each at most once except data, and that no line holds a bare CR (a
// browser would split there).
func checkLines(t *testing.T, field string, i int, transport string, lines []string) {
	t.Helper()
	count := map[string]int{}
	for _, l := range lines {
		if strings.ContainsRune(l, '\r') {
			t.Errorf("%s #%d over %s: a CR inside line %q", field, i, transport, l)
		}
		name, _, _ := strings.Cut(l, ":")
		switch name {
		case "id", "event", "retry":
			count[name]++
		case "data":
		default:
			t.Errorf("%s #%d over %s: unexpected line %q", field, i, transport, l)
		}
	}
	for name, n := range count {
		if n > 1 {
			t.Errorf("%s #%d over %s: %d %s fields in one event: %q", field, i, transport, n, name, lines)
		}
	}
	for _, l := range lines {
		if strings.Contains(l, "injected") && !strings.HasPrefix(l, "data: ") {
			t.Errorf("%s #%d over %s: injected text outside data: %q", field, i, transport, l)
		}
	}
}

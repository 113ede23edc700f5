package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPublish(t *testing.T) {
	for _, tc := range []struct {
		name   string
		token  string
		update Update
		answer func(w http.ResponseWriter)
		// The form and Authorization the hub should see.
		form url.Values
		auth string
		// The result: an id, or a status error with this code and body.
		id      string
		code    int
		body    string
		after   time.Duration
		errText string
	}{
		{
			name:  "every field",
			token: "tok",
			update: Update{
				Topics: []string{"https://example.com/books/1", "books/{id}", "x y&z"},
				Data:   "line 1\nline 2 & more=",
				ID:     "urn:uuid:1", Type: "update", Retry: 1500, Private: true,
			},
			answer: func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				io.WriteString(w, "urn:uuid:1\n")
			},
			form: url.Values{
				"topic": {"https://example.com/books/1", "books/{id}", "x y&z"},
				"data":  {"line 1\nline 2 & more="},
				"id":    {"urn:uuid:1"}, "type": {"update"}, "retry": {"1500"}, "private": {"on"},
			},
			auth: "Bearer tok",
			id:   "urn:uuid:1",
		},
		{
			name:   "only what is set, no token",
			update: Update{Topics: []string{"t"}, Data: "d"},
			answer: func(w http.ResponseWriter) { io.WriteString(w, "gen-42") },
			form:   url.Values{"topic": {"t"}, "data": {"d"}},
			id:     "gen-42",
		},
		{
			name:   "401 with reason",
			token:  "expired",
			update: Update{Topics: []string{"t"}},
			answer: func(w http.ResponseWriter) { http.Error(w, "token is expired", http.StatusUnauthorized) },
			form:   url.Values{"topic": {"t"}},
			auth:   "Bearer expired",
			code:   401, body: "token is expired",
			errText: "client: publish: 401 Unauthorized: token is expired",
		},
		{
			name:   "403 with reason",
			token:  "tok",
			update: Update{Topics: []string{"a"}},
			answer: func(w http.ResponseWriter) {
				http.Error(w, `forbidden: the token may not publish to topic "a"`, http.StatusForbidden)
			},
			form: url.Values{"topic": {"a"}},
			auth: "Bearer tok",
			code: 403, body: `forbidden: the token may not publish to topic "a"`,
			errText: `client: publish: 403 Forbidden: forbidden: the token may not publish to topic "a"`,
		},
		{
			name:   "503 with Retry-After",
			update: Update{Topics: []string{"t"}},
			answer: func(w http.ResponseWriter) {
				w.Header().Set("Retry-After", "1")
				http.Error(w, "the update was not stored", http.StatusServiceUnavailable)
			},
			form: url.Values{"topic": {"t"}},
			code: 503, body: "the update was not stored", after: time.Second,
			errText: "client: publish: 503 Service Unavailable: the update was not stored",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotForm url.Values
			var gotAuth, gotType, gotMethod string
			hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotMethod, gotAuth, gotType = r.Method, r.Header.Get("Authorization"), r.Header.Get("Content-Type")
				if err := r.ParseForm(); err != nil {
					t.Errorf("hub: %v", err)
				}
				gotForm = r.PostForm
				tc.answer(w)
			}))
			defer hub.Close()
			ctx, cancel := context.WithTimeout(t.Context(), bound)
			defer cancel()
			id, err := Publish(ctx, hub.Client(), hub.URL+"/.well-known/mercure", tc.token, tc.update)
			if gotMethod != http.MethodPost || gotType != "application/x-www-form-urlencoded" || gotAuth != tc.auth {
				t.Errorf("hub saw %s, Content-Type %q, Authorization %q", gotMethod, gotType, gotAuth)
			}
			if !reflect.DeepEqual(gotForm, tc.form) {
				t.Errorf("hub saw form %v, want %v", gotForm, tc.form)
			}
			if tc.code == 0 {
				if err != nil || id != tc.id {
					t.Fatalf("Publish: %q, %v; want %q", id, err, tc.id)
				}
				return
			}
			var se *StatusError
			if !errors.As(err, &se) || se.StatusCode != tc.code || se.Body != tc.body || se.RetryAfter != tc.after {
				t.Fatalf("Publish: %q, %v (%+v); want status %d with body %q", id, err, se, tc.code, tc.body)
			}
			if err.Error() != tc.errText {
				t.Fatalf("error %q, want %q", err, tc.errText)
			}
		})
	}
}

func TestPublishRefusedLocally(t *testing.T) {
	var hits atomic.Int32
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer hub.Close()
	if _, err := Publish(t.Context(), nil, hub.URL, "tok", Update{Data: "no topic"}); err == nil {
		t.Fatal("Publish without a topic succeeded")
	}
	if _, err := Publish(t.Context(), nil, "http://127.0.0.1/%zz", "tok", Update{Topics: []string{"t"}}); err == nil ||
		!strings.HasPrefix(err.Error(), "client: publish: ") {
		t.Fatalf("Publish to a bad URL: %v", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("the hub got %d requests", hits.Load())
	}
}

func TestPublishAnswerTooLong(t *testing.T) {
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", maxIDSize+1))
	}))
	defer hub.Close()
	if id, err := Publish(t.Context(), nil, hub.URL, "", Update{Topics: []string{"t"}}); err == nil {
		t.Fatalf("Publish: %d-byte id, want an error", len(id))
	}
}

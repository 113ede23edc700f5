package client

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// snippetSize bounds the part of an unexpected response's body kept in a
// StatusError: enough for a hub's one-line reason, not a whole error page.
const snippetSize = 512

// A StatusError reports a response that the client could not use: a
// status other than the expected one, or for a subscription a 200 whose
// Content-Type is not text/event-stream.
type StatusError struct {
	// StatusCode is the response's status code.
	StatusCode int
	// ContentType is the response's Content-Type header.
	ContentType string
	// Body is the start of the response body, at most 512 bytes, made
	// printable: it usually says why the server refused.
	Body string
	// RetryAfter is the wait the server asked for with a Retry-After
	// header, or zero.
	RetryAfter time.Duration
	// Challenge is the WWW-Authenticate header (see OAuthError).
	Challenge string
}

// Error returns the status and the server's reason, such as
// "403 Forbidden: the token may not publish to topic \"a\"".
func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.StatusCode))
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + t)
	}
	if e.StatusCode/100 == 2 {
		// A success that could not be used: its type is what was wrong.
		b.WriteString(" with Content-Type " + strconv.Quote(e.ContentType))
	}
	if e.Body != "" {
		b.WriteString(": " + e.Body)
	}
	return b.String()
}

// newStatusError reads the start of resp's body into a StatusError and
// closes the body.
func newStatusError(resp *http.Response) *StatusError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, snippetSize))
	resp.Body.Close()
	return &StatusError{
		StatusCode:  resp.StatusCode,
		ContentType: resp.Header.Get("Content-Type"),
		Body:        printable(string(b)),
		RetryAfter:  retryAfter(resp.Header.Get("Retry-After")),
		Challenge:   resp.Header.Get("WWW-Authenticate"),
	}
}

// printable makes a body snippet fit on one log line: invalid UTF-8 and
// control characters, line ends included, would garble it.
func printable(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// retryAfter parses a Retry-After value, in seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n <= 0 {
			return 0
		}
		// A day is beyond any sensible cap, and bounding it avoids overflow.
		return time.Duration(min(n, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// redact removes credentials from the URL that an *url.Error carries,
// because Mercure lets a subscriber put its JWT in the authorization query
// parameter and errors end up in logs.
func redact(err error) error {
	ue, ok := err.(*url.Error)
	if !ok {
		return err
	}
	if r := redactURL(ue.URL); r != ue.URL {
		c := *ue
		c.URL = r
		return &c
	}
	return err
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	if u.RawQuery != "" {
		q := u.Query()
		changed := false
		for k := range q {
			if strings.EqualFold(k, "authorization") {
				q[k] = []string{"xxxxx"}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return u.Redacted()
}

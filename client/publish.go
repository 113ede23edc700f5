package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxIDSize bounds the publish answer read: it is one event id.
const maxIDSize = 64 << 10

// An Update is what Publish sends to a Mercure hub.
type Update struct {
	// Topics are the update's topics, at least one; the first is its
	// canonical topic.
	Topics []string
	// Data is the event's data; it may hold line breaks.
	Data string
	// ID is the event id; empty lets the hub choose one.
	ID string
	// Type is the event type; empty means "message".
	Type string
	// Retry, in milliseconds, is sent to subscribers as a retry field when
	// positive.
	Retry int
	// Private sends the update only to subscribers authorized for one of
	// its topics.
	Private bool
}

// Publish posts u to the Mercure hub at hubURL as the publish form, with
// token as the bearer token when it is not empty, and returns the event id
// the hub assigned. hc nil means http.DefaultClient. When the hub refuses
// the update, the error wraps a *StatusError with the status and the hub's
// reason.
func Publish(ctx context.Context, hc *http.Client, hubURL, token string, u Update) (id string, err error) {
	if len(u.Topics) == 0 {
		return "", errors.New("client: publish: an update needs at least one topic")
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	form := url.Values{"topic": u.Topics}
	if u.Data != "" {
		form.Set("data", u.Data)
	}
	if u.ID != "" {
		form.Set("id", u.ID)
	}
	if u.Type != "" {
		form.Set("type", u.Type)
	}
	if u.Retry > 0 {
		form.Set("retry", strconv.Itoa(u.Retry))
	}
	if u.Private {
		form.Set("private", "on")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hubURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("client: publish: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("client: publish: %w", redact(err))
	}
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("client: publish: %w", newStatusError(resp))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxIDSize+1))
	if err != nil {
		return "", fmt.Errorf("client: publish: reading the event id: %w", err)
	}
	if len(b) > maxIDSize {
		return "", fmt.Errorf("client: publish: the answer is longer than %d bytes, not an event id", maxIDSize)
	}
	// An id cannot hold a line end; one after it is the hub's formatting.
	return strings.TrimRight(string(b), "\r\n"), nil
}

package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/sse"
)

// publish serves a Mercure publish: a form with topic (one or more, the
// first canonical), data, and optionally id, type, retry and private. It
// answers the event id as text/plain once the log has stored the update.
func (h *Hub) publish(w http.ResponseWriter, r *http.Request) {
	if h.cfg.PublisherKey == nil {
		h.unauthorized(w, errors.New("publishing over HTTP is disabled: the hub has no publisher key"))
		return
	}
	tok, err := auth.FromRequest(r)
	if err == nil && tok == "" {
		err = errors.New("a publisher token is required")
	}
	if err != nil {
		h.unauthorized(w, err)
		return
	}
	claims, err := h.cfg.PublisherKey.Verify(tok)
	if err != nil {
		h.unauthorized(w, err)
		return
	}
	if !h.readPublishForm(w, r) {
		return
	}
	u, err := updateFromForm(r)
	if err == nil {
		err = h.validate(u)
	}
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, errTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		http.Error(w, err.Error(), status)
		return
	}
	if t := h.reservedTopic(r, u.Topics); t != "" {
		// Refused as the reference hub does: the namespace is the hub's,
		// for subscription events, and a publisher must not forge them.
		http.Error(w, "forbidden: topic "+strconv.Quote(t)+" is in the hub's reserved namespace", http.StatusForbidden)
		return
	}
	for _, t := range u.Topics {
		if !h.matcher.MatchAny([]string{t}, claims.Publish) {
			http.Error(w, "forbidden: the token may not publish to topic "+strconv.Quote(t), http.StatusForbidden)
			return
		}
	}
	if err := h.store(r.Context(), u); err != nil {
		h.storeFailed(w, r, u, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(u.Event.ID))
}

// readPublishForm checks where an authorized publish comes from (see
// checkPublishOrigin) and reads its form, bounded by MaxPublishBytes. On
// failure it has answered the request (403, 413 or 400) and returns false.
func (h *Hub) readPublishForm(w http.ResponseWriter, r *http.Request) bool {
	if err := h.checkPublishOrigin(r); err != nil {
		http.Error(w, "forbidden: "+err.Error(), http.StatusForbidden)
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxPublishBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "publish body exceeds "+strconv.FormatInt(mbe.Limit, 10)+" bytes", http.StatusRequestEntityTooLarge)
			return false
		}
		http.Error(w, "invalid publish form: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// storeFailed answers a publish whose update the log did not take: 409
// for an id the log holds already; 503 otherwise, saying whether the
// update may have been stored all the same (the log answered too late)
// and how to retry without storing it twice.
func (h *Hub) storeFailed(w http.ResponseWriter, r *http.Request, u *store.Update, err error) {
	switch {
	case errors.Is(err, store.ErrDuplicateID):
		http.Error(w, "conflict: an update with id "+strconv.Quote(u.Event.ID)+" is already in the log", http.StatusConflict)
	case errors.Is(err, store.ErrMaybeStored), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		// A retry could store the update twice, unless it carries
		// an id: a second copy of an id is refused with 409.
		h.logger.Error("publish failed: the log answered too late; the update may have been stored", "id", u.Event.ID, "err", err)
		w.Header().Set("Retry-After", "1")
		hint := "retry with the same id: if it was stored, the retry is refused with 409 Conflict"
		if r.PostForm.Get("id") == "" {
			hint = "to retry safely, publish with an id of your own: a second update with an id already stored is refused with 409 Conflict"
		}
		http.Error(w, "the update may have been stored: "+err.Error()+"; "+hint, http.StatusServiceUnavailable)
	default:
		h.logger.Error("publish failed: the log did not store the update", "err", err)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "the update was not stored: "+err.Error(), http.StatusServiceUnavailable)
	}
}

// updateFromForm reads the publish form fields. Only the POST body counts:
// Mercure publishers send a form, and query parameters would let a URL
// smuggle fields in.
func updateFromForm(r *http.Request) (*store.Update, error) {
	f := r.PostForm
	u := &store.Update{
		Topics:  f["topic"],
		Private: present(f, "private"),
		Event: sse.Event{
			ID:   f.Get("id"),
			Type: f.Get("type"),
			Data: f.Get("data"),
		},
	}
	if v := f.Get("retry"); v != "" {
		n, err := sse.ParseRetry(v)
		if err != nil {
			return nil, errors.Join(ErrInvalidUpdate, err)
		}
		u.Event.Retry = n
	}
	return u, nil
}

// present reads a form flag the way Mercure does: present means set,
// whatever its value. Reading "off" or "false" as unset would make an
// update public that its publisher marked private, and a publisher cannot
// tell from the answer that it did.
func present(f map[string][]string, name string) bool {
	_, ok := f[name]
	return ok
}

// checkPublishOrigin refuses a publish authorized by a cookie (draft-07's
// mercureAuthorization, draft-08's access-token cookie) unless it
// comes from a page of an origin in PublishOrigins: a browser attaches the
// cookie to a form that any other site posts, so without this a page
// elsewhere could publish as the user. A token in the Authorization header
// or the query was put there by the publisher itself, and needs no check.
func (h *Hub) checkPublishOrigin(r *http.Request) error {
	if len(r.Header.Values("Authorization")) > 0 {
		return nil
	}
	if !hasCookie(r, auth.CookieName) && !hasCookie(r, AccessTokenCookie) {
		return nil
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		// Browsers send Origin with every cross-origin POST and most
		// same-origin ones; a Referer is what older ones send.
		if ref, err := url.Parse(r.Header.Get("Referer")); err == nil && ref.Scheme != "" && ref.Host != "" {
			origin = ref.Scheme + "://" + ref.Host
		}
	}
	if origin == "" {
		return errors.New("a publish authorized by the cookie needs an Origin header")
	}
	for _, o := range h.cfg.PublishOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return nil
		}
	}
	return fmt.Errorf("origin %q may not publish with the cookie (see PublishOrigins, -publish-origins)", origin)
}

// hasCookie reports whether r carries a non-empty cookie name.
func hasCookie(r *http.Request, name string) bool {
	c, err := r.Cookie(name)
	return err == nil && c.Value != ""
}

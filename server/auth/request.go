package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Where FromRequest looks for a token after the Authorization header.
const (
	// CookieName is the cookie Mercure subscribers' browsers send, since
	// EventSource cannot set headers.
	CookieName = "mercureAuthorization"
	// QueryParam is the query parameter for clients that can set neither
	// a header nor a cookie, such as a cross-site EventSource.
	QueryParam = "authorization"
)

// ErrAuthorizationHeader reports an Authorization header that is not a
// single "Bearer <token>".
var ErrAuthorizationHeader = errors.New("auth: malformed Authorization header")

// FromRequest returns the token r carries, looking where Mercure draft-07
// says and in the reference hub's order: the Authorization header (Bearer
// scheme), then the QueryParam query parameter, then the CookieName cookie
// (ambient, so the one a client chose explicitly wins). A request without a token
// yields "" and no error. An Authorization header that is present but not
// a Bearer token is an error rather than a reason to look further, so that
// a client's mistake is reported instead of hidden by a stale cookie.
func FromRequest(r *http.Request) (token string, err error) {
	if values := r.Header.Values("Authorization"); len(values) > 0 {
		if len(values) > 1 {
			return "", fmt.Errorf("%w: more than one", ErrAuthorizationHeader)
		}
		return bearer(values[0])
	}
	if r.URL != nil {
		if t := r.URL.Query().Get(QueryParam); t != "" {
			return t, nil
		}
	}
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		return c.Value, nil
	}
	return "", nil
}

// bearer parses credentials = "Bearer" 1*SP token (RFC 6750 section 2.1);
// the scheme is case-insensitive (RFC 9110 section 11.1).
func bearer(header string) (string, error) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", fmt.Errorf("%w: the scheme is not Bearer", ErrAuthorizationHeader)
	}
	token = strings.Trim(token, " ")
	if token == "" || strings.ContainsAny(token, " \t,") {
		return "", fmt.Errorf("%w: not a single bearer token", ErrAuthorizationHeader)
	}
	return token, nil
}

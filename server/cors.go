package server

import (
	"net/http"
	"slices"
)

// cors grants CORS to allowlisted origins. Credentials (cookies, the
// mercureAuthorization cookie among them) are granted only to origins
// listed by name: a wildcard grant never carries them.
func (h *Hub) cors(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" || len(h.cfg.CORSOrigins) == 0 {
		return
	}
	hdr := w.Header()
	hdr.Add("Vary", "Origin")
	switch {
	case slices.Contains(h.cfg.CORSOrigins, origin):
		hdr.Set("Access-Control-Allow-Origin", origin)
		hdr.Set("Access-Control-Allow-Credentials", "true")
	case slices.Contains(h.cfg.CORSOrigins, "*"):
		hdr.Set("Access-Control-Allow-Origin", "*")
	default:
		return
	}
	if r.Method != http.MethodOptions {
		// Draft-07 and draft-08 clients read these to detect a loss and
		// to find the subscriptions API's cursor.
		hdr.Set("Access-Control-Expose-Headers", "Last-Event-ID, Mercure-Last-Event-ID, Link")
	}
	if r.Method == http.MethodOptions {
		hdr.Set("Access-Control-Allow-Methods", "GET, QUERY, POST, OPTIONS")
		hdr.Set("Access-Control-Allow-Headers", "Authorization, Last-Event-ID, Cache-Control, Content-Type")
		hdr.Set("Access-Control-Max-Age", "600")
	}
}

package server

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/nlnwa/whatwg-url/url"

	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/topic"
)

// MetadataPrefix is the well-known path under which RFC 9728 puts a
// protected resource's metadata: the document of the hub at
// /.well-known/mercure is at MetadataPrefix + "/.well-known/mercure".
const MetadataPrefix = "/.well-known/oauth-protected-resource"

// metadataURL returns the address of the hub's protected resource
// metadata, for the resource_metadata parameter of Bearer challenges.
func (h *Hub) metadataURL(r *http.Request) string {
	u, err := url.Parse(h.hubURL(r))
	if err != nil {
		return MetadataPrefix + r.URL.Path
	}
	return u.Protocol() + "//" + u.Host() + MetadataPrefix + u.Pathname()
}

// ServeMetadata serves the hub's OAuth 2.0 protected resource metadata
// (RFC 9728, draft-08 section "Protected Resource Metadata"). Mount it at
// MetadataPrefix followed by the hub's path. Hubs that verify no access
// tokens answer 404, so that draft-08 clients know they speak an older
// revision.
func (h *Hub) ServeMetadata(w http.ResponseWriter, r *http.Request) {
	if h.cfg.AccessTokens == nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	doc := map[string]any{
		"resource":                              h.cfg.AccessTokens.Audience(),
		"authorization_details_types_supported": []string{auth.AuthorizationDetailType},
		"bearer_methods_supported":              []string{"header"},
		"mercure_cookie":                        AccessTokenCookie,
		"mercure_matcher_types_supported":       []string{topic.MatchExact, topic.MatchURLPattern},
	}
	if h.registry != nil {
		doc["mercure_subscriptions"] = true
	}
	body, _ := json.Marshal(doc)
	h.cors(w, r)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=300")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

// MetadataPathFor returns where the metadata of a hub mounted at hubPath
// lives.
func MetadataPathFor(hubPath string) string {
	return MetadataPrefix + "/" + strings.TrimPrefix(hubPath, "/")
}

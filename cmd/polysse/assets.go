package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"
)

// hashedName matches the content-hashed files of the build
// (eventsource.3f2a9c1b.wasm): their content never changes under a name.
var hashedName = regexp.MustCompile(`\.[0-9a-f]{8,}\.[a-z0-9]+$`)

// asset is one servable file with its precompressed variants.
type asset struct {
	ctype         string
	etag          string
	plain, br, gz []byte
	immutable     bool
}

// assetHandler serves the built polyfill from fsys: the .br or .gz beside a
// file when the client accepts it, hashed names cached for good, the rest
// revalidated by ETag so a page picks up a new build at once.
func assetHandler(fsys fs.FS) http.Handler {
	assets := map[string]*asset{}
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".br") || strings.HasSuffix(p, ".gz") || strings.HasPrefix(path.Base(p), ".") {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a := &asset{
			ctype:     mime.TypeByExtension(path.Ext(p)),
			etag:      `"` + hex.EncodeToString(sum[:8]) + `"`,
			plain:     b,
			immutable: hashedName.MatchString(p),
		}
		if path.Ext(p) == ".wasm" {
			a.ctype = "application/wasm" // instantiateStreaming requires it
		}
		a.br, _ = fs.ReadFile(fsys, p+".br")
		a.gz, _ = fs.ReadFile(fsys, p+".gz")
		assets["/"+p] = a
		return nil
	})
	modTime := time.Time{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := assets[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.ctype)
		h.Set("Vary", "Accept-Encoding")
		// The shim fetches the engine from its own folder, which is
		// cross-origin when a page loads the script from the hub.
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		h.Set("X-Content-Type-Options", "nosniff")
		if a.immutable {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		body, etag := a.plain, a.etag
		accept := r.Header.Get("Accept-Encoding")
		switch {
		case a.br != nil && acceptsEncoding(accept, "br"):
			body, etag = a.br, strings.TrimSuffix(etag, `"`)+`-br"`
			h.Set("Content-Encoding", "br")
		case a.gz != nil && acceptsEncoding(accept, "gzip"):
			body, etag = a.gz, strings.TrimSuffix(etag, `"`)+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("ETag", etag)
		http.ServeContent(w, r, "", modTime, bytes.NewReader(body))
	})
}

// acceptsEncoding reports whether an Accept-Encoding header admits enc with
// a non-zero quality.
func acceptsEncoding(header, enc string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), enc) {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// checkAssets reports what is missing from the built polyfill in fsys: the
// shim and every file its manifest names, each with its .br and .gz. A
// binary built from a tree whose web/dist was never built would otherwise
// serve demo pages whose script is a 404.
func checkAssets(fsys fs.FS) error {
	b, err := fs.ReadFile(fsys, "manifest.json")
	if err != nil {
		return fmt.Errorf("the embedded polyfill has no manifest.json (web/dist was not built when this binary was): %w", err)
	}
	var manifest map[string]string
	if err := json.Unmarshal(b, &manifest); err != nil {
		return fmt.Errorf("the embedded polyfill's manifest.json: %w", err)
	}
	var missing []string
	for _, role := range []string{"shim", "wasm", "glue", "lite", "liteXHR"} {
		name := manifest[role]
		if name == "" {
			missing = append(missing, "the manifest's "+role)
			continue
		}
		for _, ext := range []string{"", ".br", ".gz"} {
			if _, err := fs.Stat(fsys, name+ext); err != nil {
				missing = append(missing, name+ext)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the embedded polyfill lacks %s (rebuild web/dist with make build)", strings.Join(missing, ", "))
	}
	return nil
}

package main

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/polysse/polysse/web"
)

// TestEmbeddedPolyfillIsComplete is what `go install ./cmd/polysse` on a
// fresh clone depends on: web/dist is committed, so the binary embeds the
// shim and every engine file its manifest names, and serves them.
func TestEmbeddedPolyfillIsComplete(t *testing.T) {
	if err := checkAssets(web.Dist()); err != nil {
		t.Fatal(err)
	}
	h := assetHandler(web.Dist())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/eventsource.js", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "EventSourcePolyfill") {
		t.Fatalf("/polyfill/eventsource.js: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestCheckAssetsNamesWhatIsMissing(t *testing.T) {
	manifest := `{"wasm":"eventsource.0123456789ab.wasm","glue":"wasm_exec.0123456789ab.js","lite":"eventsource-lite.0123456789ab.js","liteXHR":"eventsource-lite.xhr.0123456789ab.js","shim":"eventsource.js"}`
	full := fstest.MapFS{"manifest.json": {Data: []byte(manifest)}}
	for _, name := range []string{"eventsource.0123456789ab.wasm", "wasm_exec.0123456789ab.js", "eventsource-lite.0123456789ab.js", "eventsource-lite.xhr.0123456789ab.js", "eventsource.js"} {
		for _, ext := range []string{"", ".br", ".gz"} {
			full[name+ext] = &fstest.MapFile{Data: []byte("x")}
		}
	}
	if err := checkAssets(full); err != nil {
		t.Fatalf("a complete build: %v", err)
	}
	cases := []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"never built", fstest.MapFS{".gitkeep": {}}, "no manifest.json"},
		{"engine missing", without(full, "eventsource.0123456789ab.wasm"), "lacks eventsource.0123456789ab.wasm"},
		{"brotli copy missing", without(full, "eventsource.js.br"), "lacks eventsource.js.br"},
		{"lite engine for XHR missing", without(full, "eventsource-lite.xhr.0123456789ab.js"), "lacks eventsource-lite.xhr.0123456789ab.js"},
		{"manifest unreadable", with(full, "manifest.json", "{"), "manifest.json"},
		{"manifest without the lite engine", with(full, "manifest.json", `{"wasm":"eventsource.0123456789ab.wasm","glue":"wasm_exec.0123456789ab.js","shim":"eventsource.js"}`), "the manifest's lite"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkAssets(c.fsys)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one that says %q", err, c.want)
			}
		})
	}
}

func without(m fstest.MapFS, name string) fstest.MapFS {
	out := fstest.MapFS{}
	for k, v := range m {
		if k != name {
			out[k] = v
		}
	}
	return out
}

func with(m fstest.MapFS, name, data string) fstest.MapFS {
	out := without(m, name)
	out[name] = &fstest.MapFile{Data: []byte(data)}
	return out
}

// TestAssetCaching: the stable script name is revalidated on every page (it
// names the engine files of its build), the content-hashed names, the
// script's own among them, are cached for good.
func TestAssetCaching(t *testing.T) {
	b, err := fs.ReadFile(web.Dist(), "manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["shimHashed"] == "" {
		t.Fatalf("the manifest names no hashed shim: %s", b)
	}
	h := assetHandler(web.Dist())
	immutable := "public, max-age=31536000, immutable"
	for _, tc := range []struct{ path, cache string }{
		{"/eventsource.js", "no-cache"},
		{"/" + m["shimHashed"], immutable},
		{"/" + m["lite"], immutable},
		{"/" + m["liteXHR"], immutable},
		{"/" + m["wasm"], immutable},
		{"/manifest.json", "no-cache"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != tc.cache {
			t.Errorf("%s: %d, Cache-Control %q, want 200 and %q", tc.path, rec.Code, rec.Header().Get("Cache-Control"), tc.cache)
		}
		// What a revalidation gets: 304, no body.
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
		rec2 := httptest.NewRecorder()
		h.ServeHTTP(rec2, req)
		if rec2.Code != http.StatusNotModified || rec2.Body.Len() != 0 {
			t.Errorf("%s revalidated: %d, %d bytes, want 304", tc.path, rec2.Code, rec2.Body.Len())
		}
	}
	stable, hashed := httptest.NewRecorder(), httptest.NewRecorder()
	h.ServeHTTP(stable, httptest.NewRequest(http.MethodGet, "/eventsource.js", nil))
	h.ServeHTTP(hashed, httptest.NewRequest(http.MethodGet, "/"+m["shimHashed"], nil))
	if stable.Body.String() != hashed.Body.String() {
		t.Error("the hashed shim differs from eventsource.js")
	}
}

package main

import (
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
	manifest := `{"wasm":"eventsource.0123456789ab.wasm","glue":"wasm_exec.0123456789ab.js","lite":"eventsource-lite.0123456789ab.js","shim":"eventsource.js"}`
	full := fstest.MapFS{"manifest.json": {Data: []byte(manifest)}}
	for _, name := range []string{"eventsource.0123456789ab.wasm", "wasm_exec.0123456789ab.js", "eventsource-lite.0123456789ab.js", "eventsource.js"} {
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

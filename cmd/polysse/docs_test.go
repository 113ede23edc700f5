package main

import (
	"flag"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocsNameRealSettings: every POLYSSE_* variable, -config key and flag
// that the deployment files and docs show is one that polysse reads, so a
// renamed flag cannot leave a manifest that silently does nothing.
func TestDocsNameRealSettings(t *testing.T) {
	known := map[string]bool{}
	for _, fs := range []*flag.FlagSet{serveFlags(&options{}, io.Discard)} {
		fs.VisitAll(func(f *flag.Flag) { known[f.Name] = true })
	}
	known[configFlag] = true
	known["token"] = true // polysse publish's POLYSSE_TOKEN
	envVar := regexp.MustCompile(`POLYSSE_[A-Z0-9_]+`)
	for _, file := range []string{"../../Containerfile", "../../docs/kubernetes.yaml", "../../docs/deploy.md", "../../docs/polysse.service", "../../README.md"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range envVar.FindAllString(string(b), -1) {
			name := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(v, "POLYSSE_")), "_", "-")
			if !known[name] {
				t.Errorf("%s names %s, which polysse does not read", file, v)
			}
		}
	}
}

// TestReadmeCurlTemplates: a curl command whose URL holds a URI template
// needs -g, or curl's own globbing eats {id} and the example does not do
// what it says.
func TestReadmeCurlTemplates(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	globbing := regexp.MustCompile(`(^|\s)-[a-zA-Z]*g[a-zA-Z]*(\s|$)|--globoff`)
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if !strings.HasPrefix(trimmed, "curl ") || !strings.ContainsAny(trimmed, "{}[]") {
			continue
		}
		n++
		if !globbing.MatchString(trimmed) {
			t.Errorf("README: %q needs curl -g", trimmed)
		}
	}
	if n == 0 {
		t.Error("README has no curl example with a URI template any more; drop this test or restore one")
	}
}

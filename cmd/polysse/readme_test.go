package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

var updateReadme = flag.Bool("update", false, "rewrite the README's flag table from the flag set")

const (
	readmePath      = "../../README.md"
	flagTableStart  = "<!-- serve flags: generated from the flag set; go test ./cmd/polysse -run ReadmeFlagTable -update -->\n"
	flagTableFinish = "<!-- end of serve flags -->\n"
)

// flagTable is the README's table of polysse serve's flags.
func flagTable() string {
	var b strings.Builder
	b.WriteString("| flag | environment | default | what it sets |\n| --- | --- | --- | --- |\n")
	serveFlags(&options{}, io.Discard).VisitAll(func(f *flag.Flag) {
		def := ""
		if f.DefValue != "" {
			def = "`" + f.DefValue + "`"
		}
		usage := strings.ReplaceAll(strings.ReplaceAll(f.Usage, "\n", " "), "|", "\\|")
		fmt.Fprintf(&b, "| `-%s` | `%s` | %s | %s |\n", f.Name, envName(f.Name), def, usage)
	})
	return b.String()
}

// TestReadmeFlagTable: the README lists every flag of polysse serve, as
// the flag set defines it. Flags added elsewhere show up here as a diff;
// -update rewrites the table.
func TestReadmeFlagTable(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(readme, []byte(flagTableStart))
	end := bytes.Index(readme, []byte(flagTableFinish))
	if start < 0 || end < start {
		t.Fatalf("README.md has no flag table between %q and %q", flagTableStart, flagTableFinish)
	}
	want := flagTable()
	got := string(readme[start+len(flagTableStart) : end])
	if got == want {
		return
	}
	if *updateReadme {
		out := append(append(append([]byte{}, readme[:start+len(flagTableStart)]...), want...), readme[end:]...)
		if err := os.WriteFile(readmePath, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's flag table is not the flag set's; run go test ./cmd/polysse -run ReadmeFlagTable -update\ngot:\n%s\nwant:\n%s", got, want)
}

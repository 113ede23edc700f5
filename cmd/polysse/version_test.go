package main

import (
	"bytes"
	"context"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-12-06T03:00:00Z"},
			{Key: "vcs.modified", Value: modified},
		}
	}
	platform := " " + runtime.GOOS + "/" + runtime.GOARCH
	cases := []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"go install at a tag", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.2.0"}}, true,
			"polysse v0.2.0 go1.26.8" + platform},
		{"make build in a clean checkout", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("false")}, true,
			"polysse (devel) commit 0123456789ab (2026-12-06T03:00:00Z) go1.26.8" + platform},
		{"with local changes", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("true")}, true,
			"polysse (devel) commit 0123456789ab (2026-12-06T03:00:00Z) with local changes go1.26.8" + platform},
		{"no build information", nil, false, "polysse (no build information) " + runtime.Version()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := version(c.info, c.ok); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestVersionCommands(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"-version"}, {"--version"}} {
		var out, errOut bytes.Buffer
		if err := dispatch(context.Background(), args, noEnv, &out, &errOut); err != nil {
			t.Fatalf("%v: %v %s", args, err, errOut.String())
		}
		if !strings.HasPrefix(out.String(), "polysse ") || !strings.Contains(out.String(), runtime.GOOS+"/"+runtime.GOARCH) {
			t.Errorf("%v printed %q", args, out.String())
		}
	}
}

package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version describes the binary from the build information Go records: the
// module's version (set by `go install ...@vX.Y.Z`, "(devel)" otherwise)
// and, when it was built in a git checkout, the commit, its time, and
// whether the tree had changes.
func version(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "polysse (no build information) " + runtime.Version()
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, at string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "polysse %s", v)
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		fmt.Fprintf(&b, " commit %s", rev)
		if at != "" {
			fmt.Fprintf(&b, " (%s)", at)
		}
		if modified {
			b.WriteString(" with local changes")
		}
	}
	goVersion := info.GoVersion
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	fmt.Fprintf(&b, " %s %s/%s", goVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}

// buildVersion is version for the running binary.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	return version(info, ok)
}

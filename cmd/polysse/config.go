package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Settings come from four layers, each filling only what the ones before
// left unset: command-line flags, POLYSSE_* variables, the reference
// Mercure hub's variables (mercureEnv), then the -config file. The layers
// know nothing of the flags themselves: they walk the flag.FlagSet, so
// every flag a command defines is settable everywhere with no other code.

// configFlag names the flag, defined for every command by newFlagSet, that
// points at a TOML file of settings.
const configFlag = "config"

// repeatable is implemented by flag values that add on each Set (stringList):
// a TOML array sets them once per element instead of joined by commas.
type repeatable interface{ repeatable() }

func (*stringList) repeatable() {}

// parseFlags parses args, then fills the flags not given from the
// environment and the config file. It reports a wrong flag in one line
// with a suggestion, and a wrong value naming where it came from and what
// would work.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := envLayer(fs, getenv, set); err != nil {
		return err
	}
	if err := mercureEnv(fs, getenv, set); err != nil {
		return err
	}
	if path := fs.Lookup(configFlag).Value.String(); path != "" {
		return fileLayer(fs, path, set)
	}
	return nil
}

// parseArgs is fs.Parse with errors in one line: the flag package would
// print the error and then every flag's usage, which buries the error.
func parseArgs(fs *flag.FlagSet, args []string) error {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return err
	case err != nil:
		fmt.Fprintf(out, "%s: %s; '%s -h' lists the flags\n", fs.Name(), explainParseError(fs, err), fs.Name())
		return errUsage
	case fs.NArg() > 0:
		fmt.Fprintf(out, "%s: unexpected argument %q (flags start with -); '%s -h' lists the flags\n", fs.Name(), fs.Arg(0), fs.Name())
		return errUsage
	}
	return nil
}

var (
	undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -(.*)$`)
	invalidValue  = regexp.MustCompile(`^invalid (?:boolean )?value ("(?:[^"\\]|\\.)*") for (?:flag )?-([^:]+): `)
)

// explainParseError rewrites the flag package's errors: an unknown flag
// gets the closest names, a wrong value the values that work.
func explainParseError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if m := undefinedFlag.FindStringSubmatch(msg); m != nil {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		if s := suggest(m[1], names); len(s) > 0 {
			return fmt.Sprintf("unknown flag -%s (did you mean -%s?)", m[1], strings.Join(s, " or -"))
		}
		return fmt.Sprintf("unknown flag -%s", m[1])
	}
	if m := invalidValue.FindStringSubmatch(msg); m != nil {
		if f := fs.Lookup(m[2]); f != nil {
			return fmt.Sprintf("invalid value %s for -%s: want %s", m[1], f.Name, wants(f))
		}
	}
	return msg
}

// envName is the POLYSSE_* variable of a flag.
func envName(flagName string) string {
	return "POLYSSE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func envLayer(fs *flag.FlagSet, getenv func(string) string, set map[string]bool) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := envName(f.Name)
		v := getenv(env)
		if err != nil || set[f.Name] || v == "" {
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = fmt.Errorf("%s=%q: want %s", env, v, wants(f))
			return
		}
		set[f.Name] = true
	})
	return err
}

// mercureVars are the reference hub's variables that mean the same as one
// of our flags (see its docs/deployment/configuration.md), so a deployment
// of that hub runs polysse unchanged. POLYSSE_* wins when both are set.
var mercureVars = []struct{ env, flag string }{
	{"MERCURE_PUBLISHER_JWT_KEY", "publisher-jwt-key"},
	{"MERCURE_PUBLISHER_JWT_ALG", "publisher-jwt-alg"},
	{"MERCURE_SUBSCRIBER_JWT_KEY", "subscriber-jwt-key"},
	{"MERCURE_SUBSCRIBER_JWT_ALG", "subscriber-jwt-alg"},
}

// mercureDirectives are the directives of the reference hub's
// MERCURE_EXTRA_DIRECTIVES (one per line, arguments separated by spaces)
// that polysse understands, with the flag each sets.
var mercureDirectives = map[string]string{
	"anonymous":       "allow-anonymous",
	"cors_origins":    "cors-origins",
	"publish_origins": "publish-origins",
	"heartbeat":       "heartbeat",
}

func mercureEnv(fs *flag.FlagSet, getenv func(string) string, set map[string]bool) error {
	for _, m := range mercureVars {
		f := fs.Lookup(m.flag)
		v := getenv(m.env)
		if f == nil || set[f.Name] || v == "" {
			continue
		}
		if err := f.Value.Set(v); err != nil {
			return fmt.Errorf("%s=%q: want %s", m.env, v, wants(f))
		}
		set[f.Name] = true
	}
	// The directives configure the hub; other commands (healthcheck in an
	// image that sets them) take what they know and leave the rest.
	extra := getenv("MERCURE_EXTRA_DIRECTIVES")
	serve := fs.Name() == "polysse serve"
	if extra == "" {
		return nil
	}
	for i, line := range strings.Split(extra, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		name := fields[0]
		flagName, ok := mercureDirectives[name]
		if !ok && !serve {
			continue
		}
		if !ok {
			known := make([]string, 0, len(mercureDirectives))
			for k := range mercureDirectives {
				known = append(known, k)
			}
			sort.Strings(known)
			return fmt.Errorf("MERCURE_EXTRA_DIRECTIVES line %d: polysse does not understand the directive %q; it reads %s (set the rest with polysse's flags, 'polysse serve -h')",
				i+1, name, strings.Join(known, ", "))
		}
		f := fs.Lookup(flagName)
		if f == nil && !serve {
			continue
		}
		if f == nil {
			return fmt.Errorf("MERCURE_EXTRA_DIRECTIVES line %d: %s has no equivalent in this polysse (no -%s flag)", i+1, name, flagName)
		}
		if set[f.Name] {
			continue
		}
		var v string
		switch {
		case isBool(f) && len(fields) == 1:
			v = "true"
		case isBool(f) && len(fields) == 2:
			v = fields[1]
		case !isBool(f) && len(fields) >= 2:
			v = strings.Join(fields[1:], ",")
		default:
			return fmt.Errorf("MERCURE_EXTRA_DIRECTIVES line %d: %q: want %s", i+1, strings.TrimSpace(line), wants(f))
		}
		if err := f.Value.Set(v); err != nil {
			return fmt.Errorf("MERCURE_EXTRA_DIRECTIVES line %d: %q: want %s", i+1, strings.TrimSpace(line), wants(f))
		}
		set[f.Name] = true
	}
	return nil
}

// maxConfigBytes bounds the config file: it is read whole.
const maxConfigBytes = 1 << 20

// fileLayer sets, from the TOML file at path, every flag still unset. Keys
// are flag names (dashes or underscores); an unknown key is an error with
// the closest names, so a typo does not silently leave a default.
func fileLayer(fs *flag.FlagSet, path string, set map[string]bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("-config: %w", err)
	}
	if len(b) > maxConfigBytes {
		return fmt.Errorf("-config %s: larger than %d bytes", path, maxConfigBytes)
	}
	var doc map[string]any
	if _, err := toml.Decode(string(b), &doc); err != nil {
		return fmt.Errorf("-config %s: %w", path, err)
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != configFlag {
			names = append(names, f.Name)
		}
	})
	// One file configures every command: a serve setting is not an error
	// for healthcheck or token, which use what they know of it.
	serve := serveFlags(&options{}, io.Discard)
	for _, key := range keys {
		name := strings.ReplaceAll(key, "_", "-")
		f := fs.Lookup(name)
		if f == nil && serve.Lookup(name) != nil {
			continue
		}
		if f == nil || name == configFlag {
			msg := fmt.Sprintf("-config %s: unknown setting %q", path, key)
			if s := suggest(name, names); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
			}
			return errors.New(msg)
		}
		if set[f.Name] {
			continue
		}
		if err := setFromTOML(f, doc[key]); err != nil {
			return fmt.Errorf("-config %s: %s: %w", path, key, err)
		}
		set[f.Name] = true
	}
	return nil
}

// setFromTOML sets f from a decoded TOML value: strings as written,
// numbers and booleans in their flag form, arrays once per element for a
// repeatable flag and joined by commas for a list flag (-cors-origins).
func setFromTOML(f *flag.Flag, v any) error {
	var vals []string
	switch x := v.(type) {
	case string:
		vals = []string{x}
	case bool:
		vals = []string{strconv.FormatBool(x)}
	case int64:
		vals = []string{strconv.FormatInt(x, 10)}
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return fmt.Errorf("%v: want %s", x, wants(f))
		}
		vals = []string{strconv.FormatInt(int64(x), 10)}
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("an array of strings, not %T", e)
			}
			vals = append(vals, s)
		}
		if _, ok := f.Value.(repeatable); !ok {
			vals = []string{strings.Join(vals, ",")}
		}
	default:
		return fmt.Errorf("a %T: want %s", v, wants(f))
	}
	for _, s := range vals {
		if err := f.Value.Set(s); err != nil {
			return fmt.Errorf("%q: want %s", s, wants(f))
		}
	}
	return nil
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// wants says what values f takes, for error messages.
func wants(f *flag.Flag) string {
	if isBool(f) {
		return "true or false (also 1, 0, t, f)"
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return "a value as 'polysse -h' describes for -" + f.Name
	}
	switch g.Get().(type) {
	case time.Duration:
		return "a duration such as 500ms, 30s, 5m or 1h30m"
	case int, int64:
		return "a whole number"
	case uint, uint64:
		return "a whole number, 0 or more"
	case float64:
		return "a number"
	}
	return "a value as 'polysse -h' describes for -" + f.Name
}

// suggest returns the names closest to name: those within a small edit
// distance, or that contain it or that it contains.
func suggest(name string, names []string) []string {
	if len(name) > 64 {
		return nil
	}
	limit := max(1, len(name)/3)
	var best []string
	bestD := limit + 1
	for _, n := range names {
		d := editDistance(name, n)
		if strings.Contains(n, name) || strings.Contains(name, n) {
			d = min(d, limit)
		}
		switch {
		case d > limit:
		case d < bestD:
			best, bestD = []string{n}, d
		case d == bestD:
			best = append(best, n)
		}
	}
	if len(best) > 3 {
		best = best[:3]
	}
	return best
}

// editDistance is the optimal-string-alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours ("topci")
// each count one.
func editDistance(a, b string) int {
	rows := make([][]int, len(a)+1)
	for i := range rows {
		rows[i] = make([]int, len(b)+1)
		rows[i][0] = i
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d := min(rows[i-1][j]+1, rows[i][j-1]+1, rows[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d = min(d, rows[i-2][j-2]+1)
			}
			rows[i][j] = d
		}
	}
	return rows[len(a)][len(b)]
}

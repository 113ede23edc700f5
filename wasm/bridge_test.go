package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The bridge's operation numbers are written on both sides of it: the Go
// constants host* and engine* in main_js.go (and the few that floor/main_js.go
// uses), and the JavaScript variables H_* and E_* in web/src/wasm/bridge.js.
// The engine is built only for js/wasm, so this test reads the sources rather
// than the compiled constants, and holds every side to main_js.go.
const (
	bridgeGo    = "main_js.go"
	bridgeFloor = "floor/main_js.go"
	bridgeJS    = "../web/src/wasm/bridge.js"
)

// goOps returns the bridge operations that a Go file declares: the int
// constants named host<Name> and engine<Name>, by name.
func goOps(filename string, src []byte) (map[string]int, error) {
	f, err := parser.ParseFile(token.NewFileSet(), filename, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	ops := map[string]int{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			for i, n := range v.Names {
				if !isOpName(n.Name) || i >= len(v.Values) {
					continue
				}
				lit, ok := v.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.INT {
					continue
				}
				num, err := strconv.Atoi(lit.Value)
				if err != nil {
					return nil, err
				}
				ops[n.Name] = num
			}
		}
	}
	return ops, nil
}

// isOpName tells hostX and engineX names from other identifiers.
func isOpName(name string) bool {
	for _, p := range []string{"host", "engine"} {
		if rest, ok := strings.CutPrefix(name, p); ok && rest != "" && unicode.IsUpper(rune(rest[0])) {
			return true
		}
	}
	return false
}

// jsOpDecl is how bridge.js declares an operation: `var H_REQUEST = 1;`.
var jsOpDecl = regexp.MustCompile(`(?m)^var ([HE])_([A-Z][A-Z0-9_]*) = ([0-9]+);`)

// jsOps returns the operations that bridge.js declares, under their Go names
// (H_REQUEST is hostRequest, E_OPEN is engineOpen).
func jsOps(src string) map[string]int {
	ops := map[string]int{}
	for _, m := range jsOpDecl.FindAllStringSubmatch(src, -1) {
		name := "host"
		if m[1] == "E" {
			name = "engine"
		}
		for w := range strings.SplitSeq(m[2], "_") {
			name += w[:1] + strings.ToLower(w[1:])
		}
		num, _ := strconv.Atoi(m[3])
		ops[name] = num
	}
	return ops
}

// opDiffs lists how other differs from want: names missing, extra, or
// numbered differently. When subset is set, other may lack names of want.
func opDiffs(want, other map[string]int, subset bool) []string {
	var d []string
	for _, n := range slices.Sorted(maps.Keys(want)) {
		v, ok := other[n]
		switch {
		case !ok && !subset:
			d = append(d, n+" missing")
		case ok && v != want[n]:
			d = append(d, n+" is "+strconv.Itoa(v)+", want "+strconv.Itoa(want[n]))
		}
	}
	for _, n := range slices.Sorted(maps.Keys(other)) {
		if _, ok := want[n]; !ok {
			d = append(d, n+" not in "+bridgeGo)
		}
	}
	return d
}

// dupOps lists numbers that two operations of one direction share.
func dupOps(ops map[string]int) []string {
	var d []string
	seen := map[string]string{}
	for _, n := range slices.Sorted(maps.Keys(ops)) {
		dir := "host"
		if strings.HasPrefix(n, "engine") {
			dir = "engine"
		}
		key := dir + strconv.Itoa(ops[n])
		if o, ok := seen[key]; ok {
			d = append(d, o+" and "+n+" are both "+strconv.Itoa(ops[n]))
		}
		seen[key] = n
	}
	return d
}

func readSource(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the bridge's source: %v", err)
	}
	return b
}

// TestBridgeOpsAgree holds web/src/wasm/bridge.js and floor/main_js.go to
// main_js.go's operation numbers: the same names with the same numbers (the
// floor may use fewer), and no number used twice in one direction.
func TestBridgeOpsAgree(t *testing.T) {
	main, err := goOps(bridgeGo, readSource(t, bridgeGo))
	if err != nil {
		t.Fatal(err)
	}
	floor, err := goOps(bridgeFloor, readSource(t, bridgeFloor))
	if err != nil {
		t.Fatal(err)
	}
	js := jsOps(string(readSource(t, bridgeJS)))
	// Both directions must be found, so that a change of how either side is
	// written fails here instead of comparing nothing with nothing.
	// engineAdopt too: the lite engine's hand-over (web/src/engines/handover.js)
	// reaches Go only through it.
	for _, ops := range []map[string]int{main, js} {
		for _, name := range []string{"hostRequest", "engineOpen", "engineAdopt"} {
			if _, ok := ops[name]; !ok {
				t.Fatalf("no %s among %v", name, ops)
			}
		}
	}
	for _, d := range dupOps(main) {
		t.Errorf("%s: %s", bridgeGo, d)
	}
	for _, d := range opDiffs(main, js, false) {
		t.Errorf("%s: %s", bridgeJS, d)
	}
	if len(floor) == 0 {
		t.Errorf("%s: no operations found", bridgeFloor)
	}
	for _, d := range opDiffs(main, floor, true) {
		t.Errorf("%s: %s", bridgeFloor, d)
	}
}

// TestBridgeOpsCheck shows that the comparison above catches each kind of
// drift between the two languages.
func TestBridgeOpsCheck(t *testing.T) {
	const goSrc = `package main
const (
	hostRequest = 1 // (id, …)
	hostAbort   = 2
	hostEvents  = 9
)
const (
	engineOpen = 1
	engineEnd  = 7
)
const flagCredentials = 1
var hostNotAnOp = 3
`
	main, err := goOps("x.go", []byte(goSrc))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"hostRequest": 1, "hostAbort": 2, "hostEvents": 9, "engineOpen": 1, "engineEnd": 7}
	if !maps.Equal(main, want) {
		t.Fatalf("goOps = %v, want %v", main, want)
	}
	const agree = "var H_REQUEST = 1;\nvar H_ABORT = 2;\nvar H_EVENTS = 9;\nvar E_OPEN = 1;\nvar E_END = 7;\n"
	for _, c := range []struct {
		name   string
		js     string
		subset bool
		want   []string
	}{
		{"agree", agree, false, nil},
		{"renumbered", strings.Replace(agree, "H_EVENTS = 9", "H_EVENTS = 10", 1), false, []string{"hostEvents is 10, want 9"}},
		{"missing", strings.Replace(agree, "var E_END = 7;\n", "", 1), false, []string{"engineEnd missing"}},
		{"missing in a subset", strings.Replace(agree, "var E_END = 7;\n", "", 1), true, nil},
		{"extra", agree + "var E_TIMER = 8;\n", true, []string{"engineTimer not in " + bridgeGo}},
		{"two words", agree + "var H_SET_UP = 4;\n", false, []string{"hostSetUp not in " + bridgeGo}},
		{"nothing found", "const H_REQUEST = 1;", false, []string{"engineEnd missing", "engineOpen missing", "hostAbort missing", "hostEvents missing", "hostRequest missing"}},
	} {
		if got := opDiffs(main, jsOps(c.js), c.subset); !slices.Equal(got, c.want) {
			t.Errorf("%s: opDiffs = %q, want %q", c.name, got, c.want)
		}
	}
	if got := dupOps(map[string]int{"hostA": 1, "hostB": 1, "engineA": 1}); !slices.Equal(got, []string{"hostA and hostB are both 1"}) {
		t.Errorf("dupOps = %q", got)
	}
}

package main

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// Every number that crosses the bridge is written on both sides of it: a Go
// constant here, and a JavaScript variable of the same name in
// web/src/engines/wasm/bridge.js or web/src/transports.js. The engine is
// built only for js/wasm, so this test reads the Go sources, evaluated as
// the compiler evaluates them (iota, shifts), rather than the compiled
// constants, and holds the JavaScript and floor/main_js.go to them.
const (
	bridgeGo     = "main_js.go"
	bridgeFloor  = "floor/main_js.go"
	bridgeJS     = "../web/src/engines/wasm/bridge.js"
	transportsJS = "../web/src/transports.js"
)

// A family is one kind of number that crosses the bridge: the Go constants
// of goFile named goPrefix and a capital (hostRequest), and the JavaScript
// variables of jsFile named jsPrefix and capitals (H_REQUEST), matched by
// the rest of their names without case or underscores (transportXHR is
// T_XHR, endNetwork is NETWORK).
type family struct {
	what     string
	goFile   string
	goPrefix string
	jsFile   string
	jsPrefix string
	goOnly   []string // Go constants the JavaScript never sends or receives
	bits     bool     // each value a single bit
	// Each value an index of an array that the JavaScript writes and Go
	// reads: 0 to n-1, each written (NAME] in the JavaScript) and read (the
	// constant used in goFile).
	indexes bool
}

var families = []family{
	{what: "host operations", goFile: bridgeGo, goPrefix: "host", jsFile: bridgeJS, jsPrefix: "H_"},
	{what: "engine operations", goFile: bridgeGo, goPrefix: "engine", jsFile: bridgeJS, jsPrefix: "E_"},
	{what: "engineOpen's flags", goFile: bridgeGo, goPrefix: "flag", jsFile: bridgeJS, jsPrefix: "F_", bits: true},
	// The shim resolves auto to fetch or XHR before it opens a connection.
	{what: "engineOpen's transports", goFile: "request.go", goPrefix: "transport", jsFile: bridgeJS, jsPrefix: "T_", goOnly: []string{"transportAuto"}},
	{what: "the 401/403 hook's answers", goFile: "conn.go", goPrefix: "auth", jsFile: bridgeJS, jsPrefix: "A_"},
	{what: "ends of an attempt", goFile: "conn.go", goPrefix: "end", jsFile: transportsJS, jsPrefix: ""},
	{what: "engineAdopt's how", goFile: "conn.go", goPrefix: "adopt", jsFile: bridgeJS, jsPrefix: "D_"},
	// engineOpen's one array of arguments, the shape of the call.
	{what: "engineOpen's arguments", goFile: bridgeGo, goPrefix: "open", jsFile: bridgeJS, jsPrefix: "O_", indexes: true},
}

// goConst is a Go constant's value, the name of its type ("" when it is
// untyped or of a type declared elsewhere), and whether the file uses it.
type goConst struct {
	value int
	typ   string
	used  bool
}

// goConsts returns the integer constants that a Go file declares, by name.
// The file is type-checked alone: what it uses from other files and
// packages is unknown here, and the errors about it do not matter, as the
// bridge's constants depend on nothing but the file.
func goConsts(filename string, src []byte) (map[string]goConst, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filename, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	conf := types.Config{Error: func(error) {}}
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}}
	pkg, _ := conf.Check(f.Name.Name, fset, []*ast.File{f}, info)
	used := map[types.Object]bool{}
	for _, o := range info.Uses {
		used[o] = true
	}
	consts := map[string]goConst{}
	for _, name := range pkg.Scope().Names() {
		c, ok := pkg.Scope().Lookup(name).(*types.Const)
		if !ok || c.Val().Kind() != constant.Int {
			continue
		}
		v, ok := constant.Int64Val(c.Val())
		if !ok {
			continue
		}
		gc := goConst{value: int(v), used: used[c]}
		if n, ok := c.Type().(*types.Named); ok {
			gc.typ = n.Obj().Name()
		}
		consts[name] = gc
	}
	return consts, nil
}

// jsDecl is how the JavaScript declares a number of the bridge:
// `var H_REQUEST = 1;`, `export var NETWORK = 0;`.
var jsDecl = regexp.MustCompile(`(?m)^(?:export )?var ([A-Z][A-Z0-9_]*) = (-?[0-9]+);`)

// jsConsts returns the numbers that a JavaScript source declares, by name.
func jsConsts(src string) map[string]int {
	consts := map[string]int{}
	for _, m := range jsDecl.FindAllStringSubmatch(src, -1) {
		n, _ := strconv.Atoi(m[2])
		consts[m[1]] = n
	}
	return consts
}

// member reports whether a Go name is prefix and a capital, and returns the
// rest of it in lower case, the family's key for it.
func member(name, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || rest == "" || !unicode.IsUpper(rune(rest[0])) {
		return "", false
	}
	return strings.ToLower(rest), true
}

// goMembers returns the constants of consts that belong to the family whose
// Go names start with prefix, by key.
func goMembers(consts map[string]goConst, prefix string) map[string]goMember {
	m := map[string]goMember{}
	for name, c := range consts {
		if k, ok := member(name, prefix); ok {
			m[k] = goMember{name, c}
		}
	}
	return m
}

type goMember struct {
	name string
	goConst
}

// familyDiffs lists how the JavaScript numbers js (declared in jsSrc)
// differ from the family's Go constants gos: names missing, extra, or
// numbered differently; Go constants of the family that share a number,
// are not single bits when they should be, or are not indexes 0 to n-1
// that both sides use when they should be.
func familyDiffs(f family, gos map[string]goConst, js map[string]int, jsSrc string) []string {
	var d []string
	want := goMembers(gos, f.goPrefix)
	if len(want) == 0 {
		return []string{f.what + ": no " + f.goPrefix + "… constants in " + f.goFile}
	}
	got := map[string]string{} // by key, the JavaScript name
	for name := range js {
		rest, ok := strings.CutPrefix(name, f.jsPrefix)
		if !ok || rest == "" {
			continue
		}
		got[strings.ToLower(strings.ReplaceAll(rest, "_", ""))] = name
	}
	seen := map[int]string{}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		w := want[k]
		if o, ok := seen[w.value]; ok {
			d = append(d, f.what+": "+o+" and "+w.name+" are both "+strconv.Itoa(w.value))
		}
		seen[w.value] = w.name
		if f.bits && (w.value <= 0 || w.value&(w.value-1) != 0) {
			d = append(d, f.what+": "+w.name+" is "+strconv.Itoa(w.value)+", not a single bit")
		}
		if f.indexes && (w.value < 0 || w.value >= len(want)) {
			d = append(d, f.what+": "+w.name+" is "+strconv.Itoa(w.value)+", not an index 0 to "+strconv.Itoa(len(want)-1))
		}
		if f.indexes && !w.used {
			d = append(d, f.what+": "+w.name+" is not read in "+f.goFile)
		}
		jsName, ok := got[k]
		if ok && f.indexes && !strings.Contains(jsSrc, "["+jsName+"] = ") {
			d = append(d, f.what+": "+jsName+" is not written")
		}
		switch {
		case !ok && !slices.Contains(f.goOnly, w.name):
			d = append(d, f.what+": no "+f.jsPrefix+strings.ToUpper(k)+" for "+w.name)
		case ok && js[jsName] != w.value:
			d = append(d, f.what+": "+jsName+" is "+strconv.Itoa(js[jsName])+", want "+strconv.Itoa(w.value)+" ("+w.name+")")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			d = append(d, f.what+": "+got[k]+" is not in "+f.goFile)
		}
	}
	return d
}

// jsTimerSlots is how the bridge declares a conn's timers: one slot per
// kind of timer, `timers: [null, null]`.
var jsTimerSlots = regexp.MustCompile(`timers: \[((?:null, )*null)\]`)

// timerDiffs lists how the timer kinds (the constants of type timerKind)
// fail to be the indexes of the JavaScript's slots, 0 to n-1.
func timerDiffs(gos map[string]goConst, js string) []string {
	m := jsTimerSlots.FindStringSubmatch(js)
	if m == nil {
		return []string{"no `timers: [null, …]` in the JavaScript"}
	}
	slots := strings.Count(m[1], "null")
	var d []string
	kinds := 0
	for _, name := range slices.Sorted(maps.Keys(gos)) {
		c := gos[name]
		if c.typ != "timerKind" {
			continue
		}
		kinds++
		if c.value < 0 || c.value >= slots {
			d = append(d, name+" is "+strconv.Itoa(c.value)+", not a slot of timers (0 to "+strconv.Itoa(slots-1)+")")
		}
	}
	if kinds != slots {
		d = append(d, strconv.Itoa(kinds)+" timer kinds, "+strconv.Itoa(slots)+" slots in timers")
	}
	return d
}

// floorDiffs lists how floor's operations differ from main's: the floor
// uses some of them, with the same numbers.
func floorDiffs(main, floor map[string]goConst) []string {
	var d []string
	n := 0
	for _, name := range slices.Sorted(maps.Keys(floor)) {
		_, host := member(name, "host")
		_, engine := member(name, "engine")
		_, open := member(name, "open")
		if !host && !engine && !open {
			continue
		}
		n++
		m, ok := main[name]
		switch {
		case !ok:
			d = append(d, name+" is not in "+bridgeGo)
		case m.value != floor[name].value:
			d = append(d, name+" is "+strconv.Itoa(floor[name].value)+", want "+strconv.Itoa(m.value))
		}
	}
	if n == 0 {
		d = append(d, "no operations found")
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

func readGo(t *testing.T, path string) map[string]goConst {
	t.Helper()
	c, err := goConsts(path, readSource(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBridgeContract holds web/src/engines/wasm/bridge.js,
// web/src/transports.js and floor/main_js.go to the Go constants of every
// family: the same names with the same numbers, no number used twice in a
// family, engineOpen's arguments each written by the JavaScript at the
// index Go reads it from, and a slot in the bridge's timers for each timer
// kind.
func TestBridgeContract(t *testing.T) {
	gos := map[string]map[string]goConst{}
	js := map[string]string{}
	for _, f := range families {
		if gos[f.goFile] == nil {
			gos[f.goFile] = readGo(t, f.goFile)
		}
		if js[f.jsFile] == "" {
			js[f.jsFile] = string(readSource(t, f.jsFile))
		}
		for _, d := range familyDiffs(f, gos[f.goFile], jsConsts(js[f.jsFile]), js[f.jsFile]) {
			t.Errorf("%s against %s: %s", f.jsFile, f.goFile, d)
		}
	}
	for _, d := range timerDiffs(readGo(t, "conn.go"), string(readSource(t, bridgeJS))) {
		t.Errorf("%s: %s", bridgeJS, d)
	}
	for _, d := range floorDiffs(gos[bridgeGo], readGo(t, bridgeFloor)) {
		t.Errorf("%s: %s", bridgeFloor, d)
	}
}

// TestBridgeContractCheck shows that the comparisons above catch each kind
// of drift between the two languages.
func TestBridgeContractCheck(t *testing.T) {
	const goSrc = `package main
import "syscall/js"
type timerKind int
const (
	hostRequest = 1 // (id, …)
	hostEvents  = 9
)
const (
	flagOne = 1 << iota
	flagSameOrigin
)
const (
	aTimer timerKind = iota
	bTimer
)
const (
	openURL = iota
	openFlags
)
var hostNotAConst = 3
func f(a js.Value) { _ = a.Index(openURL); _ = flagOne }
`
	gos, err := goConsts("x.go", []byte(goSrc))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]goConst{
		"hostRequest": {1, "", false}, "hostEvents": {9, "", false},
		"flagOne": {1, "", true}, "flagSameOrigin": {2, "", false},
		"aTimer": {0, "timerKind", false}, "bTimer": {1, "timerKind", false},
		"openURL": {0, "", true}, "openFlags": {1, "", false},
	}
	if !maps.Equal(gos, want) {
		t.Fatalf("goConsts = %v, want %v", gos, want)
	}
	ops := family{what: "ops", goFile: "x.go", goPrefix: "host", jsPrefix: "H_"}
	flags := family{what: "flags", goFile: "x.go", goPrefix: "flag", jsPrefix: "F_", bits: true}
	args := family{what: "args", goFile: "x.go", goPrefix: "open", jsPrefix: "O_", indexes: true}
	const agree = "var H_REQUEST = 1;\nvar H_EVENTS = 9;\nvar F_ONE = 1;\nvar F_SAME_ORIGIN = 2;\nexport var OTHER = 5;\n"
	read := map[string]goConst{"openURL": {0, "", true}, "openFlags": {1, "", true}}
	const written = "var O_URL = 0;\nvar O_FLAGS = 1;\na[O_URL] = url;\na[O_FLAGS] = flags;\n"
	for _, c := range []struct {
		name string
		f    family
		gos  map[string]goConst
		js   string
		want []string
	}{
		{"agree", ops, gos, agree, nil},
		{"flags agree", flags, gos, agree, nil},
		{"renumbered", ops, gos, strings.Replace(agree, "H_EVENTS = 9", "H_EVENTS = 10", 1), []string{"ops: H_EVENTS is 10, want 9 (hostEvents)"}},
		{"two words renumbered", flags, gos, strings.Replace(agree, "F_SAME_ORIGIN = 2", "F_SAME_ORIGIN = 4", 1), []string{"flags: F_SAME_ORIGIN is 4, want 2 (flagSameOrigin)"}},
		{"missing", ops, gos, strings.Replace(agree, "var H_EVENTS = 9;\n", "", 1), []string{"ops: no H_EVENTS for hostEvents"}},
		{"missing, but Go's only", family{what: "ops", goPrefix: "host", jsPrefix: "H_", goOnly: []string{"hostEvents"}}, gos, strings.Replace(agree, "var H_EVENTS = 9;\n", "", 1), nil},
		{"extra", ops, gos, agree + "var H_TIMER = 3;\n", []string{"ops: H_TIMER is not in x.go"}},
		{"written otherwise", ops, gos, "const H_REQUEST = 1;\nvar H_EVENTS = 0x9;\n", []string{"ops: no H_EVENTS for hostEvents", "ops: no H_REQUEST for hostRequest"}},
		{"no prefix", family{what: "ends", goFile: "x.go", goPrefix: "flag"}, gos, "export var ONE = 1;\nvar SAME_ORIGIN = 2;\n", nil},
		{"no prefix, extra", family{what: "ends", goFile: "x.go", goPrefix: "flag"}, gos, "export var ONE = 1;\nvar SAME_ORIGIN = 2;\nexport var OTHER = 5;\n", []string{"ends: OTHER is not in x.go"}},
		{"no Go constants", family{what: "ends", goFile: "x.go", goPrefix: "end"}, gos, agree, []string{"ends: no end… constants in x.go"}},
		{"shared number", ops, map[string]goConst{"hostA": {1, "", false}, "hostB": {1, "", false}}, "var H_A = 1;\nvar H_B = 1;\n", []string{"ops: hostA and hostB are both 1"}},
		{"not a bit", flags, map[string]goConst{"flagA": {1, "", false}, "flagB": {3, "", false}}, "var F_A = 1;\nvar F_B = 3;\n", []string{"flags: flagB is 3, not a single bit"}},
		{"args agree", args, read, written, nil},
		{"an arg Go does not read", args, gos, written, []string{"args: openFlags is not read in x.go"}},
		{"an arg not written", args, read, strings.Replace(written, "a[O_FLAGS] = flags;\n", "", 1), []string{"args: O_FLAGS is not written"}},
		{"a hole", args, map[string]goConst{"openURL": {0, "", true}, "openFlags": {2, "", true}}, strings.Replace(written, "O_FLAGS = 1", "O_FLAGS = 2", 1), []string{"args: openFlags is 2, not an index 0 to 1"}},
	} {
		if got := familyDiffs(c.f, c.gos, jsConsts(c.js), c.js); !slices.Equal(got, c.want) {
			t.Errorf("%s: familyDiffs = %q, want %q", c.name, got, c.want)
		}
	}
	for _, c := range []struct {
		name string
		js   string
		want []string
	}{
		{"agree", "var c = { id: 1, timers: [null, null] };", nil},
		{"a slot short", "var c = { id: 1, timers: [null] };", []string{"bTimer is 1, not a slot of timers (0 to 0)", "2 timer kinds, 1 slots in timers"}},
		{"a slot more", "var c = { id: 1, timers: [null, null, null] };", []string{"2 timer kinds, 3 slots in timers"}},
		{"written otherwise", "var c = { id: 1, timers: new Array(2) };", []string{"no `timers: [null, …]` in the JavaScript"}},
	} {
		if got := timerDiffs(gos, c.js); !slices.Equal(got, c.want) {
			t.Errorf("timers, %s: timerDiffs = %q, want %q", c.name, got, c.want)
		}
	}
	floor := map[string]goConst{"hostRequest": {1, "", true}, "openURL": {0, "", true}, "other": {7, "", false}}
	if got := floorDiffs(gos, floor); got != nil {
		t.Errorf("floorDiffs = %q, want none", got)
	}
	floor["hostEvents"] = goConst{8, "", true}
	floor["engineOpen"] = goConst{1, "", true}
	floor["openFlags"] = goConst{3, "", true}
	if got, want := floorDiffs(gos, floor), []string{"engineOpen is not in " + bridgeGo, "hostEvents is 8, want 9", "openFlags is 3, want 1"}; !slices.Equal(got, want) {
		t.Errorf("floorDiffs = %q, want %q", got, want)
	}
	if got, want := floorDiffs(gos, map[string]goConst{"other": {1, "", false}}), []string{"no operations found"}; !slices.Equal(got, want) {
		t.Errorf("floorDiffs = %q, want %q", got, want)
	}
}

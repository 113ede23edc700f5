// Package connrules reads testdata/connection-rules.json, the one table of
// connection rules that every polysse client runs: which responses open a
// stream, fail the connection or reconnect; which retry: values count; how
// long the n-th failure in a row waits. The Go client (client/) and the
// WebAssembly engine (wasm/) load it here for their tests; the lite engine
// and the supervisor read the same file in web/test/rules.test.mjs.
package connrules

import (
	"encoding/json"
	"fmt"
	"os"
)

// Table is the file's content.
type Table struct {
	Responses   []Response   `json:"responses"`
	RetryFields []RetryField `json:"retryFields"`
	Backoff     []Backoff    `json:"backoff"`
}

// Response is what a status and Content-Type lead to in each column:
// open, fail, reconnect or stop (see the file's "about").
type Response struct {
	Status      int    `json:"status"`
	ContentType string `json:"contentType"`
	// Standard is window.EventSource, Polyfill EventSourcePolyfill with
	// its defaults, Client the Go client with its defaults.
	Standard string `json:"standard"`
	Polyfill string `json:"polyfill"`
	Client   string `json:"client"`
}

// RetryField is a retry: field's value and the reconnection time it sets
// in milliseconds, or nil when it is ignored.
type RetryField struct {
	Value string `json:"value"`
	MS    *int   `json:"ms"`
}

// Backoff is the wait after Failures failures in a row under a policy,
// Random standing for the random draw.
type Backoff struct {
	Base, Max, Failures int
	Factor, Jitter      float64
	Random              float64
	Wait                int
}

// Load reads the table at path and checks that none of its parts is empty.
func Load(path string) (*Table, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("connection rules: %w", err)
	}
	var t Table
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("connection rules %s: %w", path, err)
	}
	if len(t.Responses) == 0 || len(t.RetryFields) == 0 || len(t.Backoff) == 0 {
		return nil, fmt.Errorf("connection rules %s: an empty table", path)
	}
	return &t, nil
}

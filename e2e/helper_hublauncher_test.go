package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/polysse/polysse/client"
	"github.com/polysse/polysse/internal/launch"
)

// HubPackage is the import path of the polysse binary that StartHub builds.
const HubPackage = "github.com/polysse/polysse/cmd/polysse"

// Bounds of the hub helpers.
const (
	// hubBuildTimeout bounds `go build` of the binary; a cold build cache
	// on two cores is the slow case.
	hubBuildTimeout = 5 * time.Minute
	// HubStartTimeout bounds the wait for /healthz after starting.
	HubStartTimeout = 10 * time.Second
	// hubStopTimeout is how long a SIGTERMed hub gets to drain before it is
	// killed: longer than any graceful shutdown the tests rely on.
	hubStopTimeout = 5 * time.Second
	// PublishTimeout bounds one publish request.
	PublishTimeout = 5 * time.Second
)

// hubBinary is the polysse binary, built once per test binary.
var hubBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// HubBinary returns the path of the polysse binary, building it on first
// use. A build failure fails the test: the binary is part of this repository,
// so there is nothing to skip.
func HubBinary(t testing.TB) string {
	t.Helper()
	hubBinary.once.Do(buildHub)
	if hubBinary.err != nil {
		t.Fatalf("e2e: %v", hubBinary.err)
	}
	return hubBinary.path
}

func buildHub() {
	dir, err := os.MkdirTemp("", "polysse-e2e-bin-")
	if err != nil {
		hubBinary.err = err
		return
	}
	hubBinary.dir = dir
	hubBinary.path = filepath.Join(dir, "polysse")
	ctx, cancel := context.WithTimeout(context.Background(), hubBuildTimeout)
	defer cancel()
	// `go test` puts its own GOROOT/bin first on PATH, so this is the go
	// that builds the tests. It builds in the repository's root module (e2e
	// is a module of its own, run from its folder), so the binary gets the
	// library's go.mod and go.sum, as `make build` does.
	cmd := exec.CommandContext(ctx, "go", "build", "-o", hubBinary.path, HubPackage)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		hubBinary.err = fmt.Errorf("go build %s: %v\n%s", HubPackage, err, out)
	}
}

func removeHubBinary() {
	if hubBinary.dir != "" {
		os.RemoveAll(hubBinary.dir)
	}
}

// A Hub is a running polysse binary, stopped when the test ends.
type Hub struct {
	// URL is the hub's base URL, http://127.0.0.1:PORT, without a slash.
	URL string
	// Key is the HS256 secret the hub verifies publisher JWTs with.
	Key string

	t    testing.TB
	proc *launch.Process
}

// StartHub builds (once) and starts the polysse binary on a free loopback
// port, with an in-memory store, a random publisher key and anonymous
// subscribers allowed; extra flags are appended. It returns once GET /healthz
// answers 200. The hub gets SIGTERM when the test ends, and its output goes
// into the test log if the test failed.
func StartHub(t testing.TB, extra ...string) *Hub {
	t.Helper()
	return startOnFreePort(t, "memory", "e2e-"+strconv.FormatInt(time.Now().UnixNano(), 36), extra...)
}

// startOnFreePort starts the binary as launch does, on a free loopback
// port. A port found free can be taken by another process before the hub
// binds it: it tries a few.
func startOnFreePort(t testing.TB, storeSpec, key string, extra ...string) *Hub {
	t.Helper()
	h, err := launch.OnFreeAddr(3, func(addr string) (*Hub, error) {
		return startHub(t, addr, storeSpec, key, extra)
	})
	if err != nil {
		t.Fatalf("e2e: polysse did not become healthy: %v", err)
	}
	return h
}

// startHub starts the binary on addr with the store and publisher key
// given, anonymous subscribers allowed, the demo pages served and extra
// flags appended, and waits for GET /healthz to answer 200. When the test
// ends the process gets SIGTERM, and the test fails if it must be killed
// (within hubStopTimeout).
func startHub(t testing.TB, addr, storeSpec, key string, extra []string) (*Hub, error) {
	t.Helper()
	bin := HubBinary(t)
	// -demo-pages: the tests open the demo pages (legacy.html, status.html).
	args := append([]string{"-addr", addr, "-store", storeSpec, "-publisher-jwt-key", key, "-allow-anonymous", "-demo-pages"}, extra...)
	p, err := launch.StartTest(t, launch.Spec{
		Name:         "polysse " + addr,
		Path:         bin,
		Args:         args,
		Ready:        launch.HTTP("http://" + addr + "/healthz"),
		ReadyTimeout: HubStartTimeout,
		StopTimeout:  hubStopTimeout,
		StrictStop:   true,
	})
	if err != nil {
		return nil, err
	}
	return &Hub{URL: "http://" + addr, Key: key, t: t, proc: p}, nil
}

// Kill ends the hub with SIGKILL, as a crashed machine would end: no
// draining, its streams just break.
func (h *Hub) Kill() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hubStopTimeout)
	defer cancel()
	if err := h.proc.Kill(ctx); err != nil {
		h.t.Fatalf("e2e: killing polysse (%s): %v", h.URL, err)
	}
}

// Output returns what the hub wrote to stdout and stderr so far.
func (h *Hub) Output() string { return h.proc.Output() }

// An Update is one publication.
type Update = client.Update

// PublisherJWT returns an HS256 token allowed to publish to every topic.
func PublisherJWT(key string) string {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"mercure": map[string]any{"publish": []string{"*"}},
	}).SignedString([]byte(key))
	if err != nil {
		// HS256 with a []byte key cannot fail.
		panic(err)
	}
	return tok
}

// PublishContext posts u to the hub and returns the id the hub answered.
func (h *Hub) PublishContext(ctx context.Context, u Update) (string, error) {
	return client.Publish(ctx, nil, h.URL+"/.well-known/mercure", PublisherJWT(h.Key), u)
}

// Publish is PublishContext bounded by PublishTimeout that fails the test on
// error.
func (h *Hub) Publish(u Update) string {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), PublishTimeout)
	defer cancel()
	id, err := h.PublishContext(ctx, u)
	if err != nil {
		h.t.Fatalf("e2e: %v", err)
	}
	return id
}

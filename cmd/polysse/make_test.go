package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMakeDemoURL checks the URL `make demo` prints for the addresses a
// person may pass as ADDR: one they can open, never "localhost127.0.0.1".
func TestMakeDemoURL(t *testing.T) {
	makeBin, err := exec.LookPath("make")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("make is missing")
		}
		t.Skip("make is not installed")
	}
	cases := []struct{ addr, want string }{
		{"", "http://127.0.0.1:8080/"}, // the default
		{"127.0.0.1:8080", "http://127.0.0.1:8080/"},
		{":9000", "http://localhost:9000/"},
		{"0.0.0.0:80", "http://localhost:80/"},
		{"[::]:8081", "http://localhost:8081/"},
		{"[::1]:8082", "http://[::1]:8082/"},
		{"hub.example:8443", "http://hub.example:8443/"},
	}
	for _, c := range cases {
		args := []string{"-s", "-C", "../..", "demo-url"}
		if c.addr != "" {
			args = append(args, "ADDR="+c.addr)
		}
		out, err := exec.Command(makeBin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("make %v: %v\n%s", args, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != c.want {
			t.Errorf("ADDR=%q: make demo prints %q, want %q", c.addr, got, c.want)
		}
	}
}

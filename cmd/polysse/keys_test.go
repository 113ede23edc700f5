package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestKeyFlagThatLooksLikeAPath: a key flag whose value looks like a path
// but names no file stops the hub at start instead of becoming an HS256
// secret equal to the path (issue 15, item 13); the kind of a key that is
// accepted is logged, never the key.
func TestKeyFlagThatLooksLikeAPath(t *testing.T) {
	for _, flag := range []string{"-publisher-jwt-key", "-subscriber-jwt-key"} {
		err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-store", "memory", flag, "/etc/polysse/no-such-publisher.pem"}, noEnv, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "no such key file") || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s of a missing file: %v, want an error naming the flag and the missing file", flag, err)
		}
	}

	var log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := run(ctx, []string{"-addr", "127.0.0.1:0", "-store", "memory", "-publisher-jwt-key", "a-secret-of-24-bytes-xyz", "-log-level", "info"}, noEnv, &log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), `kind="HS256 secret of 24 bytes"`) || strings.Contains(log.String(), "a-secret-of-24-bytes-xyz") {
		t.Errorf("start-up log %q: want the key's kind, never the key", log.String())
	}
}

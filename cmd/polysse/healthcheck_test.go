package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	addr := serve(t, http.DefaultClient, "http")
	_, port, _ := net.SplitHostPort(addr)
	certFile, keyFile, pool := selfSigned(t)
	tlsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	tlsAddr := serve(t, tlsClient, "https", "-tls-cert", certFile, "-tls-key", keyFile)
	down := freeLoopback(t)
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		healthy bool
	}{
		{"-addr", []string{"-addr", addr}, nil, true},
		{"POLYSSE_ADDR, as the image sets it", nil, map[string]string{"POLYSSE_ADDR": addr}, true},
		{"a wildcard address", []string{"-addr", ":" + port}, nil, true},
		{"0.0.0.0", []string{"-addr", "0.0.0.0:" + port}, nil, true},
		{"/readyz", []string{"-addr", addr, "-path", "/readyz"}, nil, true},
		{"HTTPS from POLYSSE_TLS_CERT", []string{"-addr", tlsAddr}, map[string]string{"POLYSSE_TLS_CERT": certFile}, true},
		{"HTTP against HTTPS", []string{"-addr", tlsAddr}, nil, false},
		{"nothing listening", []string{"-addr", down, "-timeout", "2s"}, nil, false},
		{"a path that is not 200", []string{"-addr", addr, "-path", "/nope"}, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := dispatch(context.Background(), append([]string{"healthcheck"}, c.args...), envOf(c.env), &out, &errOut)
			if c.healthy && (err != nil || !strings.HasPrefix(out.String(), "healthy: ")) {
				t.Fatalf("err %v, stdout %q, stderr %q", err, out.String(), errOut.String())
			}
			if !c.healthy && (!errors.Is(err, errUnhealthy) || !strings.Contains(errOut.String(), "polysse healthcheck: unhealthy")) {
				t.Fatalf("err %v, stderr %q; want unhealthy", err, errOut.String())
			}
		})
	}
}

// TestConfigFileSharedByCommands: the hub's config file, named by
// POLYSSE_CONFIG in an image, also configures healthcheck, whose flags are
// a few of serve's.
func TestConfigFileSharedByCommands(t *testing.T) {
	addr := serve(t, http.DefaultClient, "http")
	file := writeFile(t, "polysse.toml", "addr = \""+addr+"\"\nstore = \"memory\"\nheartbeat = \"5s\"\n")
	var out, errOut bytes.Buffer
	if err := dispatch(context.Background(), []string{"healthcheck"}, envOf(map[string]string{"POLYSSE_CONFIG": file}), &out, &errOut); err != nil {
		t.Fatalf("%v %s", err, errOut.String())
	}
	bad := writeFile(t, "polysse.toml", "adr = \""+addr+"\"\n")
	err := dispatch(context.Background(), []string{"healthcheck", "-config", bad}, noEnv, &out, &errOut)
	if err == nil || errors.Is(err, errUnhealthy) || !strings.Contains(err.Error(), `unknown setting "adr" (did you mean addr?)`) {
		t.Errorf("a misspelt key: %v; want a settings error, not unhealthy", err)
	}
}

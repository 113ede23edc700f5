package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// settingsError is a healthcheck's own misconfiguration, which is not
// the hub's ill health: it exits 2 as other commands' errors do.
type settingsError struct{ error }

func (e settingsError) Unwrap() error { return e.error }

// healthcheckCmd is the container image's health check: the image has no
// shell and no curl, so the binary checks itself. It reads -addr and
// -tls-cert as the hub does (flags, POLYSSE_*, the -config file), so the
// same environment configures both.
func healthcheckCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("healthcheck", "GETs the hub's /healthz (or -path) and exits 0 on 200, 1 otherwise: the container\nimage's HEALTHCHECK, since the image has no shell.", stderr)
	addr := fs.String("addr", ":8080", "the hub's listen address, as given to polysse serve (a wildcard host means loopback)")
	tlsCert := fs.String("tls-cert", "", "the hub's -tls-cert: when set, check over HTTPS (the certificate's name is not checked)")
	path := fs.String("path", "/healthz", "/healthz (the process serves) or /readyz (it can take publishes)")
	timeout := fs.Duration("timeout", 5*time.Second, "bound on the check")
	if err := parseFlags(fs, args, getenv); err != nil {
		return settingsError{err}
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", *addr, err)
	}
	switch ip := net.ParseIP(host); {
	case host == "":
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	scheme := "http"
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if *tlsCert != "" {
		scheme = "https"
		// This checks that the process answers, not who it is: the
		// certificate names the public host, not loopback.
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // liveness over loopback
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	u := scheme + "://" + net.JoinHostPort(host, port) + *path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("-path %q: %w", *path, err)
	}
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s %s: %s", u, res.Status, body)
	}
	fmt.Fprintf(stdout, "healthy: %s %s", u, body)
	return nil
}

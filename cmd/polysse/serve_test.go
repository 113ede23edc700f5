package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polysse/polysse/client"
	"github.com/polysse/polysse/sse"
)

// serve runs the binary's serve command in-process on a free loopback port
// until the test ends, and returns its address.
func serve(t *testing.T, client *http.Client, scheme string, args ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	args = append([]string{"-addr", addr, "-store", "memory", "-allow-anonymous", "-publisher-jwt-key", "k", "-log-level", "error"}, args...)
	go func() { done <- run(ctx, args, noEnv, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop within 10s")
		}
	})
	base := scheme + "://" + addr
	for deadline := time.Now().Add(5 * time.Second); ; {
		res, err := client.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("hub not healthy: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "polysse test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLSServesHTTP2StreamsOnOneConnection opens more streams than
// HTTP/1.1's six per host, and sees them share one HTTP/2 connection.
func TestTLSServesHTTP2StreamsOnOneConnection(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	var dials atomic.Int32
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	hc := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	addr := serve(t, hc, "https", "-tls-cert", certFile, "-tls-key", keyFile)
	base := "https://" + addr
	dials.Store(0)

	const streams = 10
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var opened, got sync.WaitGroup
	opened.Add(streams)
	got.Add(streams)
	c := &client.Client{HTTPClient: hc, OnOpen: func(res *http.Response) {
		if res.ProtoMajor != 2 {
			t.Errorf("stream over %s, want HTTP/2", res.Proto)
		}
		opened.Done()
	}}
	for range streams {
		go func() {
			_ = c.Subscribe(ctx, base+"/.well-known/mercure?topic=t", "", func(ev sse.Event) error {
				if ev.Data == "over h2" {
					got.Done()
					return context.Canceled
				}
				return nil
			})
		}()
	}
	if !waitGroup(&opened, 5*time.Second) {
		t.Fatal("streams did not all open")
	}
	if _, err := client.Publish(ctx, hc, base+"/.well-known/mercure", mint(t), client.Update{Topics: []string{"t"}, Data: "over h2"}); err != nil {
		t.Fatal(err)
	}
	if !waitGroup(&got, 5*time.Second) {
		t.Fatal("not every stream got the event")
	}
	// The health check's connection stays open and is reused: at most one
	// more may have been dialled.
	if n := dials.Load(); n > 1 {
		t.Errorf("%d new TCP connections for %d streams and a publish, want them to share one", n, streams)
	}
}

func TestHeaderLimits(t *testing.T) {
	addr := serve(t, http.DefaultClient, "http", "-read-header-timeout", "300ms", "-max-header-bytes", "4096")
	t.Run("slow headers are cut off", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		_, err = io.ReadAll(conn)
		if d := time.Since(start); err != nil || d > 3*time.Second {
			t.Fatalf("connection with unfinished headers still open after %v (%v)", d, err)
		}
	})
	t.Run("oversize headers are refused", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		req := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 16<<10) + "\r\n\r\n"
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		status, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil || !strings.Contains(status, "431") {
			t.Fatalf("status line %q, %v; want 431", status, err)
		}
	})
}

func mint(t *testing.T) string {
	t.Helper()
	var out strings.Builder
	if err := tokenCmd([]string{"-publish", "*", "-publisher-jwt-key", "k"}, noEnv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out.String())
}

func waitGroup(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

func TestLimitFlags(t *testing.T) {
	token := mint(t)
	publish := func(addr, data string) int {
		form := url.Values{"topic": {"t"}, "data": {data}}
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/.well-known/mercure", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	subscribeStatus := func(addr, query string) int {
		res, err := http.Get("http://" + addr + "/.well-known/mercure?" + query)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	metricsAddr := freeLoopback(t)
	cases := []struct {
		name  string
		args  []string
		check func(t *testing.T, addr string)
	}{
		{"max-topics", []string{"-max-topics", "2"}, func(t *testing.T, addr string) {
			if got := subscribeStatus(addr, "topic=a&topic=b&topic=c"); got != http.StatusBadRequest {
				t.Errorf("3 topics: %d, want 400", got)
			}
		}},
		{"max-publish-bytes", []string{"-max-publish-bytes", "200"}, func(t *testing.T, addr string) {
			if got := publish(addr, strings.Repeat("x", 100)); got != http.StatusOK {
				t.Errorf("small publish: %d, want 200", got)
			}
			if got := publish(addr, strings.Repeat("x", 300)); got != http.StatusRequestEntityTooLarge {
				t.Errorf("300-byte body: %d, want 413", got)
			}
		}},
		{"max-event-bytes", []string{"-max-event-bytes", "100"}, func(t *testing.T, addr string) {
			if got := publish(addr, strings.Repeat("x", 150)); got != http.StatusRequestEntityTooLarge {
				t.Errorf("150-byte event: %d, want 413", got)
			}
		}},
		{"max-queue-bytes and write-timeout", []string{"-max-queue-bytes", "262144", "-write-timeout", "300ms", "-metrics-addr", metricsAddr}, func(t *testing.T, addr string) {
			// A subscriber that never reads is cut off, and counted; one
			// that reads, beside it, gets every event (resuming from the
			// log, should a burst overflow its queue too).
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "GET /.well-known/mercure?topic=t HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var got atomic.Int64
			reader := &client.Client{}
			go func() {
				_ = reader.Subscribe(ctx, "http://"+addr+"/.well-known/mercure?topic=t", "", func(sse.Event) error {
					got.Add(1)
					return nil
				})
			}()
			data := strings.Repeat("x", 8<<10)
			sent := int64(0)
			for deadline := time.Now().Add(10 * time.Second); cutOffCount(t, metricsAddr) < 1; {
				if time.Now().After(deadline) {
					t.Fatal("the silent subscriber was not cut off within 10s")
				}
				for range 16 {
					if code := publish(addr, data); code != http.StatusOK {
						t.Fatalf("publish: %d", code)
					}
					sent++
				}
				time.Sleep(5 * time.Millisecond)
			}
			for deadline := time.Now().Add(5 * time.Second); got.Load() < sent && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			if n := got.Load(); n != sent {
				t.Errorf("the reading subscriber got %d of %d events", n, sent)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, serve(t, http.DefaultClient, "http", tc.args...))
		})
	}
}

// freeLoopback returns a loopback address whose port was free a moment ago.
func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// cutOffCount reads polysse_slow_client_disconnects_total from /metrics
// on the -metrics-addr listener at addr.
func cutOffCount(t *testing.T, addr string) int {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "polysse_slow_client_disconnects_total "); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return -1
}

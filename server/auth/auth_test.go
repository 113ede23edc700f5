package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const secret = "!ChangeThisMercureHubJWTSecretKey!"

func newRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func pemBytes(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func publicPEM(t testing.TB, key *rsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pemBytes("PUBLIC KEY", der)
}

func sign(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsigned builds a token by hand, so that its header can say anything.
func unsigned(header, claims, signature string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(claims)) + "." + signature
}

// signedRaw signs claims, JSON as given, with HS256 and secret.
func signedRaw(t testing.TB, claims, secret string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	unsignedPart := enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(claims))
	sig, err := jwt.SigningMethodHS256.Sign(unsignedPart, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return unsignedPart + "." + enc(sig)
}

func TestVerify(t *testing.T) {
	rsaKey := newRSAKey(t)
	pubPEM := publicPEM(t, rsaKey)
	hs, err := NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := NewVerifier(writeFile(t, "public.pem", pubPEM))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	hour := jwt.NewNumericDate(now.Add(time.Hour))
	mercure := map[string]any{"publish": []string{"https://example.com/books/{id}"}, "subscribe": []string{"*"}}
	hs256 := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, []byte(secret), c) }
	rs256 := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodRS256, rsaKey, c) }
	full := &Claims{Publish: []string{"https://example.com/books/{id}"}, Subscribe: []string{"*"}, Expires: hour.Time}

	tests := []struct {
		name  string
		v     *Verifier
		token string
		want  *Claims
		err   error
	}{
		{"hs256", hs, hs256(jwt.MapClaims{"mercure": mercure, "exp": hour}), full, nil},
		{"rs256", rs, rs256(jwt.MapClaims{"mercure": mercure, "exp": hour}), full, nil},
		{"no exp", hs, hs256(jwt.MapClaims{"mercure": mercure}), &Claims{Publish: full.Publish, Subscribe: full.Subscribe}, nil},
		{"no mercure claim", hs, hs256(jwt.MapClaims{"sub": "someone"}), &Claims{Subject: "someone"}, nil},
		{"empty lists", hs, hs256(jwt.MapClaims{"mercure": map[string]any{"publish": []string{}, "subscribe": nil}}), &Claims{Publish: []string{}}, nil},
		{"payload ignored", hs, hs256(jwt.MapClaims{"mercure": map[string]any{"subscribe": []string{"a"}, "payload": map[string]any{"user": 1}}}), &Claims{Subscribe: []string{"a"}}, nil},
		{"nbf past", hs, hs256(jwt.MapClaims{"nbf": jwt.NewNumericDate(now.Add(-time.Minute))}), &Claims{}, nil},

		{"expired", hs, hs256(jwt.MapClaims{"exp": jwt.NewNumericDate(now.Add(-time.Minute))}), nil, ErrExpired},
		{"expired rs256", rs, rs256(jwt.MapClaims{"exp": jwt.NewNumericDate(now.Add(-time.Minute))}), nil, ErrExpired},
		{"not yet valid", hs, hs256(jwt.MapClaims{"nbf": jwt.NewNumericDate(now.Add(time.Hour))}), nil, ErrNotYetValid},
		{"wrong secret", hs, sign(t, jwt.SigningMethodHS256, []byte("another secret"), jwt.MapClaims{}), nil, ErrSignature},
		{"wrong rsa key", rs, sign(t, jwt.SigningMethodRS256, newRSAKey(t), jwt.MapClaims{}), nil, ErrSignature},
		{"tampered claims", hs, func() string {
			parts := strings.Split(hs256(jwt.MapClaims{"mercure": map[string]any{"subscribe": []string{"a"}}}), ".")
			parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"mercure":{"subscribe":["*"]}}`))
			return strings.Join(parts, ".")
		}(), nil, ErrSignature},
		{"alg none", hs, unsigned(`{"alg":"none","typ":"JWT"}`, `{"mercure":{"publish":["*"]}}`, ""), nil, ErrAlgorithm},
		{"alg none rs", rs, unsigned(`{"alg":"none"}`, `{"mercure":{"publish":["*"]}}`, ""), nil, ErrAlgorithm},
		{"alg unknown", hs, unsigned(`{"alg":"XX256"}`, `{}`, "c2ln"), nil, ErrAlgorithm},
		{"hs512 same secret", hs, sign(t, jwt.SigningMethodHS512, []byte(secret), jwt.MapClaims{}), nil, ErrAlgorithm},
		{"rs256 to hs256 verifier", hs, rs256(jwt.MapClaims{}), nil, ErrAlgorithm},
		{"hs256 to rs256 verifier", rs, hs256(jwt.MapClaims{}), nil, ErrAlgorithm},
		// The classic confusion: the public key is public, so an
		// attacker can use its PEM as an HMAC secret.
		{"alg confusion", rs, sign(t, jwt.SigningMethodHS256, pubPEM, jwt.MapClaims{"mercure": map[string]any{"publish": []string{"*"}}}), nil, ErrAlgorithm},

		{"empty", hs, "", nil, ErrMalformed},
		{"one segment", hs, "abc", nil, ErrMalformed},
		{"two segments", hs, "abc.def", nil, ErrMalformed},
		{"bad base64", hs, "a!.b!.c!", nil, ErrMalformed},
		{"header not json", hs, unsigned(`nope`, `{}`, "c2ln"), nil, ErrMalformed},
		{"mercure not an object", hs, hs256(jwt.MapClaims{"mercure": "x"}), nil, ErrMalformed},
		{"publish not strings", hs, hs256(jwt.MapClaims{"mercure": map[string]any{"publish": []int{1}}}), nil, ErrMalformed},
		{"exp not a number", hs, hs256(jwt.MapClaims{"exp": "tomorrow"}), nil, ErrMalformed},
		// Claims are read case-sensitively and without duplicate keys
		// (issue 15, item 12): encoding/json alone would read these as
		// mercure.publish ["*"].
		{"claim name case", hs, signedRaw(t, `{"Mercure":{"Publish":["*"]}}`, secret), nil, ErrMalformed},
		{"inner claim name case", hs, signedRaw(t, `{"mercure":{"PUBLISH":["*"]}}`, secret), nil, ErrMalformed},
		{"exp case", hs, signedRaw(t, `{"EXP":99999999999}`, secret), nil, ErrMalformed},
		{"duplicate key", hs, signedRaw(t, `{"mercure":{"publish":["a"],"publish":["*"]}}`, secret), nil, ErrMalformed},
		{"duplicate claim", hs, signedRaw(t, `{"mercure":{"publish":["a"]},"mercure":{"publish":["*"]}}`, secret), nil, ErrMalformed},
		{"duplicate key in payload", hs, signedRaw(t, `{"mercure":{"payload":{"a":1,"a":2}}}`, secret), nil, ErrMalformed},
		{"exact names", hs, signedRaw(t, `{"mercure":{"publish":["a"],"payload":{"Publish":1}},"other":{"A":1,"a":2}}`, secret), &Claims{Publish: []string{"a"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.v.Verify(tt.token)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Verify() error = %v, want %v", err, tt.err)
				}
				if got != nil {
					t.Errorf("Verify() = %+v with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Verify() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestVerifyLeeway(t *testing.T) {
	now := time.Now()
	v, err := NewVerifierWithOptions(secret, Options{Leeway: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		claims jwt.MapClaims
		err    error
	}{
		{"expired within leeway", jwt.MapClaims{"exp": jwt.NewNumericDate(now.Add(-30 * time.Second))}, nil},
		{"expired beyond leeway", jwt.MapClaims{"exp": jwt.NewNumericDate(now.Add(-2 * time.Minute))}, ErrExpired},
		{"nbf within leeway", jwt.MapClaims{"nbf": jwt.NewNumericDate(now.Add(30 * time.Second))}, nil},
		{"nbf beyond leeway", jwt.MapClaims{"nbf": jwt.NewNumericDate(now.Add(2 * time.Minute))}, ErrNotYetValid},
	}
	for _, tt := range tests {
		_, err := v.Verify(sign(t, jwt.SigningMethodHS256, []byte(secret), tt.claims))
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: Verify() error = %v, want %v", tt.name, err, tt.err)
		}
	}
}

func TestVerifyCache(t *testing.T) {
	clock := time.Now()
	now := func() time.Time { return clock }
	v, err := NewVerifierWithOptions(secret, Options{Now: now, Leeway: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	exp := clock.Add(time.Minute)
	token := sign(t, jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{
		"exp":     jwt.NewNumericDate(exp),
		"mercure": map[string]any{"subscribe": []string{"a"}},
	})

	c1, err := v.Verify(token)
	if err != nil {
		t.Fatal(err)
	}
	if n := v.cache.len(); n != 1 {
		t.Fatalf("cache holds %d tokens, want 1", n)
	}
	c1.Subscribe[0] = "changed by the caller"
	c2, err := v.Verify(token)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Subscribe[0] != "a" {
		t.Errorf("cached claims were modified through a returned copy: %q", c2.Subscribe)
	}

	// Still valid in the leeway, from the cache.
	clock = exp.Add(5 * time.Second)
	if _, err := v.Verify(token); err != nil {
		t.Errorf("Verify() in the leeway: %v", err)
	}
	clock = exp.Add(10 * time.Second)
	if _, err := v.Verify(token); !errors.Is(err, ErrExpired) {
		t.Errorf("Verify() after expiry = %v, want ErrExpired", err)
	}
	if n := v.cache.len(); n != 0 {
		t.Errorf("cache holds %d tokens after expiry, want 0", n)
	}

	// Refused tokens are not remembered.
	if _, err := v.Verify(token + "x"); err == nil {
		t.Error("Verify() of a tampered token succeeded")
	}
	if n := v.cache.len(); n != 0 {
		t.Errorf("cache holds %d tokens after a refusal, want 0", n)
	}
}

func TestVerifyCacheBounded(t *testing.T) {
	const size = 4
	v, err := NewVerifierWithOptions(secret, Options{CacheSize: size})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		claims := jwt.MapClaims{"sub": fmt.Sprint(i)}
		if i%2 == 0 {
			claims["exp"] = jwt.NewNumericDate(time.Now().Add(time.Duration(i+1) * time.Minute))
		}
		if _, err := v.Verify(sign(t, jwt.SigningMethodHS256, []byte(secret), claims)); err != nil {
			t.Fatal(err)
		}
		if n := v.cache.len(); n > size {
			t.Fatalf("cache holds %d tokens, want at most %d", n, size)
		}
	}
	off, err := NewVerifierWithOptions(secret, Options{CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := off.Verify(sign(t, jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{})); err != nil {
		t.Fatal(err)
	}
	if n := off.cache.len(); n != 0 {
		t.Errorf("disabled cache holds %d tokens", n)
	}
}

func TestVerifyConcurrent(t *testing.T) {
	v, err := NewVerifierWithOptions(secret, Options{CacheSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	tokens := make([]string, 16)
	for i := range tokens {
		tokens[i] = sign(t, jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{
			"exp":     jwt.NewNumericDate(time.Now().Add(time.Hour)),
			"mercure": map[string]any{"subscribe": []string{fmt.Sprint(i)}},
		})
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				n := (i + g) % len(tokens)
				c, err := v.Verify(tokens[n])
				if err != nil || c.Subscribe[0] != fmt.Sprint(n) {
					t.Errorf("Verify(token %d) = %v, %v", n, c, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNewVerifierKeys(t *testing.T) {
	key := newRSAKey(t)
	pkcs1Priv := pemBytes("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hub"}, NotAfter: time.Now().Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallDER, err := x509.MarshalPKIXPublicKey(&small.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	unreadable := writeFile(t, "unreadable.pem", publicPEM(t, key))
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	_, statErr := os.ReadFile(unreadable) // root reads it anyway

	tests := []struct {
		name string
		spec string
		alg  string // "" when NewVerifier must fail
		msg  string // in the error
	}{
		{"secret", secret, HS256, ""},
		// A value that looks like a path but names no file is an error,
		// not a secret anyone can guess (issue 15, item 13).
		{"absolute path of no file", "/etc/polysse/publisher.pem", "", "no such key file"},
		{"absolute path without extension", "/etc/polysse/publisher", "", "no such key file"},
		{"relative path of no file", "./keys/pub", "", "no such key file"},
		{"home path of no file", "~/pub", "", "no such key file"},
		{"pem name of no file", "no/such/file.pem", "", "no such key file"},
		{"key name of no file", "publisher.KEY", "", "no such key file"},
		{"secret with a slash", "c2VjcmV0/c2VjcmV0+c2VjcmV0=", HS256, ""},
		{"base64 secret starting with a slash", "/3q2+7w==", HS256, ""},
		{"pkix public key file", writeFile(t, "pub.pem", publicPEM(t, key)), RS256, ""},
		{"pkcs1 public key file", writeFile(t, "pub1.pem", pemBytes("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&key.PublicKey))), RS256, ""},
		{"certificate file", writeFile(t, "cert.pem", pemBytes("CERTIFICATE", cert)), RS256, ""},
		{"pkcs1 private key file", writeFile(t, "priv1.pem", pkcs1Priv), RS256, ""},
		{"pkcs8 private key file", writeFile(t, "priv8.pem", pemBytes("PRIVATE KEY", pkcs8)), RS256, ""},
		{"leading unknown block", writeFile(t, "params.pem", append(pemBytes("EC PARAMETERS", []byte{1}), publicPEM(t, key)...)), RS256, ""},
		{"inline pem", string(publicPEM(t, key)), RS256, ""},

		{"empty", "", "", "empty key"},
		{"file without pem", writeFile(t, "key.txt", []byte(secret)), "", "no PEM block"},
		{"inline pem that is broken", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "", "PUBLIC KEY"},
		{"unsupported block", writeFile(t, "enc.pem", pemBytes("ENCRYPTED PRIVATE KEY", []byte{1})), "", "no supported PEM block"},
		{"ecdsa key", writeFile(t, "ec.pem", pemBytes("PUBLIC KEY", ecDER)), "", "only RSA"},
		{"small rsa key", writeFile(t, "small.pem", pemBytes("PUBLIC KEY", smallDER)), "", "at least 2048"},
		{"directory", t.TempDir(), "", "directory"},
	}
	if statErr != nil {
		tests = append(tests, struct{ name, spec, alg, msg string }{"unreadable file", unreadable, "", "permission denied"})
	}
	signed := sign(t, jwt.SigningMethodRS256, key, jwt.MapClaims{"mercure": map[string]any{"publish": []string{"*"}}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(tt.spec)
			if tt.alg == "" {
				if err == nil || !strings.Contains(err.Error(), tt.msg) {
					t.Fatalf("NewVerifier() error = %v, want one with %q", err, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewVerifier() error = %v", err)
			}
			if v.Algorithm() != tt.alg {
				t.Fatalf("Algorithm() = %s, want %s", v.Algorithm(), tt.alg)
			}
			if kind := v.Kind(); !strings.HasPrefix(kind, tt.alg) || strings.Contains(kind, tt.spec) {
				t.Errorf("Kind() = %q: want the algorithm first, and never the key", kind)
			}
			if tt.alg == RS256 {
				if _, err := v.Verify(signed); err != nil {
					t.Errorf("Verify() error = %v", err)
				}
			}
		})
	}
}

func TestSigner(t *testing.T) {
	key := newRSAKey(t)
	privFile := writeFile(t, "priv.pem", pemBytes("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)))
	pubFile := writeFile(t, "pub.pem", publicPEM(t, key))
	expires := time.Now().Add(time.Hour).Truncate(time.Second)

	tests := []struct {
		name           string
		signer, verify string
		claims         Claims
		ttl            time.Duration
		want           *Claims
		err            error
	}{
		{"hs256 ttl", secret, secret, Claims{Publish: []string{"*"}}, time.Hour, &Claims{Publish: []string{"*"}}, nil},
		{"rs256 ttl", privFile, pubFile, Claims{Subscribe: []string{"a", "b"}}, time.Hour, &Claims{Subscribe: []string{"a", "b"}}, nil},
		{"rs256 verified by its private key file", privFile, privFile, Claims{}, 0, &Claims{}, nil},
		{"claims expiry", secret, secret, Claims{Publish: []string{}, Expires: expires}, 0, &Claims{Publish: []string{}, Expires: expires}, nil},
		{"no expiry", secret, secret, Claims{Subscribe: []string{}}, 0, &Claims{Subscribe: []string{}}, nil},
		{"negative ttl", secret, secret, Claims{}, -time.Minute, nil, ErrExpired},
		{"other secret", secret, "other", Claims{}, time.Hour, nil, ErrSignature},
		{"hs256 to rs256", secret, pubFile, Claims{}, time.Hour, nil, ErrAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSigner(tt.signer)
			if err != nil {
				t.Fatal(err)
			}
			v, err := NewVerifier(tt.verify)
			if err != nil {
				t.Fatal(err)
			}
			token, err := s.Sign(tt.claims, tt.ttl)
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(token)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Verify() error = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if tt.ttl > 0 {
				if d := time.Until(got.Expires); d <= 0 || d > tt.ttl {
					t.Errorf("Expires in %v, want within %v", d, tt.ttl)
				}
				got.Expires = time.Time{}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Verify() = %#v, want %#v", got, tt.want)
			}
		})
	}

	for _, spec := range []string{"", pubFile} {
		if _, err := NewSigner(spec); err == nil {
			t.Errorf("NewSigner(%q) succeeded", spec)
		}
	}
}

func TestFromRequest(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		cookie  string
		query   string
		want    string
		wantErr bool
	}{
		{name: "none"},
		{name: "header", headers: []string{"Bearer h.h.h"}, want: "h.h.h"},
		{name: "header lowercase scheme", headers: []string{"bearer h.h.h"}, want: "h.h.h"},
		{name: "header extra spaces", headers: []string{"Bearer   h.h.h "}, want: "h.h.h"},
		{name: "cookie", cookie: "c.c.c", want: "c.c.c"},
		{name: "query", query: "q.q.q", want: "q.q.q"},
		{name: "header before cookie and query", headers: []string{"Bearer h.h.h"}, cookie: "c.c.c", query: "q.q.q", want: "h.h.h"},
		{name: "query before cookie, as the reference hub", cookie: "c.c.c", query: "q.q.q", want: "q.q.q"},
		{name: "basic scheme", headers: []string{"Basic dXNlcjpwYXNz"}, cookie: "c.c.c", wantErr: true},
		{name: "scheme only", headers: []string{"Bearer"}, wantErr: true},
		{name: "scheme and spaces", headers: []string{"Bearer  "}, wantErr: true},
		{name: "two tokens", headers: []string{"Bearer a b"}, wantErr: true},
		{name: "empty header", headers: []string{""}, wantErr: true},
		{name: "two headers", headers: []string{"Bearer a", "Bearer b"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "/.well-known/mercure?topic=x"
			if tt.query != "" {
				target += "&" + QueryParam + "=" + tt.query
			}
			r := httptest.NewRequest(http.MethodGet, target, nil)
			for _, h := range tt.headers {
				r.Header.Add("Authorization", h)
			}
			if tt.cookie != "" {
				r.Header.Add("Cookie", CookieName+"="+tt.cookie)
			}
			got, err := FromRequest(r)
			if tt.wantErr {
				if !errors.Is(err, ErrAuthorizationHeader) {
					t.Fatalf("FromRequest() = %q, %v; want ErrAuthorizationHeader", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("FromRequest() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	key := newRSAKey(b)
	claims := jwt.MapClaims{
		"exp":     jwt.NewNumericDate(time.Now().Add(time.Hour)),
		"mercure": map[string]any{"subscribe": []string{"https://example.com/books/{id}"}},
	}
	hsToken := sign(b, jwt.SigningMethodHS256, []byte(secret), claims)
	rsToken := sign(b, jwt.SigningMethodRS256, key, claims)
	pub := string(publicPEM(b, key))
	tests := []struct {
		name, spec, token string
		cacheSize         int
	}{
		{"hs256/cached", secret, hsToken, 0},
		{"hs256/uncached", secret, hsToken, -1},
		{"rs256/cached", pub, rsToken, 0},
		{"rs256/uncached", pub, rsToken, -1},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			v, err := NewVerifierWithOptions(tt.spec, Options{CacheSize: tt.cacheSize})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(tt.token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

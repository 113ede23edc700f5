package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testIssuer   = "https://issuer.example"
	testAudience = "https://hub.example/.well-known/mercure"
	testSecret   = "0123456789abcdef0123456789abcdef-hs256"
)

// rawHS256 signs header and claims, given as JSON text, with HS256: the
// tests craft tokens no well-behaved signer would make.
func rawHS256(secret, header, claims string) string {
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(in))
	return in + "." + enc.EncodeToString(m.Sum(nil))
}

func claimsJSON(exp int64, details string) string {
	return fmt.Sprintf(`{"iss":%q,"aud":%q,"sub":"s","client_id":"c","iat":1,"jti":"j","exp":%d,"authorization_details":%s}`,
		testIssuer, testAudience, exp, details)
}

const anyDetail = `[{"type":"https://mercure.rocks/authorization-detail","actions":["publish","subscribe"],"topics":[{"match":"*"}]}]`

func newTestVerifier(t *testing.T, issuers ...AccessIssuer) *AccessVerifier {
	t.Helper()
	if len(issuers) == 0 {
		ks, err := NewKeySource(testSecret, JWKSOptions{})
		if err != nil {
			t.Fatal(err)
		}
		issuers = []AccessIssuer{{ID: testIssuer, Keys: ks}}
	}
	v, err := NewAccessVerifier(AccessOptions{
		Audience: testAudience,
		Issuers:  issuers,
		CheckMatcher: func(m TopicMatcher) error {
			if m.MatchType != "exact" && m.MatchType != "urlpattern" {
				return fmt.Errorf("unsupported match_type %q", m.MatchType)
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestAccessTokenValidation has a row per rule of draft-08's "Token
// Validation" and "Authorization Details" sections.
func TestAccessTokenValidation(t *testing.T) {
	v := newTestVerifier(t)
	exp := time.Now().Add(time.Hour).Unix()
	atHeader := `{"alg":"HS256","typ":"at+jwt"}`
	detail := func(s string) string {
		return `[{"type":"https://mercure.rocks/authorization-detail",` + s + `}]`
	}
	cases := []struct {
		name, token string
		ok          bool
	}{
		{"valid", rawHS256(testSecret, atHeader, claimsJSON(exp, anyDetail)), true},
		{"typ application/at+jwt, any case", rawHS256(testSecret, `{"alg":"HS256","typ":"Application/AT+JWT"}`, claimsJSON(exp, anyDetail)), true},
		{"typ JWT (an ID token or a draft-07 token)", rawHS256(testSecret, `{"alg":"HS256","typ":"JWT"}`, claimsJSON(exp, anyDetail)), false},
		{"no typ", rawHS256(testSecret, `{"alg":"HS256"}`, claimsJSON(exp, anyDetail)), false},
		{"alg none", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + base64.RawURLEncoding.EncodeToString([]byte(claimsJSON(exp, anyDetail))) + ".", false},
		{"alg HS256 but lower case", rawHS256(testSecret, `{"alg":"hs256","typ":"at+jwt"}`, claimsJSON(exp, anyDetail)), false},
		{"unknown crit header", rawHS256(testSecret, `{"alg":"HS256","typ":"at+jwt","crit":["x"],"x":1}`, claimsJSON(exp, anyDetail)), false},
		{"bad signature", rawHS256(testSecret+"x", atHeader, claimsJSON(exp, anyDetail)), false},
		{"no exp", rawHS256(testSecret, atHeader, fmt.Sprintf(`{"iss":%q,"aud":%q,"authorization_details":%s}`, testIssuer, testAudience, anyDetail)), false},
		{"expired", rawHS256(testSecret, atHeader, claimsJSON(time.Now().Add(-time.Hour).Unix(), anyDetail)), false},
		{"nbf in the future", rawHS256(testSecret, atHeader, fmt.Sprintf(`{"iss":%q,"aud":%q,"exp":%d,"nbf":%d}`, testIssuer, testAudience, exp, exp-60)), false},
		{"no aud", rawHS256(testSecret, atHeader, fmt.Sprintf(`{"iss":%q,"exp":%d}`, testIssuer, exp)), false},
		{"other aud", rawHS256(testSecret, atHeader, fmt.Sprintf(`{"iss":%q,"aud":"https://other.example/","exp":%d}`, testIssuer, exp)), false},
		{"aud array holding ours", rawHS256(testSecret, atHeader, fmt.Sprintf(`{"iss":%q,"aud":["x",%q],"exp":%d}`, testIssuer, testAudience, exp)), true},
		{"no iss", rawHS256(testSecret, atHeader, fmt.Sprintf(`{"aud":%q,"exp":%d}`, testAudience, exp)), false},
		{"untrusted iss", rawHS256(testSecret, atHeader, fmt.Sprintf(`{"iss":"https://evil.example","aud":%q,"exp":%d}`, testAudience, exp)), false},
		{"duplicate claim", rawHS256(testSecret, atHeader, fmt.Sprintf(`{"iss":%q,"aud":%q,"exp":%d,"exp":%d}`, testIssuer, testAudience, exp, exp)), false},
		{"claim names are case-sensitive", rawHS256(testSecret, atHeader, fmt.Sprintf(`{"ISS":%q,"aud":%q,"exp":%d}`, testIssuer, testAudience, exp)), false},
		{"unknown action is ignored", rawHS256(testSecret, atHeader, claimsJSON(exp, detail(`"actions":["fly","subscribe"],"topics":[{"match":"a"}]`))), true},
		{"non-string action", rawHS256(testSecret, atHeader, claimsJSON(exp, detail(`"actions":["subscribe",1],"topics":[{"match":"a"}]`))), false},
		{"empty actions", rawHS256(testSecret, atHeader, claimsJSON(exp, detail(`"actions":[],"topics":[{"match":"a"}]`))), false},
		{"no topics", rawHS256(testSecret, atHeader, claimsJSON(exp, detail(`"actions":["subscribe"]`))), false},
		{"topic not an object", rawHS256(testSecret, atHeader, claimsJSON(exp, detail(`"actions":["subscribe"],"topics":["a"]`))), false},
		{"topic without match", rawHS256(testSecret, atHeader, claimsJSON(exp, detail(`"actions":["subscribe"],"topics":[{"match_type":"exact"}]`))), false},
		{"unsupported match_type", rawHS256(testSecret, atHeader, claimsJSON(exp, detail(`"actions":["subscribe"],"topics":[{"match":"a","match_type":"regex"}]`))), false},
		{"match_type is case-sensitive", rawHS256(testSecret, atHeader, claimsJSON(exp, detail(`"actions":["subscribe"],"topics":[{"match":"a","match_type":"Exact"}]`))), false},
		{"payload not an object", rawHS256(testSecret, atHeader, claimsJSON(exp, detail(`"actions":["subscribe"],"topics":[{"match":"a"}],"payload":[1]`))), false},
		{"one bad entry among good ones", rawHS256(testSecret, atHeader, claimsJSON(exp, `[`+anyDetail[1:len(anyDetail)-1]+`,{"type":"https://mercure.rocks/authorization-detail","actions":["publish"],"topics":[]}]`)), false},
		{"detail of another type is ignored", rawHS256(testSecret, atHeader, claimsJSON(exp, `[{"type":"payment_initiation","whatever":1}]`)), true},
		{"detail without type", rawHS256(testSecret, atHeader, claimsJSON(exp, `[{"actions":["publish"]}]`)), false},
		{"detail type compared byte by byte", rawHS256(testSecret, atHeader, claimsJSON(exp, `[{"type":"https://mercure.rocks/authorization-detail/","actions":["x"]}]`)), true},
		{"too many details", rawHS256(testSecret, atHeader, claimsJSON(exp, `[`+strings.Repeat(`{"type":"x"},`, maxDetails)+`{"type":"x"}]`)), false},
		{"not a JWT", "abc", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), c.token)
			if c.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !c.ok {
				if err == nil {
					t.Fatal("accepted")
				}
				if !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("error %v does not match ErrInvalidToken", err)
				}
			}
		})
	}
}

func TestAccessTokenDetails(t *testing.T) {
	v := newTestVerifier(t)
	tok := rawHS256(testSecret, `{"alg":"HS256","typ":"at+jwt"}`, claimsJSON(time.Now().Add(time.Hour).Unix(),
		`[{"type":"other"},{"type":"https://mercure.rocks/authorization-detail","actions":["subscribe"],"topics":[{"match":"https://e/:id","match_type":"urlpattern"},{"match":"a"}],"payload":{"k":"v"}}]`))
	c, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Details) != 1 {
		t.Fatalf("details %+v, want the Mercure one only", c.Details)
	}
	d := c.Details[0]
	if !d.Grants(ActionSubscribe) || d.Grants(ActionPublish) {
		t.Errorf("actions %v", d.Actions)
	}
	want := []TopicMatcher{{"https://e/:id", "urlpattern"}, {"a", "exact"}}
	if fmt.Sprint(d.Topics) != fmt.Sprint(want) {
		t.Errorf("topics %v, want %v", d.Topics, want)
	}
	if string(d.Payload) != `{"k":"v"}` {
		t.Errorf("payload %s", d.Payload)
	}
	if c.Issuer != testIssuer || c.Subject != "s" || c.Expires.IsZero() {
		t.Errorf("claims %+v", c)
	}
}

func accessPrivatePEM(t *testing.T, key any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func accessPublicPEM(t *testing.T, key crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// TestAccessTokenKeys: ES256, RS256 and HS256 verify with their key kind
// only; keys are bound to their issuer; keys a token carries are never
// used.
func TestAccessTokenKeys(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecSigner, err := NewAccessSigner(accessPrivatePEM(t, ec))
	if err != nil {
		t.Fatal(err)
	}
	rsSigner, err := NewAccessSigner(accessPrivatePEM(t, rs))
	if err != nil {
		t.Fatal(err)
	}
	hsSigner, err := NewAccessSigner(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	ecKeys, err := NewKeySource(accessPublicPEM(t, &ec.PublicKey), JWKSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rsKeys, err := NewKeySource(accessPublicPEM(t, &rs.PublicKey), JWKSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hsKeys, _ := NewKeySource(testSecret, JWKSOptions{})
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edSigner, err := NewAccessSigner(accessPrivatePEM(t, edPriv))
	if err != nil {
		t.Fatal(err)
	}
	edKeys, err := NewKeySource(accessPublicPEM(t, edPub), JWKSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := newTestVerifier(t,
		AccessIssuer{ID: "https://ec.example", Keys: ecKeys},
		AccessIssuer{ID: "https://rs.example", Keys: rsKeys},
		AccessIssuer{ID: "https://hs.example", Keys: hsKeys},
		AccessIssuer{ID: "https://ed.example", Keys: edKeys},
	)
	sign := func(s *AccessSigner, iss string) string {
		tok, err := s.Sign(AccessToken{Issuer: iss, Audience: testAudience}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	rsPub := accessPublicPEM(t, &rs.PublicKey)
	confused := rawHS256(rsPub, `{"alg":"HS256","typ":"at+jwt"}`, fmt.Sprintf(`{"iss":"https://rs.example","aud":%q,"exp":%d}`, testAudience, time.Now().Add(time.Hour).Unix()))
	// A token signed with the attacker's own key, which it carries in jwk.
	attacker := "attacker-secret-attacker-secret-attacker"
	carried := rawHS256(attacker, `{"alg":"HS256","typ":"at+jwt","jwk":{"kty":"oct","k":"`+base64.RawURLEncoding.EncodeToString([]byte(attacker))+`"}}`,
		fmt.Sprintf(`{"iss":"https://hs.example","aud":%q,"exp":%d}`, testAudience, time.Now().Add(time.Hour).Unix()))
	cases := []struct {
		name, token string
		ok          bool
	}{
		{"ES256", sign(ecSigner, "https://ec.example"), true},
		{"RS256", sign(rsSigner, "https://rs.example"), true},
		{"HS256", sign(hsSigner, "https://hs.example"), true},
		{"EdDSA", sign(edSigner, "https://ed.example"), true},
		{"EdDSA token claiming the EC issuer", sign(edSigner, "https://ec.example"), false},
		{"ES256 token claiming the RS issuer", sign(ecSigner, "https://rs.example"), false},
		{"HS256 token claiming the EC issuer", sign(hsSigner, "https://ec.example"), false},
		{"HS256 signed with the RSA public key", confused, false},
		{"key carried in the jwk header", carried, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), c.token)
			if (err == nil) != c.ok {
				t.Fatalf("ok=%v, want %v (err %v)", err == nil, c.ok, err)
			}
		})
	}
}

func jwkOf(kid string, k *ecdsa.PublicKey) map[string]string {
	b := func(n *big.Int) string {
		buf := make([]byte, 32)
		return base64.RawURLEncoding.EncodeToString(n.FillBytes(buf))
	}
	//nolint:staticcheck // X and Y are what a JWK holds.
	return map[string]string{"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256", "x": b(k.X), "y": b(k.Y)}
}

// TestJWKS: a JWK Set from a file and from a URL; the URL's set is cached
// and fetched again when a token names a kid it does not hold (a key
// rotation), at most every MinRefresh.
func TestJWKS(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var current atomic.Value
	set := func(keys ...map[string]string) []byte {
		b, _ := json.Marshal(map[string]any{"keys": keys})
		return b
	}
	current.Store(set(jwkOf("k1", &k1.PublicKey)))
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(current.Load().([]byte))
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(file, set(jwkOf("k1", &k1.PublicKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, err := NewKeySource(file, JWKSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fromURL := NewJWKSURL(srv.URL, JWKSOptions{MinRefresh: time.Millisecond})
	s1, _ := NewAccessSigner(accessPrivatePEM(t, k1))
	s1.KeyID = "k1"
	s2, _ := NewAccessSigner(accessPrivatePEM(t, k2))
	s2.KeyID = "k2"
	tok := func(s *AccessSigner, iss string) string {
		out, err := s.Sign(AccessToken{Issuer: iss, Audience: testAudience}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	v := newTestVerifier(t, AccessIssuer{ID: "https://file.example", Keys: fromFile}, AccessIssuer{ID: "https://url.example", Keys: fromURL})
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok(s1, "https://file.example")); err != nil {
		t.Errorf("file JWKS: %v", err)
	}
	if _, err := v.Verify(ctx, tok(s1, "https://url.example")); err != nil {
		t.Errorf("URL JWKS: %v", err)
	}
	if _, err := v.Verify(ctx, tok(s1, "https://url.example")); err != nil {
		t.Errorf("URL JWKS, cached: %v", err)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches for two tokens with a known kid, want 1", n)
	}
	if _, err := v.Verify(ctx, tok(s2, "https://url.example")); err == nil {
		t.Error("a kid the set does not hold was accepted")
	}
	current.Store(set(jwkOf("k1", &k1.PublicKey), jwkOf("k2", &k2.PublicKey)))
	time.Sleep(2 * time.Millisecond)
	if _, err := v.Verify(ctx, tok(s2, "https://url.example")); err != nil {
		t.Errorf("after rotation: %v", err)
	}
	for _, bad := range []string{`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`, `{"keys":[]}`, `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`, `[`, `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`} {
		if _, err := ParseJWKS([]byte(bad)); err == nil {
			t.Errorf("ParseJWKS(%s) accepted", bad)
		}
	}
	// Keys of other types and uses are skipped, not fatal.
	mixed, _ := json.Marshal(map[string]any{"keys": []any{
		map[string]string{"kty": "oct", "k": "c2VjcmV0"},
		map[string]string{"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA"},
		map[string]string{"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"},
		jwkOf("k1", &k1.PublicKey),
	}})
	if keys, err := ParseJWKS(mixed); err != nil || len(keys) != 1 || keys[0].ID != "k1" {
		t.Errorf("a set with other keys: %v, %v", keys, err)
	}
}

func TestKeySourceRefusesShortSecrets(t *testing.T) {
	if _, err := NewKeySource("short", JWKSOptions{}); err == nil {
		t.Error("a 5-byte HMAC secret was accepted")
	}
}

// FuzzAccessTokenVerify: no token panics the verifier, and whatever it
// accepts carries an issuer and an expiry.
func FuzzAccessTokenVerify(f *testing.F) {
	exp := time.Now().Add(time.Hour).Unix()
	f.Add(rawHS256(testSecret, `{"alg":"HS256","typ":"at+jwt"}`, claimsJSON(exp, anyDetail)))
	f.Add(rawHS256(testSecret, `{"alg":"HS256","typ":"at+jwt"}`, claimsJSON(exp, `[{"type":"https://mercure.rocks/authorization-detail","actions":["subscribe"],"topics":[{"match":"a","match_type":"urlpattern"}],"payload":{}}]`)))
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		v := newTestVerifier(t)
		c, err := v.Verify(context.Background(), tok)
		if err == nil && (c.Issuer == "" || c.Expires.IsZero()) {
			t.Fatalf("accepted %q without iss or exp", tok)
		}
	})
}

// TestAccessTokenCacheHonoursExpiry: a verified token is remembered, but
// not past its exp.
func TestAccessTokenCacheHonoursExpiry(t *testing.T) {
	keys, _ := NewKeySource(testSecret, JWKSOptions{})
	now := time.Now()
	v, err := NewAccessVerifier(AccessOptions{Audience: testAudience, Issuers: []AccessIssuer{{ID: testIssuer, Keys: keys}}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tok := rawHS256(testSecret, `{"alg":"HS256","typ":"at+jwt"}`, claimsJSON(now.Add(time.Minute).Unix(), anyDetail))
	for range 2 {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(2 * time.Minute)
	if _, err := v.Verify(context.Background(), tok); err == nil {
		t.Fatal("a remembered token was accepted after its exp")
	}
}

// TestJWKSOneFetchAtATime: callers arriving while the set is fetched wait
// for that fetch instead of starting their own.
func TestJWKSOneFetchAtATime(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	body, _ := json.Marshal(map[string]any{"keys": []any{jwkOf("k", &k.PublicKey)}})
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		time.Sleep(100 * time.Millisecond)
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	src := NewJWKSURL(srv.URL, JWKSOptions{})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys, err := src.Keys(context.Background(), "k")
			if err == nil && len(keys) != 1 {
				err = fmt.Errorf("%d keys", len(keys))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

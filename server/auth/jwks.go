package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
)

// KeySource yields an issuer's verification keys. kid is the token's key
// id hint ("" when it has none): a source that fetches keys may refresh
// when it does not know the kid. It never takes keys from the token.
type KeySource interface {
	Keys(ctx context.Context, kid string) ([]VerificationKey, error)
}

// staticKeys is a KeySource of keys read once.
type staticKeys []VerificationKey

func (s staticKeys) Keys(context.Context, string) ([]VerificationKey, error) { return s, nil }

// Bounds of a JWK Set.
const (
	maxJWKSBytes = 1 << 20
	maxJWKSKeys  = 100
	// minHMACBytes is the shortest HMAC secret accepted: RFC 7518 section
	// 3.2 wants a key at least as long as the hash output.
	minHMACBytes = 32
)

// NewKeySource returns the keys a spec designates, for access tokens:
//   - an http:// or https:// URL: a JWK Set fetched from it, cached for
//     refresh and refetched at most every minRefresh when a token names a
//     kid it does not hold (see JWKSOptions);
//   - inline PEM, or the name of a file holding PEM: a public key (RSA of
//     2048 bits or more, ECDSA P-256/P-384/P-521, or Ed25519), or the
//     public half of a private key or certificate;
//   - the name of a file holding a JWK Set (JSON);
//   - anything else: an HMAC secret of at least 32 bytes.
func NewKeySource(spec string, opts JWKSOptions) (KeySource, error) {
	switch {
	case spec == "":
		return nil, errors.New("auth: empty key spec")
	case strings.HasPrefix(spec, "https://") || strings.HasPrefix(spec, "http://"):
		return NewJWKSURL(spec, opts), nil
	case strings.HasPrefix(strings.TrimSpace(spec), "-----BEGIN "):
		k, err := parseAccessPEM([]byte(spec))
		if err != nil {
			return nil, fmt.Errorf("auth: key: %w", err)
		}
		return staticKeys{k}, nil
	}
	if info, err := os.Stat(spec); err == nil {
		if info.IsDir() {
			return nil, fmt.Errorf("auth: key: %s is a directory", spec)
		}
		data, err := os.ReadFile(spec)
		if err != nil {
			return nil, fmt.Errorf("auth: key: %w", err)
		}
		if len(data) > maxJWKSBytes {
			return nil, fmt.Errorf("auth: key: %s is larger than %d bytes", spec, maxJWKSBytes)
		}
		if t := strings.TrimSpace(string(data)); strings.HasPrefix(t, "{") {
			keys, err := ParseJWKS(data)
			if err != nil {
				return nil, fmt.Errorf("auth: key: %s: %w", spec, err)
			}
			return staticKeys(keys), nil
		}
		k, err := parseAccessPEM(data)
		if err != nil {
			return nil, fmt.Errorf("auth: key: %s: %w", spec, err)
		}
		return staticKeys{k}, nil
	} else if errors.Is(err, os.ErrPermission) {
		return nil, fmt.Errorf("auth: key: %w", err)
	}
	if len(spec) < minHMACBytes {
		return nil, fmt.Errorf("auth: key: an HMAC secret needs at least %d bytes, this one has %d", minHMACBytes, len(spec))
	}
	return staticKeys{{Key: []byte(spec)}}, nil
}

// parseAccessPEM returns the first public key in data.
func parseAccessPEM(data []byte) (VerificationKey, error) {
	key, blockType, _, err := firstPEMKey(data, false)
	if err != nil {
		return VerificationKey{}, err
	}
	if key == nil {
		return VerificationKey{}, errors.New("no usable PEM block")
	}
	pub, err := publicKey(key)
	if err != nil {
		return VerificationKey{}, fmt.Errorf("PEM block %q: %w", blockType, err)
	}
	return VerificationKey{Key: pub}, nil
}

// publicKey returns the public half of key, refusing weak or unsupported
// kinds.
func publicKey(key any) (any, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return publicKey(&k.PublicKey)
	case *ecdsa.PrivateKey:
		return publicKey(&k.PublicKey)
	case ed25519.PrivateKey:
		return k.Public(), nil
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minRSABits {
			return nil, fmt.Errorf("RSA key of %d bits: at least %d are required", n, minRSABits)
		}
		return k, nil
	case *ecdsa.PublicKey:
		if curveByName(k.Curve.Params().Name) == nil {
			return nil, fmt.Errorf("unsupported curve %s", k.Curve.Params().Name)
		}
		return k, nil
	case ed25519.PublicKey:
		return k, nil
	}
	return nil, fmt.Errorf("unsupported key type %T", key)
}

// jwk is the JSON form of one JSON Web Key (RFC 7517, RFC 7518 section 6,
// RFC 8037).
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// ParseJWKS returns the signature-verification keys of a JWK Set. Keys
// for another use ("enc") and keys of a type or curve this package does
// not verify with (symmetric keys among them: a JWK Set published by an
// authorization server holds public keys) are left out. A key of a
// supported type that does not parse makes the set invalid, so that a
// typo is not silently a key fewer.
func ParseJWKS(data []byte) ([]VerificationKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := jsonv2.Unmarshal(data, &set, jsonv2.RejectUnknownMembers(false)); err != nil {
		return nil, fmt.Errorf("JWK Set: %w", err)
	}
	if len(set.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("JWK Set: more than %d keys", maxJWKSKeys)
	}
	var out []VerificationKey
	for i, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		key, err := k.public()
		if errors.Is(err, errUnsupportedKey) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("JWK Set: key %d (kid %q): %w", i, k.Kid, err)
		}
		if k.Alg != "" && algFamily(k.Alg) == "" {
			return nil, fmt.Errorf("JWK Set: key %d (kid %q): unsupported alg %q", i, k.Kid, k.Alg)
		}
		vk := VerificationKey{ID: k.Kid, Key: key, Alg: k.Alg}
		if vk.Alg != "" && !vk.fits(vk.Alg) {
			return nil, fmt.Errorf("JWK Set: key %d (kid %q): alg %q does not fit a %s key", i, k.Kid, k.Alg, k.Kty)
		}
		out = append(out, vk)
	}
	if len(out) == 0 {
		return nil, errors.New("JWK Set: no signature key")
	}
	return out, nil
}

// errUnsupportedKey marks a JWK of a type or curve that is not verified
// with here: skipped, not an error.
var errUnsupportedKey = errors.New("unsupported key type")

func (k *jwk) public() (any, error) {
	b64 := func(s, name string) ([]byte, error) {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("member %q is not base64url", name)
		}
		return b, nil
	}
	switch k.Kty {
	case "RSA":
		n, err := b64(k.N, "n")
		if err != nil {
			return nil, err
		}
		e, err := b64(k.E, "e")
		if err != nil {
			return nil, err
		}
		if len(e) > 4 {
			return nil, errors.New("RSA exponent too large")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		return publicKey(pub)
	case "EC":
		curve := curveByName(k.Crv)
		if curve == nil {
			return nil, fmt.Errorf("%w: curve %q", errUnsupportedKey, k.Crv)
		}
		x, err := b64(k.X, "x")
		if err != nil {
			return nil, err
		}
		y, err := b64(k.Y, "y")
		if err != nil {
			return nil, err
		}
		size := (curve.Params().BitSize + 7) / 8
		if len(x) != size || len(y) != size {
			return nil, errors.New("EC coordinates of the wrong length")
		}
		// The uncompressed point encoding: the parser checks that the
		// point is on the curve (an invalid-curve key is refused).
		raw := append([]byte{4}, append(x, y...)...)
		return ecdsa.ParseUncompressedPublicKey(curve, raw)
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, fmt.Errorf("%w: OKP curve %q", errUnsupportedKey, k.Crv)
		}
		x, err := b64(k.X, "x")
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, errors.New("Ed25519 key of the wrong length")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("%w: kty %q", errUnsupportedKey, k.Kty)
}

// JWKSOptions tune a JWK Set fetched from a URL.
type JWKSOptions struct {
	// Client fetches the set; nil means a client with a 10-second timeout.
	Client *http.Client
	// Refresh is how long a fetched set is used before it is fetched
	// again; zero means 5 minutes.
	Refresh time.Duration
	// MinRefresh is the least time between two fetches, whatever the
	// tokens ask for (an unknown kid); zero means 30 seconds.
	MinRefresh time.Duration
}

// JWKSURL is a KeySource that fetches a JWK Set over HTTP and caches it.
type JWKSURL struct {
	url  string
	opts JWKSOptions

	mu       sync.Mutex
	keys     []VerificationKey
	fetched  time.Time // of the last successful fetch
	tried    time.Time // of the last attempt
	lastErr  error
	inflight chan struct{} // closed when the fetch under way ends; nil when none
}

// NewJWKSURL returns a KeySource for the JWK Set at url. Nothing is
// fetched until a token needs a key.
func NewJWKSURL(url string, opts JWKSOptions) *JWKSURL {
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Refresh <= 0 {
		opts.Refresh = 5 * time.Minute
	}
	if opts.MinRefresh <= 0 {
		opts.MinRefresh = 30 * time.Second
	}
	return &JWKSURL{url: url, opts: opts}
}

// Keys returns the cached set, fetching it when it is stale, or when kid
// is not in it and the last attempt is older than MinRefresh. One fetch
// runs at a time, outside the lock: callers meanwhile get the keys fetched
// before, and wait only when there are none yet. A failed fetch keeps
// serving the keys fetched before, if any.
func (j *JWKSURL) Keys(ctx context.Context, kid string) ([]VerificationKey, error) {
	j.mu.Lock()
	now := time.Now()
	stale := j.keys == nil || now.Sub(j.fetched) > j.opts.Refresh
	if !stale && kid != "" && !hasKid(j.keys, kid) {
		stale = true
	}
	if stale && j.inflight == nil && now.Sub(j.tried) >= j.opts.MinRefresh {
		j.tried = now
		done := make(chan struct{})
		j.inflight = done
		j.mu.Unlock()
		keys, err := j.fetch(ctx)
		j.mu.Lock()
		if err == nil {
			j.keys, j.fetched, j.lastErr = keys, time.Now(), nil
		} else {
			j.lastErr = err
		}
		j.inflight = nil
		close(done)
	}
	if j.keys == nil && j.inflight != nil {
		wait := j.inflight
		j.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("auth: JWK Set %s: %w", j.url, ctx.Err())
		}
		j.mu.Lock()
	}
	defer j.mu.Unlock()
	if j.keys == nil {
		if j.lastErr != nil {
			return nil, fmt.Errorf("auth: JWK Set %s: %w", j.url, j.lastErr)
		}
		return nil, fmt.Errorf("auth: JWK Set %s: not fetched yet", j.url)
	}
	return j.keys, nil
}

func hasKid(keys []VerificationKey, kid string) bool {
	for _, k := range keys {
		if k.ID == kid {
			return true
		}
	}
	return false
}

func (j *JWKSURL) fetch(ctx context.Context) ([]VerificationKey, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	res, err := j.opts.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", res.Status)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxJWKSBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxJWKSBytes)
	}
	return ParseJWKS(data)
}

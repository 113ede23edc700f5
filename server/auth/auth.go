// Package auth verifies and issues the JSON Web Tokens that authorize
// Mercure publishers and subscribers.
//
// A token's "mercure" claim lists the topic selectors its holder may
// publish to ("publish") and receive private updates of ("subscribe"), as
// in {"mercure":{"publish":["*"],"subscribe":["https://example.com/{id}"]}}.
// The hub finds the token in the request (FromRequest), verifies it with
// the key it was configured with (Verifier) and reads those lists (Claims).
//
// Keys are given as a single string, a key spec, so that one flag or
// environment variable is enough: a PEM block, or the name of a file holding
// one, selects RS256 with an RSA key; anything else is an HS256 secret.
// Each Verifier accepts exactly one algorithm, the one that fits its key:
// a token is never checked with an algorithm its header chose, which is
// what makes "alg": "none" and the HS256-with-an-RSA-public-key trick fail.
package auth

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Errors from Verify match one of these with errors.Is, so that the HTTP
// layer can say why a token was refused. They also wrap the error of
// github.com/golang-jwt/jwt/v5 that they were derived from.
var (
	// ErrMalformed reports a string that is not a JWT, or claims that do
	// not decode (a mercure claim that is not an object, for instance).
	ErrMalformed = errors.New("auth: malformed token")
	// ErrAlgorithm reports a token whose header names an algorithm other
	// than the one pinned to the Verifier's key, "none" included.
	ErrAlgorithm = errors.New("auth: wrong signing algorithm")
	// ErrSignature reports a signature that does not verify with the key.
	ErrSignature = errors.New("auth: bad signature")
	// ErrExpired reports a token whose exp claim has passed.
	ErrExpired = errors.New("auth: token expired")
	// ErrNotYetValid reports a token whose nbf claim is still to come.
	ErrNotYetValid = errors.New("auth: token not valid yet")
	// ErrInvalidClaims reports any other registered claim that failed
	// validation.
	ErrInvalidClaims = errors.New("auth: invalid claims")
)

// Signing algorithms, as named in a token's header.
const (
	// HS256 is HMAC with SHA-256, used with a shared secret.
	HS256 = "HS256"
	// RS256 is RSASSA-PKCS1-v1_5 with SHA-256, used with an RSA key.
	RS256 = "RS256"
)

// DefaultCacheSize is how many verified tokens a Verifier remembers when
// Options.CacheSize is zero.
const DefaultCacheSize = 1024

// Claims is what a verified token authorizes.
type Claims struct {
	// Publish lists the topic selectors the holder may publish updates
	// to. It is nil when the token has no mercure.publish claim, and
	// empty but not nil when the claim is an empty list: Mercure hubs
	// let the latter publish public updates only, the former not at all.
	Publish []string
	// Subscribe lists the topic selectors of the private updates the
	// holder may receive; nil and empty are told apart as for Publish.
	Subscribe []string
	// Expires is the token's exp claim, or the zero time when it has
	// none (Mercure does not require one).
	Expires time.Time
	// Subject is the token's sub claim, or "": whom the hub counts a
	// client's subscriptions against.
	Subject string
}

func (c *Claims) clone() *Claims {
	return &Claims{
		Publish:   slices.Clone(c.Publish),
		Subscribe: slices.Clone(c.Subscribe),
		Expires:   c.Expires,
		Subject:   c.Subject,
	}
}

// tokenClaims is the JSON form of a token's claims.
type tokenClaims struct {
	jwt.RegisteredClaims
	Mercure *mercureClaim `json:"mercure,omitempty"`
}

// mercureClaim is the "mercure" claim. Its "payload" member, which Mercure
// forwards to subscription events, is not used by polysse and is ignored.
type mercureClaim struct {
	Publish   []string `json:"publish,omitzero"`
	Subscribe []string `json:"subscribe,omitzero"`
}

// Options tune a Verifier. The zero value is what NewVerifier uses.
type Options struct {
	// Leeway is how far past exp and before nbf a token is still
	// accepted, to absorb clock skew between the issuer and the hub.
	Leeway time.Duration
	// CacheSize bounds how many verified tokens are remembered. Zero
	// means DefaultCacheSize; a negative size disables the cache.
	CacheSize int
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Verifier checks tokens against one key. It is safe for concurrent use.
type Verifier struct {
	alg    string
	key    any // []byte for HS256, *rsa.PublicKey for RS256
	now    func() time.Time
	leeway time.Duration
	parser *jwt.Parser
	cache  *tokenCache
}

// NewVerifier returns a Verifier for the key spec: a PEM RSA public key,
// certificate or private key (whose public half is used), given inline or
// as the name of a file, for RS256; otherwise an HS256 secret. An empty
// spec, a file that holds no usable PEM, a key other than RSA and an RSA
// key shorter than 2048 bits are refused.
func NewVerifier(spec string) (*Verifier, error) {
	return NewVerifierWithOptions(spec, Options{})
}

// NewVerifierWithOptions is NewVerifier with options.
func NewVerifierWithOptions(spec string, opts Options) (*Verifier, error) {
	key, err := parseKeySpec(spec)
	if err != nil {
		return nil, fmt.Errorf("auth: verification key: %w", err)
	}
	v := &Verifier{now: opts.Now, leeway: opts.Leeway}
	switch k := key.(type) {
	case []byte:
		v.alg, v.key = HS256, k
	case *rsa.PublicKey:
		v.alg, v.key = RS256, k
	case *rsa.PrivateKey:
		v.alg, v.key = RS256, &k.PublicKey
	}
	if v.now == nil {
		v.now = time.Now
	}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{v.alg}),
		jwt.WithLeeway(opts.Leeway),
		jwt.WithTimeFunc(v.now),
	)
	switch {
	case opts.CacheSize == 0:
		v.cache = newTokenCache(DefaultCacheSize)
	case opts.CacheSize > 0:
		v.cache = newTokenCache(opts.CacheSize)
	}
	return v, nil
}

// Algorithm returns the one signing algorithm v accepts, HS256 or RS256.
func (v *Verifier) Algorithm() string { return v.alg }

// Kind describes v's key for a start-up log, without revealing it: "HS256
// secret of 32 bytes" or "RS256 RSA public key of 2048 bits", so that an
// operator sees which kind a key flag was read as.
func (v *Verifier) Kind() string {
	switch k := v.key.(type) {
	case []byte:
		return fmt.Sprintf("%s secret of %d bytes", v.alg, len(k))
	case *rsa.PublicKey:
		return fmt.Sprintf("%s RSA public key of %d bits", v.alg, k.N.BitLen())
	}
	return v.alg
}

// Verify checks token's signature and its exp and nbf claims, and returns
// what it authorizes. The error matches one of ErrMalformed, ErrAlgorithm,
// ErrSignature, ErrExpired, ErrNotYetValid or ErrInvalidClaims. Tokens
// that verified are remembered until they expire, so that presenting one
// again costs a lookup; each call returns its own copy of the claims.
func (v *Verifier) Verify(token string) (*Claims, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: empty token", ErrMalformed)
	}
	now := v.now()
	if c, ok := v.cache.get(token, now); ok {
		return c.clone(), nil
	}
	var tc tokenClaims
	t, err := v.parser.ParseWithClaims(token, &tc, func(*jwt.Token) (any, error) { return v.key, nil })
	if err != nil {
		return nil, v.explain(t, err)
	}
	if err := checkClaimsJSON(token); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	c := &Claims{Subject: tc.Subject}
	if tc.Mercure != nil {
		c.Publish = tc.Mercure.Publish
		c.Subscribe = tc.Mercure.Subscribe
	}
	var validUntil time.Time
	if tc.ExpiresAt != nil {
		c.Expires = tc.ExpiresAt.Time
		// Mirrors the parser's rule: valid while now < exp + leeway.
		validUntil = c.Expires.Add(v.leeway)
	}
	v.cache.put(token, c, validUntil)
	return c.clone(), nil
}

// explain maps an error of the jwt parser to this package's errors.
func (v *Verifier) explain(t *jwt.Token, err error) error {
	var reason error
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		reason = ErrMalformed
	case t != nil && t.Header["alg"] != v.alg:
		// The parser reports a refused or unknown algorithm as a bad
		// signature or as unverifiable; say which it really is.
		reason = ErrAlgorithm
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		reason = ErrSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		reason = ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		reason = ErrNotYetValid
	default:
		reason = ErrInvalidClaims
	}
	return fmt.Errorf("%w: %w", reason, err)
}

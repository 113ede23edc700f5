package auth

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Signer issues tokens, for tests and for the polysse token command. It is
// safe for concurrent use.
type Signer struct {
	method jwt.SigningMethod
	key    any // []byte or *rsa.PrivateKey
}

// NewSigner returns a Signer for the key spec: an HS256 secret, or a PEM
// RSA private key, inline or in a file, for RS256. A spec that a Verifier
// reads as a public key cannot sign and is refused.
func NewSigner(spec string) (*Signer, error) {
	key, err := parseKeySpec(spec)
	if err != nil {
		return nil, fmt.Errorf("auth: signing key: %w", err)
	}
	switch k := key.(type) {
	case []byte:
		return &Signer{method: jwt.SigningMethodHS256, key: k}, nil
	case *rsa.PrivateKey:
		return &Signer{method: jwt.SigningMethodRS256, key: k}, nil
	}
	return nil, errors.New("auth: signing key: a public key cannot sign: give an RSA private key")
}

// Algorithm returns the algorithm s signs with, HS256 or RS256.
func (s *Signer) Algorithm() string { return s.method.Alg() }

// Sign returns a token granting c. Its exp claim is now+ttl when ttl is
// not zero (a negative ttl makes a token that has already expired, for
// tests), else c.Expires when that is set; otherwise the token has no exp.
// A nil Publish or Subscribe list is left out of the mercure claim, an
// empty one is written as [], since hubs treat the two differently.
func (s *Signer) Sign(c Claims, ttl time.Duration) (string, error) {
	now := time.Now()
	tc := tokenClaims{RegisteredClaims: jwt.RegisteredClaims{IssuedAt: jwt.NewNumericDate(now), Subject: c.Subject}}
	switch {
	case ttl != 0:
		tc.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	case !c.Expires.IsZero():
		tc.ExpiresAt = jwt.NewNumericDate(c.Expires)
	}
	if c.Publish != nil || c.Subscribe != nil {
		tc.Mercure = &mercureClaim{Publish: c.Publish, Subscribe: c.Subscribe}
	}
	token, err := jwt.NewWithClaims(s.method, tc).SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return token, nil
}

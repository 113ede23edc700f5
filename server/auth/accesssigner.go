package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// AccessSigner issues draft-08 access tokens (RFC 9068), for tests, the
// polysse token command and self-issuing publishers. It is safe for
// concurrent use.
type AccessSigner struct {
	method jwt.SigningMethod
	key    any
	// KeyID, when set, is written as the kid header.
	KeyID string
}

// NewAccessSigner returns a signer for the key spec: a PEM private key,
// inline or in a file (RSA for RS256, ECDSA P-256 for ES256, Ed25519 for
// EdDSA), or else an HMAC secret of at least 32 bytes for HS256.
func NewAccessSigner(spec string) (*AccessSigner, error) {
	data := []byte(spec)
	isPEM := strings.HasPrefix(strings.TrimSpace(spec), "-----BEGIN ")
	if !isPEM {
		if b, err := os.ReadFile(spec); err == nil {
			data, isPEM = b, true
		}
	}
	if !isPEM {
		if len(spec) < minHMACBytes {
			return nil, fmt.Errorf("auth: signing key: an HMAC secret needs at least %d bytes", minHMACBytes)
		}
		return &AccessSigner{method: jwt.SigningMethodHS256, key: []byte(spec)}, nil
	}
	key, _, _, err := firstPEMKey(data, true)
	if err != nil {
		return nil, fmt.Errorf("auth: signing key: %w", err)
	}
	if key == nil {
		return nil, errors.New("auth: signing key: no PEM private key")
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("auth: signing key: RSA key of %d bits, at least %d required", k.N.BitLen(), minRSABits)
		}
		return &AccessSigner{method: jwt.SigningMethodRS256, key: k}, nil
	case *ecdsa.PrivateKey:
		if k.Curve.Params().Name != "P-256" {
			return nil, fmt.Errorf("auth: signing key: ECDSA curve %s: ES256 needs P-256", k.Curve.Params().Name)
		}
		return &AccessSigner{method: jwt.SigningMethodES256, key: k}, nil
	case ed25519.PrivateKey:
		return &AccessSigner{method: jwt.SigningMethodEdDSA, key: k}, nil
	}
	return nil, fmt.Errorf("auth: signing key: unsupported key %T", key)
}

// Algorithm returns the algorithm s signs with.
func (s *AccessSigner) Algorithm() string { return s.method.Alg() }

// AccessToken is what an access token grants, to sign.
type AccessToken struct {
	Issuer, Audience, Subject, ClientID string
	Details                             []AuthorizationDetail
}

// Sign returns a JWT access token (header typ at+jwt) for t, valid for
// ttl from now (a negative ttl makes an expired token, for tests). It
// carries every claim RFC 9068 asks issuers for: iss, exp, aud, sub,
// client_id, iat and jti (sub and client_id default to the issuer).
func (s *AccessSigner) Sign(t AccessToken, ttl time.Duration) (string, error) {
	now := time.Now()
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	type topicJSON struct {
		Match     string `json:"match"`
		MatchType string `json:"match_type,omitempty"`
	}
	type detailJSON struct {
		Type    string          `json:"type"`
		Actions []string        `json:"actions"`
		Topics  []topicJSON     `json:"topics"`
		Payload json.RawMessage `json:"payload,omitempty"`
	}
	details := make([]detailJSON, 0, len(t.Details))
	for _, d := range t.Details {
		dj := detailJSON{Type: AuthorizationDetailType, Actions: d.Actions, Payload: d.Payload}
		for _, m := range d.Topics {
			mt := m.MatchType
			if mt == "exact" {
				mt = ""
			}
			dj.Topics = append(dj.Topics, topicJSON{Match: m.Match, MatchType: mt})
		}
		details = append(details, dj)
	}
	sub, client := t.Subject, t.ClientID
	if sub == "" {
		sub = t.Issuer
	}
	if client == "" {
		client = t.Issuer
	}
	claims := jwt.MapClaims{
		"iss":                   t.Issuer,
		"aud":                   t.Audience,
		"sub":                   sub,
		"client_id":             client,
		"iat":                   now.Unix(),
		"exp":                   now.Add(ttl).Unix(),
		"jti":                   "urn:uuid:" + hex.EncodeToString(jti[:]),
		"authorization_details": details,
	}
	tok := jwt.NewWithClaims(s.method, claims)
	tok.Header["typ"] = "at+jwt"
	if s.KeyID != "" {
		tok.Header["kid"] = s.KeyID
	}
	out, err := tok.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("auth: sign access token: %w", err)
	}
	return out, nil
}

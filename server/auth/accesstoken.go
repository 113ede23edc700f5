package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/golang-jwt/jwt/v5"
)

// This file verifies the access tokens of Mercure draft-08: JWT access
// tokens (RFC 9068) whose authorization_details claim (RFC 9396) carries
// Mercure authorization details. Draft-07 tokens (the "mercure" claim) are
// Verifier's business; IsAccessToken tells the two apart by the header.

// AuthorizationDetailType is the type of a Mercure authorization detail.
const AuthorizationDetailType = "https://mercure.rocks/authorization-detail"

// Actions a Mercure authorization detail may grant.
const (
	ActionPublish   = "publish"
	ActionSubscribe = "subscribe"
)

// Signing algorithms an AccessVerifier may accept, besides HS256 and
// RS256.
const (
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// DefaultAccessAlgorithms is the allowlist an AccessVerifier uses when
// AccessOptions.Algorithms is empty.
var defaultAccessAlgorithms = []string{ES256, EdDSA, RS256, HS256}

// Limits on what one token may carry; beyond them it is invalid.
const (
	maxDetails        = 64
	maxDetailTopics   = 256
	maxActions        = 16
	maxAccessTokenLen = 16 << 10
)

// TopicMatcher is one entry of a detail's topics: a matcher and its type
// ("exact" when the token leaves match_type out).
type TopicMatcher struct {
	Match     string
	MatchType string
}

// AuthorizationDetail is one Mercure authorization detail of a token.
type AuthorizationDetail struct {
	// Actions lists the actions granted, unknown ones included (they grant
	// nothing).
	Actions []string
	// Topics lists the topics the actions apply to.
	Topics []TopicMatcher
	// Payload is the detail's payload object, as JSON, or nil.
	Payload []byte
}

// Grants reports whether the detail grants action.
func (d *AuthorizationDetail) Grants(action string) bool {
	return slices.Contains(d.Actions, action)
}

// AccessClaims is what a verified access token says.
type AccessClaims struct {
	Issuer, Subject string
	// Expires is the token's exp claim; access tokens always have one.
	Expires time.Time
	// Details are the token's Mercure authorization details, in order;
	// details of other types are left out.
	Details []AuthorizationDetail
}

// AccessIssuer is one issuer an AccessVerifier trusts, with its keys.
type AccessIssuer struct {
	// ID is the issuer identifier, compared exactly with a token's iss.
	ID string
	// Keys yields the issuer's verification keys (see NewKeySource).
	Keys KeySource
}

// AccessOptions configure an AccessVerifier.
type AccessOptions struct {
	// Audience is the hub's resource identifier: a token's aud must be or
	// contain it. Required.
	Audience string
	// Issuers are the trusted issuers; at least one is required.
	Issuers []AccessIssuer
	// Algorithms is the signing-algorithm allowlist; empty means ES256,
	// EdDSA, RS256 and HS256. "none" is never accepted.
	Algorithms []string
	// Leeway absorbs clock skew on exp and nbf.
	Leeway time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// CheckMatcher, when set, validates each topic matcher of a Mercure
	// authorization detail (its type and value); an error makes the whole
	// token invalid.
	CheckMatcher func(TopicMatcher) error
}

// AccessVerifier verifies draft-08 access tokens. It is safe for
// concurrent use.
type AccessVerifier struct {
	opts    AccessOptions
	issuers map[string]KeySource
	parser  *jwt.Parser

	// verified remembers tokens that verified, until they expire, so that
	// a token presented again (every publish of a publisher) costs a
	// lookup: verifying parses JSON and compiles its URL patterns.
	mu       sync.Mutex
	verified map[string]*AccessClaims
}

// The verified tokens remembered: at most accessCacheSize, each at most
// maxCachedTokenLen bytes (4 MiB in all).
const (
	accessCacheSize   = 1024
	maxCachedTokenLen = 4 << 10
)

// ErrInvalidToken is matched by every error AccessVerifier.Verify returns
// for a presented token that is not acceptable: RFC 6750's invalid_token.
var ErrInvalidToken = errors.New("auth: invalid access token")

// NewAccessVerifier returns a verifier for opts.
func NewAccessVerifier(opts AccessOptions) (*AccessVerifier, error) {
	if opts.Audience == "" {
		return nil, errors.New("auth: access tokens: the hub's resource identifier (audience) is required")
	}
	if len(opts.Issuers) == 0 {
		return nil, errors.New("auth: access tokens: at least one trusted issuer is required")
	}
	if len(opts.Algorithms) == 0 {
		opts.Algorithms = defaultAccessAlgorithms
	}
	for _, a := range opts.Algorithms {
		if algFamily(a) == "" {
			return nil, fmt.Errorf("auth: access tokens: algorithm %q is not supported", a)
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	v := &AccessVerifier{opts: opts, issuers: make(map[string]KeySource, len(opts.Issuers)), verified: make(map[string]*AccessClaims)}
	for _, is := range opts.Issuers {
		if is.ID == "" || is.Keys == nil {
			return nil, errors.New("auth: access tokens: an issuer needs an identifier and keys")
		}
		if _, dup := v.issuers[is.ID]; dup {
			return nil, fmt.Errorf("auth: access tokens: issuer %q given twice", is.ID)
		}
		v.issuers[is.ID] = is.Keys
	}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(opts.Algorithms),
		jwt.WithAudience(opts.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(opts.Leeway),
		jwt.WithTimeFunc(opts.Now),
	)
	return v, nil
}

// Audience returns the resource identifier tokens must be issued for.
func (v *AccessVerifier) Audience() string { return v.opts.Audience }

// IsAccessToken reports whether token's JOSE header declares a JWT access
// token (typ "at+jwt" or "application/at+jwt", case-insensitively, RFC
// 9068 section 2.1). It verifies nothing.
func IsAccessToken(token string) bool {
	h, ok := decodeHeader(token)
	return ok && isATJWT(h.Typ)
}

func isATJWT(typ string) bool {
	t := strings.ToLower(typ)
	return strings.TrimPrefix(t, "application/") == "at+jwt"
}

type joseHeader struct {
	Alg  string   `json:"alg"`
	Typ  string   `json:"typ"`
	Kid  string   `json:"kid"`
	Crit []string `json:"crit"`
}

func decodeHeader(token string) (joseHeader, bool) {
	var h joseHeader
	head, _, ok := strings.Cut(token, ".")
	if !ok || len(head) > 4096 {
		return h, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return h, false
	}
	return h, jsonv2.Unmarshal(raw, &h, jsonv2.RejectUnknownMembers(false)) == nil
}

// Verify checks token as a draft-08 access token: typ at+jwt, an allowed
// algorithm that fits the key, a signature by a key of the issuer the iss
// claim names (never a key the token carries), aud containing the hub's
// resource identifier, exp present and not passed, nbf if present, and
// well-formed Mercure authorization details. Every error matches
// ErrInvalidToken; the reason is for logs, not for the client. The claims
// returned are shared by the callers that present the same token: they
// must not be modified.
func (v *AccessVerifier) Verify(ctx context.Context, token string) (*AccessClaims, error) {
	now := v.opts.Now()
	v.mu.Lock()
	c, ok := v.verified[token]
	v.mu.Unlock()
	if ok && now.Before(c.Expires.Add(v.opts.Leeway)) {
		return c, nil
	}
	c, err := v.verify(ctx, token)
	if err != nil {
		return nil, err
	}
	if len(token) > maxCachedTokenLen {
		return c, nil
	}
	v.mu.Lock()
	if len(v.verified) >= accessCacheSize {
		// Dropping everything is crude but bounded, and a hub's working
		// set of tokens refills it at the cost of one verification each.
		clear(v.verified)
	}
	v.verified[token] = c
	v.mu.Unlock()
	return c, nil
}

func (v *AccessVerifier) verify(ctx context.Context, token string) (*AccessClaims, error) {
	fail := func(format string, args ...any) (*AccessClaims, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrInvalidToken}, args...)...)
	}
	if len(token) > maxAccessTokenLen {
		return fail("longer than %d bytes", maxAccessTokenLen)
	}
	h, ok := decodeHeader(token)
	switch {
	case !ok:
		return fail("the JOSE header does not decode")
	case !isATJWT(h.Typ):
		return fail("typ is %q, not at+jwt", h.Typ)
	case len(h.Crit) > 0:
		return fail("critical header parameters %q are not understood", h.Crit)
	}
	var c accessClaims
	_, err := v.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		src, ok := v.issuers[c.Iss]
		if !ok {
			return nil, fmt.Errorf("issuer %q is not trusted", c.Iss)
		}
		keys, err := src.Keys(ctx, h.Kid)
		if err != nil {
			return nil, err
		}
		set := jwt.VerificationKeySet{}
		for _, k := range keys {
			if k.fits(h.Alg) && (h.Kid == "" || k.ID == "" || k.ID == h.Kid) {
				set.Keys = append(set.Keys, k.Key)
			}
		}
		if len(set.Keys) == 0 {
			return nil, fmt.Errorf("issuer %q has no key for alg %q and kid %q", c.Iss, h.Alg, h.Kid)
		}
		return set, nil
	})
	if err != nil {
		return fail("%w", err)
	}
	if c.Iss == "" {
		return fail("no iss claim")
	}
	out := &AccessClaims{Issuer: c.Iss, Subject: c.Sub, Expires: c.Exp.Time}
	for i, raw := range c.Details {
		d, mine, err := parseDetail(raw, v.opts.CheckMatcher)
		if err != nil {
			return fail("authorization_details[%d]: %w", i, err)
		}
		if mine {
			out.Details = append(out.Details, d)
		}
	}
	return out, nil
}

// accessClaims is the JSON form of an access token's claims. It decodes
// strictly (names case-sensitive, duplicate names refused), since two
// decoders reading one token differently is how authorization bypasses
// start.
type accessClaims struct {
	Iss     string
	Sub     string
	Aud     jwt.ClaimStrings
	Exp     *jwt.NumericDate
	Nbf     *jwt.NumericDate
	Iat     *jwt.NumericDate
	Details []jsontext.Value
}

// UnmarshalJSON decodes the claims with the strict JSON decoder.
func (c *accessClaims) UnmarshalJSON(data []byte) error {
	var w struct {
		Iss     string           `json:"iss"`
		Sub     string           `json:"sub"`
		Aud     jsontext.Value   `json:"aud"`
		Exp     *float64         `json:"exp"`
		Nbf     *float64         `json:"nbf"`
		Iat     *float64         `json:"iat"`
		Details []jsontext.Value `json:"authorization_details"`
	}
	if err := jsonv2.Unmarshal(data, &w); err != nil {
		return err
	}
	if len(w.Details) > maxDetails {
		return fmt.Errorf("more than %d authorization details", maxDetails)
	}
	c.Iss, c.Sub, c.Details = w.Iss, w.Sub, w.Details
	if len(w.Aud) > 0 {
		if err := c.Aud.UnmarshalJSON(w.Aud); err != nil {
			return fmt.Errorf("aud: %w", err)
		}
	}
	date := func(f *float64) *jwt.NumericDate {
		if f == nil {
			return nil
		}
		return jwt.NewNumericDate(time.Unix(0, int64(*f*float64(time.Second))))
	}
	c.Exp, c.Nbf, c.Iat = date(w.Exp), date(w.Nbf), date(w.Iat)
	return nil
}

func (c *accessClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.Exp, nil }
func (c *accessClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.Iat, nil }
func (c *accessClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.Nbf, nil }
func (c *accessClaims) GetIssuer() (string, error)                   { return c.Iss, nil }
func (c *accessClaims) GetSubject() (string, error)                  { return c.Sub, nil }
func (c *accessClaims) GetAudience() (jwt.ClaimStrings, error)       { return c.Aud, nil }

// parseDetail reads one authorization_details entry. mine is false for a
// well-formed detail of another type, which the hub ignores.
func parseDetail(raw jsontext.Value, check func(TopicMatcher) error) (d AuthorizationDetail, mine bool, err error) {
	var head struct {
		Type *string `json:"type"`
	}
	if err := jsonv2.Unmarshal(raw, &head); err != nil {
		return d, false, fmt.Errorf("not an object with a string type: %w", err)
	}
	if head.Type == nil {
		return d, false, errors.New("no type")
	}
	if *head.Type != AuthorizationDetailType {
		return d, false, nil
	}
	var w struct {
		Type    string                      `json:"type"`
		Actions []string                    `json:"actions"`
		Topics  []map[string]jsontext.Value `json:"topics"`
		Payload jsontext.Value              `json:"payload"`
	}
	if err := jsonv2.Unmarshal(raw, &w); err != nil {
		return d, false, err
	}
	switch {
	case len(w.Actions) == 0:
		return d, false, errors.New("actions must be a non-empty array of strings")
	case len(w.Actions) > maxActions:
		return d, false, fmt.Errorf("more than %d actions", maxActions)
	case len(w.Topics) == 0:
		return d, false, errors.New("topics must be a non-empty array of topic matchers")
	case len(w.Topics) > maxDetailTopics:
		return d, false, fmt.Errorf("more than %d topics", maxDetailTopics)
	}
	if len(w.Payload) > 0 {
		if w.Payload.Kind() != '{' {
			return d, false, errors.New("payload must be an object")
		}
		d.Payload = []byte(w.Payload.Clone())
	}
	d.Actions = w.Actions
	for i, t := range w.Topics {
		if t == nil {
			return d, false, fmt.Errorf("topics[%d] is not an object", i)
		}
		m := TopicMatcher{MatchType: "exact"}
		raw, ok := t["match"]
		if !ok || jsonv2.Unmarshal(raw, &m.Match) != nil {
			return d, false, fmt.Errorf("topics[%d]: match must be a string", i)
		}
		if raw, ok := t["match_type"]; ok {
			if jsonv2.Unmarshal(raw, &m.MatchType) != nil {
				return d, false, fmt.Errorf("topics[%d]: match_type must be a string", i)
			}
		}
		if check != nil {
			if err := check(m); err != nil {
				return d, false, fmt.Errorf("topics[%d]: %w", i, err)
			}
		}
		d.Topics = append(d.Topics, m)
	}
	return d, true, nil
}

// algFamily names the key kind an algorithm needs, or "" when the
// algorithm is not supported.
func algFamily(alg string) string {
	switch alg {
	case HS256, "HS384", "HS512":
		return "oct"
	case RS256, "RS384", "RS512", "PS256", "PS384", "PS512":
		return "RSA"
	case ES256:
		return "P-256"
	case "ES384":
		return "P-384"
	case "ES512":
		return "P-521"
	case EdDSA:
		return "Ed25519"
	}
	return ""
}

// VerificationKey is one trusted key with its optional key id.
type VerificationKey struct {
	ID string
	// Key is []byte (HMAC), *rsa.PublicKey, *ecdsa.PublicKey or
	// ed25519.PublicKey.
	Key any
	// Alg, when set (a JWK's "alg"), is the one algorithm the key is for.
	Alg string
}

// fits reports whether the key can verify alg: the key kind must be the
// algorithm's, which is what stops algorithm confusion (an RSA public key
// used as an HMAC secret, for one).
func (k VerificationKey) fits(alg string) bool {
	if k.Alg != "" && k.Alg != alg {
		return false
	}
	fam := algFamily(alg)
	switch key := k.Key.(type) {
	case []byte:
		return fam == "oct"
	case *rsa.PublicKey:
		return fam == "RSA"
	case *ecdsa.PublicKey:
		return fam == key.Curve.Params().Name
	case ed25519.PublicKey:
		return fam == "Ed25519"
	}
	return false
}

// curveByName returns the NIST curve a JWK's crv names, or nil.
func curveByName(name string) elliptic.Curve {
	switch name {
	case "P-256":
		return elliptic.P256()
	case "P-384":
		return elliptic.P384()
	case "P-521":
		return elliptic.P521()
	}
	return nil
}

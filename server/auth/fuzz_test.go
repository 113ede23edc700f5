package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// fuzzSecret signed the valid tokens of the seed corpus.
const fuzzSecret = "fuzz-secret"

// FuzzVerify checks that arbitrary strings never make Verify panic, that a
// refusal always says why with one of the package's errors, and that a
// token verifies only if it is an HS256 token whose signature checks out
// with the secret, as computed here without the jwt package. An RS256
// Verifier, whose key no seed was signed with, must refuse everything.
func FuzzVerify(f *testing.F) {
	hs, err := NewVerifier(fuzzSecret)
	if err != nil {
		f.Fatal(err)
	}
	rs, err := NewVerifier(string(publicPEM(f, newRSAKey(f))))
	if err != nil {
		f.Fatal(err)
	}
	reasons := []error{ErrMalformed, ErrAlgorithm, ErrSignature, ErrExpired, ErrNotYetValid, ErrInvalidClaims}
	f.Fuzz(func(t *testing.T, token string) {
		for range 2 { // the second time, from the cache if it verified
			c, err := hs.Verify(token)
			if err != nil {
				if c != nil {
					t.Fatalf("Verify(%q) returned claims with error %v", token, err)
				}
				if !isOneOf(err, reasons) {
					t.Fatalf("Verify(%q) error %v matches none of the package's errors", token, err)
				}
				continue
			}
			if !validHS256(token, fuzzSecret) {
				t.Fatalf("Verify(%q) accepted a token not signed with HS256 and the secret", token)
			}
		}
		if c, err := rs.Verify(token); err == nil {
			t.Fatalf("RS256 Verify(%q) = %+v", token, c)
		} else if !isOneOf(err, reasons) {
			t.Fatalf("RS256 Verify(%q) error %v matches none of the package's errors", token, err)
		}
	})
}

func isOneOf(err error, targets []error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

func validHS256(token, secret string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	header, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return false
	}
	var h map[string]any
	if json.Unmarshal(header, &h) != nil || h["alg"] != HS256 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	return hmac.Equal(sig, mac.Sum(nil))
}

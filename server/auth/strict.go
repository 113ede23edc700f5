package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// knownClaims are the claim names this package reads, in the case that
// counts. encoding/json matches object keys to names case-insensitively,
// so a claim spelled otherwise ("Mercure", "Publish", "EXP") would be read
// as one of them; and with a duplicate key it keeps the last value, where
// another JWT library may keep the first. Tokens with either are refused,
// so that every reader of a token agrees on what it grants.
var knownClaims = []string{"exp", "nbf", "iat", "iss", "sub", "aud", "jti", "mercure", "publish", "subscribe", "payload"}

// checkClaimsJSON checks the payload segment of a compact JWS: valid
// base64url JSON in which no object repeats a key and no key is a known
// claim name in another case.
func checkClaimsJSON(token string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := checkValue(dec, 0, true); err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("claims: data after the JSON object")
	}
	return nil
}

// maxDepth bounds the nesting checkValue follows.
const maxDepth = 32

// checkValue checks the next value; names says whether its keys, if it is
// an object, are claim names (the claims object and the mercure claim).
func checkValue(dec *json.Decoder, depth int, names bool) error {
	if depth > maxDepth {
		return errors.New("nested too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := make(map[string]bool)
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			if seen[key] {
				return fmt.Errorf("duplicate key %q", key)
			}
			seen[key] = true
			for _, name := range knownClaims {
				if names && key != name && strings.EqualFold(key, name) {
					return fmt.Errorf("key %q: claim names are case-sensitive (%q)", key, name)
				}
			}
			if err := checkValue(dec, depth+1, names && depth == 0 && key == "mercure"); err != nil {
				return err
			}
		}
		_, err = dec.Token() // '}'
		return err
	case json.Delim('['):
		for dec.More() {
			if err := checkValue(dec, depth+1, false); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ']'
		return err
	}
	return nil
}

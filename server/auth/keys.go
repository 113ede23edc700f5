package auth

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// minRSABits refuses keys that are too weak to sign anything (RFC 7518
// section 3.3 requires 2048 bits for RS256).
const minRSABits = 2048

// parseKeySpec returns the key a spec designates: []byte for a secret, or
// *rsa.PublicKey or *rsa.PrivateKey for PEM.
//
// A spec that names an existing file must hold PEM: reading the file's
// name as a secret instead would silently accept tokens signed with that
// well-known string. Likewise inline PEM is never taken as a secret, since
// an HS256 secret equal to a public key is exactly what an attacker who
// knows the public key can forge tokens with.
func parseKeySpec(spec string) (any, error) {
	if spec == "" {
		return nil, errors.New("empty key: give an HS256 secret or a PEM key file")
	}
	if strings.HasPrefix(strings.TrimSpace(spec), "-----BEGIN ") {
		return parsePEM([]byte(spec))
	}
	info, err := os.Stat(spec)
	switch {
	case err == nil && info.IsDir():
		return nil, fmt.Errorf("%s is a directory, not a PEM key file", spec)
	case err == nil:
		data, err := os.ReadFile(spec)
		if err != nil {
			return nil, err
		}
		key, err := parsePEM(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
		return key, nil
	case errors.Is(err, fs.ErrPermission):
		return nil, err
	case looksLikePath(spec):
		// A mistyped or missing key file must not become a secret that
		// anyone who guesses the path can sign with.
		return nil, fmt.Errorf("%s: no such key file (a value that looks like a path is never taken as an HS256 secret): %w", spec, err)
	}
	return []byte(spec), nil
}

// looksLikePath reports whether spec reads as a file name rather than a
// secret: relative to the current or home directory, an absolute path of
// path characters only (a base64 secret that starts with "/" holds "+",
// "=" or other characters beyond them more often than not), or a name
// ending in a key file's extension.
func looksLikePath(spec string) bool {
	for _, p := range []string{"./", "../", "~/", `.\`, `..\`} {
		if strings.HasPrefix(spec, p) {
			return true
		}
	}
	lower := strings.ToLower(spec)
	for _, ext := range []string{".pem", ".key", ".crt", ".cer", ".der", ".pub", ".jwk", ".json"} {
		if strings.HasSuffix(lower, ext) {
			return true
		}
	}
	if !strings.HasPrefix(spec, "/") {
		return false
	}
	for _, c := range spec {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '/', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// parsePEM returns the first RSA key, public or private, in data; the
// public key of a certificate counts.
func parsePEM(data []byte) (any, error) {
	key, blockType, seen, err := firstPEMKey(data, false)
	if err != nil {
		return nil, err
	}
	if key != nil {
		return checkRSA(key, blockType)
	}
	if len(seen) == 0 {
		return nil, errors.New("no PEM block found")
	}
	return nil, fmt.Errorf("no supported PEM block (found %s)", strings.Join(seen, ", "))
}

// firstPEMKey returns the key of the first PEM block in data that holds
// one, with the block's type: a public key (PKIX or PKCS #1), a
// certificate's public key, or a private key (PKCS #1, SEC 1 or PKCS #8);
// with privateOnly, only a private key. seen lists the types of the blocks
// passed over. A nil key and a nil error mean that no block held one.
func firstPEMKey(data []byte, privateOnly bool) (key any, blockType string, seen []string, err error) {
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			return nil, "", seen, nil
		}
		data = rest
		switch block.Type {
		case "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE":
			if privateOnly {
				seen = append(seen, block.Type)
				continue
			}
		}
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				key = cert.PublicKey
			}
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		default:
			seen = append(seen, block.Type)
			continue
		}
		if err != nil {
			return nil, block.Type, seen, fmt.Errorf("PEM block %q: %w", block.Type, err)
		}
		return key, block.Type, seen, nil
	}
}

func checkRSA(key any, blockType string) (any, error) {
	var n int
	switch k := key.(type) {
	case *rsa.PublicKey:
		n = k.N.BitLen()
	case *rsa.PrivateKey:
		n = k.N.BitLen()
	default:
		return nil, fmt.Errorf("PEM block %q holds a %T: only RSA keys are supported", blockType, key)
	}
	if n < minRSABits {
		return nil, fmt.Errorf("RSA key of %d bits: at least %d are required", n, minRSABits)
	}
	return key, nil
}

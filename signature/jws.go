package signature

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// jws is a compact JWS (or JWT) split into its parts.
type jws struct {
	header struct {
		Alg string   `json:"alg"`
		Kid string   `json:"kid"`
		X5c []string `json:"x5c"`
	}
	payload []byte
	signed  []byte // header.payload as sent: what the signature covers
	sig     []byte
}

func b64url(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// parseJWS splits a compact serialisation; it does not verify anything.
func parseJWS(s string) (*jws, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS (three dot-separated parts)")
	}
	var j jws
	h, err := b64url(parts[0])
	if err != nil || json.Unmarshal(h, &j.header) != nil {
		return nil, errors.New("the JWS header is not base64url JSON")
	}
	if j.payload, err = b64url(parts[1]); err != nil {
		return nil, errors.New("the JWS payload is not base64url")
	}
	if j.sig, err = b64url(parts[2]); err != nil {
		return nil, errors.New("the JWS signature is not base64url")
	}
	j.signed = []byte(parts[0] + "." + parts[1])
	return &j, nil
}

// verifyWith checks the JWS signature with pub for the header's algorithm
// (RS256 or ES256 only: the providers here use nothing else, and "none" or
// HMAC must never pass as a public-key signature).
func (j *jws) verifyWith(pub crypto.PublicKey) error {
	d := sha256.Sum256(j.signed)
	switch j.header.Alg {
	case "RS256":
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return errors.New("RS256 needs an RSA key")
		}
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], j.sig) != nil {
			return errors.New("the RS256 signature does not verify")
		}
		return nil
	case "ES256":
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k.Curve != elliptic.P256() {
			return errors.New("ES256 needs a P-256 key")
		}
		if len(j.sig) != 64 {
			return errors.New("an ES256 signature is 64 bytes")
		}
		r, s := new(big.Int).SetBytes(j.sig[:32]), new(big.Int).SetBytes(j.sig[32:])
		if !ecdsa.Verify(k, d[:], r, s) {
			return errors.New("the ES256 signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("unsupported JWS algorithm %q", truncate(j.header.Alg, 20))
}

// jwk is one key of a JWK set (RSA or P-256).
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

func (k jwk) public() (crypto.PublicKey, error) {
	switch k.Kty {
	case "RSA":
		n, err1 := b64url(k.N)
		e, err2 := b64url(k.E)
		if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("an RSA JWK needs base64url n and e")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	case "EC":
		if k.Crv != "P-256" {
			return nil, errors.New("only P-256 EC keys are supported")
		}
		x, err1 := b64url(k.X)
		y, err2 := b64url(k.Y)
		if err1 != nil || err2 != nil {
			return nil, errors.New("an EC JWK needs base64url x and y")
		}
		pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
		if !pub.Curve.IsOnCurve(pub.X, pub.Y) { //nolint:staticcheck // checked on purpose: a pasted key
			return nil, errors.New("the EC key is not on P-256")
		}
		return pub, nil
	}
	return nil, fmt.Errorf("unsupported key type %q", truncate(k.Kty, 10))
}

// parseJWKS reads a JWK set ({"keys":[…]}), a single JWK, or Plaid's
// {"key":{…}} answer.
func parseJWKS(s string) ([]jwk, error) {
	var set struct {
		Keys []jwk `json:"keys"`
		Key  *jwk  `json:"key"`
	}
	if err := json.Unmarshal([]byte(s), &set); err != nil {
		return nil, errors.New("the key set is not JSON")
	}
	if set.Key != nil {
		set.Keys = append(set.Keys, *set.Key)
	}
	if len(set.Keys) == 0 {
		var one jwk
		if json.Unmarshal([]byte(s), &one) == nil && one.Kty != "" {
			set.Keys = []jwk{one}
		}
	}
	if len(set.Keys) == 0 {
		return nil, errors.New("the key set has no keys")
	}
	return set.Keys, nil
}

// keyFor picks the key with kid (any key when the set has one and kid is empty).
func keyFor(keys []jwk, kid string) (crypto.PublicKey, error) {
	for _, k := range keys {
		if k.Kid == kid || (kid == "" && len(keys) == 1) {
			return k.public()
		}
	}
	return nil, fmt.Errorf("no key with kid %q in the key set", truncate(kid, 60))
}

// parseCertPEM reads the first certificate of a PEM bundle (or base64 DER).
func parseCertPEM(s string) (*x509.Certificate, error) {
	s = strings.TrimSpace(s)
	der := []byte(nil)
	if blk, _ := pem.Decode([]byte(s)); blk != nil {
		der = blk.Bytes
	} else if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		der = b
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, errors.New("the certificate is not PEM or base64 DER X.509")
	}
	return c, nil
}

var (
	x509ParsePKCS8 = x509.ParsePKCS8PrivateKey
	x509ParsePKCS1 = x509.ParsePKCS1PrivateKey
)

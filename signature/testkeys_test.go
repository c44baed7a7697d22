package signature

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"
)

// Test keys and certificates, generated here: tests never reach the
// internet and never use a provider's real keys.

var (
	rsaOnce       sync.Once
	rsaKeys       [2]*rsa.PrivateKey
	testNotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	testNotAfter  = time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
)

func testRSA(t testing.TB, i int) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		for j := range rsaKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys[j] = k
		}
	})
	return rsaKeys[i]
}

func pemOf(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// selfSigned returns a self-signed certificate for key (PEM) and the key (PEM).
func selfSigned(t testing.TB, key *rsa.PrivateKey, cn string) (certPEM, keyPEM string) {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: testNotBefore, NotAfter: testNotAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	return pemOf("CERTIFICATE", der), pemOf("PRIVATE KEY", kd)
}

func rsaJWKS(key *rsa.PrivateKey, kid string) string {
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes())}}})
	return string(b)
}

func ecJWK(t testing.TB, kid string) (jwks, privPEM string) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]byte, 32), make([]byte, 32)
	k.X.FillBytes(x)
	k.Y.FillBytes(y)
	b, _ := json.Marshal(map[string]any{"key": map[string]string{"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
		"x": base64.RawURLEncoding.EncodeToString(x), "y": base64.RawURLEncoding.EncodeToString(y)}, "request_id": "Ai8v"})
	kd, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(b), pemOf("PRIVATE KEY", kd)
}

// appleChain builds root → intermediate → leaf with Apple's extensions (as
// Apple's own test certificates carry them); leaf signs.
func appleChain(t testing.TB, withOIDs bool) (rootPEM, chainPEM, leafKeyPEM string) {
	t.Helper()
	gen := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	rootKey, interKey, leafKey := gen(), gen(), gen()
	ext := func(oid []int) []pkix.Extension {
		if !withOIDs {
			return nil
		}
		return []pkix.Extension{{Id: oid, Value: []byte{0x05, 0x00}}}
	}
	root := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Root CA - G3"}, NotBefore: testNotBefore, NotAfter: testNotAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, &rootKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, _ = x509.ParseCertificate(rootDER)
	inter := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Test Worldwide Developer Relations"}, NotBefore: testNotBefore, NotAfter: testNotAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, ExtraExtensions: ext(appleIntermediateOID)}
	interDER, err := x509.CreateCertificate(rand.Reader, inter, root, &interKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	inter, _ = x509.ParseCertificate(interDER)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "Test StoreKit Signing"}, NotBefore: testNotBefore, NotAfter: testNotAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtraExtensions: ext(appleLeafOID)}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, inter, &leafKey.PublicKey, interKey)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(leafKey)
	return pemOf("CERTIFICATE", rootDER), pemOf("CERTIFICATE", leafDER) + pemOf("CERTIFICATE", interDER), pemOf("PRIVATE KEY", kd)
}

package signature

import (
	"crypto/ecdsa"
	"crypto/x509"
	_ "embed"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"time"
)

// appleRootG3 is Apple Root CA - G3, from
// https://www.apple.com/certificateauthority/AppleRootCA-G3.cer (SHA-256
// 63343abf…9179, checked in a test): with it embedded, App Store
// notifications verify offline.
//
//go:embed apple_root_ca_g3.pem
var appleRootG3 string

// Apple marks the certificates that sign App Store JWS with these
// extensions (as Apple's app-store-server-library checks).
var (
	appleLeafOID         = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 11, 1}
	appleIntermediateOID = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 2, 1}
)

func hasExt(c *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oid) {
			return true
		}
	}
	return false
}

// verifyAppleJWS checks a JWS whose x5c chain must lead to root; it returns
// the payload or the reason.
func verifyAppleJWS(tok, rootPEM string, now time.Time) ([]byte, string) {
	j, err := parseJWS(tok)
	if err != nil {
		return nil, "signedPayload is malformed: " + err.Error() + "."
	}
	if j.header.Alg != "ES256" {
		return nil, "signedPayload is not ES256, as Apple signs."
	}
	if len(j.header.X5c) < 2 {
		return nil, "signedPayload's header has no x5c certificate chain."
	}
	var chain []*x509.Certificate
	for _, c := range j.header.X5c {
		der, err := base64.StdEncoding.DecodeString(c)
		if err != nil {
			return nil, "an x5c certificate is not base64."
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, "an x5c certificate does not parse."
		}
		chain = append(chain, cert)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(rootPEM)) {
		return nil, "the root certificate does not parse."
	}
	inter := x509.NewCertPool()
	inter.AddCert(chain[1])
	leaf := chain[0]
	if !hasExt(leaf, appleLeafOID) || !hasExt(chain[1], appleIntermediateOID) {
		return nil, "the x5c certificates are not Apple's App Store signing certificates (their Apple extensions are missing)."
	}
	// Apple's extensions are not understood by x509: they must not fail
	// the chain check as unhandled critical ones.
	leaf.UnhandledCriticalExtensions = nil
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, "the x5c chain does not lead to Apple Root CA - G3: " + err.Error() + "."
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, "the signing certificate's key is not ECDSA."
	}
	if err := j.verifyWith(pub); err != nil {
		return nil, err.Error() + "."
	}
	return j.payload, ""
}

// appleScheme: App Store Server Notifications v2, a JSON body
// {"signedPayload": JWS} signed ES256 by a certificate chained (x5c) to
// Apple Root CA - G3.
// https://developer.apple.com/documentation/appstoreservernotifications/responsebodyv2
func appleScheme() *scheme {
	s := &scheme{
		Provider: Provider{ID: "apple-app-store", Name: "Apple App Store Server Notifications v2",
			Description: "Nothing to copy: the notification carries its certificate chain, checked offline against Apple's root. Optionally the app's bundle ID.",
			Params: []Param{
				{Name: "bundle_id", Description: "Accept only notifications for this bundle ID."},
				{Name: "root_certificate", Description: "Another root (PEM) instead of Apple Root CA - G3, e.g. Xcode's StoreKit testing root."},
				toleranceParam("not checked"),
				{Name: "private_key", Description: "P-256 private key (PEM), only to sign samples with a test chain (certificate_chain)."},
				{Name: "certificate_chain", Description: "Leaf and intermediate certificates (PEM) for samples signed with private_key."},
			}},
		sigHeaders: []string{},
		noSecret:   true,
	}
	s.custom = func(in Input, p Params) (Verdict, error) {
		r := asymResult{header: "signedPayload (in the body)"}
		// Exact key: encoding/json's struct matching ignores case.
		var raw map[string]json.RawMessage
		var body struct{ SignedPayload string }
		if json.Unmarshal(in.Body, &raw) == nil {
			json.Unmarshal(raw["signedPayload"], &body.SignedPayload)
		}
		if body.SignedPayload == "" {
			r.problem, r.missing = "the body has no signedPayload (App Store Server Notifications v2 send {\"signedPayload\":\"…\"}).", true
			return r.verdict(s, in, p)
		}
		r.received = mask(body.SignedPayload)
		root := appleRootG3
		if v := strings.TrimSpace(p["root_certificate"]); v != "" {
			root, r.variant = v, "configured root certificate"
		}
		payload, problem := verifyAppleJWS(body.SignedPayload, root, in.Now)
		if problem == "" {
			var c struct {
				SignedDate int64 `json:"signedDate"`
				Data       struct {
					BundleID string `json:"bundleId"`
				} `json:"data"`
			}
			json.Unmarshal(payload, &c)
			r.preview = preview(payload)
			if c.SignedDate > 0 {
				t := time.UnixMilli(c.SignedDate)
				r.ts = &t
			}
			if want := strings.TrimSpace(p["bundle_id"]); want != "" && want != c.Data.BundleID {
				problem = "the notification is for bundle ID " + c.Data.BundleID + ", not the configured bundle_id."
			}
		}
		r.problem = problem
		return r.verdict(s, in, p)
	}
	s.sign = func(in Input, p Params, _ string) (http.Header, []byte, error) {
		key, err := parseECPrivate(p["private_key"])
		if err != nil {
			return nil, nil, err
		}
		var x5c []string
		rest := []byte(p["certificate_chain"])
		for {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			x5c = append(x5c, base64.StdEncoding.EncodeToString(blk.Bytes))
		}
		if len(x5c) < 2 {
			return nil, nil, errors.New("signing an App Store sample needs certificate_chain: the leaf and intermediate certificates (PEM)")
		}
		var claims map[string]any
		if err := json.Unmarshal(in.Body, &claims); err != nil {
			return nil, nil, err
		}
		claims["signedDate"] = in.Now.UnixMilli()
		cb, _ := json.Marshal(claims)
		tok, err := signJWT(map[string]any{"alg": "ES256", "x5c": x5c}, cb, key)
		if err != nil {
			return nil, nil, err
		}
		b, _ := json.Marshal(map[string]string{"signedPayload": tok})
		return http.Header{}, b, nil
	}
	return s
}

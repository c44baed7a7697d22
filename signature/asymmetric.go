package signature

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// parseEdPrivate reads an Ed25519 private key: 32-byte seed or 64-byte key,
// as hex (Discord-style) or base64 (whsk_-style).
func parseEdPrivate(s string, b64 bool) (ed25519.PrivateKey, error) {
	s = strings.TrimSpace(s)
	var b []byte
	var err error
	if b64 {
		b, err = decodeB64Key(s)
	} else {
		b, err = hex.DecodeString(s)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: the Ed25519 private key cannot be decoded", ErrInvalidParams)
	}
	switch len(b) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case ed25519.PrivateKeySize:
		return ed25519.PrivateKey(b), nil
	}
	return nil, fmt.Errorf("%w: the Ed25519 private key must be 32 or 64 bytes", ErrInvalidParams)
}

// derOrPEM returns DER bytes from a PEM block or bare base64.
func derOrPEM(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if blk, _ := pem.Decode([]byte(s)); blk != nil {
		return blk.Bytes, nil
	}
	return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
}

// parseECPublic reads SendGrid's verification key: base64 DER
// SubjectPublicKeyInfo (PEM also accepted) of a P-256 key.
func parseECPublic(s string) (*ecdsa.PublicKey, error) {
	der, err := derOrPEM(s)
	if err != nil {
		return nil, errors.New("the verification key must be base64 DER (or PEM) of a P-256 public key")
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("the verification key is not a public key")
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("the verification key is not a P-256 ECDSA key")
	}
	return pub, nil
}

// parseECPrivate reads a P-256 private key (PKCS#8 or SEC 1, base64 DER or PEM).
func parseECPrivate(s string) (*ecdsa.PrivateKey, error) {
	der, err := derOrPEM(s)
	if err != nil {
		return nil, fmt.Errorf("%w: private_key must be base64 DER or PEM of a P-256 private key", ErrInvalidParams)
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if ek, ok := k.(*ecdsa.PrivateKey); ok && ek.Curve == elliptic.P256() {
			return ek, nil
		}
		return nil, fmt.Errorf("%w: private_key is not a P-256 ECDSA key", ErrInvalidParams)
	}
	if ek, err := x509.ParseECPrivateKey(der); err == nil && ek.Curve == elliptic.P256() {
		return ek, nil
	}
	return nil, fmt.Errorf("%w: private_key is not a P-256 ECDSA private key", ErrInvalidParams)
}

// tsBody is timestamp text followed directly by the body (Discord, SendGrid).
func tsBody(ts string, body []byte) []byte { return append([]byte(ts), body...) }

// readTimestampedBody reads the asymmetric schemes that sign the timestamp
// header's text followed by the body, with one signature in one header
// (Discord, SendGrid); c gives the algorithm, encoding and key kind.
func readTimestampedBody(sigh, tsh string, c candidate) func(Input, Params) (reading, error) {
	return func(in Input, _ Params) (reading, error) {
		r := reading{header: sigh + ", " + tsh}
		sig, tsText := strings.TrimSpace(in.Header.Get(sigh)), in.Header.Get(tsh)
		if sig == "" {
			r.problem, r.sigMissing = "the request has no "+sigh+" header.", true
			return r, nil
		}
		if ts, err := parseUnix(tsText); err == nil {
			r.ts = &ts
		} else if strings.TrimSpace(tsText) == "" {
			r.notes = append(r.notes, "The request has no "+tsh+" value, yet the signature covers the timestamp followed by the body: without the timestamp it cannot verify. Check that nothing between the sender and tailhook drops that header.")
		} else {
			r.notes = append(r.notes, fmt.Sprintf("%s is %q, not a unix timestamp: the sender signs the timestamp text followed by the body, so a changed or reformatted timestamp breaks the signature.", tsh, truncate(tsText, 40)))
		}
		remsg := func(b []byte) []byte { return tsBody(tsText, b) }
		c.text, c.msg, c.remsg = sig, remsg(in.Body), remsg
		r.cands = []candidate{c}
		return r, nil
	}
}

func discordScheme() *scheme {
	const sigh, tsh = "X-Signature-Ed25519", "X-Signature-Timestamp"
	return &scheme{
		Provider: Provider{ID: "discord", Name: "Discord",
			Description: "The application's Public Key (64 hex characters) on the General Information page of the Developer Portal.",
			Params: []Param{
				secretParam("Application public key (hex)."),
				{Name: "private_key", Description: "Ed25519 private key (hex seed or 64-byte key), only to sign samples; Discord never shows one, so use a test key pair."},
				{Name: "tolerance_s", Description: "Allowed timestamp drift in seconds (default: not checked, as Discord's libraries do)."},
			}},
		sigHeaders: []string{sigh},
		validate: func(_ Params, secrets []string) error {
			for _, s := range secrets {
				if _, err := parseKey(s, keyEdHex); err != nil {
					return err
				}
			}
			return nil
		},
		read:     readTimestampedBody(sigh, tsh, candidate{alg: ed25519Sig, enc: encHex, key: keyEdHex}),
		noSecret: true,
		sign: func(in Input, p Params, _ string) (http.Header, []byte, error) {
			if p["private_key"] == "" {
				return nil, nil, fmt.Errorf("%w: signing Discord requests needs private_key (the public key cannot sign)", ErrInvalidParams)
			}
			priv, err := parseEdPrivate(p["private_key"], false)
			if err != nil {
				return nil, nil, err
			}
			ts := strconv.FormatInt(in.Now.Unix(), 10)
			h := http.Header{}
			h.Set(sigh, hex.EncodeToString(ed25519.Sign(priv, tsBody(ts, in.Body))))
			h.Set(tsh, ts)
			return h, nil, nil
		},
	}
}

func sendgridScheme() *scheme {
	const sigh, tsh = "X-Twilio-Email-Event-Webhook-Signature", "X-Twilio-Email-Event-Webhook-Timestamp"
	return &scheme{
		Provider: Provider{ID: "sendgrid", Name: "SendGrid",
			Description: "The Verification Key (base64 public key) under Settings > Mail Settings > Event Webhook > Signed Event Webhook.",
			Params: []Param{
				secretParam("Verification key (base64 DER public key)."),
				{Name: "private_key", Description: "P-256 private key (base64 DER or PEM), only to sign samples; SendGrid never shows one, so use a test key pair."},
				{Name: "tolerance_s", Description: "Allowed timestamp drift in seconds (default: not checked; SendGrid documents none)."},
			}},
		sigHeaders: []string{sigh},
		validate: func(_ Params, secrets []string) error {
			for _, s := range secrets {
				if _, err := parseECPublic(s); err != nil {
					return err
				}
			}
			return nil
		},
		read:     readTimestampedBody(sigh, tsh, candidate{alg: ecdsaP256, enc: encBase64, key: keyECDSA}),
		noSecret: true,
		sign: func(in Input, p Params, _ string) (http.Header, []byte, error) {
			if p["private_key"] == "" {
				return nil, nil, fmt.Errorf("%w: signing SendGrid events needs private_key (the verification key is public and cannot sign)", ErrInvalidParams)
			}
			priv, err := parseECPrivate(p["private_key"])
			if err != nil {
				return nil, nil, err
			}
			ts := strconv.FormatInt(in.Now.Unix(), 10)
			d := sha256.Sum256(tsBody(ts, in.Body))
			sig, err := ecdsa.SignASN1(rand.Reader, priv, d[:])
			if err != nil {
				return nil, nil, err
			}
			h := http.Header{}
			h.Set(sigh, base64.StdEncoding.EncodeToString(sig))
			h.Set(tsh, ts)
			return h, nil, nil
		},
	}
}

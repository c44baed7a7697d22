package signature

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"

	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// FetchedKey is the parameter the caller fills with the certificate or key
// set KeyURL named, once fetched: schemes read a pasted "certificate" or
// "jwks" first and fall back to it. Users never set it.
const FetchedKey = "fetched_key"

// KeyURL names the certificate or key set a verdict of provider needs and p
// does not hold (nothing pasted): "" when nothing needs fetching. The URL
// is checked against the provider's own hosts (https only): an error says
// why a URL taken from the request is refused, so a forged delivery cannot
// make tailhook fetch from anywhere else.
func KeyURL(provider string, p Params, in Input) (string, error) {
	s, ok := byID[provider]
	if !ok || s.keyURL == nil {
		return "", nil
	}
	for _, name := range []string{"certificate", "jwks"} {
		if strings.TrimSpace(p[name]) != "" {
			return "", nil
		}
	}
	if in.Header == nil {
		in.Header = http.Header{}
	}
	return s.keyURL(in)
}

// checkKeyURL accepts raw only as https on a host allowed matches.
func checkKeyURL(raw, what string, allowed func(host, path string) bool) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Port() != "" || !allowed(strings.ToLower(u.Hostname()), u.Path) {
		return "", fmt.Errorf("%s %q is not on the provider's own https hosts: not fetched", what, truncate(raw, 120))
	}
	return u.String(), nil
}

var paypalHosts = map[string]bool{"api.paypal.com": true, "api-m.paypal.com": true, "api.sandbox.paypal.com": true, "api-m.sandbox.paypal.com": true}

var snsHost = regexp.MustCompile(`^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)

// googleCerts is where Google publishes the keys that sign its OIDC tokens.
const googleCerts = "https://www.googleapis.com/oauth2/v3/certs"

// keyParam is the pasted key material, or what the caller fetched.
func keyParam(p Params, name string) string {
	if v := strings.TrimSpace(p[name]); v != "" {
		return v
	}
	return p[FetchedKey]
}

// asymVerdict builds the verdict of a certificate or key-set scheme.
type asymResult struct {
	header, received, preview, problem, variant string
	missing                                     bool
	ts                                          *time.Time
	tol                                         tolerance
}

func (r asymResult) verdict(s *scheme, in Input, p Params) (Verdict, error) {
	v := Verdict{Provider: s.ID}
	v.Details.Header, v.Details.Received, v.Details.SignedPreview, v.Details.Variant = r.header, r.received, r.preview, r.variant
	rd := reading{ts: r.ts, tol: r.tol}
	if err := applyTolerance(&rd, p); err != nil {
		return Verdict{}, err
	}
	stale := judgeTimestamp(&v, rd, in.Now)
	switch {
	case r.problem != "":
		v.Reason = r.problem
		if r.missing {
			v.Details.Hints = lookalikeHints(s, in)
		}
	case stale != "":
		v.Reason = "signature matches, but " + stale + "."
		v.Details.Hints = []string{staleHint(rd)}
	default:
		v.Valid = true
		v.Reason = "signature matches"
		if r.variant != "" {
			v.Reason += " (" + r.variant + ")"
		}
		v.Reason += "."
	}
	return v, nil
}

func certParams(what string) []Param {
	return []Param{
		{Name: "certificate", Description: "Paste the signing certificate (PEM) to verify offline; otherwise it is fetched from the provider's own host (" + what + ") and cached until it expires."},
		{Name: "private_key", Description: "RSA private key (PEM), only to sign samples with a test certificate."},
	}
}

func rsaPublic(c crypto.PublicKey) (*rsa.PublicKey, error) {
	k, ok := c.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("the certificate's key is not RSA")
	}
	return k, nil
}

func parseRSAPrivate(s string) (*rsa.PrivateKey, error) {
	der, err := derOrPEM(s)
	if err != nil {
		return nil, fmt.Errorf("%w: private_key must be PEM or base64 DER", ErrInvalidParams)
	}
	if k, err := x509ParsePKCS8(der); err == nil {
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
	}
	if k, err := x509ParsePKCS1(der); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("%w: private_key is not an RSA private key", ErrInvalidParams)
}

// --- PayPal ---------------------------------------------------------------

// paypalScheme: SHA256withRSA over transmission_id|transmission_time|
// webhook_id|crc32(body), the certificate at PAYPAL-CERT-URL.
// https://developer.paypal.com/api/rest/webhooks/rest/#link-selfverificationmethod
func paypalScheme() *scheme {
	const (
		hID, hTime, hSig, hCert, hAlgo = "Paypal-Transmission-Id", "Paypal-Transmission-Time", "Paypal-Transmission-Sig", "Paypal-Cert-Url", "Paypal-Auth-Algo"
	)
	msg := func(id, ts, webhookID string, body []byte) []byte {
		return []byte(id + "|" + ts + "|" + webhookID + "|" + strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	}
	s := &scheme{
		Provider: Provider{ID: "paypal", Name: "PayPal",
			Description: "The Webhook ID of the webhook in the PayPal developer dashboard; the certificate comes from PayPal.",
			Params: append([]Param{{Name: "webhook_id", Description: "The webhook's ID (it is part of what PayPal signs).", Required: true}},
				append(certParams("api.paypal.com, api-m.paypal.com and their sandbox hosts"), toleranceParam("not checked"))...)},
		sigHeaders: []string{hSig, hID},
		noSecret:   true,
	}
	s.keyURL = func(in Input) (string, error) {
		if in.Header.Get(hSig) == "" {
			return "", nil
		}
		return checkKeyURL(in.Header.Get(hCert), "PAYPAL-CERT-URL", func(h, _ string) bool { return paypalHosts[h] })
	}
	s.custom = func(in Input, p Params) (Verdict, error) {
		r := asymResult{header: hSig + ", " + hCert}
		sig, id, ts := strings.TrimSpace(in.Header.Get(hSig)), in.Header.Get(hID), in.Header.Get(hTime)
		if strings.TrimSpace(p["webhook_id"]) == "" {
			return Verdict{}, fmt.Errorf("%w: PayPal signs the webhook ID: set webhook_id", ErrInvalidParams)
		}
		m := msg(id, ts, strings.TrimSpace(p["webhook_id"]), in.Body)
		r.preview, r.received = preview(m), sig
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			r.ts = &t
		}
		switch {
		case sig == "":
			r.problem, r.missing = "the request has no "+hSig+" header.", true
		case id == "" || ts == "":
			r.problem = "the request lacks " + hID + " or " + hTime + ", which PayPal signs."
		case in.Header.Get(hAlgo) != "" && in.Header.Get(hAlgo) != "SHA256withRSA":
			r.problem = fmt.Sprintf("%s is %q; PayPal signs with SHA256withRSA.", hAlgo, truncate(in.Header.Get(hAlgo), 40))
		default:
			r.problem = verifyCertRSA(keyParam(p, "certificate"), crypto.SHA256, m, sig, in.Header.Get(hCert), in.Now)
		}
		return r.verdict(s, in, p)
	}
	s.sign = func(in Input, p Params, _ string) (http.Header, []byte, error) {
		key, err := parseRSAPrivate(p["private_key"])
		if err != nil {
			return nil, nil, err
		}
		id := swID(in)
		ts := in.Now.UTC().Format(time.RFC3339)
		d := sha256.Sum256(msg(id, ts, p["webhook_id"], in.Body))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
		if err != nil {
			return nil, nil, err
		}
		h := http.Header{}
		h.Set(hID, id)
		h.Set(hTime, ts)
		h.Set(hSig, base64.StdEncoding.EncodeToString(sig))
		h.Set(hAlgo, "SHA256withRSA")
		h.Set(hCert, "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-tailhook")
		return h, nil, nil
	}
	return s
}

// verifyCertRSA checks a base64 RSA PKCS#1 v1.5 signature with the
// certificate's key; "" when it verifies, else the reason.
func verifyCertRSA(certPEM string, h crypto.Hash, msg []byte, sigB64, from string, now time.Time) string {
	if certPEM == "" {
		return "no certificate to check with: paste it as certificate, or let tailhook fetch it from " + truncate(from, 100) + "."
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return "the certificate cannot be used: " + err.Error() + "."
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return "the signing certificate was not valid at the capture's time (" + cert.NotBefore.Format(time.DateOnly) + " to " + cert.NotAfter.Format(time.DateOnly) + ")."
	}
	pub, err := rsaPublic(cert.PublicKey)
	if err != nil {
		return err.Error() + "."
	}
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		return "the signature is not base64."
	}
	var d []byte
	if h == crypto.SHA1 {
		x := sha1.Sum(msg)
		d = x[:]
	} else {
		x := sha256.Sum256(msg)
		d = x[:]
	}
	if rsa.VerifyPKCS1v15(pub, h, d, sig) != nil {
		return "the RSA signature does not verify with the certificate over the signed message."
	}
	return ""
}

// --- AWS SNS --------------------------------------------------------------

type snsMessage struct {
	Type, MessageId, Token, TopicArn, Subject, Message, Timestamp string
	SignatureVersion, Signature, SigningCertURL, SubscribeURL     string
	subjectSet                                                    bool
}

func parseSNS(body []byte) (*snsMessage, error) {
	// Exact key names: encoding/json matches struct fields case-insensitively,
	// and a "message" must not stand in for the "Message" SNS signed.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, err
	}
	str := func(k string) string {
		var v string
		json.Unmarshal(raw[k], &v)
		return v
	}
	m := snsMessage{Type: str("Type"), MessageId: str("MessageId"), Token: str("Token"), TopicArn: str("TopicArn"),
		Subject: str("Subject"), Message: str("Message"), Timestamp: str("Timestamp"), SignatureVersion: str("SignatureVersion"),
		Signature: str("Signature"), SigningCertURL: str("SigningCertURL"), SubscribeURL: str("SubscribeURL")}
	_, m.subjectSet = raw["Subject"]
	return &m, nil
}

// canonical is the string SNS signs: "Key\nvalue\n" for each field of the
// message type, in byte order of the keys.
// https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
func (m *snsMessage) canonical() []byte {
	var b strings.Builder
	add := func(k, v string) { b.WriteString(k + "\n" + v + "\n") }
	add("Message", m.Message)
	add("MessageId", m.MessageId)
	if m.Type == "Notification" {
		if m.subjectSet && m.Subject != "" {
			add("Subject", m.Subject)
		}
		add("Timestamp", m.Timestamp)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
		return []byte(b.String())
	}
	add("SubscribeURL", m.SubscribeURL)
	add("Timestamp", m.Timestamp)
	add("Token", m.Token)
	add("TopicArn", m.TopicArn)
	add("Type", m.Type)
	return []byte(b.String())
}

// SNSSubscribeURL returns the SubscribeURL of an SNS SubscriptionConfirmation
// body, checked to be an https SNS endpoint asking ConfirmSubscription; ""
// when the body is not one.
func SNSSubscribeURL(body []byte) (string, error) {
	m, err := parseSNS(body)
	if err != nil || m.Type != "SubscriptionConfirmation" {
		return "", nil
	}
	u, err := checkKeyURL(m.SubscribeURL, "SubscribeURL", func(h, _ string) bool { return snsHost.MatchString(h) })
	if err != nil {
		return "", err
	}
	if pu, _ := url.Parse(u); pu == nil || pu.Query().Get("Action") != "ConfirmSubscription" {
		return "", errors.New("SubscribeURL does not ask ConfirmSubscription: not followed")
	}
	return u, nil
}

// snsScheme: SignatureVersion 1 (SHA1withRSA) or 2 (SHA256withRSA) over the
// canonical message, certificate at SigningCertURL on sns.<region>.amazonaws.com.
func snsScheme() *scheme {
	s := &scheme{
		Provider: Provider{ID: "aws-sns", Name: "AWS SNS",
			Description: "Nothing to copy: SNS signs with an AWS certificate. Optionally the topic ARN to accept.",
			Params: append([]Param{{Name: "topic_arn", Description: "Accept only messages of this topic ARN."}},
				append(certParams("sns.<region>.amazonaws.com"), toleranceParam("not checked"))...)},
		sigHeaders: []string{"X-Amz-Sns-Message-Type"},
		noSecret:   true,
	}
	s.keyURL = func(in Input) (string, error) {
		m, err := parseSNS(in.Body)
		if err != nil || m.Signature == "" {
			return "", nil
		}
		return checkKeyURL(m.SigningCertURL, "SigningCertURL", func(h, path string) bool {
			return snsHost.MatchString(h) && strings.HasSuffix(path, ".pem")
		})
	}
	s.custom = func(in Input, p Params) (Verdict, error) {
		r := asymResult{header: "Signature (in the body)"}
		m, err := parseSNS(in.Body)
		if err != nil || m.Type == "" {
			r.problem, r.missing = "the body is not an SNS message (JSON with Type, Signature and SigningCertURL).", true
			return r.verdict(s, in, p)
		}
		msg := m.canonical()
		r.preview, r.received = preview(msg), m.Signature
		if t, err := time.Parse(time.RFC3339Nano, m.Timestamp); err == nil {
			r.ts = &t
		}
		h := crypto.SHA1
		r.variant = "SignatureVersion 1, SHA1withRSA"
		switch {
		case m.Signature == "":
			r.problem, r.missing = "the SNS message has no Signature.", true
		case m.SignatureVersion == "2":
			h, r.variant = crypto.SHA256, ""
		case m.SignatureVersion != "1":
			r.problem = fmt.Sprintf("SignatureVersion %q is unknown (SNS uses 1 or 2).", truncate(m.SignatureVersion, 10))
		}
		if want := strings.TrimSpace(p["topic_arn"]); r.problem == "" && want != "" && want != m.TopicArn {
			r.problem = "the message's TopicArn " + strconv.Quote(m.TopicArn) + " is not the configured topic_arn."
		}
		if r.problem == "" {
			r.problem = verifyCertRSA(keyParam(p, "certificate"), h, msg, m.Signature, m.SigningCertURL, in.Now)
		}
		return r.verdict(s, in, p)
	}
	s.sign = func(in Input, p Params, _ string) (http.Header, []byte, error) {
		key, err := parseRSAPrivate(p["private_key"])
		if err != nil {
			return nil, nil, err
		}
		var doc map[string]any
		if err := json.Unmarshal(in.Body, &doc); err != nil {
			return nil, nil, err
		}
		doc["SignatureVersion"] = "2"
		doc["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-tailhook-sample.pem"
		doc["Timestamp"] = in.Now.UTC().Format("2006-01-02T15:04:05.000Z")
		b, _ := json.Marshal(doc)
		m, err := parseSNS(b)
		if err != nil {
			return nil, nil, err
		}
		d := sha256.Sum256(m.canonical())
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
		if err != nil {
			return nil, nil, err
		}
		doc["Signature"] = base64.StdEncoding.EncodeToString(sig)
		b, err = json.Marshal(doc)
		h := http.Header{}
		h.Set("X-Amz-Sns-Message-Type", m.Type)
		h.Set("X-Amz-Sns-Message-Id", m.MessageId)
		h.Set("X-Amz-Sns-Topic-Arn", m.TopicArn)
		return h, b, err
	}
	return s
}

// --- Google Pub/Sub push (OIDC) --------------------------------------------

// googleScheme: the push request's Authorization: Bearer JWT, RS256 with
// Google's keys; iss Google, aud and email as configured, not expired at
// the capture's time.
// https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions
func googleScheme() *scheme {
	s := &scheme{
		Provider: Provider{ID: "google-pubsub", Name: "Google Pub/Sub push (Play RTDN, Gmail)",
			Description: "The push subscription's audience and service account; Google's signing keys are fetched from googleapis.com (or pasted as jwks).",
			Params: []Param{
				{Name: "audience", Description: "The subscription's audience (default in Google: the push endpoint URL); checked when set."},
				{Name: "email", Description: "The service account the subscription authenticates as; checked when set."},
				{Name: "jwks", Description: "Paste Google's key set (JSON from " + "www.googleapis.com/oauth2/v3/certs) to verify offline."},
				toleranceParam("not checked; the token's exp always is"),
				{Name: "private_key", Description: "RSA private key (PEM), only to sign samples with a test key set."},
			}},
		sigHeaders: []string{},
		noSecret:   true,
	}
	s.keyURL = func(in Input) (string, error) {
		if !strings.HasPrefix(in.Header.Get("Authorization"), "Bearer ") {
			return "", nil
		}
		return googleCerts, nil
	}
	s.custom = func(in Input, p Params) (Verdict, error) {
		r := asymResult{header: "Authorization"}
		tok, ok := strings.CutPrefix(in.Header.Get("Authorization"), "Bearer ")
		if !ok {
			r.problem, r.missing = "the request has no Authorization: Bearer token: turn on authentication on the push subscription.", true
			return r.verdict(s, in, p)
		}
		r.received = mask(tok)
		claims, problem := verifyJWT(tok, keyParam(p, "jwks"), "RS256")
		var c struct {
			Iss, Aud, Email string
			EmailVerified   bool  `json:"email_verified"`
			Exp             int64 `json:"exp"`
			Iat             int64 `json:"iat"`
		}
		if problem == "" {
			json.Unmarshal(claims, &c)
			r.preview = preview(claims)
			iat := time.Unix(c.Iat, 0)
			r.ts = &iat
			switch {
			case c.Iss != "accounts.google.com" && c.Iss != "https://accounts.google.com":
				problem = "the token's issuer " + strconv.Quote(c.Iss) + " is not Google."
			case in.Now.After(time.Unix(c.Exp, 0).Add(time.Minute)):
				problem = "the token had expired at the capture's time (exp " + time.Unix(c.Exp, 0).UTC().Format(time.RFC3339) + ")."
			case p["audience"] != "" && c.Aud != strings.TrimSpace(p["audience"]):
				problem = "the token's audience " + strconv.Quote(c.Aud) + " is not the configured audience."
			case p["email"] != "" && (c.Email != strings.TrimSpace(p["email"]) || !c.EmailVerified):
				problem = "the token's email " + strconv.Quote(c.Email) + " is not the configured service account (or is not verified)."
			}
		}
		r.problem = problem
		return r.verdict(s, in, p)
	}
	s.sign = func(in Input, p Params, _ string) (http.Header, []byte, error) {
		key, err := parseRSAPrivate(p["private_key"])
		if err != nil {
			return nil, nil, err
		}
		aud := p["audience"]
		if aud == "" {
			aud = urlFor(in, p)
		}
		email := p["email"]
		if email == "" {
			email = "push@tailhook-sample.iam.gserviceaccount.com"
		}
		claims, _ := json.Marshal(map[string]any{"iss": "https://accounts.google.com", "aud": aud, "email": email, "email_verified": true,
			"sub": "113774264463038321964", "iat": in.Now.Unix(), "exp": in.Now.Add(time.Hour).Unix()})
		tok, err := signJWT(map[string]any{"alg": "RS256", "kid": "tailhook-sample", "typ": "JWT"}, claims, key)
		h := http.Header{}
		h.Set("Authorization", "Bearer "+tok)
		return h, nil, err
	}
	return s
}

// verifyJWT checks tok's signature with the key set; it returns the claims,
// or the reason it does not verify.
func verifyJWT(tok, jwks, alg string) ([]byte, string) {
	j, err := parseJWS(tok)
	if err != nil {
		return nil, "the token is malformed: " + err.Error() + "."
	}
	if j.header.Alg != alg {
		return nil, fmt.Sprintf("the token is signed with %q; this provider uses %s.", truncate(j.header.Alg, 20), alg)
	}
	if jwks == "" {
		return nil, "no key set to check with: paste it as jwks, or let tailhook fetch it."
	}
	keys, err := parseJWKS(jwks)
	if err != nil {
		return nil, "the key set cannot be used: " + err.Error() + "."
	}
	pub, err := keyFor(keys, j.header.Kid)
	if err != nil {
		return nil, err.Error() + "."
	}
	if err := j.verifyWith(pub); err != nil {
		return nil, err.Error() + "."
	}
	return j.payload, ""
}

// signJWT signs claims with key (RSA: RS256; P-256: ES256).
func signJWT(header map[string]any, claims []byte, key crypto.Signer) (string, error) {
	h, _ := json.Marshal(header)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(claims)
	d := sha256.Sum256([]byte(in))
	var sig []byte
	switch k := key.(type) {
	case *rsa.PrivateKey:
		s, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:])
		if err != nil {
			return "", err
		}
		sig = s
	case *ecdsa.PrivateKey:
		der, err := ecdsa.SignASN1(rand.Reader, k, d[:])
		if err != nil {
			return "", err
		}
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(der, &rs); err != nil {
			return "", err
		}
		sig = make([]byte, 64)
		rs.R.FillBytes(sig[:32])
		rs.S.FillBytes(sig[32:])
	default:
		return "", errors.New("unsupported key")
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// --- Plaid ------------------------------------------------------------------

// plaidScheme: the Plaid-Verification header is an ES256 JWT whose
// request_body_sha256 claim is the body's SHA-256; its key comes from
// /webhook_verification_key/get, which needs the account's API keys, so it
// is pasted (jwks), never fetched. Plaid: reject iat older than 5 minutes.
// https://plaid.com/docs/api/webhooks/webhook-verification/
func plaidScheme() *scheme {
	const hdrName = "Plaid-Verification"
	s := &scheme{
		Provider: Provider{ID: "plaid", Name: "Plaid",
			Description: "The verification key from /webhook_verification_key/get (paste the answer's key JSON as jwks); it needs your API keys, so tailhook never fetches it.",
			Params: []Param{
				{Name: "jwks", Description: "The JWK from /webhook_verification_key/get (the whole answer or its key object).", Required: true},
				toleranceParam("300"),
				{Name: "private_key", Description: "P-256 private key (PEM), only to sign samples with a test key."},
			}},
		sigHeaders: []string{hdrName},
		noSecret:   true,
	}
	s.custom = func(in Input, p Params) (Verdict, error) {
		r := asymResult{header: hdrName, tol: tolerance{d: 5 * time.Minute, past: true}}
		tok := strings.TrimSpace(in.Header.Get(hdrName))
		if tok == "" {
			r.problem, r.missing = "the request has no "+hdrName+" header.", true
			return r.verdict(s, in, p)
		}
		r.received = mask(tok)
		claims, problem := verifyJWT(tok, keyParam(p, "jwks"), "ES256")
		if problem == "" {
			var c struct {
				Iat  int64  `json:"iat"`
				Hash string `json:"request_body_sha256"`
			}
			json.Unmarshal(claims, &c)
			r.preview = preview(claims)
			iat := time.Unix(c.Iat, 0)
			r.ts = &iat
			d := sha256.Sum256(in.Body)
			if !strings.EqualFold(c.Hash, hex.EncodeToString(d[:])) {
				problem = "the token verifies, but the received body does not match its request_body_sha256 (the SHA-256 of the body Plaid sent)."
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
		d := sha256.Sum256(in.Body)
		claims, _ := json.Marshal(map[string]any{"iat": in.Now.Unix(), "request_body_sha256": hex.EncodeToString(d[:])})
		kid := "6c5516e1-92dc-479e-a8ff-5a51992e0001"
		if keys, err := parseJWKS(p["jwks"]); err == nil && keys[0].Kid != "" {
			kid = keys[0].Kid
		}
		tok, err := signJWT(map[string]any{"alg": "ES256", "kid": kid, "typ": "JWT"}, claims, key)
		h := http.Header{}
		h.Set(hdrName, tok)
		return h, nil, err
	}
	return s
}

// checkPasted rejects pasted certificates and key sets that cannot be used,
// when the settings are saved rather than on every capture.
func checkPasted(p Params) error {
	for _, name := range []string{"certificate", "root_certificate"} {
		if v := strings.TrimSpace(p[name]); v != "" {
			if _, err := parseCertPEM(v); err != nil {
				return fmt.Errorf("%w: %s: %w", ErrInvalidParams, name, err)
			}
		}
	}
	if v := strings.TrimSpace(p["jwks"]); v != "" {
		keys, err := parseJWKS(v)
		if err == nil {
			_, err = keys[0].public()
		}
		if err != nil {
			return fmt.Errorf("%w: jwks: %w", ErrInvalidParams, err)
		}
	}
	return nil
}

package signature

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

// TestKeyURLAllowList: a certificate URL taken from the request is fetched
// only from the provider's own https hosts; pasted material needs no fetch.
func TestKeyURLAllowList(t *testing.T) {
	snsBody := func(u string) []byte {
		b, _ := json.Marshal(map[string]string{"Type": "Notification", "Signature": "x", "SigningCertURL": u, "SignatureVersion": "2"})
		return b
	}
	cases := []struct {
		provider string
		in       Input
		p        Params
		want     string
		err      bool
	}{
		{"paypal", Input{Header: hdr("Paypal-Transmission-Sig", "x", "Paypal-Cert-Url", "https://api-m.paypal.com/v1/notifications/certs/CERT-360caa42")}, nil, "https://api-m.paypal.com/v1/notifications/certs/CERT-360caa42", false},
		{"paypal", Input{Header: hdr("Paypal-Transmission-Sig", "x", "Paypal-Cert-Url", "https://api.sandbox.paypal.com/v1/notifications/certs/C")}, nil, "https://api.sandbox.paypal.com/v1/notifications/certs/C", false},
		{"paypal", Input{Header: hdr("Paypal-Transmission-Sig", "x", "Paypal-Cert-Url", "http://api.paypal.com/c")}, nil, "", true},
		{"paypal", Input{Header: hdr("Paypal-Transmission-Sig", "x", "Paypal-Cert-Url", "https://api.paypal.com.evil.example/c")}, nil, "", true},
		{"paypal", Input{Header: hdr("Paypal-Transmission-Sig", "x", "Paypal-Cert-Url", "https://api.paypal.com:8443/c")}, nil, "", true},
		{"paypal", Input{Header: hdr("Paypal-Transmission-Sig", "x", "Paypal-Cert-Url", "https://user@api.paypal.com/c")}, nil, "", true},
		{"paypal", Input{Header: hdr("Paypal-Transmission-Sig", "x", "Paypal-Cert-Url", "https://127.0.0.1/c")}, nil, "", true},
		{"paypal", Input{Header: hdr("Paypal-Transmission-Sig", "x", "Paypal-Cert-Url", "https://api.paypal.com/c")}, Params{"certificate": "pasted"}, "", false},
		{"aws-sns", Input{Body: snsBody("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem")}, nil, "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem", false},
		{"aws-sns", Input{Body: snsBody("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem")}, nil, "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem", false},
		{"aws-sns", Input{Body: snsBody("https://sns.eu-west-1.amazonaws.com.attacker.example/x.pem")}, nil, "", true},
		{"aws-sns", Input{Body: snsBody("https://s3.amazonaws.com/evil/x.pem")}, nil, "", true},
		{"aws-sns", Input{Body: snsBody("https://sns.eu-west-1.amazonaws.com/x.txt")}, nil, "", true},
		{"google-pubsub", Input{Header: hdr("Authorization", "Bearer x.y.z")}, nil, googleCerts, false},
		{"google-pubsub", Input{Header: hdr("Authorization", "Bearer x.y.z")}, Params{"jwks": "{}"}, "", false},
		{"stripe", Input{}, nil, "", false},
	}
	for _, c := range cases {
		got, err := KeyURL(c.provider, c.p, c.in)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("%s %v: %q, %v; want %q, error %v", c.provider, c.in.Header, got, err, c.want, c.err)
		}
	}
	// A fetched key is used when nothing is pasted.
	cert, key := selfSigned(t, testRSA(t, 0), "paypal")
	ev, err := Sample("paypal", Params{"webhook_id": "W", "private_key": key}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Method: "POST", Header: ev.Header, Body: ev.Body, Now: time.Now()}
	if v, _ := Verify("paypal", Params{"webhook_id": "W"}, in); v.Valid || !strings.Contains(v.Reason, "no certificate") {
		t.Errorf("without a certificate: %+v", v)
	}
	if v, _ := Verify("paypal", Params{"webhook_id": "W", FetchedKey: cert}, in); !v.Valid {
		t.Errorf("with the fetched certificate: %+v", v)
	}
	if v, _ := Verify("paypal", Params{"webhook_id": "other", FetchedKey: cert}, in); v.Valid {
		t.Errorf("another webhook_id verified: %+v", v)
	}
}

// TestAppleRoot: the embedded root is Apple Root CA - G3 (Apple publishes
// its SHA-256 fingerprint at https://www.apple.com/certificateauthority/),
// a test chain does not pass for Apple's, and Apple's extensions are required.
func TestAppleRoot(t *testing.T) {
	blk, _ := pem.Decode([]byte(appleRootG3))
	if blk == nil {
		t.Fatal("embedded root does not decode")
	}
	sum := sha256.Sum256(blk.Bytes)
	if got := hex.EncodeToString(sum[:]); got != "63343abfb89a6a03ebb57e9b3f5fa7be7c4f5c756f3017b3a8c488c3653e9179" {
		t.Fatalf("embedded root fingerprint %s", got)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil || c.Subject.CommonName != "Apple Root CA - G3" {
		t.Fatalf("root: %v %v", c.Subject, err)
	}
	now := time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)
	root, chain, key := appleChain(t, true)
	ev, err := Sample("apple-app-store", Params{"certificate_chain": chain, "private_key": key}, now)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Method: "POST", Header: ev.Header, Body: ev.Body, Now: now}
	if v, _ := Verify("apple-app-store", Params{}, in); v.Valid || !strings.Contains(v.Reason, "Apple Root CA - G3") {
		t.Errorf("test chain passed for Apple's: %+v", v)
	}
	if v, _ := Verify("apple-app-store", Params{"root_certificate": root}, in); !v.Valid || v.Details.Timestamp == nil {
		t.Errorf("own root: %+v", v)
	}
	if v, _ := Verify("apple-app-store", Params{"root_certificate": root, "bundle_id": "com.other"}, in); v.Valid {
		t.Errorf("other bundle id passed: %+v", v)
	}
	root2, chain2, key2 := appleChain(t, false)
	ev2, _ := Sample("apple-app-store", Params{"certificate_chain": chain2, "private_key": key2}, now)
	if v, _ := Verify("apple-app-store", Params{"root_certificate": root2}, Input{Method: "POST", Body: ev2.Body, Now: now}); v.Valid || !strings.Contains(v.Reason, "extensions") {
		t.Errorf("chain without Apple's extensions: %+v", v)
	}
}

// TestSNSVersionsAndConfirmation: SignatureVersion 1 is SHA1withRSA; a
// SubscriptionConfirmation signs its own field list, and its SubscribeURL is
// offered only when it is an SNS ConfirmSubscription URL.
func TestSNSVersionsAndConfirmation(t *testing.T) {
	cert, _ := selfSigned(t, testRSA(t, 0), "sns")
	key := testRSA(t, 0)
	sign := func(m map[string]string, v1 bool) []byte {
		m["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem"
		b, _ := json.Marshal(m)
		msg, _ := parseSNS(b)
		var sig []byte
		if v1 {
			m["SignatureVersion"] = "1"
			d := sha1.Sum(msg.canonical())
			sig, _ = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA1, d[:])
		} else {
			m["SignatureVersion"] = "2"
			d := sha256.Sum256(msg.canonical())
			sig, _ = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
		}
		m["Signature"] = base64.StdEncoding.EncodeToString(sig)
		b, _ = json.Marshal(m)
		return b
	}
	now := time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)
	note := sign(map[string]string{"Type": "Notification", "MessageId": "m1", "TopicArn": "arn:aws:sns:us-east-1:1:T", "Message": "hi", "Timestamp": "2026-12-03T02:59:59.000Z"}, true)
	if v, _ := Verify("aws-sns", Params{"certificate": cert}, Input{Body: note, Now: now}); !v.Valid || !strings.Contains(v.Reason, "SignatureVersion 1") {
		t.Errorf("v1: %+v", v)
	}
	if v, _ := Verify("aws-sns", Params{"certificate": cert, "topic_arn": "arn:aws:sns:us-east-1:1:Other"}, Input{Body: note, Now: now}); v.Valid {
		t.Errorf("other topic accepted: %+v", v)
	}
	sub := "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:1:T&Token=2336"
	conf := sign(map[string]string{"Type": "SubscriptionConfirmation", "MessageId": "m2", "Token": "2336", "TopicArn": "arn:aws:sns:us-east-1:1:T",
		"Message": "You have chosen to subscribe", "SubscribeURL": sub, "Timestamp": "2026-12-03T02:59:59.000Z"}, false)
	if v, _ := Verify("aws-sns", Params{"certificate": cert}, Input{Body: conf, Now: now}); !v.Valid {
		t.Errorf("confirmation: %+v", v)
	}
	if u, err := SNSSubscribeURL(conf); u != sub || err != nil {
		t.Errorf("SubscribeURL %q %v", u, err)
	}
	for _, bad := range []string{"https://evil.example/?Action=ConfirmSubscription", "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription", "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"} {
		b, _ := json.Marshal(map[string]string{"Type": "SubscriptionConfirmation", "SubscribeURL": bad})
		if u, err := SNSSubscribeURL(b); u != "" || err == nil {
			t.Errorf("%s offered: %q %v", bad, u, err)
		}
	}
	if u, err := SNSSubscribeURL(note); u != "" || err != nil {
		t.Errorf("notification offered a SubscribeURL: %q %v", u, err)
	}
}

// TestGooglePubSubClaims: issuer, expiry, audience and email are checked.
func TestGooglePubSubClaims(t *testing.T) {
	key := testRSA(t, 0)
	jwks := rsaJWKS(key, "k1")
	now := time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)
	tok := func(claims map[string]any) Input {
		b, _ := json.Marshal(claims)
		s, err := signJWT(map[string]any{"alg": "RS256", "kid": "k1"}, b, key)
		if err != nil {
			t.Fatal(err)
		}
		return Input{Method: "POST", Header: hdr("Authorization", "Bearer "+s), Body: []byte(`{}`), Now: now}
	}
	good := map[string]any{"iss": "https://accounts.google.com", "aud": "https://x/b/1", "email": "a@p.iam.gserviceaccount.com", "email_verified": true, "iat": now.Unix() - 10, "exp": now.Unix() + 3590}
	p := Params{"jwks": jwks, "audience": "https://x/b/1", "email": "a@p.iam.gserviceaccount.com"}
	if v, _ := Verify("google-pubsub", p, tok(good)); !v.Valid {
		t.Fatalf("good token: %+v", v)
	}
	for name, change := range map[string]func(map[string]any){
		"issuer":   func(m map[string]any) { m["iss"] = "https://evil.example" },
		"expired":  func(m map[string]any) { m["exp"] = now.Unix() - 120 },
		"audience": func(m map[string]any) { m["aud"] = "https://other" },
		"email":    func(m map[string]any) { m["email"] = "b@p.iam.gserviceaccount.com" },
	} {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		change(m)
		if v, _ := Verify("google-pubsub", p, tok(m)); v.Valid {
			t.Errorf("%s: accepted %+v", name, v)
		}
	}
	// "none" and HS256 never pass.
	for _, alg := range []string{"none", "HS256"} {
		h, _ := json.Marshal(map[string]any{"alg": alg, "kid": "k1"})
		c, _ := json.Marshal(good)
		forged := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
		if v, _ := Verify("google-pubsub", p, Input{Header: hdr("Authorization", "Bearer "+forged), Now: now}); v.Valid {
			t.Errorf("alg %s accepted", alg)
		}
	}
}

// TestPastedKeysChecked: a pasted certificate or key set that cannot be used
// is refused when saved, with the parameter named.
func TestPastedKeysChecked(t *testing.T) {
	for _, c := range []struct {
		provider string
		p        Params
		name     string
	}{
		{"paypal", Params{"webhook_id": "W", "certificate": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----"}, "certificate"},
		{"aws-sns", Params{"certificate": "not a cert"}, "certificate"},
		{"google-pubsub", Params{"jwks": `{"keys":[]}`}, "jwks"},
		{"plaid", Params{"jwks": `{"key":{"kty":"EC","crv":"P-384"}}`}, "jwks"},
		{"apple-app-store", Params{"root_certificate": "x"}, "root_certificate"},
	} {
		_, err := Verify(c.provider, c.p, Input{Now: time.Now()})
		if err == nil || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s %s: %v", c.provider, c.name, err)
		}
	}
}

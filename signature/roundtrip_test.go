package signature

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

type keyset struct {
	edPub, edPriv, ecPub, ecPriv, ecPub2, whsec string
}

// testingTB lets paramsFor build certificates; set by newKeys.
var testingTB testing.TB

func newKeys(t *testing.T) keyset {
	t.Helper()
	testingTB = t
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	ec := func() (string, string) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pubDER, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		privDER, _ := x509.MarshalPKCS8PrivateKey(k)
		return base64.StdEncoding.EncodeToString(pubDER), base64.StdEncoding.EncodeToString(privDER)
	}
	ks := keyset{edPub: hex.EncodeToString(pub), edPriv: hex.EncodeToString(priv.Seed())}
	ks.ecPub, ks.ecPriv = ec()
	ks.ecPub2, _ = ec()
	ks.whsec = "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	return ks
}

// paramsFor gives each provider working settings and a wrong variant.
func paramsFor(id string, ks keyset) (good, wrong Params) {
	url := "https://bin.example.com/b/abc/" + id
	switch id {
	case "standard-webhooks", "svix":
		return Params{"secret": ks.whsec}, Params{"secret": "whsec_" + base64.StdEncoding.EncodeToString([]byte("another-key-another-key-another!!"))}
	case "gitlab":
		return Params{"secret": "gl-token"}, Params{"secret": "gl-other"}
	case "discord":
		pub2, _, _ := ed25519.GenerateKey(rand.Reader)
		return Params{"secret": ks.edPub, "private_key": ks.edPriv}, Params{"secret": hex.EncodeToString(pub2)}
	case "sendgrid":
		return Params{"secret": ks.ecPub, "private_key": ks.ecPriv}, Params{"secret": ks.ecPub2}
	case "postmark":
		return Params{"secret": "hook:pa55"}, Params{"secret": "hook:other"}
	case "hmac":
		g := Params{"secret": "s3cr3t", "header": "X-Sig", "prefix": "sha512=", "algorithm": "sha512", "encoding": "base64",
			"template": "{method} {url}\n{id}.{timestamp}.{body}", "timestamp_header": "X-Ts", "id_header": "X-Id"}
		w := Params{}
		for k, v := range g {
			w[k] = v
		}
		w["secret"] = "other"
		return g, w
	case "telnyx":
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		pub2, _, _ := ed25519.GenerateKey(rand.Reader)
		return Params{"secret": base64.StdEncoding.EncodeToString(pub), "private_key": base64.StdEncoding.EncodeToString(priv.Seed())}, Params{"secret": base64.StdEncoding.EncodeToString(pub2)}
	case "adyen":
		return Params{"secret": "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"}, Params{"secret": "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00"}
	case "clerk", "resend":
		return Params{"secret": ks.whsec}, Params{"secret": "whsec_" + base64.StdEncoding.EncodeToString([]byte("another-key-another-key-another!!"))}
	case "paypal", "aws-sns":
		cert, key := selfSigned(testingTB, testRSA(testingTB, 0), id)
		other, _ := selfSigned(testingTB, testRSA(testingTB, 1), id)
		g := Params{"certificate": cert, "private_key": key}
		w := Params{"certificate": other}
		if id == "paypal" {
			g["webhook_id"], w["webhook_id"] = "8PT597110X687430LKGECATA", "8PT597110X687430LKGECATA"
		}
		return g, w
	case "google-pubsub":
		_, key := selfSigned(testingTB, testRSA(testingTB, 0), id)
		return Params{"jwks": rsaJWKS(testRSA(testingTB, 0), "tailhook-sample"), "private_key": key, "audience": url, "email": "push@tailhook-sample.iam.gserviceaccount.com"},
			Params{"jwks": rsaJWKS(testRSA(testingTB, 1), "tailhook-sample")}
	case "plaid":
		jwks, key := ecJWK(testingTB, "6c5516e1-92dc-479e-a8ff-5a51992e0001")
		other, _ := ecJWK(testingTB, "6c5516e1-92dc-479e-a8ff-5a51992e0001")
		return Params{"jwks": jwks, "private_key": key}, Params{"jwks": other}
	case "apple-app-store":
		root, chain, key := appleChain(testingTB, true)
		otherRoot, _, _ := appleChain(testingTB, true)
		return Params{"root_certificate": root, "certificate_chain": chain, "private_key": key, "bundle_id": "com.example.tailhook"}, Params{"root_certificate": otherRoot}
	case "twilio", "square", "hubspot", "mandrill":
		return Params{"secret": "s3cr3t", "url": url}, Params{"secret": "other", "url": url}
	}
	return Params{"secret": "s3cr3t"}, Params{"secret": "other"}
}

// bodyUnsigned: schemes whose signature does not cover the body.
var bodyUnsigned = map[string]bool{"mailgun": true, "postmark": true, "gitlab": true, "telegram": true, "okta": true, "msgraph": true, "adyen": true, "google-pubsub": true}

// defaultWindow: providers that judge the timestamp without tolerance_s.
var defaultWindow = map[string]bool{"plaid": true, "workos": true, "telnyx": true, "clerk": true, "resend": true, "stripe": true, "mux": true, "calendly": true, "paddle": true, "slack": true, "zoom": true,
	"standard-webhooks": true, "svix": true, "twitch": true, "hubspot": true, "linear": true, "hmac": true}

// timestamped: providers whose scheme carries a timestamp at all.
var timestamped = map[string]bool{"paypal": true, "aws-sns": true, "google-pubsub": true, "apple-app-store": true, "discord": true, "sendgrid": true, "zendesk": true, "mailgun": true}

func TestRoundTripEveryProvider(t *testing.T) {
	ks := newKeys(t)
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	if len(Providers()) != len(providerIDs) {
		t.Fatalf("%d providers, want %d", len(Providers()), len(providerIDs))
	}
	for _, prov := range Providers() {
		t.Run(prov.ID, func(t *testing.T) {
			good, wrong := paramsFor(prov.ID, ks)
			ev, err := Sample(prov.ID, good, now)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Path != "/"+prov.ID || ev.Method != "POST" || len(ev.Body) == 0 {
				t.Fatalf("bad sample %+v", ev)
			}
			in := Input{Method: ev.Method, URL: good["url"], Header: ev.Header, Body: ev.Body, Now: now.Add(2 * time.Second)}
			if prov.ID == "paddle" {
				in.Now = now.Add(time.Second)
			}
			if ct := ev.Header.Get("Content-Type"); strings.Contains(ct, "json") && !json.Valid(ev.Body) {
				t.Fatalf("sample body is not JSON: %s", ev.Body)
			}
			v, err := Verify(prov.ID, good, in)
			if err != nil {
				t.Fatal(err)
			}
			if !v.Valid || v.Reason == "" || len(v.Details.Hints) != 0 {
				t.Fatalf("sample does not verify: %+v", v)
			}

			// Body changed.
			tampered := in
			tampered.Body = []byte(strings.Replace(string(in.Body), "e", "E", 1))
			v, _ = Verify(prov.ID, good, tampered)
			if v.Valid != bodyUnsigned[prov.ID] {
				t.Errorf("tampered body: valid=%v (%s)", v.Valid, v.Reason)
			}
			if !v.Valid && !strings.Contains(v.Reason, "does not") && !strings.Contains(v.Reason, "none of") && !strings.Contains(v.Reason, "signedPayload") {
				t.Errorf("tampered body reason: %q", v.Reason)
			}

			// Wrong secret.
			v, err = Verify(prov.ID, wrong, in)
			if err != nil {
				t.Fatal(err)
			}
			if v.Valid {
				t.Errorf("wrong secret verified: %+v", v)
			}

			// Stale timestamp: an hour after signing.
			late := in
			late.Now = now.Add(time.Hour)
			v, _ = Verify(prov.ID, good, late)
			switch {
			case defaultWindow[prov.ID]:
				if v.Valid || !strings.HasPrefix(v.Reason, "signature matches, but the timestamp is 1 hour older than the capture (tolerance ") {
					t.Errorf("stale: %+v", v)
				}
				if v.Details.DriftSeconds == nil || *v.Details.DriftSeconds < 3500 || v.Details.ToleranceSeconds == nil {
					t.Errorf("stale details: %+v", v.Details)
				}
				// tolerance_s=0 turns the check off.
				off := clone(good)
				off["tolerance_s"] = "0"
				if v, _ := Verify(prov.ID, off, late); !v.Valid {
					t.Errorf("tolerance_s=0 still stale: %+v", v)
				}
			case timestamped[prov.ID]:
				if !v.Valid {
					t.Errorf("no default window, yet invalid: %+v", v)
				}
				strict := clone(good)
				strict["tolerance_s"] = "60"
				if v, _ := Verify(prov.ID, strict, late); v.Valid || !strings.Contains(v.Reason, "older than the capture (tolerance 60 seconds)") {
					t.Errorf("tolerance_s=60: %+v", v)
				}
			default:
				if !v.Valid {
					t.Errorf("no timestamp, yet invalid an hour later: %+v", v)
				}
			}

			// Sign directly returns the same kind of headers.
			h, body, err := Sign(prov.ID, good, Input{Method: "POST", URL: good["url"], Body: ev.Body, Now: now})
			if err != nil || (len(h) == 0) != (prov.ID == "mailgun" || prov.ID == "msgraph" || prov.ID == "adyen" || prov.ID == "apple-app-store") || len(body) == 0 {
				t.Errorf("Sign: %v %v", h, err)
			}
		})
	}
}

func clone(p Params) Params {
	out := Params{}
	for k, v := range p {
		out[k] = v
	}
	return out
}

func TestErrors(t *testing.T) {
	in := Input{Body: []byte("x")}
	if _, err := Verify("nope", Params{"secret": "a"}, in); !errors.Is(err, ErrUnknownProvider) {
		t.Errorf("unknown provider: %v", err)
	}
	cases := []struct {
		provider string
		p        Params
	}{
		{"stripe", Params{}},
		{"stripe", Params{"secret": "  \n "}},
		{"stripe", Params{"secret": "a", "tolerance_s": "soon"}},
		{"hmac", Params{"secret": "a"}},
		{"hmac", Params{"secret": "a", "header": "X-S", "algorithm": "crc32"}},
		{"hmac", Params{"secret": "a", "header": "X-S", "mode": "xor"}},
		{"hmac", Params{"secret": "a", "header": "X-S", "key_encoding": "base32"}},
		{"hmac", Params{"secret": "a", "header": "X-S", "timestamp_key": "t", "timestamp_header": "X-T"}},
		{"hmac", Params{"secret": "a", "header": "X-S", "encoding": "base32"}},
		{"hmac", Params{"secret": "a", "header": "X-S", "template": "{body}{nonce}"}},
		{"hmac", Params{"secret": "a", "header": "X-S", "template": "{timestamp}.{body}"}},
		{"discord", Params{"secret": "abcd"}},
		{"sendgrid", Params{"secret": "bm90IGEga2V5"}},
		{"standard-webhooks", Params{"secret": "whsec_!!!"}},
		{"postmark", Params{}},
		{"postmark", Params{"secret": "no-colon"}},
		{"twilio", Params{"secret": "a"}},
	}
	for _, c := range cases {
		if _, err := Verify(c.provider, c.p, in); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("%s %v: err = %v, want ErrInvalidParams", c.provider, c.p, err)
		}
	}
	// Asymmetric schemes cannot sign with the public key only.
	ks := newKeys(t)
	for _, c := range []struct {
		provider string
		p        Params
	}{{"discord", Params{"secret": ks.edPub}}, {"sendgrid", Params{"secret": ks.ecPub}}, {"standard-webhooks", Params{"secret": "whpk_" + base64.StdEncoding.EncodeToString(make([]byte, 32))}}} {
		_, _, err := Sign(c.provider, c.p, Input{Body: []byte("{}"), Now: time.Now()})
		if !errors.Is(err, ErrInvalidParams) || !strings.Contains(err.Error(), "private") {
			t.Errorf("%s Sign with public key: %v", c.provider, err)
		}
	}
	if _, err := Sample("twilio", Params{"secret": "x"}, time.Now()); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("twilio sample without url: %v", err)
	}
}

func TestProvidersAndLookup(t *testing.T) {
	want := providerIDs
	ps := Providers()
	for i, p := range ps {
		if p.ID != want[i] {
			t.Fatalf("provider %d = %s, want %s", i, p.ID, want[i])
		}
		if p.Name == "" || p.Description == "" || strings.Contains(p.Description, "http") || len(p.Params) == 0 {
			t.Errorf("%s: incomplete %+v", p.ID, p)
		}
		if got, ok := Lookup(p.ID); !ok || got.ID != p.ID {
			t.Errorf("Lookup(%s)", p.ID)
		}
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("Lookup(nope) found")
	}
	b, _ := json.Marshal(ps[0])
	if !strings.Contains(string(b), `"params":[{"name":"secret","description":`) || !strings.Contains(string(b), `"required":true`) {
		t.Errorf("provider JSON: %s", b)
	}
	// Mutating the result must not touch the registry.
	ps[0].Params[0].Name = "x"
	if Providers()[0].Params[0].Name != "secret" {
		t.Error("Providers shares its slices")
	}
}

// providerIDs: the contract's order, then the providers issue 15 added.
var providerIDs = strings.Fields("stripe github gitlab bitbucket shopify slack standard-webhooks svix twilio square paddle discord linear typeform zoom intercom mailgun sendgrid twitch hubspot pagerduty zendesk mux vercel woocommerce calendly docusign dropbox postmark lemonsqueezy razorpay coinbase hmac " +
	"meta asana okta msgraph xero telegram notion patreon clerk resend workos telnyx mandrill braintree adyen paypal aws-sns google-pubsub apple-app-store plaid")

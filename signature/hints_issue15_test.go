package signature

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
)

// The verdict hints issue 15 asks for. Each case failed on the code before
// it: the hint was missing, or the reason named the wrong header(s).
func TestHintsIssue15(t *testing.T) {
	noHint := func(t *testing.T, v Verdict, sub string) {
		t.Helper()
		if hasHint(v, sub) {
			t.Errorf("unexpected hint %q in %q", sub, v.Details.Hints)
		}
	}
	want := func(t *testing.T, v Verdict, sub string) {
		t.Helper()
		if v.Valid || !hasHint(v, sub) {
			t.Errorf("want a hint with %q; valid=%v hints=%q", sub, v.Valid, v.Details.Hints)
		}
	}
	verify := func(provider string, p Params, in Input) Verdict {
		t.Helper()
		v, err := Verify(provider, p, in)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	t.Run("python json.dumps spacing", func(t *testing.T) {
		// Signed as Python's json.dumps(obj) writes it, sent compact.
		in := signed(t, "github", Params{"secret": "s"}, `{"a": 1, "b": [1, 2], "c": "x, y: z"}`)
		in.Body = []byte(`{"a":1,"b":[1,2],"c":"x, y: z"}`)
		want(t, verify("github", Params{"secret": "s"}, in), `Python's json.dumps default`)
		// Stays silent for a correct compact body.
		noHint(t, verify("github", Params{"secret": "s"}, signed(t, "github", Params{"secret": "s"}, `{"a":1}`)), "Python")
	})

	const whsec = "whsec_dGhpcy1pcy1hLXRlc3Qtc2VjcmV0LW9ubHk"
	stripeIn := signed(t, "stripe", Params{"secret": whsec}, `{"id":"evt_1","livemode":false}`)
	t.Run("stripe API key", func(t *testing.T) {
		want(t, verify("stripe", Params{"secret": "sk_test_51Hxyz"}, stripeIn), "Stripe API key")
		want(t, verify("stripe", Params{"secret": "sk_live_51Hxyz"}, stripeIn), "not a webhook signing secret")
	})
	t.Run("shopify access token", func(t *testing.T) {
		in := signed(t, "shopify", Params{"secret": "client-secret"}, `{"id":1}`)
		want(t, verify("shopify", Params{"secret": "shpat_0123456789abcdef"}, in), "Shopify access token")
		noHint(t, verify("shopify", Params{"secret": "shpss_0123456789abcdef"}, in), "access token")
	})
	t.Run("secret in quotes", func(t *testing.T) {
		v := verify("stripe", Params{"secret": `"` + whsec + `"`}, stripeIn)
		want(t, v, "wrapped in quotes")
		want(t, v, "Corrected, the signature matches")
	})
	t.Run("variable name in front", func(t *testing.T) {
		v := verify("stripe", Params{"secret": "STRIPE_WEBHOOK_SECRET=" + whsec}, stripeIn)
		want(t, v, "starts with STRIPE_WEBHOOK_SECRET=")
		want(t, v, "Corrected, the signature matches")
	})
	t.Run("whsec_ dropped", func(t *testing.T) {
		want(t, verify("stripe", Params{"secret": strings.TrimPrefix(whsec, "whsec_")}, stripeIn), "lacks its whsec_ prefix")
	})
	t.Run("secret over two lines", func(t *testing.T) {
		want(t, verify("stripe", Params{"secret": whsec[:20] + "\n" + whsec[20:]}, stripeIn), "broken over two lines")
		// Two real secrets (rotation) that do not join into a match: no such hint.
		noHint(t, verify("stripe", Params{"secret": "whsec_a\nwhsec_b"}, stripeIn), "broken over two lines")
	})
	t.Run("stripe modes and endpoints", func(t *testing.T) {
		v := verify("stripe", Params{"secret": "whsec_another_endpoint"}, stripeIn)
		want(t, v, "test mode, live mode and each `stripe listen` session have different ones")
		want(t, v, `test mode ("livemode": false)`)
	})

	t.Run("twilio counts the signature received", func(t *testing.T) {
		p := Params{"secret": "token", "url": "https://example.com/twilio"}
		in := signed(t, "twilio", p, "From=%2B1&To=%2B2")
		v := verify("twilio", Params{"secret": "other", "url": p["url"]}, in)
		if v.Valid || strings.Contains(v.Reason, "none of the 2") || !strings.HasPrefix(v.Reason, "the signature in X-Twilio-Signature does not match") {
			t.Errorf("twilio reason %q", v.Reason)
		}
	})
	t.Run("signed URL is not the public one", func(t *testing.T) {
		for _, prov := range []string{"twilio", "square"} {
			p := Params{"secret": "token", "url": "https://public.example.com/hook"}
			in := signed(t, prov, p, "From=%2B1")
			in.URL = "http://127.0.0.1:8080/b/abc/hook" // what the capture saw behind a tunnel
			v := verify(prov, Params{"secret": "token"}, in)
			want(t, v, "set url to the exact webhook URL")
			want(t, v, "--base-url")
			// With url set, the hint is not needed.
			noHint(t, verify(prov, Params{"secret": "other", "url": p["url"]}, in), "--base-url")
		}
	})

	t.Run("reasons name only the signature header", func(t *testing.T) {
		in := signed(t, "slack", Params{"secret": "s"}, "a=1")
		v := verify("slack", Params{"secret": "other"}, in)
		if !strings.HasPrefix(v.Reason, "the signature in X-Slack-Signature does not match") {
			t.Errorf("slack reason %q", v.Reason)
		}
		sq := signed(t, "square", Params{"secret": "s", "url": "https://e.example/h"}, "{}")
		sq.Header.Del("X-Square-Signature") // Square sends only the SHA-256 header now
		if v := verify("square", Params{"secret": "other", "url": "https://e.example/h"}, sq); strings.Contains(v.Reason, "X-Square-Signature") {
			t.Errorf("square reason names a header that was not sent: %q", v.Reason)
		}
		v = verify("svix", Params{"secret": whsec}, Input{Body: []byte("{}"), Header: hdr("Content-Type", "application/json")})
		if !strings.HasPrefix(v.Reason, "the request has no svix-signature header") {
			t.Errorf("svix missing-header reason %q", v.Reason)
		}
	})

	t.Run("look-alikes need more than a shared header", func(t *testing.T) {
		gh := signed(t, "github", Params{"secret": "s"}, "{}")
		gh.Header.Set("X-GitHub-Event", "push")
		v := verify("stripe", Params{"secret": whsec}, gh)
		want(t, v, "GitHub delivery")
		noHint(t, v, "Bitbucket")
		noHint(t, v, "Meta")
		// A Meta delivery sends X-Hub-Signature-256 and the SHA-1 X-Hub-Signature.
		meta := signed(t, "meta", Params{"secret": "s"}, `{"object":"whatsapp_business_account"}`)
		meta.Header.Set("X-Hub-Signature", "sha1="+encHex.encode(compute(hmacSHA1, []byte("s"), meta.Body)))
		v = verify("stripe", Params{"secret": whsec}, meta)
		want(t, v, "Meta")
		noHint(t, v, "GitHub")
		noHint(t, v, "Bitbucket")
		noHint(t, v, "Intercom")
		// Bitbucket is named when its event header is there.
		bb := signed(t, "bitbucket", Params{"secret": "s"}, "{}")
		bb.Header.Set("X-Event-Key", "repo:push")
		want(t, verify("stripe", Params{"secret": whsec}, bb), "Bitbucket delivery")
	})

	t.Run("sendgrid timestamp", func(t *testing.T) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		pubDER, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		privDER, _ := x509.MarshalPKCS8PrivateKey(k)
		p := Params{"secret": base64.StdEncoding.EncodeToString(pubDER), "private_key": base64.StdEncoding.EncodeToString(privDER)}
		in := signed(t, "sendgrid", p, "[{\"event\":\"delivered\"}]\r\n")
		for name, ts := range map[string]string{"empty": "", "not numeric": "Thu, 03 Dec 2026 03:00:00 GMT"} {
			bad := in
			bad.Header = in.Header.Clone()
			bad.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", ts)
			v := verify("sendgrid", Params{"secret": p["secret"]}, bad)
			if name == "empty" {
				want(t, v, "has no X-Twilio-Email-Event-Webhook-Timestamp value")
			} else {
				want(t, v, "not a unix timestamp")
			}
		}
		noHint(t, verify("sendgrid", Params{"secret": p["secret"]}, in), "timestamp")
	})
}

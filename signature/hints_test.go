package signature

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// signed returns a request signed by provider with p over body at t0.
func signed(t *testing.T, provider string, p Params, body string) Input {
	t.Helper()
	h, b, err := Sign(provider, p, Input{Method: "POST", URL: p["url"], Body: []byte(body), Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	return Input{Method: "POST", URL: p["url"], Header: h, Body: b, Now: t0}
}

func hasHint(v Verdict, sub string) bool {
	for _, h := range v.Details.Hints {
		if strings.Contains(h, sub) {
			return true
		}
	}
	return false
}

// Each hint must fire in its case and stay silent in the neighbouring
// correct case.
func TestHints(t *testing.T) {
	const pretty = "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2\n  ]\n}"
	const compact = `{"a":1,"b":[1,2]}`
	whsec := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

	// A Stripe-style sender that wrongly base64-decodes the whsec_ secret.
	svixStyle := signed(t, "standard-webhooks", Params{"secret": whsec}, compact)
	ts := svixStyle.Header.Get("webhook-timestamp")
	stripeWrongKey := Input{Body: []byte(compact), Now: t0, Header: hdr("Stripe-Signature",
		"t="+ts+",v1="+encHex.encode(compute(hmacSHA256, []byte("0123456789abcdef0123456789abcdef"), []byte(ts+"."+compact))))}
	// A Standard Webhooks sender that uses the whsec_ string raw.
	swRaw := Input{Body: []byte(compact), Now: t0, Header: hdr("webhook-id", "msg_1", "webhook-timestamp", ts,
		"webhook-signature", "v1,"+encBase64.encode(compute(hmacSHA256, []byte(whsec), swMessage("msg_1", ts, []byte(compact)))))}

	// A GitHub sender that signs compact JSON but sends it pretty.
	ghPretty := signed(t, "github", Params{"secret": "s"}, compact)
	ghPretty.Body = []byte(pretty)
	// … or signs the pretty form and sends it compact.
	ghCompact := signed(t, "github", Params{"secret": "s"}, pretty)
	ghCompact.Body = []byte(compact)
	// … or a trailing newline appears.
	ghNewline := signed(t, "github", Params{"secret": "s"}, compact)
	ghNewline.Body = []byte(compact + "\n")

	// hex sent where base64 is expected, and the generic HMAC told the wrong encoding.
	shopHex := Input{Body: []byte(compact), Header: hdr("X-Shopify-Hmac-Sha256", encHex.encode(compute(hmacSHA256, []byte("s"), []byte(compact))))}
	genB64 := signed(t, "hmac", Params{"secret": "s", "header": "X-Sig", "encoding": "base64"}, compact)

	stripeOK := signed(t, "stripe", Params{"secret": "whsec_abc"}, compact)
	stale := stripeOK
	stale.Now = t0.Add(7 * time.Minute)

	github := signed(t, "github", Params{"secret": "s"}, compact)
	github.Header.Set("X-GitHub-Event", "push")

	tests := []struct {
		name, provider string
		p              Params
		in             Input
		hint           string // "" = no hint at all
		valid          bool
	}{
		{"whitespace fires", "github", Params{"secret": "s \t"}, github, "trimmed secret matches", false},
		{"whitespace silent", "github", Params{"secret": "s"}, github, "", true},
		{"whitespace silent when trimmed does not match", "github", Params{"secret": "x "}, github, "", false},
		{"whsec decoded fires", "stripe", Params{"secret": whsec}, stripeWrongKey, "base64-decoded (the Standard Webhooks/Svix way)", false},
		{"whsec decoded silent", "stripe", Params{"secret": "whsec_abc"}, stripeOK, "", true},
		{"whsec raw fires", "standard-webhooks", Params{"secret": whsec}, swRaw, "used as raw text (the Stripe way)", false},
		{"whsec raw silent", "standard-webhooks", Params{"secret": whsec}, svixStyle, "", true},
		{"compact fires", "github", Params{"secret": "s"}, ghPretty, "re-serialised as compact JSON", false},
		{"indent fires", "github", Params{"secret": "s"}, ghCompact, "re-serialised as JSON indented with 2 spaces", false},
		{"newline fires", "github", Params{"secret": "s"}, ghNewline, "without its trailing newline", false},
		{"reserialised silent on wrong secret", "github", Params{"secret": "t"}, ghPretty, "", false},
		{"encoding fires", "shopify", Params{"secret": "s"}, shopHex, "read as hex, but Shopify sends base64", false},
		{"encoding generic fires", "hmac", Params{"secret": "s", "header": "X-Sig"}, genB64, "set encoding=base64", false},
		{"encoding generic silent", "hmac", Params{"secret": "s", "header": "X-Sig", "encoding": "base64"}, genB64, "", true},
		{"stale fires", "stripe", Params{"secret": "whsec_abc"}, stale, "outside the tolerance", false},
		{"stale silent", "stripe", Params{"secret": "whsec_abc"}, stripeOK, "", true},
		{"lookalike fires", "stripe", Params{"secret": "s"}, github, "looks like a GitHub delivery (X-Hub-Signature-256 is present)", false},
		{"lookalike silent", "stripe", Params{"secret": "s"}, Input{Body: []byte("{}"), Header: hdr("Content-Type", "application/json")}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Verify(tt.provider, tt.p, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if v.Valid != tt.valid {
				t.Errorf("valid = %v, want %v (%s)", v.Valid, tt.valid, v.Reason)
			}
			if tt.hint == "" && len(v.Details.Hints) != 0 {
				t.Errorf("unexpected hints %q", v.Details.Hints)
			}
			if tt.hint != "" && !hasHint(v, tt.hint) {
				t.Errorf("hint %q missing from %q (reason %q)", tt.hint, v.Details.Hints, v.Reason)
			}
		})
	}
	v, _ := Verify("stripe", Params{"secret": "whsec_abc"}, stale)
	if v.Reason != "signature matches, but the timestamp is 7 minutes older than the capture (tolerance 5 minutes)." {
		t.Errorf("stale reason %q", v.Reason)
	}
}

func TestSeveralSecrets(t *testing.T) {
	in := signed(t, "github", Params{"secret": "new"}, `{"x":1}`)
	v, err := Verify("github", Params{"secret": "old\r\n\nnew\n"}, in)
	if err != nil || !v.Valid || v.Details.MatchedSecret != 2 || v.Reason != "signature matches with secret #2." {
		t.Fatalf("%+v %v", v, err)
	}
	v, _ = Verify("github", Params{"secret": "old\nolder"}, in)
	if v.Valid || v.Details.MatchedSecret != 0 || v.Details.Expected == "" {
		t.Fatalf("%+v", v)
	}
}

func TestSchemeDetails(t *testing.T) {
	// Zendesk's alternate order is accepted and labelled.
	body := []byte(`{"ticket":1}`)
	ts := "2021-07-25T10:00:00Z"
	alt := encBase64.encode(compute(hmacSHA256, []byte("zsecret"), append(append([]byte(nil), body...), ts...)))
	v, _ := Verify("zendesk", Params{"secret": "zsecret"}, Input{Body: body, Header: hdr("X-Zendesk-Webhook-Signature", alt, "X-Zendesk-Webhook-Signature-Timestamp", ts)})
	if !v.Valid || !strings.Contains(v.Details.Variant, "alternate order") || !strings.Contains(v.Reason, "alternate order") {
		t.Errorf("zendesk alternate: %+v", v)
	}

	// Twilio JSON: the URL verifies but the body was changed.
	u := "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
	v, _ = Verify("twilio", Params{"secret": "12345"}, Input{Method: "POST", URL: u, Body: []byte(`{"property": "other"}`), Header: hdr("X-Twilio-Signature", "a9nBmqA0ju/hNViExpshrM61xv4=")})
	if v.Valid || !strings.Contains(v.Reason, "bodySHA256") {
		t.Errorf("twilio body hash: %+v", v)
	}
	// Twilio: the url parameter overrides the captured URL.
	in := signed(t, "twilio", Params{"secret": "tok", "url": "https://public.example/hook"}, "A=1&B=2")
	in.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	in.URL = "http://127.0.0.1:8080/b/x/hook"
	if v, _ := Verify("twilio", Params{"secret": "tok", "url": "https://public.example/hook"}, in); !v.Valid {
		t.Errorf("twilio url override: %+v", v)
	}
	if v, _ := Verify("twilio", Params{"secret": "tok"}, in); v.Valid {
		t.Errorf("twilio wrong url verified: %+v", v)
	}

	// GitLab: token, signing token, and both kinds configured at once.
	tok := signed(t, "gitlab", Params{"secret": "glpat"}, "{}")
	if tok.Header.Get("X-Gitlab-Token") != "glpat" {
		t.Fatalf("gitlab sign: %v", tok.Header)
	}
	v, _ = Verify("gitlab", Params{"secret": "glpat"}, tok)
	if !v.Valid || strings.Contains(v.Details.Received, "glpat") {
		t.Errorf("gitlab token (and masked): %+v", v)
	}
	whsec := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	st := signed(t, "gitlab", Params{"secret": whsec}, "{}")
	v, _ = Verify("gitlab", Params{"secret": "glpat\n" + whsec}, st)
	if !v.Valid || v.Details.MatchedSecret != 2 || v.Details.Variant != "" {
		t.Errorf("gitlab signing token: %+v", v)
	}
	v, _ = Verify("gitlab", Params{"secret": "other"}, tok)
	if v.Valid || !strings.Contains(v.Reason, "token") {
		t.Errorf("gitlab wrong token: %+v", v)
	}

	// Standard Webhooks v1a (Ed25519) in a rotation list.
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	whpk := "whpk_" + base64.StdEncoding.EncodeToString(pub)
	whsk := "whsk_" + base64.StdEncoding.EncodeToString(priv)
	in = signed(t, "standard-webhooks", Params{"secret": whsk}, `{"a":1}`)
	in.Header.Set("webhook-signature", "v1,AAAA "+in.Header.Get("webhook-signature")+" v9,zzz")
	v, _ = Verify("standard-webhooks", Params{"secret": whpk}, in)
	if !v.Valid || v.Details.Variant != "v1a, Ed25519" {
		t.Errorf("v1a: %+v", v)
	}
	v, _ = Verify("standard-webhooks", Params{"secret": whsec}, in)
	if v.Valid {
		t.Errorf("v1a with HMAC secret verified: %+v", v)
	}

	// Postmark: Basic auth and a custom header.
	pm := Params{"secret": "u:p", "header_name": "X-Hook-Token", "header_value": "tok"}
	in = signed(t, "postmark", pm, "{}")
	if v, _ := Verify("postmark", pm, in); !v.Valid {
		t.Errorf("postmark: %+v", v)
	}
	in.Header.Set("X-Hook-Token", "nope")
	if v, _ := Verify("postmark", pm, in); v.Valid || !strings.Contains(v.Reason, "X-Hook-Token") {
		t.Errorf("postmark header: %+v", v)
	}

	// Mailgun legacy form fields.
	form := signed(t, "mailgun", Params{"secret": "key"}, "recipient=a%40b.c&event=delivered")
	if !strings.Contains(string(form.Body), "signature=") {
		t.Fatalf("mailgun form body: %s", form.Body)
	}
	form.Header = hdr("Content-Type", "application/x-www-form-urlencoded")
	if v, _ := Verify("mailgun", Params{"secret": "key"}, form); !v.Valid || !strings.Contains(v.Details.Header, "form fields") {
		t.Errorf("mailgun form: %+v", v)
	}

	// HubSpot v3 decodes the listed escapes in the URI before signing.
	hs := Params{"secret": "cs", "url": "https://example.com/hook?x=a%3Ab"}
	in = signed(t, "hubspot", hs, "{}")
	mac := compute(hmacSHA256, []byte("cs"), []byte("POSThttps://example.com/hook?x=a:b{}"+in.Header.Get("X-HubSpot-Request-Timestamp")))
	if in.Header.Get("X-HubSpot-Signature-v3") != encBase64.encode(mac) {
		t.Errorf("hubspot v3 URI decoding")
	}

	// Missing and malformed headers.
	for _, c := range []struct {
		provider, header, value, reason string
	}{
		{"stripe", "", "", "the request has no Stripe-Signature header."},
		{"stripe", "Stripe-Signature", "t=1,v1=a=b", `Stripe-Signature is malformed: "v1=a=b" is not a key=value pair.`},
		{"stripe", "Stripe-Signature", "t=x,v1=ab", `Stripe-Signature is malformed: t="x" is not a unix timestamp.`},
		{"github", "X-Hub-Signature-256", "md5=abc", `X-Hub-Signature-256 is malformed: expected sha256=<hex>, got "md5=abc".`},
		{"standard-webhooks", "Webhook-Signature", "v1,abc", "the request has no webhook-id header (it is part of the signed message)."},
	} {
		in := Input{Body: []byte("{}"), Header: http.Header{}}
		if c.header != "" {
			in.Header.Set(c.header, c.value)
		}
		v, err := Verify(c.provider, Params{"secret": "whsec_YWJj"}, in)
		if err != nil || v.Valid || v.Reason != c.reason {
			t.Errorf("%s %s: %q %v, want %q", c.provider, c.value, v.Reason, err, c.reason)
		}
	}
}

func TestPreviewAndJSON(t *testing.T) {
	if got := preview([]byte("a\x00\n\t\\é\xff")); got != `a\x00\n\t\\é\xff` {
		t.Errorf("preview = %q", got)
	}
	long := preview([]byte(strings.Repeat("x", 1000)))
	if !strings.HasSuffix(long, "… (truncated, 1000 bytes in total)") || len(long) > 500 {
		t.Errorf("long preview = %q", long)
	}
	v, _ := Verify("stripe", Params{"secret": "whsec_abc"}, signed(t, "stripe", Params{"secret": "whsec_abc"}, "{}"))
	b, _ := json.Marshal(v)
	for _, k := range []string{`"provider":"stripe"`, `"valid":true`, `"signed_preview":`, `"drift_seconds":0`, `"tolerance_seconds":300`, `"matched_secret":1`, `"timestamp":"2026-11-27T10:00:00Z"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("verdict JSON lacks %s: %s", k, b)
		}
	}
	if strings.Contains(string(b), `"hints"`) {
		t.Errorf("empty hints not omitted: %s", b)
	}
}

func TestLookalikeOnMalformedAndWhitespaceOnUndecodableKey(t *testing.T) {
	// A Bitbucket delivery checked as GitHub: its X-Hub-Signature has a sha256= prefix.
	bb := signed(t, "bitbucket", Params{"secret": "s"}, "{}")
	bb.Header.Set("X-Event-Key", "repo:push")
	v, _ := Verify("github", Params{"secret": "s"}, bb)
	if v.Valid || !strings.HasPrefix(v.Reason, "X-Hub-Signature is malformed: expected sha1=<hex>") || !hasHint(v, "looks like a Bitbucket delivery") {
		t.Errorf("%+v", v)
	}
	// A whsec_ secret pasted with a trailing space cannot be base64-decoded as is.
	whsec := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	in := signed(t, "standard-webhooks", Params{"secret": whsec}, "{}")
	v, err := Verify("standard-webhooks", Params{"secret": whsec + " "}, in)
	if err != nil || v.Valid || !hasHint(v, "trimmed secret matches") {
		t.Errorf("%+v %v", v, err)
	}
}

package signature

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stripe/stripe-go/v84/webhook"
)

// Signatures made by the providers' official generators must verify, and
// ours must pass the official verifiers.
func TestStripeGoGenerator(t *testing.T) {
	const secret = "whsec_test_secret"
	body := []byte(`{"id":"evt_test_webhook","object":"event","type":"payment_intent.succeeded"}`)
	ts := time.Unix(1_700_000_000, 0)
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: ts})
	v, err := Verify("stripe", Params{"secret": secret}, Input{Body: body, Header: hdr("Stripe-Signature", sp.Header), Now: ts.Add(299 * time.Second)})
	if err != nil || !v.Valid {
		t.Fatalf("stripe-go payload: %+v %v", v, err)
	}
	// Rolled secret: stripe-go's own test appends a second v1.
	sp2 := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: "whsec_old", Timestamp: ts})
	h := sp2.Header + ",v1=" + sp.Header[len("t=1700000000,v1="):]
	v, _ = Verify("stripe", Params{"secret": secret}, Input{Body: body, Header: hdr("Stripe-Signature", h), Now: ts})
	if !v.Valid {
		t.Fatalf("rolled secret: %+v", v)
	}
	// stripe-go rejects only too-old timestamps: a future one passes.
	v, _ = Verify("stripe", Params{"secret": secret}, Input{Body: body, Header: hdr("Stripe-Signature", sp.Header), Now: ts.Add(-time.Hour)})
	if !v.Valid {
		t.Fatalf("future timestamp: %+v", v)
	}
	v, _ = Verify("stripe", Params{"secret": secret}, Input{Body: body, Header: hdr("Stripe-Signature", sp.Header), Now: ts.Add(301 * time.Second)})
	if v.Valid {
		t.Fatalf("301 s old: %+v", v)
	}

	// Our Sign passes stripe-go's verifier.
	sh, _, err := Sign("stripe", Params{"secret": secret}, Input{Body: body, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := webhook.ValidatePayload(body, sh.Get("Stripe-Signature"), secret); err != nil {
		t.Fatalf("stripe-go rejects our signature: %v", err)
	}
}

func TestStandardWebhooksGoLibrary(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"test": 2432232314}`)
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1_700_000_000, 0)
	sig, err := wh.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(standardwebhooks.HeaderWebhookID, "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)
	for _, id := range []string{"standard-webhooks", "gitlab"} {
		v, err := Verify(id, Params{"secret": secret}, Input{Body: body, Header: h, Now: ts.Add(-299 * time.Second)})
		if err != nil || !v.Valid {
			t.Fatalf("%s: library signature: %+v %v", id, v, err)
		}
	}
	// Svix reads webhook-* as a fallback.
	if v, _ := Verify("svix", Params{"secret": secret}, Input{Body: body, Header: h, Now: ts}); !v.Valid {
		t.Fatalf("svix fallback: %+v", v)
	}
	// Symmetric window.
	if v, _ := Verify("standard-webhooks", Params{"secret": secret}, Input{Body: body, Header: h, Now: ts.Add(-301 * time.Second)}); v.Valid {
		t.Fatalf("301 s in the future accepted: %+v", v)
	}

	// Our Sign passes the library's verifier.
	sh, _, err := Sign("standard-webhooks", Params{"secret": secret}, Input{Body: body, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(body, sh); err != nil {
		t.Fatalf("library rejects our signature: %v", err)
	}
}

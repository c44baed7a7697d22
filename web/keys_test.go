package web

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailhook-dev/tailhook/signature"
)

func testCert(t *testing.T) (certPEM, keyPEM string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	kd, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}))
}

// TestFetchedCertificate: a PayPal delivery is verified with the certificate
// named in PAYPAL-CERT-URL, fetched once and then served from the cache; a
// URL off PayPal's hosts is never fetched. The fetcher is a stand-in: tests
// never reach the internet.
func TestFetchedCertificate(t *testing.T) {
	a := newTestApp(t)
	cert, key := testCert(t)
	var fetches atomic.Int32
	var fetched []string
	a.srv.keys.fetch = func(_ context.Context, url string) ([]byte, time.Duration, error) {
		fetches.Add(1)
		fetched = append(fetched, url)
		return []byte(cert), time.Hour, nil
	}
	bin := a.newBin()
	if res := a.do("PUT", "/api/bins/"+bin.ID+"/signature", bin.Token, nil, `{"provider":"paypal","webhook_id":"WH-1"}`); res.StatusCode != 200 {
		t.Fatalf("PUT: %d %s", res.StatusCode, res.body)
	}
	ev, err := signature.Sample("paypal", signature.Params{"webhook_id": "WH-1", "private_key": key}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		a.do("POST", "/b/"+bin.ID+"/paypal", "", ev.Header, string(ev.Body))
		got := a.lastRequest(bin)
		if got.Sig == nil || !got.Sig.Valid {
			t.Fatalf("capture %d: %+v", i, got.Sig)
		}
	}
	if n := fetches.Load(); n != 1 || fetched[0] != ev.Header.Get("Paypal-Cert-Url") {
		t.Errorf("fetched %d times: %v", n, fetched)
	}
	// A forged delivery pointing elsewhere: not fetched, and the reason says so.
	h := ev.Header.Clone()
	h.Set("Paypal-Cert-Url", "https://evil.example/cert.pem")
	a.do("POST", "/b/"+bin.ID+"/paypal", "", h, string(ev.Body))
	var full struct {
		Signature struct {
			Valid  bool
			Reason string
		}
	}
	a.getJSON("/api/bins/"+bin.ID+"/requests/"+a.lastRequest(bin).ID, bin.Token, &full)
	if full.Signature.Valid || !strings.Contains(full.Signature.Reason, "not on the provider's own https hosts") || fetches.Load() != 1 {
		t.Errorf("forged cert URL: %+v, %d fetches", full.Signature, fetches.Load())
	}
	// A failing fetch is an invalid verdict saying why, retried only later.
	a.srv.keys = newKeyCache()
	a.srv.keys.fetch = func(context.Context, string) ([]byte, time.Duration, error) {
		fetches.Add(1)
		return nil, 0, errors.New("connection refused")
	}
	a.do("POST", "/b/"+bin.ID+"/paypal", "", ev.Header, string(ev.Body))
	a.do("POST", "/b/"+bin.ID+"/paypal", "", ev.Header, string(ev.Body))
	a.getJSON("/api/bins/"+bin.ID+"/requests/"+a.lastRequest(bin).ID, bin.Token, &full)
	if full.Signature.Valid || !strings.Contains(full.Signature.Reason, "could not fetch") || fetches.Load() != 2 {
		t.Errorf("failed fetch: %+v, %d fetches", full.Signature, fetches.Load())
	}
	// A pasted certificate needs no fetch at all.
	j, _ := json.Marshal(map[string]string{"provider": "paypal", "webhook_id": "WH-1", "certificate": cert})
	a.do("PUT", "/api/bins/"+bin.ID+"/signature", bin.Token, nil, string(j))
	a.do("POST", "/b/"+bin.ID+"/paypal", "", ev.Header, string(ev.Body))
	if got := a.lastRequest(bin); got.Sig == nil || !got.Sig.Valid || fetches.Load() != 2 {
		t.Errorf("pasted certificate: %+v, %d fetches", got.Sig, fetches.Load())
	}
	if maxAge("public, max-age=19776, must-revalidate") != 19776*time.Second || maxAge("") != time.Hour || maxAge("max-age=999999999") != 24*time.Hour {
		t.Error("maxAge")
	}
}

// TestSNSConfirmSubscription: capturing a SubscriptionConfirmation never
// confirms it; the button (its API) does, once clicked, and only for a
// confirmation.
func TestSNSConfirmSubscription(t *testing.T) {
	a := newTestApp(t)
	var calls []string
	a.srv.snsConfirm = func(_ context.Context, url string) (int, []byte, error) {
		calls = append(calls, url)
		return 200, []byte("<ConfirmSubscriptionResponse/>"), nil
	}
	owner, binID := a.browserBin("sns")
	sub := "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3AT&Token=2336"
	body, _ := json.Marshal(map[string]string{"Type": "SubscriptionConfirmation", "MessageId": "m", "Token": "2336", "TopicArn": "arn:aws:sns:us-east-1:1:T",
		"Message": "You have chosen to subscribe", "SubscribeURL": sub, "Timestamp": "2026-12-03T02:59:59.000Z", "SignatureVersion": "1", "Signature": "x",
		"SigningCertURL": "https://sns.us-east-1.amazonaws.com/x.pem"})
	a.sendCapture(binID, "POST", "/sns", http.Header{"X-Amz-Sns-Message-Type": {"SubscriptionConfirmation"}}, string(body))
	a.sendCapture(binID, "POST", "/other", nil, `{"Type":"Notification"}`)
	if len(calls) != 0 {
		t.Fatalf("confirmed on capture: %v", calls)
	}
	doc, _ := a.page(owner, "/bins/"+binID+"?req=req_1", http.StatusOK)
	btn := doc.Find("[data-sns-confirm]")
	if btn.Length() != 1 || !strings.Contains(doc.Find(".sns-confirm").Text(), "never confirms on its own") {
		t.Fatalf("no confirm button")
	}
	res := a.ownerDo(owner, "POST", btn.AttrOr("data-sns-confirm", ""), "")
	if res.StatusCode != 200 || len(calls) != 1 || calls[0] != sub || !strings.Contains(string(res.body), `"status":200`) {
		t.Fatalf("confirm: %d %s %v", res.StatusCode, res.body, calls)
	}
	if res := a.ownerDo(owner, "POST", "/api/bins/"+binID+"/requests/req_2/sns-confirm", ""); res.StatusCode != 422 || len(calls) != 1 {
		t.Errorf("non-confirmation: %d %s", res.StatusCode, res.body)
	}
	if doc, _ := a.page(owner, "/bins/"+binID+"?req=req_2", http.StatusOK); doc.Find("[data-sns-confirm]").Length() != 0 {
		t.Error("button on a notification")
	}
}

package web

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tailhook-dev/tailhook/signature"
	"github.com/tailhook-dev/tailhook/storage"
)

type answeredReq struct {
	ID       string            `json:"id"`
	Answered *storage.Answered `json:"answered"`
	Sig      *struct {
		Valid bool `json:"valid"`
	} `json:"signature"`
}

// lastRequest is the bin's newest capture.
func (a *testApp) lastRequest(bin createdBin) answeredReq {
	a.t.Helper()
	var list struct {
		Requests []answeredReq `json:"requests"`
	}
	a.getJSON("/api/bins/"+bin.ID+"/requests?limit=1", bin.Token, &list)
	if len(list.Requests) == 0 {
		a.t.Fatal("no capture")
	}
	var full answeredReq
	a.getJSON("/api/bins/"+bin.ID+"/requests/"+list.Requests[0].ID, bin.Token, &full)
	if (full.Answered == nil) != (list.Requests[0].Answered == nil) || (full.Answered != nil && *full.Answered != *list.Requests[0].Answered) {
		a.t.Fatalf("summary and request disagree: %+v %+v", list.Requests[0].Answered, full.Answered)
	}
	return full
}

// TestHandshakesThroughCapture answers each handshake through the real
// capture path, on a bin with no provider set, and finds it stored with
// answered.handshake.
func TestHandshakesThroughCapture(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	cases := []struct {
		provider, method, path string
		header                 http.Header
		body, want             string
	}{
		{"slack", "POST", "/slack", h("Content-Type", "application/json"), `{"token":"x","challenge":"ch4ll3nge","type":"url_verification"}`, "ch4ll3nge"},
		{"twitch", "POST", "/twitch", h("Twitch-Eventsub-Message-Type", "webhook_callback_verification"), `{"challenge":"tw1tch","subscription":{}}`, "tw1tch"},
		{"dropbox", "GET", "/dropbox?challenge=dr0pb0x", nil, "", "dr0pb0x"},
		{"meta", "GET", "/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=t", nil, "", "1158201444"},
		{"okta", "GET", "/okta", h("X-Okta-Verification-Challenge", "0kta"), "", `{"verification":"0kta"}`},
		{"msgraph", "POST", "/graph?validationToken=gr%20aph", nil, "", "gr aph"},
	}
	for _, c := range cases {
		res := a.do(c.method, "/b/"+bin.ID+c.path, "", c.header, c.body)
		if res.StatusCode != 200 || string(res.body) != c.want {
			t.Errorf("%s: %d %q, want %q", c.provider, res.StatusCode, res.body, c.want)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") {
			t.Errorf("%s: answer lost the sandbox CSP: %q", c.provider, csp)
		}
		got := a.lastRequest(bin)
		if got.Answered == nil || got.Answered.Status != 200 || got.Answered.Handshake != c.provider {
			t.Errorf("%s: stored answered = %+v", c.provider, got.Answered)
		}
	}
	// An ordinary capture records the bin's answer, no handshake.
	a.do("POST", "/b/"+bin.ID+"/plain", "", nil, `{"a":1}`)
	if got := a.lastRequest(bin); got.Answered == nil || *got.Answered != (storage.Answered{Status: 200}) {
		t.Errorf("plain capture: %+v", got.Answered)
	}
}

// TestHandshakeInInspector: the inspector's row and details say which
// handshake tailhook answered, and the settings panel has the switches.
func TestHandshakeInInspector(t *testing.T) {
	a := newTestApp(t)
	owner, binID := a.browserBin("handshakes")
	a.sendCapture(binID, "POST", "/slack", http.Header{"Content-Type": {"application/json"}}, `{"challenge":"c","type":"url_verification"}`)
	doc, _ := a.page(owner, "/bins/"+binID+"?req=req_1", http.StatusOK)
	row := doc.Find(`#request-list [data-request-id="req_1"] [data-handshake="slack"]`)
	if row.Length() != 1 || row.AttrOr("title", "") != "answered Slack's URL verification" {
		t.Errorf("row badge: %d %q", row.Length(), row.AttrOr("title", ""))
	}
	if got := doc.Find(`[data-answered="200"] [data-handshake="slack"]`).Text(); got != "answered Slack's URL verification" {
		t.Errorf("details say %q", got)
	}
	form := doc.Find("#signature-form")
	if form.Find(`input[name="handshakes"][checked]`).Length() != 1 || form.Find(`input[name="reject_invalid"]`).Length() != 1 {
		t.Error("settings lack the handshakes / reject_invalid switches")
	}
	// The new providers are in the picker, a PEM or key set pastes into a textarea.
	for _, id := range []string{"meta", "paypal", "aws-sns", "google-pubsub", "apple-app-store", "adyen", "telegram", "xero", "clerk", "telnyx"} {
		if form.Find(`option[value="`+id+`"]`).Length() != 1 {
			t.Errorf("picker lacks %s", id)
		}
	}
	if form.Find(`fieldset[data-provider="paypal"] textarea[name="certificate"]`).Length() != 1 || form.Find(`fieldset[data-provider="google-pubsub"] textarea[name="jwks"]`).Length() != 1 {
		t.Error("certificate / jwks are not multi-line inputs")
	}
}

// TestHandshakeSettings: handshakes can be turned off (and that persists),
// Asana's secret is kept, Zoom answers only with its secret, a handshake does
// not use up a scripted response step, and 413 is recorded.
func TestHandshakeSettings(t *testing.T) {
	a := newTestApp(t, func(c *Config, _ *storage.Options) { c.MaxBody = 80 })
	bin := a.newBin()
	var b struct {
		Handshakes bool `json:"handshakes"`
		Signature  *struct {
			Provider      string            `json:"provider"`
			Params        map[string]string `json:"params"`
			Handshakes    bool              `json:"handshakes"`
			RejectInvalid bool              `json:"reject_invalid"`
		} `json:"signature"`
	}
	a.getJSON("/api/bins/"+bin.ID, bin.Token, &b)
	if !b.Handshakes || b.Signature != nil {
		t.Fatalf("new bin: %+v", b)
	}

	// Asana: the secret of the handshake becomes the bin's.
	res := a.do("POST", "/b/"+bin.ID+"/asana", "", http.Header{"X-Hook-Secret": {"hook-secret-1"}}, "")
	if res.StatusCode != 200 || res.Header.Get("X-Hook-Secret") != "hook-secret-1" {
		t.Fatalf("asana: %d %v", res.StatusCode, res.Header)
	}
	a.getJSON("/api/bins/"+bin.ID, bin.Token, &b)
	if b.Signature == nil || b.Signature.Provider != "asana" || b.Signature.Params["secret"] == "" {
		t.Fatalf("asana secret not kept: %+v", b.Signature)
	}
	// A second handshake does not overwrite it.
	a.do("POST", "/b/"+bin.ID+"/asana", "", http.Header{"X-Hook-Secret": {"hook-secret-2"}}, "")
	a.getJSON("/api/bins/"+bin.ID, bin.Token, &b)
	if !strings.HasPrefix(b.Signature.Params["secret"], "ho") {
		t.Fatalf("masked secret changed: %+v", b.Signature.Params)
	}

	// A scripted sequence is not consumed by a handshake.
	if res := a.do("PUT", "/api/bins/"+bin.ID+"/response", bin.Token, nil, `{"status":202,"sequence":[{"status":500,"times":1}]}`); res.StatusCode != 200 {
		t.Fatalf("PUT response: %d %s", res.StatusCode, res.body)
	}
	if res := a.do("GET", "/b/"+bin.ID+"?challenge=c", "", nil, ""); res.StatusCode != 200 || string(res.body) != "c" {
		t.Fatalf("dropbox with a configured response: %d %s", res.StatusCode, res.body)
	}
	if res := a.do("POST", "/b/"+bin.ID, "", nil, "x"); res.StatusCode != 500 {
		t.Errorf("first scripted answer: %d", res.StatusCode)
	}
	if got := a.lastRequest(bin); got.Answered == nil || got.Answered.Status != 500 || got.Answered.Handshake != "" {
		t.Errorf("scripted capture answered = %+v", got.Answered)
	}
	if res := a.do("POST", "/b/"+bin.ID, "", nil, "x"); res.StatusCode != 202 {
		t.Errorf("base answer: %d", res.StatusCode)
	}
	// 413 is what the sender got.
	if res := a.do("POST", "/b/"+bin.ID, "", nil, strings.Repeat("x", 100)); res.StatusCode != 413 {
		t.Fatalf("over max-body: %d", res.StatusCode)
	}
	if got := a.lastRequest(bin); got.Answered == nil || got.Answered.Status != 413 {
		t.Errorf("413 capture answered = %+v", got.Answered)
	}
	a.do("DELETE", "/api/bins/"+bin.ID+"/response", bin.Token, nil, "")

	// Zoom answers only once its secret is set.
	zoom := `{"payload":{"plainToken":"pt"},"event":"endpoint.url_validation"}`
	if res := a.do("POST", "/b/"+bin.ID, "", nil, zoom); strings.Contains(string(res.body), "encryptedToken") {
		t.Errorf("zoom answered without a secret: %s", res.body)
	}
	if res := a.do("PUT", "/api/bins/"+bin.ID+"/signature", bin.Token, nil, `{"provider":"zoom","secret":"zs"}`); res.StatusCode != 200 {
		t.Fatalf("PUT zoom: %d %s", res.StatusCode, res.body)
	}
	zh, _, err := signature.Sign("zoom", signature.Params{"secret": "zs"}, signature.Input{Method: "POST", Body: []byte(zoom), Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if res := a.do("POST", "/b/"+bin.ID, "", zh, zoom); !strings.Contains(string(res.body), `"encryptedToken":"`) {
		t.Errorf("zoom: %d %s", res.StatusCode, res.body)
	}
	// Unsigned, it is refused: Zoom signs its validation requests.
	if res := a.do("POST", "/b/"+bin.ID, "", nil, zoom); res.StatusCode != 403 {
		t.Errorf("unsigned zoom validation: %d %s", res.StatusCode, res.body)
	}
	if got := a.lastRequest(bin); got.Answered == nil || *got.Answered != (storage.Answered{Status: 403, Handshake: "zoom"}) {
		t.Errorf("refused zoom stored as %+v", got.Answered)
	}

	// Turned off, without a provider: persists and stops the answers.
	if res := a.do("PUT", "/api/bins/"+bin.ID+"/signature", bin.Token, nil, `{"handshakes":false}`); res.StatusCode != 200 {
		t.Fatalf("PUT handshakes false: %d %s", res.StatusCode, res.body)
	}
	a.getJSON("/api/bins/"+bin.ID, bin.Token, &b)
	if b.Handshakes || b.Signature != nil {
		t.Fatalf("after handshakes:false: %+v", b)
	}
	if res := a.do("GET", "/b/"+bin.ID+"?challenge=c", "", nil, ""); string(res.body) == "c" {
		t.Errorf("handshake answered while off")
	}
	if got := a.lastRequest(bin); got.Answered == nil || got.Answered.Handshake != "" {
		t.Errorf("off: answered = %+v", got.Answered)
	}
	for _, bad := range []string{`{"handshakes":"maybe"}`, `{"reject_invalid":true}`} {
		if res := a.do("PUT", "/api/bins/"+bin.ID+"/signature", bin.Token, nil, bad); res.StatusCode != 400 {
			t.Errorf("PUT %s: %d %s", bad, res.StatusCode, res.body)
		}
	}
}

// TestRejectInvalid: Discord rejects invalid signatures by default (its
// probes), answers a valid PING, and every capture is still stored.
func TestRejectInvalid(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	if res := a.do("PUT", "/api/bins/"+bin.ID+"/signature", bin.Token, nil, `{"provider":"discord","secret":"`+hex.EncodeToString(pub)+`"}`); res.StatusCode != 200 || !strings.Contains(string(res.body), `"reject_invalid":true`) {
		t.Fatalf("PUT discord: %d %s", res.StatusCode, res.body)
	}
	ping := `{"id":"1","application_id":"2","type":1,"token":"t","version":1}`
	signed := func(body string, ok bool) http.Header {
		sig := ed25519.Sign(priv, []byte("1733194800"+body))
		if !ok {
			sig[3] ^= 0x40
		}
		return http.Header{"X-Signature-Ed25519": {hex.EncodeToString(sig)}, "X-Signature-Timestamp": {"1733194800"}}
	}
	res := a.do("POST", "/b/"+bin.ID+"/interactions", "", signed(ping, true), ping)
	if res.StatusCode != 200 || string(res.body) != `{"type":1}` {
		t.Fatalf("valid PING: %d %s", res.StatusCode, res.body)
	}
	if got := a.lastRequest(bin); got.Answered == nil || got.Answered.Handshake != "discord" || got.Sig == nil || !got.Sig.Valid {
		t.Errorf("valid PING stored as %+v %+v", got.Answered, got.Sig)
	}
	res = a.do("POST", "/b/"+bin.ID+"/interactions", "", signed(ping, false), ping)
	if res.StatusCode != 401 {
		t.Fatalf("probe with a bad signature: %d %s", res.StatusCode, res.body)
	}
	var e struct{ Error string }
	if json.Unmarshal(res.body, &e); !strings.Contains(e.Error, "invalid signature") {
		t.Errorf("401 body: %s", res.body)
	}
	if got := a.lastRequest(bin); got.Answered == nil || *got.Answered != (storage.Answered{Status: 401}) || got.Sig == nil || got.Sig.Valid {
		t.Errorf("probe stored as %+v %+v", got.Answered, got.Sig)
	}
	// reject_invalid off: the bin's answer again, the verdict still invalid.
	if res := a.do("PUT", "/api/bins/"+bin.ID+"/signature", bin.Token, nil, `{"provider":"discord","secret":"`+hex.EncodeToString(pub)+`","reject_invalid":false}`); res.StatusCode != 200 || !strings.Contains(string(res.body), `"reject_invalid":false`) {
		t.Fatalf("PUT reject_invalid false: %d %s", res.StatusCode, res.body)
	}
	if res := a.do("POST", "/b/"+bin.ID+"/interactions", "", signed(ping, false), ping); res.StatusCode != 200 {
		t.Errorf("reject_invalid false: %d", res.StatusCode)
	}
	// Stripe with reject_invalid on: 401 for a bad signature.
	a.do("PUT", "/api/bins/"+bin.ID+"/signature", bin.Token, nil, `{"provider":"stripe","secret":"whsec_x","reject_invalid":true}`)
	if res := a.do("POST", "/b/"+bin.ID, "", http.Header{"Stripe-Signature": {"t=1,v1=00"}}, `{}`); res.StatusCode != 401 {
		t.Errorf("stripe reject_invalid: %d", res.StatusCode)
	}
}

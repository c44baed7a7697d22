package signature

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestHandshakes checks each provider's endpoint check against what its
// documentation asks for (sources, read 2026-12):
//   - Slack https://api.slack.com/events/url_verification: POST JSON
//     {"type":"url_verification","challenge":C} → 200 text/plain C.
//   - Zoom https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint:
//     endpoint.url_validation → {"plainToken","encryptedToken": hex HMAC-SHA256(secret, plainToken)}.
//   - Twitch https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#responding-to-a-challenge-request:
//     webhook_callback_verification → 200 text/plain challenge, after verifying the signature.
//   - Dropbox https://www.dropbox.com/developers/reference/webhooks: GET ?challenge=C →
//     C with Content-Type text/plain and X-Content-Type-Options: nosniff.
//   - Meta https://developers.facebook.com/docs/graph-api/webhooks/getting-started:
//     GET hub.mode=subscribe&hub.verify_token&hub.challenge → the challenge when the token matches.
//   - Discord https://discord.com/developers/docs/interactions/receiving-and-responding#security-and-authorization:
//     a verified PING (type 1) → {"type":1}; invalid signatures must be refused (401).
//   - Asana https://developers.asana.com/reference/createwebhook: a POST with X-Hook-Secret →
//     200 (or 204) echoing X-Hook-Secret; keep the secret for X-Hook-Signature.
//   - Okta https://developer.okta.com/docs/concepts/event-hooks/: GET with
//     X-Okta-Verification-Challenge → JSON {"verification": C}.
//   - Microsoft Graph https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks:
//     POST ?validationToken=T → 200 text/plain T (URL-decoded) within 10 s.
func TestHandshakes(t *testing.T) {
	now := time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	discordKey := hex.EncodeToString(pub)
	discordPing := func(valid bool) Input {
		body := []byte(`{"application_id":"1","id":"2","token":"t","type":1,"version":1}`)
		ts := "1733194800"
		sig := ed25519.Sign(priv, append([]byte(ts), body...))
		if !valid {
			sig[0] ^= 1
		}
		h := http.Header{}
		h.Set("X-Signature-Ed25519", hex.EncodeToString(sig))
		h.Set("X-Signature-Timestamp", ts)
		return Input{Method: "POST", Header: h, Body: body, Now: now}
	}
	twitch := func(secret string) Input {
		body := []byte(`{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387","type":"channel.follow","version":"2","status":"webhook_callback_verification_pending"}}`)
		h := http.Header{}
		h.Set("Twitch-Eventsub-Message-Type", "webhook_callback_verification")
		h.Set("Twitch-Eventsub-Message-Id", "e76c6bd4-55c9-4987-8304-da1588d8988b")
		h.Set("Twitch-Eventsub-Message-Timestamp", "2026-12-03T02:59:59.634234626Z")
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte("e76c6bd4-55c9-4987-8304-da1588d8988b2026-12-03T02:59:59.634234626Z"))
		m.Write(body)
		h.Set("Twitch-Eventsub-Message-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
		return Input{Method: "POST", Header: h, Body: body, Now: now}
	}
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	zoomBody := []byte(`{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}`)
	zm := hmac.New(sha256.New, []byte("zoom-secret"))
	zm.Write([]byte("qgg8vlvZRS6UYooatFL8Aw"))
	zs := hmac.New(sha256.New, []byte("zoom-secret"))
	zts := strconv.FormatInt(now.Unix()-10, 10)
	zs.Write([]byte("v0:" + zts + ":"))
	zs.Write(zoomBody)
	zoomSigned := hdr("X-Zm-Request-Timestamp", zts, "X-Zm-Signature", "v0="+hex.EncodeToString(zs.Sum(nil)))
	zoomWant := `{"encryptedToken":"` + hex.EncodeToString(zm.Sum(nil)) + `","plainToken":"qgg8vlvZRS6UYooatFL8Aw"}`

	cases := []struct {
		name     string
		in       Input
		query    string
		provider string
		p        Params
		want     string // provider; "" = no handshake
		status   int
		body     string
		ctype    string
		header   [2]string
	}{
		{name: "slack", in: Input{Method: "POST", Header: hdr("Content-Type", "application/json"), Body: []byte(`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)},
			want: "slack", status: 200, body: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", ctype: "text/plain; charset=utf-8"},
		{name: "slack with a wrong signature is refused", in: Input{Method: "POST", Header: hdr("X-Slack-Signature", "v0=00", "X-Slack-Request-Timestamp", "1764730800"), Body: []byte(`{"challenge":"c","type":"url_verification"}`)},
			provider: "slack", p: Params{"secret": "slack-secret"}, want: "slack", status: 403},
		{name: "slack event is not a handshake", in: Input{Method: "POST", Body: []byte(`{"type":"event_callback","event":{"text":"url_verification"}}`)}},
		{name: "zoom with secret", in: Input{Method: "POST", Header: zoomSigned, Body: zoomBody}, provider: "zoom", p: Params{"secret": "zoom-secret"},
			want: "zoom", status: 200, body: zoomWant, ctype: "application/json"},
		{name: "zoom with a wrong signature is refused", in: Input{Method: "POST", Header: hdr("X-Zm-Signature", "v0=00", "X-Zm-Request-Timestamp", "1764730800"), Body: zoomBody}, provider: "zoom", p: Params{"secret": "zoom-secret"},
			want: "zoom", status: 403},
		{name: "zoom without secret is not answered", in: Input{Method: "POST", Body: zoomBody}},
		{name: "twitch without secret", in: twitch("s3cr3t-s3cr3t"), want: "twitch", status: 200, body: "pogchamp-kappa-360noscope-vohiyo", ctype: "text/plain; charset=utf-8"},
		{name: "twitch with matching secret", in: twitch("s3cr3t-s3cr3t"), provider: "twitch", p: Params{"secret": "s3cr3t-s3cr3t"}, want: "twitch", status: 200, body: "pogchamp-kappa-360noscope-vohiyo"},
		{name: "twitch with wrong secret", in: twitch("s3cr3t-s3cr3t"), provider: "twitch", p: Params{"secret": "another-secret"}, want: "twitch", status: 403},
		{name: "dropbox", in: Input{Method: "GET"}, query: "challenge=abc%20123", want: "dropbox", status: 200, body: "abc 123", header: [2]string{"X-Content-Type-Options", "nosniff"}},
		{name: "dropbox needs GET", in: Input{Method: "POST"}, query: "challenge=abc"},
		{name: "meta any token", in: Input{Method: "GET"}, query: "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock", want: "meta", status: 200, body: "1158201444"},
		{name: "meta matching token", in: Input{Method: "GET"}, query: "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock", provider: "meta", p: Params{"secret": "x", "verify_token": "meatyhamhock"}, want: "meta", status: 200, body: "1158201444"},
		{name: "meta wrong token", in: Input{Method: "GET"}, query: "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=nope", provider: "meta", p: Params{"secret": "x", "verify_token": "meatyhamhock"}, want: "meta", status: 403},
		{name: "discord valid ping", in: discordPing(true), provider: "discord", p: Params{"secret": discordKey}, want: "discord", status: 200, body: `{"type":1}`, ctype: "application/json"},
		{name: "discord probe with bad signature", in: discordPing(false), provider: "discord", p: Params{"secret": discordKey}},
		{name: "discord ping without key", in: discordPing(true)},
		{name: "asana", in: Input{Method: "POST", Header: hdr("X-Hook-Secret", "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81")},
			want: "asana", status: 200, header: [2]string{"X-Hook-Secret", "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"}},
		{name: "okta", in: Input{Method: "GET", Header: hdr("X-Okta-Verification-Challenge", "rQAT-fEFtJwpd2lzNC4Ai8DpHjE4xGm8AOlFb0e2CBw")},
			want: "okta", status: 200, body: `{"verification":"rQAT-fEFtJwpd2lzNC4Ai8DpHjE4xGm8AOlFb0e2CBw"}`, ctype: "application/json"},
		{name: "msgraph", in: Input{Method: "POST"}, query: "validationToken=Validation%3a+Testing+client+application+reachability+for+subscription+Request-Id%3a+25b3b2ab", want: "msgraph", status: 200,
			body: "Validation: Testing client application reachability for subscription Request-Id: 25b3b2ab", ctype: "text/plain; charset=utf-8"},
		{name: "plain POST", in: Input{Method: "POST", Body: []byte(`{"hello":"world"}`)}},
		{name: "plain GET", in: Input{Method: "GET"}, query: "a=1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.in.Now.IsZero() {
				c.in.Now = now
			}
			a := Handshake(c.in, c.query, c.provider, c.p)
			if c.want == "" {
				if a != nil {
					t.Fatalf("answered %+v", a)
				}
				return
			}
			if a == nil || a.Provider != c.want || a.Status != c.status {
				t.Fatalf("got %+v, want %s %d", a, c.want, c.status)
			}
			if c.body != "" && string(a.Body) != c.body {
				t.Errorf("body %q, want %q", a.Body, c.body)
			}
			if c.ctype != "" && a.Header.Get("Content-Type") != c.ctype {
				t.Errorf("Content-Type %q", a.Header.Get("Content-Type"))
			}
			if c.header[0] != "" && a.Header.Get(c.header[0]) != c.header[1] {
				t.Errorf("%s = %q", c.header[0], a.Header.Get(c.header[0]))
			}
			if a.Describe() == "" {
				t.Error("no description")
			}
		})
	}
	if a := Handshake(Input{Method: "POST", Header: hdr("X-Hook-Secret", "S")}, "", "", nil); a.LearnedSecret != "S" {
		t.Errorf("asana secret not handed over: %+v", a)
	}
	if got := HandshakeLabel("slack", 200); got != "answered Slack's URL verification" {
		t.Errorf("label %q", got)
	}
}

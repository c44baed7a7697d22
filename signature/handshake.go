package signature

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// HandshakeAnswer is tailhook's answer to a provider's endpoint check.
type HandshakeAnswer struct {
	// Provider is the id of the provider whose handshake this is.
	Provider string
	// Status, Header and Body are the answer to send.
	Status int
	Header http.Header
	Body   []byte
	// LearnedSecret is a secret the handshake handed over (Asana's
	// X-Hook-Secret): it signs the provider's later deliveries.
	LearnedSecret string
}

// Describe says in a few words which handshake was answered, for the
// inspector: "answered Slack's URL verification".
func (a *HandshakeAnswer) Describe() string { return HandshakeLabel(a.Provider, a.Status) }

// HandshakeLabel describes an answered handshake of provider with status.
func HandshakeLabel(provider string, status int) string {
	what, ok := handshakeNames[provider]
	if !ok {
		what = provider + "'s endpoint check"
	}
	if status >= 400 {
		return "refused " + what
	}
	return "answered " + what
}

var handshakeNames = map[string]string{
	"slack":   "Slack's URL verification",
	"zoom":    "Zoom's URL validation",
	"twitch":  "Twitch's callback verification",
	"dropbox": "Dropbox's challenge",
	"meta":    "Meta's subscribe verification",
	"discord": "Discord's PING",
	"asana":   "Asana's X-Hook-Secret handshake",
	"okta":    "Okta's one-time verification",
	"msgraph": "Microsoft Graph's validationToken check",
}

// Handshake recognises a provider's setup handshake in a request and returns
// the answer the provider expects, or nil when the request is not one.
// rawQuery is the request's query string; provider and p are the bin's
// signature settings ("" and nil when none are set): handshakes that need a
// secret (Zoom) or a key (Discord) answer only when those are set, and Meta's
// verify_token is checked when set. Like Verify, it is a pure function.
//
// The answers follow each provider's documentation:
//   - Slack: https://api.slack.com/events/url_verification
//   - Zoom: https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint
//   - Twitch: https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#responding-to-a-challenge-request
//   - Dropbox: https://www.dropbox.com/developers/reference/webhooks
//   - Meta: https://developers.facebook.com/docs/graph-api/webhooks/getting-started
//   - Discord: https://discord.com/developers/docs/interactions/receiving-and-responding#security-and-authorization
//   - Asana: https://developers.asana.com/reference/createwebhook
//   - Okta: https://developer.okta.com/docs/concepts/event-hooks/
//   - Microsoft Graph: https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks
func Handshake(in Input, rawQuery, provider string, p Params) *HandshakeAnswer {
	if in.Header == nil {
		in.Header = http.Header{}
	}
	// Header- and query-driven checks first: they cost nothing.
	if s := in.Header.Get("X-Hook-Secret"); s != "" {
		h := http.Header{}
		h.Set("X-Hook-Secret", s)
		return &HandshakeAnswer{Provider: "asana", Status: http.StatusOK, Header: h, LearnedSecret: s}
	}
	if c := in.Header.Get("X-Okta-Verification-Challenge"); c != "" && in.Method == http.MethodGet {
		body, _ := json.Marshal(map[string]string{"verification": c})
		return jsonAnswer("okta", body)
	}
	var q url.Values
	if rawQuery != "" {
		q, _ = url.ParseQuery(rawQuery)
	}
	if in.Method == http.MethodGet && q.Has("hub.challenge") && q.Get("hub.mode") == "subscribe" {
		want := ""
		if provider == "meta" {
			want = p["verify_token"]
		}
		got := q.Get("hub.verify_token")
		if want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
			return textAnswer("meta", http.StatusForbidden, "hub.verify_token does not match the bin's verify_token\n")
		}
		return textAnswer("meta", http.StatusOK, q.Get("hub.challenge"))
	}
	if in.Method == http.MethodGet && q.Has("challenge") {
		a := textAnswer("dropbox", http.StatusOK, q.Get("challenge"))
		a.Header.Set("X-Content-Type-Options", "nosniff")
		return a
	}
	if in.Method == http.MethodPost && q.Has("validationToken") {
		return textAnswer("msgraph", http.StatusOK, q.Get("validationToken"))
	}
	if in.Method != http.MethodPost {
		return nil
	}
	if strings.EqualFold(in.Header.Get("Twitch-Eventsub-Message-Type"), "webhook_callback_verification") {
		var v struct {
			Challenge *string `json:"challenge"`
		}
		if json.Unmarshal(in.Body, &v) != nil || v.Challenge == nil {
			return nil
		}
		if a := refuseInvalid("twitch", provider, p, in); a != nil {
			return a
		}
		return textAnswer("twitch", http.StatusOK, *v.Challenge)
	}
	// Body-driven checks: parse JSON only when the marker is there.
	if bytes.Contains(in.Body, []byte("url_verification")) {
		var v struct {
			Type      string  `json:"type"`
			Challenge *string `json:"challenge"`
		}
		if json.Unmarshal(in.Body, &v) == nil && v.Type == "url_verification" && v.Challenge != nil {
			// Slack's docs: verify the request, then answer. Possible only
			// when the bin holds the slack signing secret.
			if a := refuseInvalid("slack", provider, p, in); a != nil {
				return a
			}
			return textAnswer("slack", http.StatusOK, *v.Challenge)
		}
	}
	if provider == "zoom" && bytes.Contains(in.Body, []byte("endpoint.url_validation")) {
		secrets := splitSecrets(p["secret"])
		var v struct {
			Event   string `json:"event"`
			Payload struct {
				PlainToken *string `json:"plainToken"`
			} `json:"payload"`
		}
		if len(secrets) > 0 && json.Unmarshal(in.Body, &v) == nil && v.Event == "endpoint.url_validation" && v.Payload.PlainToken != nil {
			// Zoom signs the validation request like any event; its sample
			// checks x-zm-signature first.
			if a := refuseInvalid("zoom", provider, p, in); a != nil {
				return a
			}
			m := hmac.New(sha256.New, []byte(secrets[0]))
			m.Write([]byte(*v.Payload.PlainToken))
			body, _ := json.Marshal(map[string]string{"plainToken": *v.Payload.PlainToken, "encryptedToken": hex.EncodeToString(m.Sum(nil))})
			return jsonAnswer("zoom", body)
		}
	}
	if provider == "discord" && len(splitSecrets(p["secret"])) > 0 {
		var v struct {
			Type int `json:"type"`
		}
		if json.Unmarshal(in.Body, &v) == nil && v.Type == 1 {
			// Only a valid PING is answered; an invalid one is Discord's
			// probe and gets the verdict's answer (401 with reject_invalid).
			if vd, err := Verify("discord", p, in); err == nil && vd.Valid {
				return jsonAnswer("discord", []byte(`{"type":1}`))
			}
		}
	}
	return nil
}

// refuseInvalid answers 403 to handshake hs when the bin holds that
// provider's secret and the request's signature does not verify; nil when
// the handshake may be answered.
func refuseInvalid(hs, provider string, p Params, in Input) *HandshakeAnswer {
	if provider != hs || len(splitSecrets(p["secret"])) == 0 {
		return nil
	}
	if vd, err := Verify(hs, p, in); err == nil && !vd.Valid {
		return textAnswer(hs, http.StatusForbidden, "invalid signature: "+vd.Reason+"\n")
	}
	return nil
}

func textAnswer(provider string, status int, body string) *HandshakeAnswer {
	h := http.Header{}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	return &HandshakeAnswer{Provider: provider, Status: status, Header: h, Body: []byte(body)}
}

func jsonAnswer(provider string, body []byte) *HandshakeAnswer {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &HandshakeAnswer{Provider: provider, Status: http.StatusOK, Header: h, Body: body}
}

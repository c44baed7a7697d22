package signature

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// svixAlias is a Svix-powered sender named so users find it (Clerk,
// Resend): the Svix scheme, its own id and description.
func svixAlias(id, name, desc string) *scheme {
	s := standardWebhooksScheme("svix")
	s.ID, s.Name, s.Description = id, name, desc
	s.Params = append([]Param(nil), s.Params...)
	return s
}

// workosScheme: WorkOS-Signature "t=<unix ms>, v1=<hex>" over t + "." +
// body; the Node SDK rejects timestamps more than 180 s old.
// https://workos.com/docs/events/data-syncing/webhooks/3-process-the-events/b-validate-the-requests-manually
func workosScheme() *scheme {
	sp := tvSpec{
		id: "workos", name: "WorkOS",
		desc:   "The webhook endpoint's secret in the WorkOS dashboard under Webhooks.",
		header: "WorkOS-Signature", pairSep: ",", tsKey: "t", sigKey: "v1", msgSep: ".",
		millis: true,
		tol:    tolerance{d: 180 * time.Second, past: true},
	}
	return sp.scheme()
}

// telnyxScheme: Ed25519 over timestamp + "|" + body, base64 signature and
// base64 public key; telnyx-python's default tolerance is 300 s.
// https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks
func telnyxScheme() *scheme {
	const sigh, tsh = "Telnyx-Signature-Ed25519", "Telnyx-Timestamp"
	msg := func(ts string, body []byte) []byte { return append([]byte(ts+"|"), body...) }
	return &scheme{
		Provider: Provider{ID: "telnyx", Name: "Telnyx",
			Description: "The public key (base64) in the Telnyx Mission Control Portal under Keys & Credentials > Public Key.",
			Params: []Param{
				secretParam("Telnyx public key (base64 of 32 bytes)."),
				toleranceParam("300"),
				{Name: "private_key", Description: "Ed25519 private key (base64), only to sign samples; Telnyx never shows one, so use a test key pair."},
			}},
		sigHeaders: []string{sigh},
		validate: func(_ Params, secrets []string) error {
			for _, s := range secrets {
				if _, err := parseKey(s, keyEdB64); err != nil {
					return err
				}
			}
			return nil
		},
		read: func(in Input, _ Params) (reading, error) {
			r := reading{header: sigh + ", " + tsh, tol: tolerance{d: 300 * time.Second, past: true}}
			sig, tsText := strings.TrimSpace(in.Header.Get(sigh)), in.Header.Get(tsh)
			if sig == "" {
				r.problem, r.sigMissing = "the request has no "+sigh+" header.", true
				return r, nil
			}
			if tsText == "" {
				r.problem = "the request has no " + tsh + " header."
				return r, nil
			}
			ts, err := parseUnix(tsText)
			if err != nil {
				r.problem = fmt.Sprintf("%s is malformed: %q is not a unix timestamp.", tsh, truncate(tsText, 40))
				return r, nil
			}
			r.ts = &ts
			remsg := func(b []byte) []byte { return msg(tsText, b) }
			r.cands = []candidate{{text: sig, alg: ed25519Sig, enc: encBase64, key: keyEdB64, msg: remsg(in.Body), remsg: remsg}}
			return r, nil
		},
		noSecret: true,
		sign: func(in Input, p Params, _ string) (http.Header, []byte, error) {
			if p["private_key"] == "" {
				return nil, nil, fmt.Errorf("%w: signing Telnyx webhooks needs private_key (the public key cannot sign)", ErrInvalidParams)
			}
			priv, err := parseEdPrivate(p["private_key"], true)
			if err != nil {
				return nil, nil, err
			}
			ts := strconv.FormatInt(in.Now.Unix(), 10)
			h := http.Header{}
			h.Set(sigh, base64.StdEncoding.EncodeToString(ed25519.Sign(priv, msg(ts, in.Body))))
			h.Set(tsh, ts)
			return h, nil, nil
		},
	}
}

// mandrillScheme: X-Mandrill-Signature = base64 HMAC-SHA1(webhook key,
// URL + each POST field's name and value, names sorted).
// https://mailchimp.com/developer/transactional/guides/track-respond-activity-webhooks/#authenticating-webhook-requests
func mandrillScheme() *scheme {
	const sigh = "X-Mandrill-Signature"
	msg := func(u string, body []byte) []byte {
		form, _ := url.ParseQuery(string(body))
		keys := make([]string, 0, len(form))
		for k := range form {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var sb strings.Builder
		sb.WriteString(u)
		for _, k := range keys {
			sb.WriteString(k)
			sb.WriteString(form.Get(k))
		}
		return []byte(sb.String())
	}
	return &scheme{
		signsURL: true,
		Provider: Provider{ID: "mandrill", Name: "Mailchimp Transactional (Mandrill)",
			Description: "The webhook's key under Settings > Webhooks in Mailchimp Transactional.",
			Params: []Param{
				secretParam("Webhook key; several, one per line."),
				{Name: "url", Description: "The webhook URL exactly as registered in Mandrill, if it differs from the URL the request arrived at."},
			}},
		sigHeaders: []string{sigh},
		read: func(in Input, p Params) (reading, error) {
			u := urlFor(in, p)
			r := reading{header: sigh}
			sig := strings.TrimSpace(in.Header.Get(sigh))
			if sig == "" {
				r.problem, r.sigMissing = "the request has no "+sigh+" header.", true
				return r, nil
			}
			if u == "" {
				return r, errors.New("Mandrill signs the webhook URL: set the url parameter")
			}
			remsg := func(b []byte) []byte { return msg(u, b) }
			r.cands = []candidate{{text: sig, alg: hmacSHA1, enc: encBase64, key: keyRaw, msg: remsg(in.Body), remsg: remsg}}
			return r, nil
		},
		sign: func(in Input, p Params, secret string) (http.Header, []byte, error) {
			u := urlFor(in, p)
			if u == "" {
				return nil, nil, errors.New("Mandrill signs the webhook URL: set the url parameter")
			}
			h := http.Header{}
			h.Set(sigh, encBase64.encode(compute(hmacSHA1, []byte(secret), msg(u, in.Body))))
			return h, nil, nil
		},
	}
}

// braintreeScheme: a form body with bt_signature and bt_payload;
// bt_signature is "public_key|hex" pairs joined by "&", each hex the
// HMAC-SHA1 of bt_payload keyed with SHA-1(private key).
// https://developer.paypal.com/braintree/docs/guides/webhooks/parse
func braintreeScheme() *scheme {
	return &scheme{
		Provider: Provider{ID: "braintree", Name: "Braintree",
			Description: "The API private key (Settings > API in the Braintree Control Panel); the public key picks the signature when several are sent.",
			Params: []Param{
				secretParam("API private key; several, one per line."),
				{Name: "public_key", Description: "The API public key: only the signature made for it is checked (default: every signature)."},
			}},
		sigHeaders: []string{},
		read: func(in Input, p Params) (reading, error) {
			r := reading{header: "bt_signature (form field)"}
			form, _ := url.ParseQuery(string(in.Body))
			sig, payload := form.Get("bt_signature"), form.Get("bt_payload")
			if sig == "" || !form.Has("bt_payload") {
				r.problem = "the body has no bt_signature and bt_payload form fields."
				r.sigMissing = true
				return r, nil
			}
			if isHexString(payload) {
				// Braintree's SDKs answer bt_challenge with exactly this HMAC
				// over a hex nonce: a signature obtained that way must not
				// pass as a notification.
				r.problem = "bt_payload is a hex string, not a notification: a signed verification challenge is not a webhook."
				return r, nil
			}
			remsg := func(b []byte) []byte {
				f, _ := url.ParseQuery(string(b))
				return []byte(f.Get("bt_payload"))
			}
			for _, pair := range strings.Split(sig, "&") {
				pub, hexsig, ok := strings.Cut(pair, "|")
				if !ok {
					continue
				}
				if want := strings.TrimSpace(p["public_key"]); want != "" && pub != want {
					continue
				}
				r.cands = append(r.cands, candidate{label: "public key " + pub, text: hexsig, alg: hmacSHA1, enc: encHex, key: keySHA1, msg: []byte(payload), remsg: remsg})
			}
			if len(r.cands) == 0 {
				r.problem = "bt_signature has no public_key|signature pair"
				if p["public_key"] != "" {
					r.problem += " for the public key " + strconv.Quote(p["public_key"])
				}
				r.problem += "."
			}
			return r, nil
		},
		sign: func(in Input, p Params, secret string) (http.Header, []byte, error) {
			pub := p["public_key"]
			if pub == "" {
				pub = "sample_public_key"
			}
			payload := base64.StdEncoding.EncodeToString(in.Body) + "\n"
			key, _ := parseKey(secret, keySHA1)
			sig := pub + "|" + encHex.encode(compute(hmacSHA1, key.([]byte), []byte(payload)))
			body := url.Values{"bt_signature": {sig}, "bt_payload": {payload}}.Encode()
			h := http.Header{}
			h.Set("Content-Type", "application/x-www-form-urlencoded")
			return h, []byte(body), nil
		},
	}
}

// adyenScheme: classic notifications carry additionalData.hmacSignature in
// each NotificationRequestItem, base64 HMAC-SHA256 keyed with the
// hex-decoded HMAC key over pspReference:originalReference:
// merchantAccountCode:merchantReference:value:currency:eventCode:success
// (":" and "\" escaped); platform webhooks sign the raw body and send the
// result in the HmacSignature header.
// https://docs.adyen.com/development-resources/webhooks/verify-hmac-signatures/
func adyenScheme() *scheme {
	return &scheme{
		Provider: Provider{ID: "adyen", Name: "Adyen",
			Description: "The HMAC key (64 hex characters) generated on the webhook in the Customer Area under Developers > Webhooks.",
			Params:      []Param{secretParam("HMAC key (hex); several, one per line, during rotation.")}},
		sigHeaders: []string{"HmacSignature"},
		validate: func(_ Params, secrets []string) error {
			for _, s := range secrets {
				if _, err := parseKey(s, keyHex); err != nil {
					return err
				}
			}
			return nil
		},
		read: func(in Input, _ Params) (reading, error) {
			if h := strings.TrimSpace(in.Header.Get("HmacSignature")); h != "" {
				remsg := func(b []byte) []byte { return b }
				return reading{header: "HmacSignature", cands: []candidate{{text: h, alg: hmacSHA256, enc: encBase64, key: keyHex, msg: in.Body, remsg: remsg}}}, nil
			}
			r := reading{header: "additionalData.hmacSignature (in the body)"}
			items, err := adyenItems(in.Body)
			if err != nil || len(items) == 0 {
				r.problem = "the request has no HmacSignature header and its body has no notificationItems with additionalData.hmacSignature."
				r.sigMissing = true
				return r, nil
			}
			// Adyen sends one item per notification; the first is checked and
			// the others are named in the reason when they do not match.
			it := items[0]
			remsg := func(b []byte) []byte {
				is, _ := adyenItems(b)
				if len(is) == 0 {
					return nil
				}
				return []byte(is[0].dataToSign())
			}
			r.cands = []candidate{{text: it.AdditionalData.HmacSignature, alg: hmacSHA256, enc: encBase64, key: keyHex, msg: []byte(it.dataToSign()), remsg: remsg}}
			if it.AdditionalData.HmacSignature == "" {
				r.problem = "the notification item has no additionalData.hmacSignature: enable HMAC on the webhook."
				r.cands = nil
			}
			return r, nil
		},
		sign: func(in Input, p Params, secret string) (http.Header, []byte, error) {
			key, err := parseKey(secret, keyHex)
			if err != nil {
				return nil, nil, err
			}
			var doc map[string]any
			if err := json.Unmarshal(in.Body, &doc); err != nil {
				return nil, nil, err
			}
			items, _ := adyenItems(in.Body)
			raw, _ := doc["notificationItems"].([]any)
			for i, x := range raw {
				m, _ := x.(map[string]any)
				nri, _ := m["NotificationRequestItem"].(map[string]any)
				if nri == nil || i >= len(items) {
					continue
				}
				ad, _ := nri["additionalData"].(map[string]any)
				if ad == nil {
					ad = map[string]any{}
					nri["additionalData"] = ad
				}
				ad["hmacSignature"] = encBase64.encode(compute(hmacSHA256, key.([]byte), []byte(items[i].dataToSign())))
			}
			b, err := json.Marshal(doc)
			return http.Header{}, b, err
		},
	}
}

type adyenItem struct {
	AdditionalData struct {
		HmacSignature string `json:"hmacSignature"`
	} `json:"additionalData"`
	Amount struct {
		Value    json.Number `json:"value"`
		Currency string      `json:"currency"`
	} `json:"amount"`
	PspReference        string `json:"pspReference"`
	OriginalReference   string `json:"originalReference"`
	MerchantAccountCode string `json:"merchantAccountCode"`
	MerchantReference   string `json:"merchantReference"`
	EventCode           string `json:"eventCode"`
	Success             string `json:"success"`
}

func adyenItems(body []byte) ([]adyenItem, error) {
	var v struct {
		NotificationItems []struct {
			NotificationRequestItem *adyenItem `json:"NotificationRequestItem"`
		} `json:"notificationItems"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	var out []adyenItem
	for _, it := range v.NotificationItems {
		if it.NotificationRequestItem != nil {
			out = append(out, *it.NotificationRequestItem)
		}
	}
	return out, nil
}

func (it adyenItem) dataToSign() string {
	esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`)
	fields := []string{it.PspReference, it.OriginalReference, it.MerchantAccountCode, it.MerchantReference,
		it.Amount.Value.String(), it.Amount.Currency, it.EventCode, it.Success}
	for i, f := range fields {
		fields[i] = esc.Replace(f)
	}
	return strings.Join(fields, ":")
}

func isHexString(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

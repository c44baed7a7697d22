package signature

import (
	"encoding/json"
	"net/http"
	"strings"
)

// tokenSpec describes providers that authenticate a delivery with a shared
// token sent verbatim (no signature over the body): Telegram's secret_token,
// Okta's Authorization header value.
type tokenSpec struct {
	id, name, desc string
	header         string // default header the token arrives in
	// headerParam lets the user name another header (Okta lets any be set).
	headerParam bool
	// bearer: "Bearer <token>" is also accepted as the token.
	fingerprint []string
}

func tokenScheme(sp tokenSpec) *scheme {
	params := []Param{secretParam("The token the provider sends; several, one per line, during rotation.")}
	if sp.headerParam {
		params = append(params, Param{Name: "header", Description: "The header the token is sent in (default " + sp.header + ")."})
	}
	return &scheme{
		Provider:   Provider{ID: sp.id, Name: sp.name, Description: sp.desc, Params: params},
		sigHeaders: append([]string{sp.header}, sp.fingerprint...),
		read: func(in Input, p Params) (reading, error) {
			name := sp.header
			if h := strings.TrimSpace(p["header"]); sp.headerParam && h != "" {
				name = h
			}
			r := reading{header: http.CanonicalHeaderKey(name)}
			vals := in.Header.Values(name)
			if len(vals) == 0 {
				r.problem = "the request has no " + http.CanonicalHeaderKey(name) + " header."
				r.sigMissing = true
				return r, nil
			}
			for _, v := range vals {
				r.cands = append(r.cands, candidate{text: v, alg: tokenEqual, key: keyToken})
			}
			return r, nil
		},
		sign: func(in Input, p Params, secret string) (http.Header, []byte, error) {
			name := sp.header
			if h := strings.TrimSpace(p["header"]); sp.headerParam && h != "" {
				name = h
			}
			h := http.Header{}
			h.Set(name, secret)
			return h, nil, nil
		},
	}
}

var (
	telegramSpec = tokenSpec{
		id: "telegram", name: "Telegram Bot API",
		desc:   "The secret_token passed to setWebhook; Telegram sends it in X-Telegram-Bot-Api-Secret-Token.",
		header: "X-Telegram-Bot-Api-Secret-Token",
	}
	oktaSpec = tokenSpec{
		id: "okta", name: "Okta event hooks",
		desc:        "The authentication secret set on the event hook (the value of its Authorization header, or of the custom header you named).",
		header:      "Authorization",
		headerParam: true,
	}
)

// msgraphScheme checks Microsoft Graph change notifications: every item in
// the body's "value" array carries the clientState given when the
// subscription was created; nothing is signed.
// https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks
func msgraphScheme() *scheme {
	return &scheme{
		Provider: Provider{ID: "msgraph", Name: "Microsoft Graph",
			Description: "The clientState you set when creating the subscription; each notification carries it.",
			Params:      []Param{secretParam("The subscription's clientState; several, one per line.")}},
		read: func(in Input, _ Params) (reading, error) {
			r := reading{header: "clientState (in the body)"}
			var v struct {
				Value []struct {
					ClientState *string `json:"clientState"`
				} `json:"value"`
			}
			if err := json.Unmarshal(in.Body, &v); err != nil || len(v.Value) == 0 {
				r.problem = "the body is not a Microsoft Graph notification (a JSON object with a value array)."
				r.sigMissing = true
				return r, nil
			}
			for _, it := range v.Value {
				if it.ClientState == nil {
					r.problem = "a notification in the body has no clientState: set clientState on the subscription."
					r.sigMissing = true
					r.cands = nil
					return r, nil
				}
				r.cands = append(r.cands, candidate{text: *it.ClientState, alg: tokenEqual, key: keyToken})
			}
			// Every item must carry the secret: check them all, one must not
			// vouch for another.
			first := r.cands[0].text
			for _, c := range r.cands[1:] {
				if c.text != first {
					r.problem = "the notifications in the body carry different clientState values."
					r.cands = nil
					return r, nil
				}
			}
			r.cands = r.cands[:1]
			return r, nil
		},
		sign: func(in Input, p Params, secret string) (http.Header, []byte, error) {
			var v map[string]any
			if err := json.Unmarshal(in.Body, &v); err != nil {
				return nil, nil, err
			}
			items, _ := v["value"].([]any)
			for _, it := range items {
				if m, ok := it.(map[string]any); ok {
					m["clientState"] = secret
				}
			}
			b, err := json.Marshal(v)
			return http.Header{}, b, err
		},
	}
}

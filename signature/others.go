package signature

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// v0Spec covers Slack and Zoom: "v0:" + ts + ":" + body, sent as v0=<hex>.
type v0Spec struct {
	id, name, desc string
	sigh, tsh      string
	tol            tolerance
	fingerprint    []string
}

func v0Message(ts string, body []byte) []byte { return append([]byte("v0:"+ts+":"), body...) }

func (sp v0Spec) scheme() *scheme {
	return &scheme{
		Provider: Provider{ID: sp.id, Name: sp.name, Description: sp.desc, Params: []Param{
			secretParam("Signing secret; several, one per line, during rotation."),
			toleranceParam("300"),
		}},
		sigHeaders: append([]string{sp.sigh}, sp.fingerprint...),
		read: func(in Input, _ Params) (reading, error) {
			r := reading{header: sp.sigh + ", " + sp.tsh, tol: sp.tol}
			sig, tsText := strings.TrimSpace(in.Header.Get(sp.sigh)), in.Header.Get(sp.tsh)
			if sig == "" {
				r.problem, r.sigMissing = "the request has no "+sp.sigh+" header.", true
				return r, nil
			}
			text, ok := cutPrefixFold(sig, "v0=")
			if !ok {
				r.problem = fmt.Sprintf("%s is malformed: expected v0=<hex>, got %q.", sp.sigh, truncate(sig, 80))
				return r, nil
			}
			ts, err := parseUnix(tsText)
			if err != nil {
				r.problem = fmt.Sprintf("%s %q is not a unix timestamp.", sp.tsh, truncate(tsText, 40))
				return r, nil
			}
			r.ts = &ts
			remsg := func(b []byte) []byte { return v0Message(tsText, b) }
			r.cands = []candidate{{prefix: "v0=", text: text, alg: hmacSHA256, enc: encHex, key: keyRaw, msg: remsg(in.Body), remsg: remsg}}
			return r, nil
		},
		sign: func(in Input, _ Params, secret string) (http.Header, []byte, error) {
			ts := strconv.FormatInt(in.Now.Unix(), 10)
			h := http.Header{}
			h.Set(sp.sigh, "v0="+encHex.encode(compute(hmacSHA256, []byte(secret), v0Message(ts, in.Body))))
			h.Set(sp.tsh, ts)
			return h, nil, nil
		},
	}
}

func slackScheme() *scheme {
	return v0Spec{id: "slack", name: "Slack",
		desc: "The app's Signing Secret on the Basic Information page of api.slack.com/apps.",
		sigh: "X-Slack-Signature", tsh: "X-Slack-Request-Timestamp",
		// Slack's SDKs reject |now − ts| > 300 s.
		tol: tolerance{d: 300 * time.Second, past: true, future: true},
	}.scheme()
}

func zoomScheme() *scheme {
	return v0Spec{id: "zoom", name: "Zoom",
		desc: "The app's Secret Token on the Features > Access page of the Zoom App Marketplace.",
		sigh: "X-Zm-Signature", tsh: "X-Zm-Request-Timestamp",
		// Zoom documents no window; 300 s either way is common practice.
		tol: tolerance{d: 300 * time.Second, past: true, future: true},
	}.scheme()
}

// twitchMessage is message id + timestamp + body, no separators.
func twitchMessage(id, ts string, body []byte) []byte { return append([]byte(id+ts), body...) }

func twitchScheme() *scheme {
	const (
		idh  = "Twitch-Eventsub-Message-Id"
		tsh  = "Twitch-Eventsub-Message-Timestamp"
		sigh = "Twitch-Eventsub-Message-Signature"
	)
	return &scheme{
		Provider: Provider{ID: "twitch", Name: "Twitch EventSub",
			Description: "The secret you passed in transport.secret when creating the EventSub subscription.",
			Params: []Param{
				secretParam("Subscription secret (10–100 ASCII characters); several, one per line."),
				toleranceParam("600"),
			}},
		sigHeaders: []string{sigh},
		read: func(in Input, _ Params) (reading, error) {
			// Twitch's docs: reject messages older than 10 minutes.
			r := reading{header: idh + ", " + tsh + ", " + sigh, tol: tolerance{d: 10 * time.Minute, past: true}}
			sig := strings.TrimSpace(in.Header.Get(sigh))
			if sig == "" {
				r.problem, r.sigMissing = "the request has no "+sigh+" header.", true
				return r, nil
			}
			text, ok := cutPrefixFold(sig, "sha256=")
			if !ok {
				r.problem = fmt.Sprintf("%s is malformed: expected sha256=<hex>, got %q.", sigh, truncate(sig, 80))
				return r, nil
			}
			id, tsText := in.Header.Get(idh), in.Header.Get(tsh)
			if ts, err := time.Parse(time.RFC3339Nano, tsText); err == nil {
				r.ts = &ts
			}
			remsg := func(b []byte) []byte { return twitchMessage(id, tsText, b) }
			r.cands = []candidate{{prefix: "sha256=", text: text, alg: hmacSHA256, enc: encHex, key: keyRaw, msg: remsg(in.Body), remsg: remsg}}
			return r, nil
		},
		sign: func(in Input, _ Params, secret string) (http.Header, []byte, error) {
			id := in.Header.Get(idh)
			if id == "" {
				id = strings.TrimPrefix(swID(in), "msg_")
			}
			ts := in.Now.UTC().Format(time.RFC3339Nano)
			h := http.Header{}
			h.Set(idh, id)
			h.Set(tsh, ts)
			h.Set(sigh, "sha256="+encHex.encode(compute(hmacSHA256, []byte(secret), twitchMessage(id, ts, in.Body))))
			return h, nil, nil
		},
	}
}

func zendeskScheme() *scheme {
	const sigh, tsh = "X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"
	return &scheme{
		Provider: Provider{ID: "zendesk", Name: "Zendesk",
			Description: "The webhook's signing secret (Admin Center > Apps and integrations > Webhooks > Reveal secret), used as shown.",
			Params: []Param{
				secretParam("Signing secret, used as its literal string; several, one per line."),
				{Name: "tolerance_s", Description: "Allowed timestamp drift in seconds (default: not checked; Zendesk documents none)."},
			}},
		sigHeaders: []string{sigh},
		read: func(in Input, _ Params) (reading, error) {
			r := reading{header: sigh + ", " + tsh}
			sig, tsText := strings.TrimSpace(in.Header.Get(sigh)), in.Header.Get(tsh)
			if sig == "" {
				r.problem, r.sigMissing = "the request has no "+sigh+" header.", true
				return r, nil
			}
			if ts, err := time.Parse(time.RFC3339Nano, tsText); err == nil {
				r.ts = &ts
			}
			main := func(b []byte) []byte { return tsBody(tsText, b) }
			// One variant of Zendesk's docs signs body + timestamp; accepted,
			// but labelled so the user sees which order matched.
			alt := func(b []byte) []byte { return append(append([]byte(nil), b...), tsText...) }
			r.cands = []candidate{
				{text: sig, alg: hmacSHA256, enc: encBase64, key: keyRaw, msg: main(in.Body), remsg: main},
				{label: "Zendesk alternate order: body + timestamp", text: sig, alg: hmacSHA256, enc: encBase64, key: keyRaw, msg: alt(in.Body), remsg: alt},
			}
			return r, nil
		},
		sign: func(in Input, _ Params, secret string) (http.Header, []byte, error) {
			ts := in.Now.UTC().Format(time.RFC3339)
			h := http.Header{}
			h.Set(sigh, encBase64.encode(compute(hmacSHA256, []byte(secret), tsBody(ts, in.Body))))
			h.Set(tsh, ts)
			return h, nil, nil
		},
	}
}

// postmarkScheme is not a signature: Postmark offers HTTP Basic credentials
// in the webhook URL and custom headers, so the check compares those.
func postmarkScheme() *scheme {
	s := &scheme{
		Provider: Provider{ID: "postmark", Name: "Postmark",
			Description: "Postmark does not sign webhooks: use the Basic auth user:password you put in the webhook URL, or a custom header you set on the webhook.",
			Params: []Param{
				{Name: "secret", Description: "Expected Basic auth credentials as user:password (one per line to accept several)."},
				{Name: "header_name", Description: "Name of a custom header set on the webhook."},
				{Name: "header_value", Description: "Expected value of that header."},
			}},
		noSecret: true,
	}
	s.custom = func(in Input, p Params) (Verdict, error) {
		creds := splitSecrets(p["secret"])
		hn, hv := strings.TrimSpace(p["header_name"]), p["header_value"]
		if len(creds) == 0 && hn == "" {
			return Verdict{}, fmt.Errorf("%w: Postmark needs user:password credentials (secret) or header_name/header_value", ErrInvalidParams)
		}
		if hn != "" && hv == "" {
			return Verdict{}, fmt.Errorf("%w: header_name is set but header_value is empty", ErrInvalidParams)
		}
		for _, c := range creds {
			if !strings.Contains(c, ":") {
				return Verdict{}, fmt.Errorf("%w: Postmark credentials must be user:password", ErrInvalidParams)
			}
		}
		v := Verdict{Provider: s.ID}
		var read []string
		if len(creds) > 0 {
			read = append(read, "Authorization")
			got := in.Header.Get("Authorization")
			if got == "" {
				v.Details.Header = "Authorization"
				v.Reason = "the request has no Authorization header (Basic credentials in the webhook URL)."
				v.Details.Hints = lookalikeHints(s, in)
				return v, nil
			}
			cand := candidate{text: got, alg: tokenEqual, key: keyToken}
			matched := 0
			for i, c := range creds {
				if cand.check("Basic "+base64.StdEncoding.EncodeToString([]byte(c)), keyToken, nil, 0).ok {
					matched = i + 1
					break
				}
			}
			if matched == 0 {
				v.Details.Header = "Authorization"
				v.Details.Received = mask(got)
				v.Reason = "the Authorization header does not carry the expected Basic credentials."
				for _, c := range creds {
					if t := strings.TrimSpace(c); t != c && cand.check("Basic "+base64.StdEncoding.EncodeToString([]byte(t)), keyToken, nil, 0).ok {
						v.Details.Hints = append(v.Details.Hints, "The secret has leading or trailing whitespace; the trimmed secret matches. Remove the whitespace from the secret.")
						break
					}
				}
				return v, nil
			}
			v.Details.MatchedSecret = matched
		}
		if hn != "" {
			read = append(read, http.CanonicalHeaderKey(hn))
			got := in.Header.Get(hn)
			c := candidate{text: got, alg: tokenEqual, key: keyToken}
			if got == "" || !c.check(hv, keyToken, nil, 0).ok {
				v.Details.Header = strings.Join(read, ", ")
				if got == "" {
					v.Reason = "the request has no " + http.CanonicalHeaderKey(hn) + " header."
				} else {
					v.Details.Received = mask(got)
					v.Reason = "the " + http.CanonicalHeaderKey(hn) + " header does not have the expected value."
				}
				return v, nil
			}
		}
		v.Details.Header = strings.Join(read, ", ")
		v.Valid = true
		v.Reason = "the expected credentials are present (Postmark does not sign webhooks)."
		return v, nil
	}
	s.sign = func(in Input, p Params, secret string) (http.Header, []byte, error) {
		h := http.Header{}
		if secret != "" {
			h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(secret)))
		}
		if hn := strings.TrimSpace(p["header_name"]); hn != "" {
			h.Set(hn, p["header_value"])
		}
		if len(h) == 0 {
			return nil, nil, fmt.Errorf("%w: Postmark needs user:password credentials (secret) or header_name/header_value", ErrInvalidParams)
		}
		return h, nil, nil
	}
	return s
}

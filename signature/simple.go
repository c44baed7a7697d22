package signature

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sigHeader is one header a simple scheme reads.
type sigHeader struct {
	name   string // as documented by the provider
	prefix string // e.g. "sha256="; matched case-insensitively
	alg    algo
	enc    enc
	label  string // non-empty for legacy/alternative forms
}

// simpleSpec describes the many providers that sign the body (or URL+body)
// with one HMAC and put it in a header: one table instead of a dozen
// near-identical functions.
type simpleSpec struct {
	id, name, desc string
	headers        []sigHeader
	// withURL: the signed message is the notification URL followed by the body (Square).
	withURL bool
	// numbered: the header name gets -1, -2, … suffixes, one per active key (DocuSign).
	numbered bool
	// bodyTime extracts a signed timestamp from the body (Linear's webhookTimestamp).
	bodyTime func(body []byte) *time.Time
	tol      tolerance
	// fingerprint headers, besides the signature headers, that identify a delivery.
	fingerprint []string
	params      []Param
	// looksLike: see scheme.looksLike.
	looksLike func(h http.Header) bool
}

var secretParam = func(desc string) Param { return Param{Name: "secret", Description: desc, Required: true} }

var (
	githubSpec = simpleSpec{
		id: "github", name: "GitHub",
		desc: "The webhook's Secret, set in the repository or organisation settings under Webhooks.",
		headers: []sigHeader{
			{name: "X-Hub-Signature-256", prefix: "sha256=", alg: hmacSHA256, enc: encHex},
			{name: "X-Hub-Signature", prefix: "sha1=", alg: hmacSHA1, enc: encHex, label: "legacy X-Hub-Signature, SHA-1"},
		},
		fingerprint: []string{"X-Hub-Signature-256", "X-GitHub-Event"},
		looksLike: func(h http.Header) bool {
			return h.Get("X-GitHub-Event") != "" || h.Get("X-GitHub-Delivery") != ""
		},
	}
	bitbucketSpec = simpleSpec{
		id: "bitbucket", name: "Bitbucket",
		desc: "The Secret set on the webhook in the repository settings.",
		headers: []sigHeader{
			{name: "X-Hub-Signature", prefix: "sha256=", alg: hmacSHA256, enc: encHex},
			{name: "X-Hub-Signature", prefix: "sha1=", alg: hmacSHA1, enc: encHex, label: "SHA-1"},
		},
		fingerprint: []string{"X-Event-Key"},
		looksLike:   func(h http.Header) bool { return h.Get("X-Event-Key") != "" },
	}
	shopifySpec = simpleSpec{
		id: "shopify", name: "Shopify",
		desc:        "The app's client secret (API secret key); for admin-created webhooks, the key shown under Settings > Notifications.",
		headers:     []sigHeader{{name: "X-Shopify-Hmac-Sha256", alg: hmacSHA256, enc: encBase64}},
		fingerprint: []string{"X-Shopify-Topic"},
	}
	squareSpec = simpleSpec{
		id: "square", name: "Square",
		desc: "The subscription's Signature key in the Developer Dashboard under Webhooks.",
		headers: []sigHeader{
			{name: "X-Square-Hmacsha256-Signature", alg: hmacSHA256, enc: encBase64},
			{name: "X-Square-Signature", alg: hmacSHA1, enc: encBase64, label: "legacy x-square-signature, SHA-1"},
		},
		withURL: true,
		params:  []Param{{Name: "url", Description: "The notification URL exactly as registered on the subscription, if it differs from the URL the request arrived at."}},
	}
	linearSpec = simpleSpec{
		id: "linear", name: "Linear",
		desc:     "The webhook's signing secret, shown in Linear under Settings > API > Webhooks.",
		headers:  []sigHeader{{name: "Linear-Signature", alg: hmacSHA256, enc: encHex}},
		bodyTime: linearTime,
		// Linear's SDK rejects |now − webhookTimestamp| > 60 s.
		tol:         tolerance{d: 60 * time.Second, past: true, future: true},
		fingerprint: []string{"Linear-Delivery"},
		params:      []Param{toleranceParam("60")},
	}
	typeformSpec = simpleSpec{
		id: "typeform", name: "Typeform",
		desc: "The secret set on the form's webhook (Connect > Webhooks > Edit).",
		// base64 despite the GitHub-like prefix.
		headers: []sigHeader{{name: "Typeform-Signature", prefix: "sha256=", alg: hmacSHA256, enc: encBase64}},
	}
	intercomSpec = simpleSpec{
		id: "intercom", name: "Intercom",
		desc:    "The app's client secret in the Developer Hub (Basic information).",
		headers: []sigHeader{{name: "X-Hub-Signature", prefix: "sha1=", alg: hmacSHA1, enc: encHex}},
		// Intercom sends only the SHA-1 header and none of the others'.
		looksLike: func(h http.Header) bool {
			return h.Get("X-Hub-Signature") != "" && h.Get("X-Hub-Signature-256") == "" && !isGitHubOrBitbucket(h)
		},
	}
	vercelSpec = simpleSpec{
		id: "vercel", name: "Vercel",
		desc:    "The webhook's secret (shown once when it is created) or, for integrations, the integration's client secret.",
		headers: []sigHeader{{name: "X-Vercel-Signature", alg: hmacSHA1, enc: encHex}},
	}
	woocommerceSpec = simpleSpec{
		id: "woocommerce", name: "WooCommerce",
		desc:        "The Secret field of the webhook under WooCommerce > Settings > Advanced > Webhooks.",
		headers:     []sigHeader{{name: "X-WC-Webhook-Signature", alg: hmacSHA256, enc: encBase64}},
		fingerprint: []string{"X-WC-Webhook-Topic"},
	}
	docusignSpec = simpleSpec{
		id: "docusign", name: "DocuSign Connect",
		desc:     "A Connect HMAC key from Settings > Connect > Connect Keys, used exactly as shown (one per line when several are active).",
		headers:  []sigHeader{{name: "X-DocuSign-Signature", alg: hmacSHA256, enc: encBase64}},
		numbered: true,
	}
	dropboxSpec = simpleSpec{
		id: "dropbox", name: "Dropbox",
		desc:    "The app secret in the Dropbox App Console.",
		headers: []sigHeader{{name: "X-Dropbox-Signature", alg: hmacSHA256, enc: encHex}},
	}
	lemonsqueezySpec = simpleSpec{
		id: "lemonsqueezy", name: "Lemon Squeezy",
		desc:        "The signing secret set on the webhook under Settings > Webhooks.",
		headers:     []sigHeader{{name: "X-Signature", alg: hmacSHA256, enc: encHex}},
		fingerprint: []string{"X-Event-Name"},
	}
	razorpaySpec = simpleSpec{
		id: "razorpay", name: "Razorpay",
		desc:    "The secret set on the webhook in the Dashboard (not the API key secret).",
		headers: []sigHeader{{name: "X-Razorpay-Signature", alg: hmacSHA256, enc: encHex}},
	}
	// Meta (WhatsApp Cloud API, Messenger, Instagram): the GitHub header with
	// the app secret. https://developers.facebook.com/docs/graph-api/webhooks/getting-started
	metaSpec = simpleSpec{
		id: "meta", name: "Meta (WhatsApp, Messenger, Instagram)",
		desc:        "The App Secret under App settings > Basic in the Meta app dashboard.",
		headers:     []sigHeader{{name: "X-Hub-Signature-256", prefix: "sha256=", alg: hmacSHA256, enc: encHex}},
		fingerprint: []string{"X-Hub-Signature-256"},
		looksLike:   func(h http.Header) bool { return h.Get("X-Hub-Signature-256") != "" && !isGitHubOrBitbucket(h) },
		params:      []Param{{Name: "verify_token", Description: "The Verify Token typed into Meta's webhook settings; the subscribe handshake is answered only when it matches (any token when empty)."}},
	}
	// Asana: the secret is the X-Hook-Secret of the handshake.
	// https://developers.asana.com/docs/webhooks-guide
	asanaSpec = simpleSpec{
		id: "asana", name: "Asana",
		desc:    "The X-Hook-Secret Asana sent in the webhook's handshake (tailhook keeps it when the bin has no secret).",
		headers: []sigHeader{{name: "X-Hook-Signature", alg: hmacSHA256, enc: encHex}},
	}
	// Xero: base64 HMAC-SHA256 with the webhook key; its "intent to receive"
	// check needs a 401 for a bad signature (reject_invalid defaults on).
	// https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/
	xeroSpec = simpleSpec{
		id: "xero", name: "Xero",
		desc:    "The webhook key shown on the app's Webhooks page in the Xero developer portal.",
		headers: []sigHeader{{name: "X-Xero-Signature", alg: hmacSHA256, enc: encBase64}},
	}
	// Notion: sha256=<hex> HMAC-SHA256 keyed with the verification_token.
	// https://developers.notion.com/reference/webhooks#step-3-validating-event-payloads-recommended
	notionSpec = simpleSpec{
		id: "notion", name: "Notion",
		desc:    "The verification_token Notion sent to the endpoint when the subscription was created.",
		headers: []sigHeader{{name: "X-Notion-Signature", prefix: "sha256=", alg: hmacSHA256, enc: encHex}},
	}
	// Patreon: hex HMAC-MD5 with the webhook secret.
	// https://docs.patreon.com/#webhooks
	patreonSpec = simpleSpec{
		id: "patreon", name: "Patreon",
		desc:        "The webhook's secret on the Patreon developer portal's Webhooks page.",
		headers:     []sigHeader{{name: "X-Patreon-Signature", alg: hmacMD5, enc: encHex}},
		fingerprint: []string{"X-Patreon-Event"},
	}
	coinbaseSpec = simpleSpec{
		id: "coinbase", name: "Coinbase Commerce",
		desc:    "The shared secret under Settings > Webhook subscriptions in Coinbase Commerce.",
		headers: []sigHeader{{name: "X-CC-Webhook-Signature", alg: hmacSHA256, enc: encHex}},
	}
)

func toleranceParam(def string) Param {
	return Param{Name: "tolerance_s", Description: "Allowed timestamp drift in seconds (default " + def + "; 0 turns the check off)."}
}

func simpleScheme(sp simpleSpec) *scheme {
	s := &scheme{Provider: Provider{ID: sp.id, Name: sp.name, Description: sp.desc,
		Params: append([]Param{secretParam("Webhook secret; several secrets, one per line, during rotation.")}, sp.params...)}}
	for _, h := range sp.headers {
		if !contains(s.sigHeaders, h.name) {
			s.sigHeaders = append(s.sigHeaders, h.name)
		}
	}
	s.sigHeaders = append(s.sigHeaders, sp.fingerprint...)
	if sp.numbered {
		s.sigHeaders = []string{sp.headers[0].name + "-1"}
	}
	s.read = func(in Input, p Params) (reading, error) { return sp.readReq(in, p) }
	s.signsURL = sp.withURL
	s.looksLike = sp.looksLike
	s.sign = sp.signReq
	return s
}

// message builds the signed bytes; Verify and Sign both call it.
func (sp simpleSpec) message(url string, body []byte) []byte {
	if !sp.withURL {
		return body
	}
	return append([]byte(url), body...)
}

func (sp simpleSpec) readReq(in Input, p Params) (reading, error) {
	url := urlFor(in, p)
	if sp.withURL && url == "" {
		return reading{}, fmt.Errorf("%s signs the notification URL: set the url parameter", sp.name)
	}
	remsg := func(b []byte) []byte { return sp.message(url, b) }
	msg := remsg(in.Body)
	r := reading{tol: sp.tol}
	var names []string
	if sp.numbered {
		names = numberedHeaders(in.Header, sp.headers[0].name)
		r.header = sp.headers[0].name + "-N"
	} else {
		var hs []string
		for _, h := range sp.headers {
			if !contains(hs, h.name) {
				hs = append(hs, h.name)
			}
		}
		r.header = strings.Join(hs, ", ")
	}
	type bad struct {
		h     sigHeader
		name  string
		value string
	}
	var malformed []bad
	for _, h := range sp.headers {
		hnames := []string{h.name}
		if sp.numbered {
			hnames = names
		}
		for _, name := range hnames {
			for _, v := range in.Header.Values(name) {
				v = strings.TrimSpace(v)
				text, ok := cutPrefixFold(v, h.prefix)
				if !ok {
					malformed = append(malformed, bad{h, name, v})
					continue
				}
				label := h.label
				if sp.numbered {
					label = name
				}
				r.cands = append(r.cands, candidate{label: label, from: http.CanonicalHeaderKey(name), prefix: h.prefix, text: text,
					alg: h.alg, enc: h.enc, key: keyRaw, msg: msg, remsg: remsg})
			}
		}
	}
	if len(r.cands) == 0 {
		if len(malformed) > 0 {
			m := malformed[0]
			r.problem = fmt.Sprintf("%s is malformed: expected %s<%s>, got %q.", m.h.name, m.h.prefix, m.h.enc, truncate(m.value, 80))
		} else {
			r.problem = "the request has no " + sp.headers[0].name + " header."
			r.sigMissing = true
			if sp.numbered {
				r.problem = "the request has no " + sp.headers[0].name + "-1 header."
			}
		}
	}
	if sp.bodyTime != nil {
		r.ts = sp.bodyTime(in.Body)
	}
	return r, nil
}

func (sp simpleSpec) signReq(in Input, p Params, secret string) (http.Header, []byte, error) {
	url := urlFor(in, p)
	if sp.withURL && url == "" {
		return nil, nil, fmt.Errorf("%s signs the notification URL: set the url parameter", sp.name)
	}
	msg := sp.message(url, in.Body)
	h := http.Header{}
	done := map[string]bool{}
	for _, sh := range sp.headers {
		name := sh.name
		if sp.numbered {
			name += "-1"
		}
		if done[name] {
			continue // an alternative prefix on the same header (Bitbucket SHA-1)
		}
		done[name] = true
		h.Set(name, sh.prefix+sh.enc.encode(compute(sh.alg, []byte(secret), msg)))
	}
	return h, nil, nil
}

// numberedHeaders lists base-1, base-2, … present in h, in numeric order.
func numberedHeaders(h http.Header, base string) []string {
	prefix := http.CanonicalHeaderKey(base) + "-"
	type nh struct {
		n    int
		name string
	}
	var list []nh
	for k := range h {
		if rest, ok := strings.CutPrefix(http.CanonicalHeaderKey(k), prefix); ok {
			if n, err := strconv.Atoi(rest); err == nil && n > 0 {
				list = append(list, nh{n, k})
			}
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].n < list[j].n })
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = x.name
	}
	return out
}

// cutPrefixFold removes prefix from s, ignoring case; an empty prefix always matches.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// linearTime reads webhookTimestamp (unix milliseconds) from a Linear body.
func linearTime(body []byte) *time.Time {
	var v struct {
		WebhookTimestamp json.Number `json:"webhookTimestamp"`
	}
	if json.Unmarshal(body, &v) != nil || v.WebhookTimestamp == "" {
		return nil
	}
	ms, err := v.WebhookTimestamp.Int64()
	if err != nil {
		return nil
	}
	t := time.UnixMilli(ms)
	return &t
}

// isGitHubOrBitbucket: the event headers only those two send.
func isGitHubOrBitbucket(h http.Header) bool {
	return h.Get("X-GitHub-Event") != "" || h.Get("X-GitHub-Delivery") != "" || h.Get("X-Event-Key") != ""
}

package signature

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// hubspotURIDecoder undoes the percent-escapes HubSpot's docs list before
// signing a v3 URI (the table is unverified against a live delivery).
var hubspotURIDecoder = strings.NewReplacer(
	"%3A", ":", "%2F", "/", "%3F", "?", "%40", "@", "%21", "!", "%24", "$",
	"%27", "'", "%28", "(", "%29", ")", "%2A", "*", "%2C", ",", "%3B", ";",
)

// hubspotV3Message is method + URI + body + timestamp (ms text).
func hubspotV3Message(method, uri string, body []byte, ts string) []byte {
	b := []byte(method + hubspotURIDecoder.Replace(uri))
	b = append(b, body...)
	return append(b, ts...)
}

// hubspotV2Message is method + URI + body (the secret is prepended by sha256Prefixed).
func hubspotV2Message(method, uri string, body []byte) []byte {
	return append([]byte(method+uri), body...)
}

func hubspotScheme() *scheme {
	const (
		v3h  = "X-HubSpot-Signature-v3"
		tsh  = "X-HubSpot-Request-Timestamp"
		sigh = "X-HubSpot-Signature"
		verh = "X-HubSpot-Signature-Version"
	)
	return &scheme{
		signsURL: true,
		Provider: Provider{ID: "hubspot", Name: "HubSpot",
			Description: "The app's Client secret on the app's Auth page in the HubSpot developer account.",
			Params: []Param{
				secretParam("Client secret; several, one per line."),
				{Name: "url", Description: "The public URL HubSpot called (v2 and v3 sign it), if it differs from the URL the request arrived at."},
				toleranceParam("300, v3 only"),
			}},
		sigHeaders: []string{v3h, sigh},
		read: func(in Input, p Params) (reading, error) {
			uri := urlFor(in, p)
			method := in.Method
			if v := in.Header.Get(v3h); v != "" {
				r := reading{header: v3h + ", " + tsh,
					// HubSpot's SDKs reject timestamps older than 300 s.
					tol: tolerance{d: 300 * time.Second, past: true}}
				tsText := in.Header.Get(tsh)
				ms, err := strconv.ParseInt(strings.TrimSpace(tsText), 10, 64)
				if err != nil {
					r.problem = fmt.Sprintf("%s %q is not a unix time in milliseconds.", tsh, truncate(tsText, 40))
					return r, nil
				}
				if uri == "" {
					return r, fmt.Errorf("HubSpot v3 signs the URL: set the url parameter")
				}
				ts := time.UnixMilli(ms)
				r.ts = &ts
				remsg := func(b []byte) []byte { return hubspotV3Message(method, uri, b, tsText) }
				r.cands = []candidate{{text: strings.TrimSpace(v), alg: hmacSHA256, enc: encBase64, key: keyRaw, msg: remsg(in.Body), remsg: remsg}}
				return r, nil
			}
			v := strings.TrimSpace(in.Header.Get(sigh))
			if v == "" {
				return reading{header: v3h, problem: "the request has no " + v3h + " or " + sigh + " header.", sigMissing: true}, nil
			}
			r := reading{header: sigh + ", " + verh}
			switch ver := strings.ToLower(strings.TrimSpace(in.Header.Get(verh))); ver {
			case "", "v1":
				remsg := func(b []byte) []byte { return b }
				r.cands = []candidate{{label: "v1", text: v, alg: sha256Prefixed, enc: encHex, key: keyRaw, msg: in.Body, remsg: remsg}}
			case "v2":
				if uri == "" {
					return r, fmt.Errorf("HubSpot v2 signs the URL: set the url parameter")
				}
				remsg := func(b []byte) []byte { return hubspotV2Message(method, uri, b) }
				r.cands = []candidate{{label: "v2", text: v, alg: sha256Prefixed, enc: encHex, key: keyRaw, msg: remsg(in.Body), remsg: remsg}}
			default:
				r.problem = fmt.Sprintf("%s %q is not v1 or v2.", verh, truncate(ver, 20))
			}
			return r, nil
		},
		// Sign produces v3, the current scheme.
		sign: func(in Input, p Params, secret string) (http.Header, []byte, error) {
			uri := urlFor(in, p)
			if uri == "" {
				return nil, nil, fmt.Errorf("HubSpot v3 signs the URL: set the url parameter")
			}
			ts := strconv.FormatInt(in.Now.UnixMilli(), 10)
			h := http.Header{}
			h.Set(v3h, encBase64.encode(compute(hmacSHA256, []byte(secret), hubspotV3Message(in.Method, uri, in.Body, ts))))
			h.Set(tsh, ts)
			return h, nil, nil
		},
	}
}

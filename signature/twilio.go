package signature

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

const twilioHeader = "X-Twilio-Signature"

// twilioParams appends name+value for each POST parameter, names sorted in
// byte order; a repeated name contributes each distinct value in sorted
// order (twilio-node's rule).
func twilioParams(form url.Values) string {
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	var sb strings.Builder
	for _, k := range names {
		vals := append([]string(nil), form[k]...)
		sort.Strings(vals)
		for i, v := range vals {
			if i > 0 && vals[i-1] == v {
				continue
			}
			sb.WriteString(k)
			sb.WriteString(v)
		}
	}
	return sb.String()
}

// twilioForm reads POST parameters from a form body. Twilio signs the
// decoded values; a body that is not a form contributes nothing.
func twilioForm(in Input, body []byte) url.Values {
	if in.Method == http.MethodGet || in.Method == http.MethodHead {
		return nil
	}
	ct := in.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
		return nil
	}
	// ParseQuery keeps the pairs it could parse even when it reports an error.
	form, _ := url.ParseQuery(string(body))
	return form
}

// twilioMessage is the signed string: the URL, then the sorted parameters
// (none for JSON bodies, whose URL carries bodySHA256 instead).
func twilioMessage(rawURL string, form url.Values) []byte {
	return []byte(rawURL + twilioParams(form))
}

// twilioURLVariants returns the URL as given, then with the port removed and
// with the scheme's default port added: Twilio may have signed either form,
// and the official SDKs accept both.
func twilioURLVariants(raw string) []struct{ url, label string } {
	out := []struct{ url, label string }{{raw, ""}}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return out
	}
	host, port := u.Hostname(), u.Port()
	def := map[string]string{"https": "443", "http": "80"}[strings.ToLower(u.Scheme)]
	if port != "" {
		v := *u
		v.Host = bracket(host)
		out = append(out, struct{ url, label string }{v.String(), "URL without port :" + port})
	} else if def != "" {
		v := *u
		v.Host = net.JoinHostPort(host, def)
		out = append(out, struct{ url, label string }{v.String(), "URL with port :" + def})
	}
	return out
}

func bracket(host string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

func twilioScheme() *scheme {
	return &scheme{
		signsURL: true,
		Provider: Provider{ID: "twilio", Name: "Twilio",
			Description: "The account's Auth Token in the Twilio Console (Account Info).",
			Params: []Param{
				secretParam("Auth Token; several, one per line, while rotating to a secondary token."),
				{Name: "url", Description: "The public URL exactly as configured in Twilio, if it differs from the URL the request arrived at (proxies)."},
			}},
		sigHeaders: []string{twilioHeader},
		read: func(in Input, p Params) (reading, error) {
			r := reading{header: twilioHeader}
			raw := urlFor(in, p)
			if raw == "" {
				return r, fmt.Errorf("Twilio signs the URL: set the url parameter")
			}
			sig := strings.TrimSpace(in.Header.Get(twilioHeader))
			if sig == "" {
				r.problem, r.sigMissing = "the request has no "+twilioHeader+" header.", true
				return r, nil
			}
			u, _ := url.Parse(raw)
			bodyHash := ""
			if u != nil {
				bodyHash = u.Query().Get("bodySHA256")
			}
			for _, v := range twilioURLVariants(raw) {
				c := candidate{label: v.label, text: sig, alg: hmacSHA1, enc: encBase64, key: keyRaw}
				if bodyHash != "" {
					c.msg = twilioMessage(v.url, nil)
				} else {
					vu := v.url
					c.remsg = func(b []byte) []byte { return twilioMessage(vu, twilioForm(in, b)) }
					c.msg = c.remsg(in.Body)
				}
				r.cands = append(r.cands, c)
			}
			if bodyHash != "" {
				// JSON bodies: the signature covers the URL, and the URL's
				// bodySHA256 covers the body.
				r.post = func() string {
					d := sha256.Sum256(in.Body)
					if !strings.EqualFold(hex.EncodeToString(d[:]), bodyHash) {
						return "signature matches the URL, but the body's SHA-256 does not equal its bodySHA256 parameter: the body was changed."
					}
					return ""
				}
			}
			return r, nil
		},
		sign: func(in Input, p Params, secret string) (http.Header, []byte, error) {
			raw := urlFor(in, p)
			if raw == "" {
				return nil, nil, fmt.Errorf("Twilio signs the URL: set the url parameter")
			}
			var form url.Values
			if u, err := url.Parse(raw); err != nil || u.Query().Get("bodySHA256") == "" {
				form = twilioForm(in, in.Body)
			}
			h := http.Header{}
			h.Set(twilioHeader, encBase64.encode(compute(hmacSHA1, []byte(secret), twilioMessage(raw, form))))
			return h, nil, nil
		},
	}
}

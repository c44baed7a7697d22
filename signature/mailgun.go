package signature

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// mailgunFields are the signature fields Mailgun puts in the body.
type mailgunFields struct {
	Timestamp string `json:"timestamp"`
	Token     string `json:"token"`
	Signature string `json:"signature"`
}

// parseMailgun reads the signature fields from a JSON webhook body
// ({"signature":{…}}) or a legacy form body (top-level fields). The JSON
// timestamp may be a string or a number.
func parseMailgun(body []byte) (f mailgunFields, where string, ok bool) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var v struct {
			Signature struct {
				Timestamp json.RawMessage `json:"timestamp"`
				Token     string          `json:"token"`
				Signature string          `json:"signature"`
			} `json:"signature"`
		}
		if json.Unmarshal(trimmed, &v) != nil {
			return f, "", false
		}
		ts := string(v.Signature.Timestamp)
		if s, err := strconv.Unquote(ts); err == nil {
			ts = s
		}
		f = mailgunFields{ts, v.Signature.Token, v.Signature.Signature}
		return f, "JSON body fields signature.timestamp, signature.token, signature.signature", f.Signature != ""
	}
	form, _ := url.ParseQuery(string(body))
	f = mailgunFields{form.Get("timestamp"), form.Get("token"), form.Get("signature")}
	return f, "form fields timestamp, token, signature", f.Signature != ""
}

// mailgunMessage is timestamp + token; the body itself is not signed.
func mailgunMessage(f mailgunFields) []byte { return []byte(f.Timestamp + f.Token) }

func mailgunScheme() *scheme {
	return &scheme{
		Provider: Provider{ID: "mailgun", Name: "Mailgun",
			Description: "The HTTP webhook signing key in Mailgun under Settings > Webhooks (not the API key).",
			Params: []Param{
				secretParam("HTTP webhook signing key; several, one per line."),
				{Name: "tolerance_s", Description: "Allowed timestamp age in seconds (default: not checked; Mailgun fixes no window)."},
			}},
		read: func(in Input, _ Params) (reading, error) {
			f, where, ok := parseMailgun(in.Body)
			r := reading{header: where}
			if !ok {
				r.header = "body fields signature.timestamp, signature.token, signature.signature"
				r.problem = "the body has no Mailgun signature fields (signature.signature in JSON, or signature in a form)."
				r.sigMissing = true
				return r, nil
			}
			if ts, err := parseUnix(f.Timestamp); err == nil {
				r.ts = &ts
			}
			r.cands = []candidate{{text: strings.TrimSpace(f.Signature), alg: hmacSHA256, enc: encHex, key: keyRaw, msg: mailgunMessage(f)}}
			return r, nil
		},
		sign: mailgunSign,
	}
}

// mailgunSign fills in the signature fields of the body: the nested
// "signature" object of a JSON body, or the top-level fields of a form.
func mailgunSign(in Input, _ Params, secret string) (http.Header, []byte, error) {
	d := sha256.Sum256(append([]byte(strconv.FormatInt(in.Now.UnixNano(), 10)), in.Body...))
	f := mailgunFields{Timestamp: strconv.FormatInt(in.Now.Unix(), 10), Token: hex.EncodeToString(d[:25])}
	f.Signature = encHex.encode(compute(hmacSHA256, []byte(secret), mailgunMessage(f)))
	trimmed := bytes.TrimSpace(in.Body)
	if len(trimmed) == 0 || trimmed[0] == '{' {
		obj := map[string]json.RawMessage{}
		if len(trimmed) > 0 {
			if err := json.Unmarshal(trimmed, &obj); err != nil {
				return nil, nil, err
			}
		}
		sig, _ := json.Marshal(f)
		obj["signature"] = sig
		body, err := json.Marshal(obj)
		return http.Header{}, body, err
	}
	form, _ := url.ParseQuery(string(in.Body))
	form.Set("timestamp", f.Timestamp)
	form.Set("token", f.Token)
	form.Set("signature", f.Signature)
	return http.Header{}, []byte(form.Encode()), nil
}

package signature

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// tmplPart is a literal or a placeholder of a generic HMAC template.
type tmplPart struct {
	lit   string
	field string // body, timestamp, id, method or url; empty for a literal
}

var tmplFields = map[string]bool{"body": true, "timestamp": true, "id": true, "method": true, "url": true}

// parseTemplate splits a template such as "{timestamp}.{body}". A "{" that
// does not open a known placeholder is an error, so typos are caught
// instead of silently signed as text.
func parseTemplate(s string) ([]tmplPart, error) {
	var parts []tmplPart
	var lit strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			lit.WriteString(s)
			break
		}
		lit.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("template has an unclosed {")
		}
		name := s[i+1 : i+j]
		if !tmplFields[name] {
			return nil, fmt.Errorf("template placeholder {%s} is unknown (use {body}, {timestamp}, {id}, {method}, {url})", truncate(name, 20))
		}
		if lit.Len() > 0 {
			parts = append(parts, tmplPart{lit: lit.String()})
			lit.Reset()
		}
		parts = append(parts, tmplPart{field: name})
		s = s[i+j+1:]
	}
	if lit.Len() > 0 {
		parts = append(parts, tmplPart{lit: lit.String()})
	}
	return parts, nil
}

func expand(parts []tmplPart, vals map[string]string, body []byte) []byte {
	var b []byte
	for _, p := range parts {
		switch p.field {
		case "":
			b = append(b, p.lit...)
		case "body":
			b = append(b, body...)
		default:
			b = append(b, vals[p.field]...)
		}
	}
	return b
}

// parseGenericHeader returns the signatures in one header value. With a
// prefix, the value may list several comma- or space-separated entries
// (rotation); entries without the prefix are ignored. Without a prefix the
// whole trimmed value is the signature.
func parseGenericHeader(v, prefix string) []string {
	v = strings.TrimSpace(v)
	if prefix == "" {
		if v == "" {
			return nil
		}
		return []string{v}
	}
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' }) {
		if s, ok := cutPrefixFold(f, prefix); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// parseAnyTime reads unix seconds, unix milliseconds (13+ digits) or RFC 3339.
func parseAnyTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > 1e12 || n < -1e12 {
			return time.UnixMilli(n), nil
		}
		return time.Unix(n, 0), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("not a unix time or RFC 3339 timestamp")
}

type genericCfg struct {
	alg              algo
	enc              enc
	key              keyKind
	header, prefix   string
	tmpl             []tmplPart
	tsHeader, idName string
	// tsKey reads the timestamp from the signature header itself, as the
	// "t=…,v1=…" family writes it (Stripe-style headers from any sender).
	tsKey string
}

// tsFromHeader returns the value of key=… among the signature header's
// comma- or semicolon-separated pairs.
func tsFromHeader(v, key string) string {
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' }) {
		if k, val, ok := strings.Cut(f, "="); ok && k == key {
			return val
		}
	}
	return ""
}

func parseGeneric(p Params) (genericCfg, error) {
	c := genericCfg{header: strings.TrimSpace(p["header"]), prefix: p["prefix"],
		tsHeader: strings.TrimSpace(p["timestamp_header"]), idName: strings.TrimSpace(p["id_header"])}
	plain := false
	switch strings.ToLower(strings.TrimSpace(p["mode"])) {
	case "", "hmac":
	case "hash":
		plain = true
	default:
		return c, fmt.Errorf("mode must be hmac or hash, got %q", truncate(p["mode"], 20))
	}
	algs := map[string][2]algo{"": {hmacSHA256, plainSHA256}, "sha256": {hmacSHA256, plainSHA256},
		"sha1": {hmacSHA1, plainSHA1}, "sha512": {hmacSHA512, plainSHA512}, "md5": {hmacMD5, plainMD5}}
	a, ok := algs[strings.ToLower(strings.TrimSpace(p["algorithm"]))]
	if !ok {
		return c, fmt.Errorf("algorithm must be md5, sha1, sha256 or sha512, got %q", truncate(p["algorithm"], 20))
	}
	c.alg = a[0]
	if plain {
		c.alg = a[1]
	}
	switch strings.ToLower(strings.TrimSpace(p["key_encoding"])) {
	case "", "raw", "utf-8", "utf8":
		c.key = keyRaw
	case "hex":
		c.key = keyHex
	case "base64":
		c.key = keyB64
	default:
		return c, fmt.Errorf("key_encoding must be raw, hex or base64, got %q", truncate(p["key_encoding"], 20))
	}
	c.tsKey = strings.TrimSpace(p["timestamp_key"])
	switch strings.ToLower(strings.TrimSpace(p["encoding"])) {
	case "", "hex":
		c.enc = encHex
	case "base64":
		c.enc = encBase64
	default:
		return c, fmt.Errorf("encoding must be hex or base64, got %q", truncate(p["encoding"], 20))
	}
	if c.header == "" {
		return c, errors.New("header (the name of the signature header) is required")
	}
	t := p["template"]
	if t == "" {
		t = "{body}"
	}
	var err error
	if c.tmpl, err = parseTemplate(t); err != nil {
		return c, err
	}
	if c.tsKey != "" && c.tsHeader != "" {
		return c, errors.New("set timestamp_header or timestamp_key, not both")
	}
	for _, part := range c.tmpl {
		if part.field == "timestamp" && c.tsHeader == "" && c.tsKey == "" {
			return c, errors.New("the template uses {timestamp}: set timestamp_header (or timestamp_key for t=…,v1=… headers)")
		}
		if part.field == "id" && c.idName == "" {
			return c, errors.New("the template uses {id}: set id_header")
		}
	}
	return c, nil
}

func hmacScheme() *scheme {
	return &scheme{
		Provider: Provider{ID: "hmac", Name: "Generic HMAC",
			Description: "Any body-HMAC scheme: the shared secret from the sender's settings, plus how it builds and sends the signature.",
			Params: []Param{
				secretParam("Shared secret, used as its UTF-8 bytes; several, one per line."),
				{Name: "header", Description: "Name of the header carrying the signature.", Required: true},
				{Name: "algorithm", Description: "md5, sha1, sha256 (default) or sha512."},
				{Name: "mode", Description: "hmac (default) or hash: a plain hash of the secret followed by the message."},
				{Name: "key_encoding", Description: "How the secret becomes the key: raw (default, its UTF-8 bytes), hex or base64 (decoded)."},
				{Name: "encoding", Description: "hex (default) or base64."},
				{Name: "prefix", Description: "Text before the signature in the header, e.g. sha256= (several prefixed entries may be comma-separated)."},
				{Name: "template", Description: "Signed message, default {body}; placeholders {body} {timestamp} {id} {method} {url}."},
				{Name: "timestamp_header", Description: "Header with the timestamp (unix seconds, milliseconds or RFC 3339) for {timestamp}."},
				{Name: "timestamp_key", Description: "For t=…,v1=… headers: the key of the timestamp inside the signature header (e.g. t, with prefix v1=)."},
				{Name: "id_header", Description: "Header with the message id for {id}."},
				toleranceParam("300 when timestamp_header is set"),
			}},
		read: func(in Input, p Params) (reading, error) {
			c, err := parseGeneric(p)
			if err != nil {
				return reading{}, err
			}
			r := reading{header: c.header}
			vals := in.Header.Values(c.header)
			if len(vals) == 0 {
				r.problem, r.sigMissing = "the request has no "+c.header+" header.", true
				return r, nil
			}
			fields := map[string]string{"method": in.Method, "url": urlFor(in, p)}
			if c.tsHeader != "" || c.tsKey != "" {
				var tsText string
				if c.tsKey != "" {
					tsText = tsFromHeader(vals[0], c.tsKey)
					if tsText == "" {
						r.problem = fmt.Sprintf("%s has no %s= timestamp.", c.header, c.tsKey)
						return r, nil
					}
				} else {
					r.header += ", " + c.tsHeader
					tsText = in.Header.Get(c.tsHeader)
					if tsText == "" {
						r.problem = "the request has no " + c.tsHeader + " header."
						return r, nil
					}
				}
				fields["timestamp"] = tsText
				if ts, err := parseAnyTime(tsText); err == nil {
					r.ts = &ts
					r.tol = tolerance{d: 300 * time.Second, past: true, future: true}
				}
			}
			if c.idName != "" {
				r.header += ", " + c.idName
				fields["id"] = in.Header.Get(c.idName)
			}
			remsg := func(b []byte) []byte { return expand(c.tmpl, fields, b) }
			msg := remsg(in.Body)
			for _, v := range vals {
				for _, s := range parseGenericHeader(v, c.prefix) {
					r.cands = append(r.cands, candidate{prefix: c.prefix, text: s, alg: c.alg, enc: c.enc, key: c.key, msg: msg, remsg: remsg})
				}
			}
			if len(r.cands) == 0 {
				r.problem = fmt.Sprintf("%s has no signature starting with %q.", c.header, c.prefix)
			}
			return r, nil
		},
		sign: func(in Input, p Params, secret string) (http.Header, []byte, error) {
			c, err := parseGeneric(p)
			if err != nil {
				return nil, nil, err
			}
			h := http.Header{}
			fields := map[string]string{"method": in.Method, "url": urlFor(in, p)}
			if c.tsHeader != "" || c.tsKey != "" {
				fields["timestamp"] = strconv.FormatInt(in.Now.Unix(), 10)
				if c.tsHeader != "" {
					h.Set(c.tsHeader, fields["timestamp"])
				}
			}
			if c.idName != "" {
				fields["id"] = in.Header.Get(c.idName)
				if fields["id"] == "" {
					fields["id"] = swID(in)
				}
				h.Set(c.idName, fields["id"])
			}
			key, err := parseKey(secret, c.key)
			if err != nil {
				return nil, nil, err
			}
			sig := c.prefix + c.enc.encode(compute(c.alg, key.([]byte), expand(c.tmpl, fields, in.Body)))
			if c.tsKey != "" {
				sig = c.tsKey + "=" + fields["timestamp"] + "," + sig
			}
			h.Set(c.header, sig)
			return h, nil, nil
		},
	}
}

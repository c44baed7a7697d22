package signature

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// searchHints retries a failed verification with the usual mistakes undone
// (stray whitespace, the other whsec_ reading, a re-serialised body, the
// other encoding) and reports each one that makes the signature match.
// Every hint is the result of an actual match, so none fires by guesswork.
func searchHints(s *scheme, r reading, secrets []string, in Input) []string {
	var hints []string
	add := func(h string) {
		for _, x := range hints {
			if x == h {
				return
			}
		}
		hints = append(hints, h)
	}
	any := func(f func(c *candidate) bool) bool {
		for i := range r.cands {
			if f(&r.cands[i]) {
				return true
			}
		}
		return false
	}

	for _, sec := range secrets {
		if t := strings.TrimSpace(sec); t != sec && t != "" {
			if any(func(c *candidate) bool { return c.check(t, c.key, c.msg, c.enc).ok }) {
				add("The secret has leading or trailing whitespace; the trimmed secret matches. Remove the whitespace from the secret.")
			}
		}
		if any(func(c *candidate) bool {
			return c.alg.symmetric() && c.key == keyRaw && strings.HasPrefix(sec, "whsec_") &&
				c.check(sec, keyWhsec, c.msg, c.enc).ok
		}) {
			add("The signature matches when the whsec_ secret is base64-decoded (the Standard Webhooks/Svix way), but " + s.Name + " uses the secret string as-is: the sender signs with the wrong key handling.")
		}
		if any(func(c *candidate) bool {
			return c.alg.symmetric() && c.key == keyWhsec && c.check(sec, keyRaw, c.msg, c.enc).ok
		}) {
			add("The signature matches when the whsec_ secret is used as raw text (the Stripe way), but " + s.Name + " keys are the base64-decoded part after whsec_: the sender must decode the secret.")
		}
		if any(func(c *candidate) bool {
			return c.alg.symmetric() && c.check(sec, c.key, c.msg, c.enc.other()).ok
		}) {
			add(encodingHint(s, r))
		}
	}

	for _, bv := range bodyVariants(in.Body) {
		if any(func(c *candidate) bool {
			if c.remsg == nil {
				return false
			}
			msg := c.remsg(bv.body)
			for _, sec := range secrets {
				if c.check(sec, c.key, msg, c.enc).ok {
					return true
				}
			}
			return false
		}) {
			add(bv.hint)
		}
	}
	return hints
}

func encodingHint(s *scheme, r reading) string {
	e := r.cands[0].enc
	if s.ID == "hmac" {
		return "The signature matches when read as " + e.other().String() + ", not " + e.String() + ": set encoding=" + e.other().String() + "."
	}
	return "The signature matches when read as " + e.other().String() + ", but " + s.Name + " sends " + e.String() + ": the sender encodes the signature the wrong way."
}

type bodyVariant struct {
	body []byte
	hint string
}

// bodyVariants are the forms a body commonly takes when something between
// signing and sending re-encodes it.
func bodyVariants(body []byte) []bodyVariant {
	var out []bodyVariant
	seen := map[string]bool{string(body): true}
	add := func(b []byte, hint string) {
		if !seen[string(b)] {
			seen[string(b)] = true
			out = append(out, bodyVariant{b, hint})
		}
	}
	// Newline differences first: they are the more precise explanation when
	// a JSON body differs only by its final line ending.
	switch {
	case bytes.HasSuffix(body, []byte("\r\n")):
		add(body[:len(body)-2], "The signature matches the body without its trailing CRLF: a line ending was added between signing and sending.")
	case bytes.HasSuffix(body, []byte("\n")):
		add(body[:len(body)-1], "The signature matches the body without its trailing newline: a newline was added between signing and sending.")
	}
	add(append(append([]byte(nil), body...), '\n'), "The signature matches the body with a trailing newline: a newline was dropped between signing and sending.")
	if len(body) > 0 && json.Valid(body) {
		reser := func(form string) string {
			return "The signature matches the body re-serialised as " + form + ", not the bytes received: the sender signed a different serialisation than it sent. Sign the exact bytes you send."
		}
		var buf bytes.Buffer
		if json.Compact(&buf, body) == nil {
			c := append([]byte(nil), buf.Bytes()...)
			add(c, reser("compact JSON"))
			add(append(append([]byte(nil), c...), '\n'), reser("compact JSON with a trailing newline"))
		}
		for _, ind := range []struct{ s, name string }{{"  ", "JSON indented with 2 spaces"}, {"    ", "JSON indented with 4 spaces"}, {"\t", "JSON indented with tabs"}} {
			buf.Reset()
			if json.Indent(&buf, body, "", ind.s) == nil {
				b := append([]byte(nil), buf.Bytes()...)
				add(b, reser(ind.name))
				add(append(append([]byte(nil), b...), '\n'), reser(ind.name+" and a trailing newline"))
			}
		}
	}
	return out
}

// lookalikeHints names other providers whose signature headers are present
// when this provider's header is missing.
func lookalikeHints(s *scheme, in Input) []string {
	var hints []string
	for _, o := range schemes {
		if o == s {
			continue
		}
		for _, h := range o.sigHeaders {
			if in.Header.Get(h) != "" && !contains(s.sigHeaders, h) {
				hints = append(hints, "This looks like a "+o.Name+" delivery ("+http.CanonicalHeaderKey(h)+" is present): choose the "+o.Name+" provider.")
				break
			}
		}
		if len(hints) == 2 {
			break
		}
	}
	return hints
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func staleHint(r reading) string {
	return "The timestamp is outside the tolerance: expected when re-verifying an old capture or replaying one; otherwise check the sender's clock. Set tolerance_s to widen the window (0 turns the check off)."
}

package signature

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
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

	matches := func(sec string) bool {
		return any(func(c *candidate) bool { return c.alg.symmetric() && c.check(sec, c.key, c.msg, c.enc).ok })
	}
	for _, h := range secretFormHints(s, secrets, matches) {
		add(h)
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
	if s.ID == "stripe" && len(hints) == 0 && any(func(c *candidate) bool { return c.alg.symmetric() }) {
		add(stripeSecretsHint(in.Body))
	}
	return hints
}

// envAssign matches a secret pasted with its variable name: NAME=value.
var envAssign = regexp.MustCompile(`^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$`)

// secretFormHints finds secrets pasted in the wrong form: an API key or
// access token instead of the webhook secret, quotes or a NAME= around it,
// Stripe's whsec_ prefix dropped, one secret broken over two lines. A hint
// says so whether or not the corrected secret matches (these forms are never
// right), and says when it does.
func secretFormHints(s *scheme, secrets []string, matches func(string) bool) []string {
	var out []string
	also := func(fixed string) string {
		if fixed != "" && matches(fixed) {
			return " Corrected, the signature matches."
		}
		return ""
	}
	for _, sec := range secrets {
		t := strings.TrimSpace(sec)
		switch {
		case strings.HasPrefix(t, "sk_test_") || strings.HasPrefix(t, "sk_live_") || strings.HasPrefix(t, "rk_test_") || strings.HasPrefix(t, "rk_live_"):
			out = append(out, "The secret is a Stripe API key (sk_… or rk_…), not a webhook signing secret: use the endpoint's signing secret (whsec_…) from Developers > Webhooks, or the one `stripe listen` prints.")
		case strings.HasPrefix(t, "shpat_") || strings.HasPrefix(t, "shpca_") || strings.HasPrefix(t, "shppa_"):
			out = append(out, "The secret is a Shopify access token ("+t[:6]+"…), not the webhook secret: Shopify signs with the app's client secret (API secret key), or for admin-created webhooks with the key shown under Settings > Notifications.")
		}
		if len(t) >= 2 && (t[0] == '"' && t[len(t)-1] == '"' || t[0] == '\'' && t[len(t)-1] == '\'') {
			out = append(out, "The secret is wrapped in quotes: paste the value without them."+also(t[1:len(t)-1]))
		} else if m := envAssign.FindStringSubmatch(t); m != nil && m[2] != "" && !strings.Contains(m[1], "whsec") && strings.ToUpper(m[1]) == m[1] {
			v := strings.Trim(m[2], `"'`)
			out = append(out, "The secret starts with "+m[1]+"=: paste only the value after the =."+also(v))
		}
		if s.ID == "stripe" && t != "" && !strings.HasPrefix(t, "whsec_") && !strings.Contains(t, "=") && !strings.HasPrefix(t, "sk_") && !strings.HasPrefix(t, "rk_") {
			if matches("whsec_" + t) {
				out = append(out, "The secret lacks its whsec_ prefix: Stripe signs with the whole secret, whsec_ included. With the prefix, the signature matches.")
			} else {
				out = append(out, "Stripe signing secrets start with whsec_, and the whole string (prefix included) is the key: paste it exactly as shown.")
			}
		}
	}
	// Several lines are several secrets (rotation); one secret broken over
	// two lines reads as two wrong ones.
	for i := 0; i+1 < len(secrets); i++ {
		joined := strings.TrimSpace(secrets[i]) + strings.TrimSpace(secrets[i+1])
		if matches(joined) {
			out = append(out, fmt.Sprintf("Lines %d and %d of the secret, joined, match: the secret was broken over two lines. Paste it on one line (each line is tried as a separate secret).", i+1, i+2))
		}
	}
	return out
}

// stripeSecretsHint: the usual reason a Stripe secret does not match at all.
func stripeSecretsHint(body []byte) string {
	mode := ""
	var v struct {
		Livemode *bool `json:"livemode"`
	}
	if json.Unmarshal(body, &v) == nil && v.Livemode != nil {
		if *v.Livemode {
			mode = " This event is from live mode (\"livemode\": true)."
		} else {
			mode = " This event is from test mode (\"livemode\": false)."
		}
	}
	return "Stripe gives every endpoint its own signing secret, and test mode, live mode and each `stripe listen` session have different ones: use the secret of the endpoint (and mode) that sent this event." + mode
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
			// Python's json.dumps default separators are ", " and ": ".
			py := pythonSpacing(c)
			add(py, reser(`Python's json.dumps default (", " and ": " separators)`))
			add(append(append([]byte(nil), py...), '\n'), reser(`Python's json.dumps default with a trailing newline`))
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
				if o.looksLike != nil && !o.looksLike(in.Header) {
					break // a shared header alone does not make it this provider's
				}
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

// pythonSpacing turns compact JSON into Python's json.dumps default form: a
// space after every "," and ":" outside strings.
func pythonSpacing(compact []byte) []byte {
	out := make([]byte, 0, len(compact)+len(compact)/8)
	inStr, esc := false, false
	for _, b := range compact {
		out = append(out, b)
		switch {
		case esc:
			esc = false
		case inStr && b == '\\':
			esc = true
		case b == '"':
			inStr = !inStr
		case !inStr && (b == ',' || b == ':'):
			out = append(out, ' ')
		}
	}
	return out
}

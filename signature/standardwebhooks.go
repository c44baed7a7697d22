package signature

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// swTolerance: the reference libraries reject |now − ts| > 300 s.
var swTolerance = tolerance{d: 300 * time.Second, past: true, future: true}

// swEntry is one "version,signature" item of a webhook-signature list.
type swEntry struct{ version, sig string }

// parseSWSignatures splits a space-separated webhook-signature list.
// Malformed entries are dropped; unknown versions are kept for the caller
// to ignore.
func parseSWSignatures(v string) []swEntry {
	var out []swEntry
	for _, f := range strings.Fields(v) {
		ver, sig, ok := strings.Cut(f, ",")
		if !ok || ver == "" || sig == "" {
			continue
		}
		out = append(out, swEntry{ver, sig})
	}
	return out
}

// swMessage is id + "." + ts + "." + body, shared by Verify and Sign.
func swMessage(id, ts string, body []byte) []byte {
	return append([]byte(id+"."+ts+"."), body...)
}

// swPrefixes lists the header families to read, in order: Svix's libraries
// try svix-* first and fall back to webhook-*.
func swRead(in Input, prefixes []string) reading {
	var r reading
	r.tol = swTolerance
	// With none present, name the family the scheme expects first.
	prefix := prefixes[0]
	for _, p := range prefixes {
		if in.Header.Get(p+"signature") != "" {
			prefix = p
			break
		}
	}
	id, tsText, sig := in.Header.Get(prefix+"id"), in.Header.Get(prefix+"timestamp"), in.Header.Get(prefix+"signature")
	r.header = prefix + "id, " + prefix + "timestamp, " + prefix + "signature"
	switch {
	case sig == "":
		r.problem, r.sigMissing = "the request has no "+prefix+"signature header.", true
		if len(prefixes) > 1 {
			r.problem = "the request has no " + prefix + "signature header (nor " + prefixes[len(prefixes)-1] + "signature)."
		}
		return r
	case id == "":
		r.problem = "the request has no " + prefix + "id header (it is part of the signed message)."
		return r
	case tsText == "":
		r.problem = "the request has no " + prefix + "timestamp header (it is part of the signed message)."
		return r
	}
	ts, err := parseUnix(tsText)
	if err != nil {
		r.problem = fmt.Sprintf("%stimestamp %q is not a unix timestamp.", prefix, truncate(tsText, 40))
		return r
	}
	r.ts = &ts
	remsg := func(b []byte) []byte { return swMessage(id, tsText, b) }
	msg := remsg(in.Body)
	for _, e := range parseSWSignatures(sig) {
		switch e.version {
		case "v1":
			r.cands = append(r.cands, candidate{prefix: "v1,", text: e.sig, alg: hmacSHA256, enc: encBase64, key: keyWhsec, msg: msg, remsg: remsg})
		case "v1a":
			r.cands = append(r.cands, candidate{label: "v1a, Ed25519", prefix: "v1a,", text: e.sig, alg: ed25519Sig, enc: encBase64, key: keyWhpk, msg: msg, remsg: remsg})
		}
	}
	if len(r.cands) == 0 {
		r.problem = prefix + "signature has no v1 or v1a entry."
	}
	return r
}

// swID derives a stable message id from the signed content, so that Sign
// stays a pure function.
func swID(in Input) string {
	d := sha256.Sum256(append([]byte(strconv.FormatInt(in.Now.UnixNano(), 10)), in.Body...))
	return "msg_" + hex.EncodeToString(d[:12])
}

// swSign sets prefix-id/timestamp/signature. A whsec_ (or bare base64)
// secret gives a v1 HMAC; a whsk_ private key (secret or private_key) gives
// v1a. A whpk_ public key alone cannot sign.
func swSign(in Input, p Params, secret, prefix string) (http.Header, error) {
	id := in.Header.Get(prefix + "id")
	if id == "" {
		id = swID(in)
	}
	ts := strconv.FormatInt(in.Now.Unix(), 10)
	msg := swMessage(id, ts, in.Body)
	var sig string
	switch {
	case strings.HasPrefix(secret, "whsk_") || (p["private_key"] != "" && !strings.HasPrefix(secret, "whsec_")):
		k := secret
		if !strings.HasPrefix(k, "whsk_") {
			k = p["private_key"]
		}
		priv, err := parseEdPrivate(strings.TrimPrefix(k, "whsk_"), true)
		if err != nil {
			return nil, err
		}
		sig = "v1a," + encBase64.encode(ed25519.Sign(priv, msg))
	case strings.HasPrefix(secret, "whpk_"):
		return nil, fmt.Errorf("%w: signing a v1a signature needs the whsk_ private key (private_key), not the whpk_ public key", ErrInvalidParams)
	default:
		key, err := parseKey(secret, keyWhsec)
		if err != nil {
			return nil, err
		}
		sig = "v1," + encBase64.encode(compute(hmacSHA256, key.([]byte), msg))
	}
	h := http.Header{}
	h.Set(prefix+"id", id)
	h.Set(prefix+"timestamp", ts)
	h.Set(prefix+"signature", sig)
	return h, nil
}

func validateSWSecrets(secrets []string) error {
	for _, s := range secrets {
		switch {
		case strings.HasPrefix(s, "whpk_"):
			if _, err := parseKey(s, keyWhpk); err != nil {
				return err
			}
		case strings.HasPrefix(s, "whsk_"):
			return errors.New("verification needs the whpk_ public key; the whsk_ private key is only for signing (private_key)")
		default:
			if _, err := parseKey(strings.TrimSpace(s), keyWhsec); err != nil {
				return err
			}
		}
	}
	return nil
}

func standardWebhooksScheme(id string) *scheme {
	s := &scheme{read: func(in Input, _ Params) (reading, error) { return swRead(in, []string{"webhook-"}), nil }}
	prefix := "webhook-"
	if id == "svix" {
		prefix = "svix-"
		s.Provider = Provider{ID: id, Name: "Svix",
			Description: "The endpoint's Signing Secret (whsec_…) in the Svix app portal; also Resend, Clerk and other Svix-powered senders.",
		}
		s.sigHeaders = []string{"svix-signature"}
		s.read = func(in Input, _ Params) (reading, error) { return swRead(in, []string{"svix-", "webhook-"}), nil }
	} else {
		s.Provider = Provider{ID: id, Name: "Standard Webhooks",
			Description: "The endpoint's signing secret (whsec_…, base64 after the prefix) or, for v1a, its whpk_ public key, from the sender's settings.",
		}
		s.sigHeaders = []string{"webhook-signature"}
	}
	s.Params = []Param{
		secretParam("whsec_… secret (or whpk_… public key for v1a); several, one per line, during rotation."),
		toleranceParam("300"),
		{Name: "private_key", Description: "whsk_… Ed25519 private key, only to sign v1a samples."},
	}
	s.validate = func(_ Params, secrets []string) error { return validateSWSecrets(secrets) }
	s.sign = func(in Input, p Params, secret string) (http.Header, []byte, error) {
		h, err := swSign(in, p, secret, prefix)
		return h, nil, err
	}
	return s
}

// gitlabScheme checks the classic X-Gitlab-Token and, when the secret is a
// whsec_ signing token, the Standard Webhooks headers GitLab adds.
func gitlabScheme() *scheme {
	const tokenHeader = "X-Gitlab-Token"
	return &scheme{
		Provider: Provider{ID: "gitlab", Name: "GitLab",
			Description: "The webhook's Secret token (sent verbatim in X-Gitlab-Token) or its signing token (whsec_…), in the project's Settings > Webhooks.",
			Params: []Param{
				secretParam("Secret token, or a whsec_ signing token; one per line to accept several."),
				toleranceParam("300, signing token only"),
			}},
		sigHeaders: []string{tokenHeader, "X-Gitlab-Event"},
		read: func(in Input, _ Params) (reading, error) {
			tok := in.Header.Get(tokenHeader)
			sw := swRead(in, []string{"webhook-"})
			if tok == "" && sw.sigMissing {
				return reading{header: tokenHeader, problem: "the request has neither an " + tokenHeader + " header nor a webhook-signature header.", sigMissing: true}, nil
			}
			r := sw
			if sw.problem != "" {
				r = reading{}
			}
			if tok != "" {
				r.cands = append([]candidate{{text: tok, alg: tokenEqual, key: keyToken}}, r.cands...)
				if r.header == "" {
					r.header = tokenHeader
				} else {
					r.header = tokenHeader + "; " + r.header
				}
				if sw.sigMissing {
					r.ts = nil
				}
			}
			if len(r.cands) > 0 {
				r.problem = ""
			}
			for i := range r.cands {
				if r.cands[i].alg != tokenEqual && tok != "" {
					r.cands[i].label = "signing token"
				}
			}
			return r, nil
		},
		sign: func(in Input, p Params, secret string) (http.Header, []byte, error) {
			if strings.HasPrefix(secret, "whsec_") {
				h, err := swSign(in, p, secret, "webhook-")
				return h, nil, err
			}
			h := http.Header{}
			h.Set(tokenHeader, secret)
			return h, nil, nil
		},
	}
}

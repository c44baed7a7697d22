package signature

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// algo is how a signature is computed from key and message.
type algo int

const (
	hmacSHA1 algo = iota + 1
	hmacSHA256
	hmacSHA512
	// sha256Prefixed is SHA-256(secret || message): HubSpot v1/v2 put the
	// secret inside the hash input instead of using HMAC.
	sha256Prefixed
	ed25519Sig
	// ecdsaP256 verifies an ASN.1 signature over SHA-256(message).
	ecdsaP256
	// tokenEqual: the header carries the secret itself (GitLab).
	tokenEqual
	// hmacMD5: Patreon.
	hmacMD5
	// plainSHA256 / plainSHA1 / plainMD5: hash(secret + message), the generic
	// hmac's plain-hash modes.
	plainSHA256
	plainSHA1
	plainMD5
	plainSHA512
)

func (a algo) String() string {
	switch a {
	case hmacSHA1:
		return "HMAC-SHA1"
	case hmacSHA256:
		return "HMAC-SHA256"
	case hmacSHA512:
		return "HMAC-SHA512"
	case sha256Prefixed:
		return "SHA-256 of secret+message"
	case ed25519Sig:
		return "Ed25519"
	case ecdsaP256:
		return "ECDSA P-256"
	case tokenEqual:
		return "token"
	case hmacMD5:
		return "HMAC-MD5"
	case plainSHA256:
		return "SHA-256 of secret+message"
	case plainSHA1:
		return "SHA-1 of secret+message"
	case plainMD5:
		return "MD5 of secret+message"
	case plainSHA512:
		return "SHA-512 of secret+message"
	}
	return "unknown"
}

func (a algo) symmetric() bool {
	switch a {
	case hmacSHA1, hmacSHA256, hmacSHA512, sha256Prefixed, hmacMD5, plainSHA256, plainSHA1, plainMD5, plainSHA512:
		return true
	}
	return false
}

// enc is how a signature is written in the request.
type enc int

const (
	encHex enc = iota + 1
	encBase64
)

func (e enc) String() string {
	if e == encBase64 {
		return "base64"
	}
	return "hex"
}

func (e enc) other() enc {
	if e == encBase64 {
		return encHex
	}
	return encBase64
}

func (e enc) encode(b []byte) string {
	if e == encBase64 {
		return base64.StdEncoding.EncodeToString(b)
	}
	return hex.EncodeToString(b)
}

// decode accepts upper- or lower-case hex, and padded or unpadded base64.
func (e enc) decode(s string) ([]byte, error) {
	if e == encBase64 {
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			return b, nil
		}
		return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	return hex.DecodeString(s)
}

// keyKind is how the secret string becomes key material.
type keyKind int

const (
	keyRaw   keyKind = iota + 1 // UTF-8 bytes of the secret as shown
	keyWhsec                    // base64 after an optional whsec_ prefix
	keyEdHex                    // Ed25519 public key, 64 hex chars (Discord)
	keyWhpk                     // Ed25519 public key whpk_<base64>
	keyECDSA                    // P-256 public key, base64 DER SPKI or PEM
	keyToken                    // compared as a string, never used as a key
	keyHex                      // hex-decoded bytes (Adyen's HMAC key)
	keyB64                      // base64-decoded bytes (generic hmac)
	keySHA1                     // SHA-1 of the secret string (Braintree)
	keyEdB64                    // Ed25519 public key, base64 of 32 bytes (Telnyx)
)

// tolerance is a timestamp window: d is the allowed drift; past and future
// say which directions are enforced (Stripe only rejects too-old).
type tolerance struct {
	d            time.Duration
	past, future bool
}

// candidate is one received signature and how to recompute it.
type candidate struct {
	label  string // names a non-default form (legacy header, variant) in Details.Variant
	from   string // the header the signature was read from, when a scheme reads several
	prefix string // printed before the encoded value in the header, e.g. "sha256="
	text   string // the encoded value as received, prefix removed
	alg    algo
	enc    enc
	key    keyKind
	msg    []byte // exact bytes signed
	// remsg rebuilds msg for another body; nil when the body is not signed.
	remsg func(body []byte) []byte
}

// reading is what a scheme extracted from a request.
type reading struct {
	header string // the header(s) read, for Details.Header
	// problem, when set, explains why no signature could be read (missing or
	// malformed header); sigMissing says it was missing altogether.
	problem    string
	sigMissing bool
	cands      []candidate
	ts         *time.Time
	tol        tolerance
	// post runs after a signature matched, for checks beyond the MAC (Twilio's
	// bodySHA256); a non-empty result makes the verdict invalid.
	post func() string
	// notes are hints the reading itself found (a malformed timestamp that
	// is part of the signed message), given when the signature fails.
	notes []string
}

// sigHeaderName names where the signature itself was read, for reasons:
// the headers the candidates came from, else the first header the scheme
// reads (the others, such as a timestamp header, are not the signature).
func sigHeaderName(r reading) string {
	var names []string
	for _, c := range r.cands {
		if c.from != "" && !contains(names, c.from) {
			names = append(names, c.from)
		}
	}
	if len(names) > 0 {
		return strings.Join(names, ", ")
	}
	h := r.header
	if i := strings.Index(h, "; "); i >= 0 {
		h = h[:i]
	}
	if i := strings.Index(h, ", "); i >= 0 {
		h = h[:i]
	}
	return h
}

// parseKey turns a secret into key material for kind k.
func parseKey(secret string, k keyKind) (any, error) {
	switch k {
	case keyRaw, keyToken:
		return []byte(secret), nil
	case keyWhsec:
		if strings.HasPrefix(secret, "whpk_") || strings.HasPrefix(secret, "whsk_") {
			return nil, errors.New("an Ed25519 key cannot check an HMAC (v1) signature")
		}
		return decodeB64Key(strings.TrimPrefix(secret, "whsec_"))
	case keyEdHex:
		b, err := hex.DecodeString(strings.TrimSpace(secret))
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, errors.New("the public key must be 64 hex characters (32 bytes)")
		}
		return ed25519.PublicKey(b), nil
	case keyWhpk:
		if !strings.HasPrefix(secret, "whpk_") {
			return nil, errors.New("a v1a signature needs a whpk_ public key")
		}
		b, err := decodeB64Key(strings.TrimPrefix(secret, "whpk_"))
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, errors.New("the whpk_ key must be base64 of 32 bytes")
		}
		return ed25519.PublicKey(b), nil
	case keyECDSA:
		return parseECPublic(secret)
	case keyHex:
		b, err := hex.DecodeString(strings.TrimSpace(secret))
		if err != nil || len(b) == 0 {
			return nil, errors.New("the key must be hexadecimal")
		}
		return b, nil
	case keyB64:
		b, err := decodeB64Key(strings.TrimSpace(secret))
		if err != nil || len(b) == 0 {
			return nil, errors.New("the key must be base64")
		}
		return b, nil
	case keySHA1:
		d := sha1.Sum([]byte(secret))
		return d[:], nil
	case keyEdB64:
		b, err := decodeB64Key(strings.TrimSpace(secret))
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, errors.New("the public key must be base64 of 32 bytes")
		}
		return ed25519.PublicKey(b), nil
	}
	return nil, errors.New("unsupported key")
}

func decodeB64Key(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, errors.New("the secret is not valid base64 after whsec_")
	}
	return b, nil
}

func newHash(a algo) func() hash.Hash {
	switch a {
	case hmacSHA1:
		return sha1.New
	case hmacSHA512, plainSHA512:
		return sha512.New
	case hmacMD5, plainMD5:
		return md5.New
	case plainSHA1:
		return sha1.New
	}
	return sha256.New
}

// compute returns the symmetric signature of msg under key.
func compute(a algo, key, msg []byte) []byte {
	if a == sha256Prefixed || a == plainSHA256 || a == plainSHA1 || a == plainMD5 || a == plainSHA512 {
		h := newHash(a)()
		h.Write(key)
		h.Write(msg)
		return h.Sum(nil)
	}
	m := hmac.New(newHash(a), key)
	m.Write(msg)
	return m.Sum(nil)
}

// outcome of checking one candidate with one secret.
type outcome struct {
	ok       bool
	expected string // encoded as sent, with prefix; empty for asymmetric/tokens
	keyErr   error  // the secret cannot be used for this candidate
}

// check verifies c with secret, reading the secret as kind k, the message as
// msg and the received value with encoding e (the hint search varies them).
func (c *candidate) check(secret string, k keyKind, msg []byte, e enc) outcome {
	key, err := parseKey(secret, k)
	if err != nil {
		return outcome{keyErr: err}
	}
	switch c.alg {
	case tokenEqual:
		// Constant time over the contents; the length is not secret.
		return outcome{ok: subtle.ConstantTimeCompare(key.([]byte), []byte(c.text)) == 1}
	case ed25519Sig:
		sig, err := e.decode(c.text)
		if err != nil || len(sig) != ed25519.SignatureSize {
			return outcome{}
		}
		return outcome{ok: ed25519.Verify(key.(ed25519.PublicKey), msg, sig)}
	case ecdsaP256:
		sig, err := e.decode(c.text)
		if err != nil {
			return outcome{}
		}
		d := sha256.Sum256(msg)
		return outcome{ok: ecdsa.VerifyASN1(key.(*ecdsa.PublicKey), d[:], sig)}
	}
	mac := compute(c.alg, key.([]byte), msg)
	o := outcome{expected: c.prefix + c.enc.encode(mac)}
	sig, err := e.decode(c.text)
	if err != nil || len(sig) != len(mac) {
		return o
	}
	o.ok = hmac.Equal(sig, mac)
	return o
}

// evaluate runs the candidates of r against every secret and builds the verdict.
func evaluate(s *scheme, r reading, secrets []string, in Input) (Verdict, error) {
	v := Verdict{Provider: s.ID}
	v.Details.Header = r.header
	if r.problem != "" {
		v.Reason = r.problem
		// Missing or malformed: often the request is another provider's.
		v.Details.Hints = lookalikeHints(s, in)
		return v, nil
	}
	if len(r.cands) == 0 {
		v.Reason = "no signature was found in " + r.header + "."
		return v, nil
	}
	v.Details.SignedPreview = preview(r.cands[0].msg)
	recv := make([]string, 0, len(r.cands))
	seen := map[string]bool{}
	for _, c := range r.cands {
		t := c.prefix + c.text
		if c.alg == tokenEqual {
			t = mask(c.text)
		}
		if !seen[t] {
			seen[t] = true
			recv = append(recv, t)
		}
	}
	v.Details.Received = strings.Join(recv, " ")

	tried := false
	var keyErr error
	var matched *candidate
	for si, sec := range secrets {
		for i := range r.cands {
			c := &r.cands[i]
			o := c.check(sec, c.key, c.msg, c.enc)
			if o.keyErr != nil {
				if keyErr == nil {
					keyErr = o.keyErr
				}
				continue
			}
			tried = true
			if v.Details.Expected == "" && o.expected != "" {
				v.Details.Expected = o.expected
			}
			if o.ok {
				matched = c
				v.Details.MatchedSecret = si + 1
				v.Details.Expected = o.expected
				v.Details.Received = c.prefix + c.text
				if c.alg == tokenEqual {
					v.Details.Received = mask(c.text)
				}
				v.Details.Variant = c.label
				v.Details.SignedPreview = preview(c.msg)
				break
			}
		}
		if matched != nil {
			break
		}
	}
	if !tried {
		if keyErr != nil {
			v.Reason = "none of the signatures in " + sigHeaderName(r) + " can be checked with the configured secret: " + keyErr.Error() + "."
		} else {
			v.Reason = "no usable signature was found in " + sigHeaderName(r) + "."
		}
		v.Details.Hints = searchHints(s, r, secrets, in)
		return v, nil
	}

	stale := judgeTimestamp(&v, r, in.Now)
	switch {
	case matched != nil && stale != "":
		v.Reason = "signature matches, but " + stale + "."
		v.Details.Hints = append(v.Details.Hints, staleHint(r))
	case matched != nil && r.post != nil && r.post() != "":
		v.Reason = r.post()
	case matched != nil:
		v.Valid = true
		v.Reason = "signature matches"
		if matched.label != "" {
			v.Reason += " (" + matched.label + ")"
		}
		if len(secrets) > 1 {
			v.Reason += fmt.Sprintf(" with secret #%d", v.Details.MatchedSecret)
		}
		v.Reason += "."
	default:
		v.Reason = mismatchReason(r)
		v.Details.Hints = append(searchHints(s, r, secrets, in), r.notes...)
		if stale != "" {
			v.Details.Hints = append(v.Details.Hints, staleHint(r))
		}
	}
	return v, nil
}

func mismatchReason(r reading) string {
	c := r.cands[0]
	where := sigHeaderName(r)
	switch c.alg {
	case tokenEqual:
		return "the token in " + where + " does not equal the configured secret."
	case ed25519Sig, ecdsaP256:
		return "the " + c.alg.String() + " signature in " + where + " does not verify with the configured public key over the received body."
	}
	what := "the " + c.alg.String() + " of the signed message with the configured secret"
	// Count what was received, not the forms tried: Twilio checks one
	// signature against several URL variants.
	seen := map[string]bool{}
	for _, c := range r.cands {
		seen[c.from+"\x00"+c.prefix+c.text] = true
	}
	if n := len(seen); n > 1 {
		return fmt.Sprintf("none of the %d signatures in %s matches %s.", n, where, what)
	}
	return "the signature in " + where + " does not match " + what + "."
}

// judgeTimestamp fills the timestamp details and returns a description of
// the problem when the timestamp is outside the tolerance.
func judgeTimestamp(v *Verdict, r reading, now time.Time) string {
	if r.ts == nil {
		return ""
	}
	ts := r.ts.UTC()
	v.Details.Timestamp = &ts
	drift := now.Sub(*r.ts)
	ds := drift.Seconds()
	v.Details.DriftSeconds = &ds
	if r.tol.d <= 0 || (!r.tol.past && !r.tol.future) {
		return ""
	}
	tl := r.tol.d.Seconds()
	v.Details.ToleranceSeconds = &tl
	if r.tol.past && drift > r.tol.d {
		return "the timestamp is " + human(drift) + " older than the capture (tolerance " + human(r.tol.d) + ")"
	}
	if r.tol.future && -drift > r.tol.d {
		return "the timestamp is " + human(-drift) + " newer than the capture (tolerance " + human(r.tol.d) + ")"
	}
	return ""
}

// human writes a duration the way a person would say it.
func human(d time.Duration) string {
	s := math.Abs(d.Seconds())
	unit := func(n float64, one string) string {
		k := int64(math.Round(n))
		if k == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", k, one)
	}
	switch {
	case s < 90:
		return unit(s, "second")
	case s < 3600:
		return unit(s/60, "minute")
	case s < 48*3600:
		return unit(s/3600, "hour")
	}
	return unit(s/86400, "day")
}

const previewMax = 400

// preview escapes non-printable bytes of b and truncates it, noting the
// total length, so a user sees exactly what was signed.
func preview(b []byte) string {
	cut := b
	if len(cut) > previewMax {
		cut = cut[:previewMax]
	}
	var sb strings.Builder
	for len(cut) > 0 {
		r, n := utf8.DecodeRune(cut)
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&sb, `\x%02x`, cut[0])
		case r == '\\':
			sb.WriteString(`\\`)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&sb, `\x%02x`, r)
		case !unicode.IsPrint(r) && r != ' ':
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			sb.WriteRune(r)
		}
		cut = cut[n:]
	}
	if len(b) > previewMax {
		fmt.Fprintf(&sb, "… (truncated, %d bytes in total)", len(b))
	}
	return sb.String()
}

// mask hides a token, keeping enough for a user to recognise it.
func mask(s string) string {
	if len(s) <= 4 {
		return strings.Repeat("•", len(s))
	}
	return s[:2] + strings.Repeat("•", 6) + fmt.Sprintf(" (%d characters)", len(s))
}

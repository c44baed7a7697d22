// Package signature checks webhook signatures for the providers tailhook
// knows, and produces them (Sign, Sample) for sample events and re-signed
// forwards.
//
// Everything here is a pure function of its arguments: no I/O, no clock, no
// globals that change. A verdict depends only on the captured request
// (Input), the user's settings (Params) and the capture's received_at
// (Input.Now), so re-verifying an old capture gives the same answer.
//
// Secrets: Params["secret"] may hold several secrets, one per line (for key
// rotation). Each line is used exactly as written, spaces included; empty
// lines are skipped. When a secret only matches once trimmed, the verdict
// stays invalid and a hint says so.
package signature

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrUnknownProvider is returned (wrapped) by Verify, Sign and Sample for a
// provider id that is not in Providers().
var ErrUnknownProvider = errors.New("unknown signature provider")

// ErrInvalidParams is returned (wrapped) when the parameters cannot be used:
// a missing secret, an unknown algorithm, a malformed public key, …
var ErrInvalidParams = errors.New("invalid signature parameters")

// Input is everything a verdict depends on; verification is a pure function of it.
type Input struct {
	// Method is the HTTP method (HubSpot signs it; Twilio reads POST parameters).
	Method string
	// URL is the public URL as the sender saw it: scheme://host[:port]/path?query.
	// Twilio, Square and HubSpot sign it.
	URL string
	// Header holds all values, canonical names.
	Header http.Header
	// Body is the raw bytes as received.
	Body []byte
	// Now is the capture's received_at: timestamps are judged against it.
	Now time.Time
}

// Params are the user's settings for a provider. Common keys: "secret" (one
// per line when several are valid), "tolerance_s" (seconds; 0 turns the
// timestamp check off), "url" (overrides Input.URL for providers that sign
// the URL), "private_key" (asymmetric providers, Sign only). Each provider's
// full list is in its Provider.Params.
type Params map[string]string

// Verdict is the outcome of Verify.
type Verdict struct {
	// Provider is the provider id the request was checked against.
	Provider string `json:"provider"`
	// Valid is true only when the signature matches and its timestamp (if
	// any) is within the tolerance.
	Valid bool `json:"valid"`
	// Reason is one sentence a user understands.
	Reason string `json:"reason"`
	// Details explains the verdict.
	Details Details `json:"details"`
}

// Details explains a verdict: what was read, what was signed, what was
// expected, and hints for the usual mistakes.
type Details struct {
	// Header names the header(s) (or body fields) the signature was read from.
	Header string `json:"header,omitempty"`
	// SignedPreview shows the exact bytes that are signed, non-printables
	// escaped, truncated with a note of the total length.
	SignedPreview string `json:"signed_preview,omitempty"`
	// Expected is the signature computed with the (first) secret, encoded as
	// the provider encodes it. Empty for asymmetric schemes and tokens.
	Expected string `json:"expected,omitempty"`
	// Received is the signature(s) found in the request.
	Received string `json:"received,omitempty"`
	// Variant names the alternative form that matched (a legacy header, a URL
	// port variant, Zendesk's alternate order, …), empty for the main form.
	Variant string `json:"variant,omitempty"`
	// Timestamp is the signed timestamp, when the scheme has one.
	Timestamp *time.Time `json:"timestamp,omitempty"`
	// DriftSeconds is Now minus Timestamp: positive when the timestamp is older
	// than the capture.
	DriftSeconds *float64 `json:"drift_seconds,omitempty"`
	// ToleranceSeconds is the allowed drift, when it was checked.
	ToleranceSeconds *float64 `json:"tolerance_seconds,omitempty"`
	// MatchedSecret is the 1-based line of the secret that matched, 0 if none.
	MatchedSecret int `json:"matched_secret,omitempty"`
	// Hints lists likely mistakes detected by trying the usual variants.
	Hints []string `json:"hints,omitempty"`
}

// Provider describes one signature scheme for GET /api/providers.
type Provider struct {
	// ID is the stable identifier used in the API, e.g. "stripe".
	ID string `json:"id"`
	// Name is the display name, e.g. "Stripe".
	Name string `json:"name"`
	// Description says in one line where the secret is found.
	Description string `json:"description"`
	// Params lists the settings the provider takes, "secret" first.
	Params []Param `json:"params"`
}

// Param is one setting a provider takes.
type Param struct {
	// Name is the key in Params.
	Name string `json:"name"`
	// Description says what to put there.
	Description string `json:"description"`
	// Required parameters must be set for Verify to work.
	Required bool `json:"required"`
}

// scheme is a provider's implementation. read turns a request into the
// signatures to check; sign produces what the provider would send. Both use
// the same message builders, so Sign is the inverse of Verify by
// construction.
type scheme struct {
	Provider
	// sigHeaders identify a delivery of this provider; used for the "this
	// looks like a … delivery" hint.
	sigHeaders []string
	// validate rejects parameters that can never work (bad key format).
	validate func(p Params, secrets []string) error
	read     func(in Input, p Params) (reading, error)
	sign     func(in Input, p Params, secret string) (http.Header, []byte, error)
	// custom replaces the engine for schemes that are not signatures (Postmark).
	custom func(in Input, p Params) (Verdict, error)
	// noSecret: Sign works without "secret" (asymmetric schemes sign with private_key).
	noSecret bool
	// keyURL names the certificate or key set to fetch (see KeyURL).
	keyURL func(in Input) (string, error)
	// looksLike tells a delivery of this provider by more than one shared
	// header (X-Hub-Signature is GitHub's, Bitbucket's, Meta's and
	// Intercom's); nil: any of sigHeaders present.
	looksLike func(h http.Header) bool
	// signsURL: the signed message includes the URL the sender called.
	signsURL bool
}

var (
	schemes []*scheme
	byID    map[string]*scheme
)

// register is called from init so that scheme functions may refer to the
// registry (the look-alike hint) without an initialisation cycle.
func register(list ...*scheme) {
	schemes = list
	byID = make(map[string]*scheme, len(list))
	for _, s := range list {
		byID[s.ID] = s
	}
}

func init() {
	register(
		stripeScheme(),
		simpleScheme(githubSpec),
		gitlabScheme(),
		simpleScheme(bitbucketSpec),
		simpleScheme(shopifySpec),
		slackScheme(),
		standardWebhooksScheme("standard-webhooks"),
		standardWebhooksScheme("svix"),
		twilioScheme(),
		simpleScheme(squareSpec),
		paddleScheme(),
		discordScheme(),
		simpleScheme(linearSpec),
		simpleScheme(typeformSpec),
		zoomScheme(),
		simpleScheme(intercomSpec),
		mailgunScheme(),
		sendgridScheme(),
		twitchScheme(),
		hubspotScheme(),
		pagerdutyScheme(),
		zendeskScheme(),
		muxScheme(),
		simpleScheme(vercelSpec),
		simpleScheme(woocommerceSpec),
		calendlyScheme(),
		simpleScheme(docusignSpec),
		simpleScheme(dropboxSpec),
		postmarkScheme(),
		simpleScheme(lemonsqueezySpec),
		simpleScheme(razorpaySpec),
		simpleScheme(coinbaseSpec),
		hmacScheme(),
		simpleScheme(metaSpec),
		simpleScheme(asanaSpec),
		tokenScheme(oktaSpec),
		msgraphScheme(),
		simpleScheme(xeroSpec),
		tokenScheme(telegramSpec),
		simpleScheme(notionSpec),
		simpleScheme(patreonSpec),
		svixAlias("clerk", "Clerk", "The endpoint's Signing Secret (whsec_…) in the Clerk Dashboard under Webhooks; Clerk delivers through Svix."),
		svixAlias("resend", "Resend", "The webhook's Signing Secret (whsec_…) in the Resend dashboard under Webhooks; Resend delivers through Svix."),
		workosScheme(),
		telnyxScheme(),
		mandrillScheme(),
		braintreeScheme(),
		adyenScheme(),
		paypalScheme(),
		snsScheme(),
		googleScheme(),
		appleScheme(),
		plaidScheme(),
	)
}

// Providers lists every provider in the contract's order.
func Providers() []Provider {
	out := make([]Provider, len(schemes))
	for i, s := range schemes {
		out[i] = s.Provider
		out[i].Params = append([]Param(nil), s.Params...)
	}
	return out
}

// Lookup returns the provider with the given id.
func Lookup(id string) (Provider, bool) {
	s, ok := byID[id]
	if !ok {
		return Provider{}, false
	}
	p := s.Provider
	p.Params = append([]Param(nil), s.Params...)
	return p, true
}

// Verify checks in against provider's scheme with the settings p. It returns
// an error only for an unknown provider or unusable parameters (wrapping
// ErrUnknownProvider or ErrInvalidParams); a missing or wrong signature is a
// Verdict with Valid false.
func Verify(provider string, p Params, in Input) (Verdict, error) {
	s, ok := byID[provider]
	if !ok {
		return Verdict{}, fmt.Errorf("%w: %q", ErrUnknownProvider, provider)
	}
	if in.Header == nil {
		in.Header = http.Header{}
	}
	if s.custom != nil {
		if err := checkPasted(p); err != nil {
			return Verdict{}, err
		}
		return s.custom(in, p)
	}
	secrets := splitSecrets(p["secret"])
	if len(secrets) == 0 {
		return Verdict{}, fmt.Errorf("%w: %s needs a secret", ErrInvalidParams, s.Name)
	}
	if s.validate != nil {
		if err := s.validate(p, secrets); err != nil {
			return Verdict{}, fmt.Errorf("%w: %w", ErrInvalidParams, err)
		}
	}
	r, err := s.read(in, p)
	if err != nil {
		return Verdict{}, fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	if err := applyTolerance(&r, p); err != nil {
		return Verdict{}, err
	}
	v, err := evaluate(s, r, secrets, in)
	if err == nil && !v.Valid && s.signsURL && r.problem == "" && len(r.cands) > 0 && strings.TrimSpace(p["url"]) == "" && v.Details.MatchedSecret == 0 {
		v.Details.Hints = append(v.Details.Hints, s.Name+" signs the URL it called, and the URL checked was "+truncate(in.URL, 200)+
			". If the sender called another public URL (through a proxy or a tunnel), set url to the exact webhook URL registered with "+s.Name+", or start tailhook with --base-url.")
	}
	return v, err
}

// Sign produces the headers a real provider would send for in (and, for
// Mailgun, the body with its signature fields filled in; for every other
// provider the returned body is in.Body unchanged). It signs with the first
// secret in p and takes timestamps from in.Now. Asymmetric schemes (Discord
// Ed25519, SendGrid ECDSA, Standard Webhooks v1a) need p["private_key"]: with
// only the public key Sign returns an error wrapping ErrInvalidParams.
func Sign(provider string, p Params, in Input) (http.Header, []byte, error) {
	s, ok := byID[provider]
	if !ok {
		return nil, nil, fmt.Errorf("%w: %q", ErrUnknownProvider, provider)
	}
	if in.Header == nil {
		in.Header = http.Header{}
	}
	if in.Method == "" {
		in.Method = http.MethodPost
	}
	secrets := splitSecrets(p["secret"])
	secret := ""
	if len(secrets) > 0 {
		secret = secrets[0]
	} else if !s.noSecret && p["private_key"] == "" {
		return nil, nil, fmt.Errorf("%w: %s needs a secret to sign", ErrInvalidParams, s.Name)
	}
	h, body, err := s.sign(in, p, secret)
	if err != nil {
		if errors.Is(err, ErrInvalidParams) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	if body == nil {
		body = in.Body
	}
	return h, body, nil
}

// splitSecrets returns the non-empty lines of s, each kept as written except
// for a trailing carriage return (CRLF pastes).
func splitSecrets(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		out = append(out, line)
	}
	return out
}

// applyTolerance replaces the scheme's default tolerance with
// p["tolerance_s"] when set.
func applyTolerance(r *reading, p Params) error {
	v, ok := p["tolerance_s"]
	if !ok || strings.TrimSpace(v) == "" {
		return nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 || f > 1e9 {
		return fmt.Errorf("%w: tolerance_s must be a number of seconds ≥ 0, got %q", ErrInvalidParams, v)
	}
	r.tol.d = time.Duration(f * float64(time.Second))
	if !r.tol.past && !r.tol.future {
		// Providers without a default window get a symmetric one when the
		// user asks for it.
		r.tol.past, r.tol.future = true, true
	}
	return nil
}

// urlFor is the URL a URL-signing provider signed: p["url"] overrides the
// captured one (behind a proxy the capture may not know the public URL).
func urlFor(in Input, p Params) string {
	if u := strings.TrimSpace(p["url"]); u != "" {
		return u
	}
	return in.URL
}

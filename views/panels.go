package views

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tailhook-dev/tailhook/storage"
)

// Provider is a signature scheme as the panels offer it.
type Provider struct {
	ID, Name    string
	Description string // where the sender shows its secret
	Params      []ProviderParam
}

// ProviderParam is one setting of a provider.
type ProviderParam struct {
	Name, Description string
	Required          bool
	// Secret values are typed, never shown again: a saved one appears
	// masked, as a placeholder.
	Secret bool
	// Multiline values take several lines (secrets during a rotation, PEM
	// keys).
	Multiline bool
}

// SettingsView is the bin's settings panels.
type SettingsView struct {
	Bin        storage.Bin // with Signature nil: never the secret itself
	Providers  []Provider
	Signature  *SignatureView // nil: no signature check
	Handshakes bool           // the bin answers providers' setup handshakes
	Shares     []ShareView
}

// SignatureView is a bin's signature check with its secrets masked.
type SignatureView struct {
	Provider     string
	ProviderName string
	Params       map[string]string // secret values masked
	// RejectInvalid: invalid captures are answered 401.
	RejectInvalid bool
}

// ShareView is a live share link of a bin.
type ShareView struct {
	ID        string
	URL       string
	ExpiresAt time.Time
}

// VerdictView is a signature verdict with its explanation, decoded from
// the stored details (the JSON of signature.Details).
type VerdictView struct {
	Provider string
	Valid    bool
	Reason   string

	Header           string   `json:"header"`
	SignedPreview    string   `json:"signed_preview"`
	Expected         string   `json:"expected"`
	Received         string   `json:"received"`
	Variant          string   `json:"variant"`
	Timestamp        *string  `json:"timestamp"`
	DriftSeconds     *float64 `json:"drift_seconds"`
	ToleranceSeconds *float64 `json:"tolerance_seconds"`
	MatchedSecret    int      `json:"matched_secret"`
	Hints            []string `json:"hints"`
}

// NewVerdictView decodes a stored verdict; nil for none. Details that do
// not decode are left out: the verdict and its reason still show.
func NewVerdictView(v *storage.Verdict) *VerdictView {
	if v == nil {
		return nil
	}
	out := &VerdictView{}
	if len(v.Details) > 0 {
		if err := json.Unmarshal(v.Details, out); err != nil {
			out = &VerdictView{}
		}
	}
	out.Provider, out.Valid, out.Reason = v.Provider, v.Valid, v.Reason
	return out
}

// HasDetails reports whether there is anything to explain beyond the reason.
func (v *VerdictView) HasDetails() bool {
	return v.Header != "" || v.SignedPreview != "" || v.Expected != "" || v.Received != "" ||
		v.Timestamp != nil || v.MatchedSecret > 0 || v.Variant != ""
}

// Drift says how far the timestamp was from the capture and what was allowed.
func (v *VerdictView) Drift() string {
	if v.DriftSeconds == nil {
		return ""
	}
	d := *v.DriftSeconds
	s := seconds(d)
	switch {
	case d > 0:
		s += " old"
	case d < 0:
		s = seconds(-d) + " in the future"
	}
	if v.ToleranceSeconds != nil {
		s += " (tolerance " + seconds(*v.ToleranceSeconds) + ")"
	}
	return s
}

func seconds(f float64) string {
	if f == float64(int64(f)) {
		return strconv.FormatInt(int64(f), 10) + " s"
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " s"
}

// verdictTitle is a badge's accessible text.
func verdictTitle(v *storage.Verdict) string {
	s := "Signature invalid"
	if v.Valid {
		s = "Signature valid"
	}
	if v.Provider != "" {
		s += " (" + v.Provider + ")"
	}
	if v.Reason != "" {
		s += ": " + v.Reason
	}
	return s
}

// deliveryLabel is a row's auto-forward badge.
func deliveryLabel(d *storage.Delivery) string {
	switch d.State {
	case storage.DeliveryDelivered:
		return "delivered"
	case storage.DeliveryPending:
		if d.Behind != 0 {
			return "waiting behind #" + itoa(int(d.Behind))
		}
		if d.Attempts == 0 {
			return "queued"
		}
		return "retrying at " + Clock(d.NextAt)
	}
	return d.State
}

// deliveryTitle explains the badge.
func deliveryTitle(d *storage.Delivery) string {
	s := "Auto-forward " + deliveryLabel(d)
	if d.Behind != 0 {
		s += " (a bin's captures are delivered in order)"
	}
	if d.Attempts > 0 {
		s += " after " + plural(d.Attempts, "attempt")
	}
	switch {
	case d.LastError != "":
		s += "; last error: " + d.LastError
	case d.LastStatus != 0:
		s += "; last status " + itoa(d.LastStatus)
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return itoa(n) + " " + what + "s"
}

// signatureSummary is the panel's one-line state.
func signatureSummary(s *SignatureView) string {
	if s == nil {
		return "off: captures get no verdict"
	}
	out := s.ProviderName
	if out == "" {
		out = s.Provider
	}
	if v := s.Params["secret"]; v != "" {
		out += " · secret " + v
	}
	return out
}

// savedValue is what a provider's input shows for a saved setting: the
// value, or "" for secrets, which appear as a masked placeholder instead.
func savedValue(s *SignatureView, provider string, p ProviderParam) string {
	if s == nil || s.Provider != provider || p.Secret {
		return ""
	}
	return s.Params[p.Name]
}

func secretPlaceholder(s *SignatureView, provider string, p ProviderParam, emptyMeans string) string {
	if s != nil && s.Provider == provider && s.Params[p.Name] != "" {
		return "saved: " + s.Params[p.Name] + " (leave empty to " + emptyMeans + ")"
	}
	if p.Multiline {
		return "one per line during a rotation"
	}
	return ""
}

func currentProvider(s *SignatureView) string {
	if s == nil {
		return ""
	}
	return s.Provider
}

func forwardingSummary(f storage.Forwarding) string {
	switch {
	case f.URL == "":
		return "off"
	case f.Enabled:
		return "on → " + f.URL
	default:
		return "paused (" + f.URL + ")"
	}
}

func sharesSummary(n int) string {
	if n == 0 {
		return "none"
	}
	return plural(n, "active link")
}

// exportPath is an export of the bin, filtered like the list.
func exportPath(binID, kind, q string) string {
	p := apiBinPath(binID) + "/export." + kind
	if q != "" {
		p += "?q=" + queryEscape(q)
	}
	return p
}

// bodyDraft prefills the forward form's body with the captured one, when it
// is text that is reasonable to edit in a text box.
func bodyDraft(r *storage.Request) string {
	if r.Truncated || len(r.Body) > 64<<10 || !isText(r.Body) {
		return ""
	}
	return string(r.Body)
}

func bodyPlaceholder(r *storage.Request) string {
	switch {
	case r.Truncated:
		return "the body was not kept; type one to send"
	case len(r.Body) == 0:
		return "no body; type one to send"
	case bodyDraft(r) == "":
		return "the captured body is sent as is unless you type a replacement"
	}
	return ""
}

func forwardKind(f storage.Forward) string {
	if f.Auto {
		return "auto"
	}
	return "manual"
}

func rowsClass(q string) string {
	if strings.TrimSpace(q) != "" {
		return "requests filtered"
	}
	return "requests"
}

func isText(b []byte) bool { return utf8.Valid(b) && !strings.ContainsRune(string(b), 0) }

func queryEscape(s string) string { return url.QueryEscape(s) }

// notStored says why a truncated capture has no body.
func notStored(limit int64) string {
	if limit <= 0 {
		return "not stored: over the size limit"
	}
	s := Size(limit)
	for _, u := range []struct {
		n    int64
		unit string
	}{{1 << 30, " GiB"}, {1 << 20, " MiB"}, {1 << 10, " KiB"}} {
		if limit >= u.n && limit%u.n == 0 {
			s = itoa(int(limit/u.n)) + u.unit
			break
		}
	}
	return "not stored: over the " + s + " limit"
}

// paramLabels name signature parameters in words; the API name follows in
// small type for whoever scripts it.
var paramLabels = map[string]string{
	"secret": "Signing secret", "tolerance_s": "Timestamp tolerance (seconds)", "private_key": "Private key (test samples only)",
	"url": "Public URL the provider calls", "header_name": "Header name", "header_value": "Header value",
	"header": "Signature header", "algorithm": "Hash algorithm", "encoding": "Signature encoding",
	"prefix": "Signature prefix", "template": "Signed text template", "timestamp_header": "Timestamp header",
	"id_header": "Message ID header", "verify_token": "Verify token",
	"mode": "Signing mode", "key_encoding": "Secret encoding", "timestamp_key": "Timestamp key in the header",
	"public_key": "API public key", "webhook_id": "Webhook ID", "certificate": "Signing certificate (PEM)",
	"topic_arn": "Topic ARN", "audience": "Audience", "email": "Service account email",
	"jwks": "Key set (JWKS)", "bundle_id": "Bundle ID", "root_certificate": "Root certificate (PEM)",
	"certificate_chain": "Certificate chain (PEM)",
}

// ParamLabel is a parameter's name in words.
func ParamLabel(name string) string {
	if l, ok := paramLabels[name]; ok {
		return l
	}
	return name
}

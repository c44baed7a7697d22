package web

import (
	"encoding/base64"
	"net/http"
	"unicode/utf8"

	"github.com/tailhook-dev/tailhook/storage"
)

// timeFormat is RFC 3339 with microseconds, as the contract shows.
const timeFormat = "2006-01-02T15:04:05.000000Z07:00"

// requestJSON is a captured request as the API shows it. Summaries (list
// items) leave out the body fields and the forwards.
type requestJSON struct {
	ID         string            `json:"id"`
	Bin        string            `json:"bin"`
	Seq        int64             `json:"seq"`
	Method     string            `json:"method"`
	Path       string            `json:"path"`
	Query      string            `json:"query"`
	Headers    http.Header       `json:"headers"`
	HeaderList [][]string        `json:"header_list"` // headerlist.go
	PathB64    string            `json:"path_base64,omitempty"`
	QueryB64   string            `json:"query_base64,omitempty"`
	BodyBase64 *string           `json:"body_base64,omitempty"`
	BodyText   *string           `json:"body_text,omitempty"`
	Size       int64             `json:"size"`
	Truncated  bool              `json:"truncated"`
	RemoteAddr string            `json:"remote_addr"`
	Proto      string            `json:"proto"`
	TLS        bool              `json:"tls"`
	ReceivedAt string            `json:"received_at"`
	Answered   *storage.Answered `json:"answered"` // null only for captures stored before answers were recorded
	Signature  *verdictJSON      `json:"signature"`
	Forwards   *[]forwardJSON    `json:"forwards,omitempty"` // a pointer: summaries omit it, a full request always has it
	Delivery   *deliveryJSON     `json:"delivery,omitempty"`
}

type verdictJSON struct {
	Provider string `json:"provider"`
	Valid    bool   `json:"valid"`
	Reason   string `json:"reason"`
}

type forwardJSON struct {
	URL        string `json:"url"`
	Status     int    `json:"status"`
	Attempt    int    `json:"attempt"`
	Error      string `json:"error"`
	DurationMS int64  `json:"duration_ms"`
	Auto       bool   `json:"auto"`
	At         string `json:"at"`
}

type deliveryJSON struct {
	URL        string `json:"url"`
	State      string `json:"state"`
	Attempts   int    `json:"attempts"`
	NextAt     string `json:"next_at,omitempty"`
	LastStatus int    `json:"last_status"`
	LastError  string `json:"last_error"`
}

// toRequestJSON converts a request; full adds the body and the history.
func toRequestJSON(r *storage.Request, full bool) requestJSON {
	j := requestJSON{
		ID: r.ID, Bin: r.BinID, Seq: r.Seq, Method: r.Method, Path: r.Path, Query: r.Query,
		Headers: r.Header, Size: r.Size, Truncated: r.Truncated, RemoteAddr: r.RemoteAddr,
		Proto: r.Proto, TLS: r.TLS, ReceivedAt: r.ReceivedAt.UTC().Format(timeFormat),
		HeaderList: headerListJSON(r), PathB64: rawBase64(r.Path), QueryB64: rawBase64(r.Query),
	}
	if j.Headers == nil {
		j.Headers = http.Header{}
	}
	if r.Answered.Status != 0 {
		a := r.Answered
		j.Answered = &a
	}
	if r.Verdict != nil {
		j.Signature = &verdictJSON{Provider: r.Verdict.Provider, Valid: r.Verdict.Valid, Reason: r.Verdict.Reason}
	}
	if d := r.Delivery; d != nil {
		j.Delivery = &deliveryJSON{URL: d.URL, State: d.State, Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: d.LastError}
		if d.State == storage.DeliveryPending {
			j.Delivery.NextAt = d.NextAt.UTC().Format(timeFormat)
		}
	}
	if !full {
		return j
	}
	b64 := base64.StdEncoding.EncodeToString(r.Body)
	j.BodyBase64 = &b64
	if utf8.Valid(r.Body) {
		t := string(r.Body)
		j.BodyText = &t
	}
	fs := make([]forwardJSON, 0, len(r.Forwards))
	j.Forwards = &fs
	for _, f := range r.Forwards {
		fs = append(fs, forwardJSON{URL: f.URL, Status: f.Status, Attempt: f.Attempt, Error: f.Error,
			DurationMS: f.DurationMS, Auto: f.Auto, At: f.At.UTC().Format(timeFormat)})
	}
	return j
}

// binJSON is a bin as the API shows it. The token appears only in the answer
// to its creation.
type binJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Token      string            `json:"token,omitempty"`
	CaptureURL string            `json:"capture_url"`
	InspectURL string            `json:"inspect_url"`
	CreatedAt  string            `json:"created_at"`
	LastSeq    int64             `json:"last_seq"`
	Response   *storage.Response `json:"response"`
	Signature  *signatureJSON    `json:"signature"`
	// Handshakes: the bin answers providers' setup handshakes (see Handshakes
	// in the contract); on unless turned off with PUT …/signature.
	Handshakes bool           `json:"handshakes"`
	Forwarding forwardingJSON `json:"forwarding"`
}

type signatureJSON struct {
	Provider      string            `json:"provider"`
	Params        map[string]string `json:"params"` // secrets masked
	Handshakes    bool              `json:"handshakes"`
	RejectInvalid bool              `json:"reject_invalid"`
}

type forwardingJSON struct {
	URL     string `json:"url"`
	Enabled bool   `json:"enabled"`
	Mode    string `json:"mode"` // in_order or independent
}

func (s *Server) toBinJSON(r *http.Request, b *storage.Bin) binJSON {
	base := s.baseURL(r)
	j := binJSON{
		ID: b.ID, Name: b.Name, CaptureURL: s.captureBase(r) + "/b/" + b.ID, InspectURL: base + "/bins/" + b.ID,
		CreatedAt: b.CreatedAt.UTC().Format(timeFormat), LastSeq: b.Seq, Response: b.Response,
		Forwarding: forwardingJSON{URL: b.Forwarding.URL, Enabled: b.Forwarding.Enabled, Mode: b.Forwarding.Mode},
	}
	j.Handshakes = b.Signature.HandshakesOn()
	if b.Signature != nil && b.Signature.Provider != "" {
		j.Signature = &signatureJSON{Provider: b.Signature.Provider, Params: maskParams(b.Signature.Params),
			Handshakes: b.Signature.HandshakesOn(), RejectInvalid: b.Signature.RejectsInvalid()}
	}
	return j
}

// maskParams hides secret values: they are shown once, when typed, and never
// again.
func maskParams(p map[string]string) map[string]string {
	out := make(map[string]string, len(p))
	for k, v := range p {
		if isSecretParam(k) {
			out[k] = maskSecret(v)
		} else {
			out[k] = v
		}
	}
	return out
}

func isSecretParam(name string) bool {
	switch name {
	case "secret", "password", "private_key", "token":
		return true
	}
	return false
}

// maskSecret keeps just enough to tell two secrets apart.
func maskSecret(v string) string {
	if len(v) <= 8 {
		return "••••"
	}
	return v[:4] + "••••" + v[len(v)-2:]
}

// forwardEventJSON is the data of the API stream's "forward" event.
type forwardEventJSON struct {
	Seq      int64          `json:"seq"`
	Delivery *deliveryJSON  `json:"delivery"`
	Forwards *[]forwardJSON `json:"forwards"`
}

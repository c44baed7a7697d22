package web

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tailhook-dev/tailhook/storage"
)

// HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/). tailhook keeps
// requests only, so every entry's response is HAR's "no response": status 0
// and sizes -1. Fields starting with "_" are HAR custom fields.

type harFile struct {
	Log harLog `json:"log"`
}

type harLog struct {
	Version string     `json:"version"`
	Creator harCreator `json:"creator"`
	Entries []harEntry `json:"entries"`
	Comment string     `json:"comment,omitempty"`
}

type harCreator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type harEntry struct {
	StartedDateTime string      `json:"startedDateTime"`
	Time            float64     `json:"time"`
	Request         harRequest  `json:"request"`
	Response        harResponse `json:"response"`
	Cache           struct{}    `json:"cache"`
	Timings         harTimings  `json:"timings"`
	Connection      string      `json:"connection,omitempty"`
	Comment         string      `json:"comment,omitempty"`
	// tailhook's own fields.
	ID         string       `json:"_id"`
	Seq        int64        `json:"_seq"`
	RemoteAddr string       `json:"_remoteAddr"`
	TLS        bool         `json:"_tls"`
	Truncated  bool         `json:"_truncated"`
	Signature  *verdictJSON `json:"_signature,omitempty"`
}

type harRequest struct {
	Method      string         `json:"method"`
	URL         string         `json:"url"`
	HTTPVersion string         `json:"httpVersion"`
	Cookies     []harCookie    `json:"cookies"`
	Headers     []harNameValue `json:"headers"`
	QueryString []harNameValue `json:"queryString"`
	PostData    *harPostData   `json:"postData,omitempty"`
	HeadersSize int64          `json:"headersSize"`
	BodySize    int64          `json:"bodySize"`
}

type harNameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type harCookie struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type harPostData struct {
	MimeType string `json:"mimeType"`
	Text     string `json:"text"`                // HAR: text and params are mutually exclusive
	Encoding string `json:"_encoding,omitempty"` // "base64" when the body is not UTF-8
}

type harResponse struct {
	Status      int            `json:"status"`
	StatusText  string         `json:"statusText"`
	HTTPVersion string         `json:"httpVersion"`
	Cookies     []harCookie    `json:"cookies"`
	Headers     []harNameValue `json:"headers"`
	Content     harContent     `json:"content"`
	RedirectURL string         `json:"redirectURL"`
	HeadersSize int64          `json:"headersSize"`
	BodySize    int64          `json:"bodySize"`
}

type harContent struct {
	Size     int64  `json:"size"`
	MimeType string `json:"mimeType"`
}

type harTimings struct {
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
}

// toHAREntry converts a whole request. The URL is the capture URL the
// sender used; headers keep their per-name order (names sorted).
func toHAREntry(base string, req *storage.Request) harEntry {
	u := base + "/b/" + req.BinID + req.Path
	if req.Query != "" {
		u += "?" + req.Query
	}
	e := harEntry{
		StartedDateTime: req.ReceivedAt.UTC().Format(timeFormat),
		Request: harRequest{
			Method: req.Method, URL: u, HTTPVersion: req.Proto,
			Cookies: harCookies(req.Header), Headers: harHeaders(req.Header), QueryString: harQuery(req.Query),
			HeadersSize: -1, BodySize: req.Size,
		},
		Response: harResponse{
			StatusText: "", HTTPVersion: "", Cookies: []harCookie{}, Headers: []harNameValue{},
			Content: harContent{Size: 0, MimeType: "x-unknown"}, HeadersSize: -1, BodySize: -1,
		},
		Timings:    harTimings{Send: 0, Wait: 0, Receive: 0},
		Comment:    "captured by tailhook; the response is not recorded",
		ID:         req.ID,
		Seq:        req.Seq,
		RemoteAddr: req.RemoteAddr,
		TLS:        req.TLS,
		Truncated:  req.Truncated,
	}
	if req.Verdict != nil {
		e.Signature = &verdictJSON{Provider: req.Verdict.Provider, Valid: req.Verdict.Valid, Reason: req.Verdict.Reason}
	}
	if len(req.Body) > 0 {
		pd := &harPostData{MimeType: req.Header.Get("Content-Type")}
		if utf8.Valid(req.Body) {
			pd.Text = string(req.Body)
		} else {
			pd.Text = base64.StdEncoding.EncodeToString(req.Body)
			pd.Encoding = "base64"
		}
		e.Request.PostData = pd
	}
	return e
}

func harHeaders(h http.Header) []harNameValue {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	out := []harNameValue{}
	for _, name := range names {
		for _, v := range h[name] {
			out = append(out, harNameValue{Name: name, Value: v})
		}
	}
	return out
}

func harCookies(h http.Header) []harCookie {
	out := []harCookie{}
	for _, line := range h.Values("Cookie") {
		cs, err := http.ParseCookie(line)
		if err != nil {
			continue
		}
		for _, c := range cs {
			out = append(out, harCookie{Name: c.Name, Value: c.Value})
		}
	}
	return out
}

// harQuery lists the query's pairs in order, decoded; a pair that does not
// decode is given as sent.
func harQuery(raw string) []harNameValue {
	out := []harNameValue{}
	if raw == "" {
		return out
	}
	for pair := range strings.SplitSeq(raw, "&") {
		name, value, _ := strings.Cut(pair, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if v, err := url.QueryUnescape(value); err == nil {
			value = v
		}
		out = append(out, harNameValue{Name: name, Value: value})
	}
	return out
}

// handleExportHAR streams the bin's requests (honouring q) as a HAR 1.2
// log, oldest first, a page at a time.
func (s *Server) handleExportHAR(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	version := s.cfg.Version
	if version == "" {
		version = "dev"
	}
	head, err := json.Marshal(harLog{Version: "1.2", Creator: harCreator{Name: "tailhook", Version: version}})
	if err != nil {
		return err
	}
	// Write the log object up to its entries, then each entry, then close.
	prefix, _, _ := strings.Cut(string(head), `"entries":`)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+bin.ID+`.har"`)
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(`{"log":` + prefix + `"entries":[`))
	base := s.captureBase(r)
	s.exportArray(w, r, bin, func(req *storage.Request) any { return toHAREntry(base, req) })
	w.Write([]byte("]}}\n"))
	return nil
}

package views

import (
	"net/http"
	"time"

	"github.com/tailhook-dev/tailhook/storage"
)

// Page is what the layout needs from every page.
type Page struct {
	Title   string
	Version string
	// ReadOnly pages (shared links) offer nothing that changes state, not
	// even "New bin".
	ReadOnly bool
}

// HomeView is the landing page.
type HomeView struct {
	Page
	Bins []storage.Bin // the bins this browser created, newest first
	Now  time.Time
}

// Scope is whose view a page is: the bin's owner, or the read-only viewer
// of a share link. It builds every link the list and details hold, so a
// shared page never names the bin (its id is the capture URL).
type Scope struct {
	BinID   string // the owner's view; "" in a shared one
	ShareID string // a shared, read-only view
}

// ReadOnly reports whether this is a shared view.
func (s Scope) ReadOnly() bool { return s.ShareID != "" }

// Base is the page the list lives on.
func (s Scope) Base() string {
	if s.ReadOnly() {
		return "/s/" + s.ShareID
	}
	return BinPath(s.BinID)
}

// RequestPath is the page with one request selected.
func (s Scope) RequestPath(reqID string) string { return s.Base() + "?req=" + reqID }

// DetailPath is the details pane alone, fetched by the page's script.
func (s Scope) DetailPath(reqID string) string { return s.Base() + "/requests/" + reqID }

// PartPath downloads one part of a multipart body.
func (s Scope) PartPath(reqID string, n int) string {
	return s.Base() + "/requests/" + reqID + "/parts/" + itoa(n)
}

// HeadPath downloads a request's line and headers as text: all of them,
// where the page lists only the first MaxFields.
func (s Scope) HeadPath(reqID string) string { return s.Base() + "/requests/" + reqID + "/head" }

// BodyPath downloads a request's body.
func (s Scope) BodyPath(reqID string) string {
	if s.ReadOnly() {
		return s.Base() + "/requests/" + reqID + "/body"
	}
	return apiRequestPath(s.BinID, reqID) + "/body"
}

// RowsPath answers the list's filter and "load older" with rows.
func (s Scope) RowsPath() string { return s.Base() + "/rows" }

// InspectorView is the inspector of one bin.
type InspectorView struct {
	Page
	Bin        storage.Bin // with Signature nil: Settings has it masked
	CaptureURL string
	// StreamURL is the page's live stream; it resumes after the newest
	// request shown, so nothing captured while the page loads is missed.
	StreamURL string
	List      ListView
	Detail    *Detail // nil when no request is selected
	Settings  SettingsView
}

// SharedView is the read-only inspector behind a share link.
type SharedView struct {
	Page
	Name      string // the bin's name, "" when it has none
	ExpiresAt time.Time
	StreamURL string
	List      ListView
	Detail    *Detail
}

// ListView is a page of the request list, newest first.
type ListView struct {
	Scope    Scope
	Requests []*storage.Request
	Selected string // id of the selected request
	// Query is the list's filter ("" shows every request).
	Query string
	// LastSeq is the newest seq of the bin when the list was read: a live
	// stream for this filter resumes after it.
	LastSeq int64
	// OlderURL fetches the next page (rows only); "" when there is none.
	OlderURL string
	// OlderPageURL is the same page for browsers without script.
	OlderPageURL string
	Now          time.Time
}

// Detail is the selected request, prepared for display.
type Detail struct {
	Scope   Scope
	Req     *storage.Request
	URL     string // as received; in a shared view the path and query only
	Query   []Field
	Headers []Field
	// MoreQuery and MoreHeaders count the fields not listed (past
	// MaxFields): the request head download has them all.
	MoreQuery   int
	MoreHeaders int
	Body        Body
	Verdict     *VerdictView // nil when the bin had no signature check
	Now         time.Time
	// BodyLimit is the server's --max-body, to say why a truncated capture
	// has no body; 0 when unknown.
	BodyLimit int64
	// Body extras (bodyextra.go): Body is decoded from Encoding, Wire is the
	// body as received; JSONError says where a JSON body broke; ImageURL and
	// PartImages preview raster images.
	Encoding, EncodingNote string
	Wire                   *Body
	JSONError              string
	ImageURL               string
	PartImages             map[int]string
	// JSONTree offers the collapsible tree, which the page builds from the
	// body download: also for JSON too big to pretty-print here.
	JSONTree bool

	// The owner's tools; a shared view has none of them.

	// ReplayURL prefills the forward form: the bin's last manual target.
	ReplayURL string
	// Signing is the bin's provider id, "" when it has none: it can re-sign
	// a forward, and is the default of "Verify with…".
	Signing string
	// Signature is the bin's check with its secrets masked, nil when none:
	// "Verify with…" starts from it.
	Signature *SignatureView
	Providers []Provider
	// SNSConfirm: the capture is an SNS SubscriptionConfirmation whose
	// SubscribeURL can be followed with one click.
	SNSConfirm string
}

// NewDetail prepares req for the details pane. captureURL is the bin's
// capture URL, used when the request carried no Host header; a shared view
// passes "" and shows the path and query only.
func NewDetail(sc Scope, req *storage.Request, captureURL string, now time.Time) *Detail {
	url := req.Path
	if url == "" {
		url = "/"
	}
	if !sc.ReadOnly() {
		url = captureURL + req.Path
		if host := req.Header.Get("Host"); host != "" {
			scheme := "http://"
			if req.TLS {
				scheme = "https://"
			}
			url = scheme + host + "/b/" + sc.BinID + req.Path
		}
	}
	if req.Query != "" {
		url += "?" + req.Query
	}
	h := req.Header
	if h == nil {
		h = http.Header{}
	}
	d := &Detail{
		Scope: sc, Req: req, URL: Clip(url), Now: now,
		Body:    FormatBody(h.Get("Content-Type"), req.Body),
		Verdict: NewVerdictView(req.Verdict),
	}
	// Listed up to MaxFields each, so that no capture makes a page slow
	// or huge; the request head download has the rest.
	d.Query, d.MoreQuery = QueryFields(req.Query, MaxFields)
	d.Headers, d.MoreHeaders = CapFields(HeaderFields(h), MaxFields)
	d.wireHeaders()
	d.bodyExtras(h)
	return d
}

// Paths of the pages, in one place for templates and handlers.

// BinPath is the inspector of a bin.
func BinPath(binID string) string { return "/bins/" + binID }

// apiRequestPath is the request in the JSON API, which the page's script
// uses for deleting, forwarding, verifying and cURL; the body download
// lives there too.
func apiRequestPath(binID, reqID string) string { return "/api/bins/" + binID + "/requests/" + reqID }

// apiBinPath is the bin in the JSON API.
func apiBinPath(binID string) string { return "/api/bins/" + binID }

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
}

// HomeView is the landing page.
type HomeView struct {
	Page
	Bins []storage.Bin // the bins this browser created, newest first
	Now  time.Time
}

// InspectorView is the inspector of one bin.
type InspectorView struct {
	Page
	Bin        storage.Bin
	CaptureURL string
	// StreamURL is the page's live stream; it resumes after the newest
	// request shown, so nothing captured while the page loads is missed.
	StreamURL string
	List      ListView
	Detail    *Detail // nil when no request is selected
}

// ListView is a page of the request list, newest first.
type ListView struct {
	BinID    string
	Requests []*storage.Request
	Selected string // id of the selected request
	// OlderURL fetches the next page (rows only); "" when there is none.
	OlderURL string
	// OlderPageURL is the same page for browsers without script.
	OlderPageURL string
	Now          time.Time
}

// Detail is the selected request, prepared for display.
type Detail struct {
	BinID   string
	Req     *storage.Request
	URL     string // as received: scheme, Host header, /b/{bin}, path, query
	Query   []Field
	Headers []Field
	Body    Body
	Curl    string
	Now     time.Time
}

// NewDetail prepares req for the details pane. base is the capture origin
// used when the request carried no Host header.
func NewDetail(binID string, req *storage.Request, captureURL string, now time.Time) *Detail {
	url := captureURL + req.Path
	if host := req.Header.Get("Host"); host != "" {
		scheme := "http://"
		if req.TLS {
			scheme = "https://"
		}
		url = scheme + host + "/b/" + binID + req.Path
	}
	if req.Query != "" {
		url += "?" + req.Query
	}
	target := captureURL + req.Path
	if req.Query != "" {
		target += "?" + req.Query
	}
	h := req.Header
	if h == nil {
		h = http.Header{}
	}
	return &Detail{
		BinID: binID, Req: req, URL: url, Now: now,
		Query:   QueryFields(req.Query),
		Headers: HeaderFields(h),
		Body:    FormatBody(h.Get("Content-Type"), req.Body),
		Curl:    Curl(req.Method, target, h, req.Body),
	}
}

// Paths of the pages, in one place for templates and handlers.

// BinPath is the inspector of a bin.
func BinPath(binID string) string { return "/bins/" + binID }

// RequestPath is the inspector with one request selected.
func RequestPath(binID, reqID string) string { return "/bins/" + binID + "?req=" + reqID }

// DetailPath is the details pane alone, fetched by the page's script.
func DetailPath(binID, reqID string) string { return "/bins/" + binID + "/requests/" + reqID }

// PartPath downloads one part of a multipart body.
func PartPath(binID, reqID string, n int) string {
	return "/bins/" + binID + "/requests/" + reqID + "/parts/" + itoa(n)
}

// apiRequestPath is the request in the JSON API, which the page's script
// uses for deleting; the body download lives there too.
func apiRequestPath(binID, reqID string) string { return "/api/bins/" + binID + "/requests/" + reqID }

package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/tailhook-dev/tailhook/signature"
	"github.com/tailhook-dev/tailhook/storage"
	"github.com/tailhook-dev/tailhook/views"
)

// listPage is how many requests the inspector shows at a time; older ones
// come with "load older", so a bin of 10 000 opens as fast as one of 10.
const listPage = 50

func (s *Server) page(title string) views.Page {
	if title == "" {
		title = "tailhook"
	} else {
		title += " · tailhook"
	}
	return views.Page{Title: title, Version: s.cfg.Version}
}

// render writes a page or fragment with a fresh CSP nonce. It renders into
// a buffer first, so that a failed render is a clean 500.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) error {
	nonce := newNonce()
	var buf bytes.Buffer
	if err := c.Render(templ.WithNonce(r.Context(), nonce), &buf); err != nil {
		return fmt.Errorf("render page: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP(nonce))
	// Pages show one browser's private bins.
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Cookie")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

// pageCSP allows scripts only from our origin or with this response's
// nonce, styles only from our stylesheet, and no framing.
func pageCSP(nonce string) string {
	return "default-src 'none'; script-src 'self' 'nonce-" + nonce + "'; style-src 'self'; img-src 'self'; " +
		"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
}

func newNonce() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// renewSession pushes a known browser's cookie expiry forward, so a bin in
// use is not lost to an expired session. Strangers get no cookie.
func (s *Server) renewSession(w http.ResponseWriter, r *http.Request) string {
	id := s.session.browserID(r)
	if id == "" {
		return ""
	}
	if _, err := s.session.ensureBrowserID(w, r, s.isTLS(r)); err != nil {
		s.log.Warn("renew session", "error", err)
	}
	return id
}

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) error {
	bins, err := s.db.BinsByOwner(r.Context(), s.renewSession(w, r))
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, views.Home(views.HomeView{Page: s.page(""), Bins: bins, Now: time.Now()}))
}

// handleBinCreateForm creates a bin owned by this browser and opens it. The
// token is not shown: the browser's session is its credential, and API
// users create bins with POST /api/bins, which returns one.
func (s *Server) handleBinCreateForm(w http.ResponseWriter, r *http.Request) error {
	if ok, retry := s.allowBinCreate(r); !ok {
		w.Header().Set("Retry-After", retry)
		return &apiError{http.StatusTooManyRequests, "Too many new bins from your address; try again in " + retry + " s."}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return &apiError{http.StatusBadRequest, "Could not read the form."}
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if len(name) > 200 {
		return &apiError{http.StatusBadRequest, "The name is longer than 200 characters."}
	}
	owner, err := s.session.ensureBrowserID(w, r, s.isTLS(r))
	if err != nil {
		return err
	}
	bin, _, err := s.db.CreateBin(r.Context(), name, owner)
	if err != nil {
		return err
	}
	http.Redirect(w, r, views.BinPath(bin.ID), http.StatusSeeOther)
	return nil
}

func (s *Server) handleInspector(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return s.binPageFail(w, r, err) // loginlink.go: with the token form
	}
	s.renewSession(w, r)
	now := time.Now()
	sc := views.Scope{BinID: bin.ID}
	list, err := s.listView(r, sc, bin, now)
	if err != nil {
		return err
	}
	settings, err := s.settingsView(r, bin)
	if err != nil {
		return err
	}
	v := views.InspectorView{
		Page: s.page(bin.Name), Bin: settings.Bin, CaptureURL: s.captureURL(r, bin.ID), List: list,
		StreamURL: streamURL(sc, list), Settings: settings,
	}
	if v.Page.Title == "tailhook" || bin.Name == "" {
		v.Page = s.page("Bin " + bin.ID)
	}
	req, err := s.selected(r, bin, list)
	if err != nil {
		return err
	}
	if req != nil {
		v.Detail = s.detailView(r, bin, req, now)
		v.List.Selected = req.ID
	}
	return s.render(w, r, http.StatusOK, views.Inspector(v))
}

// streamURL is a list's live stream: it resumes after the newest request
// the list could show, with the list's filter.
func streamURL(sc views.Scope, l views.ListView) string {
	last := l.LastSeq
	if len(l.Requests) > 0 {
		last = max(last, l.Requests[0].Seq)
	}
	u := sc.Base() + "/stream?last_event_id=" + strconv.FormatInt(last, 10)
	if l.Query != "" {
		u += "&q=" + url.QueryEscape(l.Query)
	}
	return u
}

// selected is the request a page opens with: ?req=, else the newest one on
// the first page; nil for none.
func (s *Server) selected(r *http.Request, bin storage.Bin, list views.ListView) (*storage.Request, error) {
	id := r.URL.Query().Get("req")
	if id == "" && len(list.Requests) > 0 && r.URL.Query().Get("before") == "" {
		id = list.Requests[0].ID
	}
	if id == "" {
		return nil, nil
	}
	seq, err := storage.ParseRequestID(id)
	if err != nil {
		return nil, nil
	}
	req, err := s.db.Request(r.Context(), bin.ID, seq)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	return req, err
}

// detailView is a request's details with the owner's tools.
func (s *Server) detailView(r *http.Request, bin storage.Bin, req *storage.Request, now time.Time) *views.Detail {
	d := views.NewDetail(views.Scope{BinID: bin.ID}, req, s.captureURL(r, bin.ID), now)
	d.BodyLimit = s.cfg.MaxBody
	d.ReplayURL = bin.ReplayURL
	d.Providers = providerViews()
	if bin.Signature != nil {
		d.Signing = bin.Signature.Provider
	}
	d.Signature = signatureView(bin)
	if u, err := signature.SNSSubscribeURL(req.Body); err == nil {
		d.SNSConfirm = u
	}
	return d
}

// settingsView is what the settings panels show. The bin it hands to the
// views has no signature config: only its masked copy goes to the page.
func (s *Server) settingsView(r *http.Request, bin storage.Bin) (views.SettingsView, error) {
	v := views.SettingsView{Providers: providerViews(), Handshakes: bin.Signature.HandshakesOn(), Signature: signatureView(bin)}
	bin.Signature = nil
	v.Bin = bin
	shares, err := s.db.Shares(r.Context(), bin.ID)
	if err != nil {
		return v, err
	}
	for _, sh := range shares {
		v.Shares = append(v.Shares, views.ShareView{ID: sh.ID, URL: s.baseURL(r) + "/s/" + sh.ID, ExpiresAt: sh.ExpiresAt})
	}
	return v, nil
}

// signatureView is the bin's signature check as a page may show it: every
// secret masked. nil when the bin has none.
func signatureView(bin storage.Bin) *views.SignatureView {
	if bin.Signature == nil || bin.Signature.Provider == "" {
		return nil
	}
	sv := &views.SignatureView{Provider: bin.Signature.Provider, Params: maskParams(bin.Signature.Params), RejectInvalid: bin.Signature.RejectsInvalid()}
	for k, val := range sv.Params {
		if pageSecret(k) {
			sv.Params[k] = maskSecret(val)
		}
	}
	if p, ok := signature.Lookup(bin.Signature.Provider); ok {
		sv.ProviderName = p.Name
	}
	return sv
}

// pageSecret tells the parameters a page never shows back, beyond those the
// API masks: a header value that authenticates is a secret too.
func pageSecret(name string) bool {
	return isSecretParam(name) || name == "header_value"
}

// providerViews are the signature providers as the panels offer them.
var providerViews = sync.OnceValue(func() []views.Provider {
	var out []views.Provider
	for _, p := range signature.Providers() {
		v := views.Provider{ID: p.ID, Name: p.Name, Description: p.Description}
		for _, prm := range p.Params {
			v.Params = append(v.Params, views.ProviderParam{
				Name: prm.Name, Description: prm.Description, Required: prm.Required,
				Secret:    pageSecret(prm.Name),
				Multiline: multilineParam(prm.Name),
			})
		}
		out = append(out, v)
	}
	return out
})

func (s *Server) captureURL(r *http.Request, binID string) string {
	return s.captureBase(r) + "/b/" + binID
}

// listView reads one page of the request list, ?before= a request id and
// ?q= a search. The owner's rows carry their auto-forward state.
func (s *Server) listView(r *http.Request, sc views.Scope, bin storage.Bin, now time.Time) (views.ListView, error) {
	var before int64
	if v := r.URL.Query().Get("before"); v != "" {
		seq, err := storage.ParseRequestID(v)
		if err != nil {
			return views.ListView{}, notFound("no request " + v)
		}
		before = seq
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > 500 {
		return views.ListView{}, &apiError{http.StatusBadRequest, "The filter is longer than 500 characters."}
	}
	reqs, more, err := s.db.ListRequests(r.Context(), bin.ID, storage.ListOptions{Limit: listPage, Before: before, Query: q})
	if err != nil {
		return views.ListView{}, err
	}
	if !sc.ReadOnly() {
		if err := s.db.AttachDeliveries(r.Context(), reqs); err != nil {
			return views.ListView{}, err
		}
	}
	l := views.ListView{Scope: sc, Requests: reqs, Now: now, Query: q, LastSeq: bin.Seq}
	if more && len(reqs) > 0 {
		oldest := reqs[len(reqs)-1].ID
		extra := ""
		if q != "" {
			extra = "&q=" + url.QueryEscape(q)
		}
		l.OlderURL = sc.RowsPath() + "?before=" + oldest + extra
		l.OlderPageURL = sc.Base() + "?before=" + oldest + extra
	}
	return l, nil
}

// handleRows answers "load older" and the filter with a page of rows.
func (s *Server) handleRows(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	list, err := s.listView(r, views.Scope{BinID: bin.ID}, bin, time.Now())
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, views.RowsFragment(list))
}

// handleDetail is the details pane of one request, for the page's script.
func (s *Server) handleDetail(w http.ResponseWriter, r *http.Request) error {
	bin, req, err := s.requestFrom(r)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, views.RequestDetail(*s.detailView(r, bin, req, time.Now())))
}

// handlePart downloads one part of a multipart body. Like the body download
// of the API it is an attachment that is never sniffed or rendered.
func (s *Server) handlePart(w http.ResponseWriter, r *http.Request) error {
	_, req, err := s.requestFrom(r)
	if err != nil {
		return err
	}
	return s.writePart(w, r, req)
}

func (s *Server) writePart(w http.ResponseWriter, r *http.Request, req *storage.Request) error {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 {
		return errNotFound
	}
	data, filename, partType, ok := views.MultipartPart(req.Header.Get("Content-Type"), req.Body, n)
	if !ok {
		return errNotFound
	}
	name := partFilename(req, n, filename, partType) // bodyview.go
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
	return nil
}

// handleHead downloads the request line and every header, which the
// details pane lists only up to views.MaxFields.
func (s *Server) handleHead(w http.ResponseWriter, r *http.Request) error {
	_, req, err := s.requestFrom(r)
	if err != nil {
		return err
	}
	writeHead(w, req)
	return nil
}

// writeHead writes req's line (path after the bin) and its headers, sorted
// by name as the page lists them, as a text attachment.
func writeHead(w http.ResponseWriter, req *storage.Request) {
	var b bytes.Buffer
	target := req.Path
	if target == "" {
		target = "/"
	}
	if req.Query != "" {
		target += "?" + req.Query
	}
	b.WriteString(req.Method + " " + target + " " + req.Proto + "\n")
	for _, f := range views.HeaderFields(req.Header) {
		b.WriteString(f.Name + ": " + f.Value + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", `attachment; filename="`+req.ID+`-head.txt"`)
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.Write(b.Bytes())
}

// safeFilename keeps the harmless characters of a sender's file name.
func safeFilename(name string) string {
	var b strings.Builder
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
			b.WriteRune(c)
		case c == ' ':
			b.WriteByte('_')
		}
	}
	return strings.TrimLeft(b.String(), ".")
}

// handleEvents is the API's stream: the contract's request JSON per event.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, true)
	if err != nil {
		return err
	}
	return s.stream(w, r, streamRequest{kind: apiStream, bin: bin, authorize: s.credentialCheck(bin.ID, s.credentialOf(r, true))})
}

// errBinGone is what a stream's credential check returns once its bin is
// deleted.
var errBinGone = errors.New("bin deleted")

// credentialCheck is a stream's check: the bin still exists and cred still
// opens it.
func (s *Server) credentialCheck(binID string, cred credential) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		bin, err := s.db.Bin(ctx, binID)
		if errors.Is(err, storage.ErrNotFound) {
			return errBinGone
		}
		if err != nil {
			return err
		}
		ok, err := s.opens(ctx, cred, &bin) // loginlink.go
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("credential no longer valid")
		}
		return nil
	}
}

// handlePageStream is the inspector's stream of rendered rows. It is
// reached with the session cookie only: EventSource sends it by itself.
func (s *Server) handlePageStream(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	return s.stream(w, r, streamRequest{kind: pageStream, bin: bin, q: strings.TrimSpace(r.URL.Query().Get("q")),
		authorize: s.credentialCheck(bin.ID, s.credentialOf(r, false))})
}

// multilineParam: values pasted over several lines (secrets during a
// rotation, PEM certificates and keys, JSON key sets).
func multilineParam(name string) bool {
	switch name {
	case "secret", "private_key", "certificate", "certificate_chain", "root_certificate", "jwks":
		return true
	}
	return false
}

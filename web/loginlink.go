package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tailhook-dev/tailhook/storage"
	"github.com/tailhook-dev/tailhook/views"
)

// Access from any browser. A bin belongs to the browser that created it;
// two ways give it to another browser:
//   - a single-use login link (POST /api/bins/{bin}/login-links), opened
//     anywhere: its page's button, a same-origin POST, spends the link;
//   - the bin's token, typed into the form on the bin's "not found" page.
// Both add the bin to the browser's session (storage.AddBrowser).

const (
	defaultLoginLinkTTL = 15 * time.Minute
	maxLoginLinkTTL     = 24 * time.Hour
)

func (s *Server) loginRoutes(mux *http.ServeMux) {
	h := s.handle
	mux.Handle("POST /api/bins/{bin}/login-links", h(s.handleLoginLinkCreate))
	mux.Handle("POST /bins/{bin}/login-link", h(s.handleLoginLinkFragment))
	mux.Handle("GET /login/{secret}", h(s.handleLoginLinkPage))
	mux.Handle("POST /login/{secret}", h(s.handleLoginLinkUse))
	mux.Handle("POST /bins/{bin}/unlock", h(s.handleUnlock))
}

// opens is credential.allows, plus the bins given to a browser by a login
// link or the token form.
func (s *Server) opens(ctx context.Context, c credential, bin *storage.Bin) (bool, error) {
	if c.allows(bin) {
		return true, nil
	}
	if c.bad || c.token != "" || c.browser == "" {
		return false, nil
	}
	return s.db.BrowserHasBin(ctx, bin.ID, c.browser)
}

type loginLinkJSON struct {
	URL       string `json:"url"`
	ExpiresAt string `json:"expires_at"`
}

func (s *Server) handleLoginLinkCreate(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	ttl, err := readExpiresIn(w, r, defaultLoginLinkTTL, maxLoginLinkTTL, `"15m" or "2h"`, "24h")
	if err != nil {
		return err
	}
	l, err := s.db.CreateLoginLink(r.Context(), bin.ID, ttl)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, loginLinkJSON{URL: s.baseURL(r) + "/login/" + l.Secret, ExpiresAt: l.ExpiresAt.Format(timeFormat)})
	return nil
}

// handleLoginLinkFragment makes a login link for the inspector's "Open on
// another device" and answers the fragment that shows it: the link and its
// QR code, drawn here so the page needs no QR script and the secret appears
// in no image URL. Same-origin only (crossOrigin), like every page POST.
func (s *Server) handleLoginLinkFragment(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	l, err := s.db.CreateLoginLink(r.Context(), bin.ID, defaultLoginLinkTTL)
	if err != nil {
		return err
	}
	url := s.baseURL(r) + "/login/" + l.Secret
	q, err := views.NewQR(url)
	if err != nil {
		return fmt.Errorf("login link: %w", err)
	}
	at := l.ExpiresAt.UTC()
	return s.render(w, r, http.StatusCreated, views.LoginLinkOut(url, at.Format(timeFormat), at.Format("15:04 UTC"), q))
}

// handleLoginLinkPage shows what the link opens and a button to open it.
// GET never spends the link: chat apps and mail scanners fetch links to
// preview them, and must not use them up.
func (s *Server) handleLoginLinkPage(w http.ResponseWriter, r *http.Request) error {
	secret := r.PathValue("secret")
	bin, err := s.db.LoginLinkBin(r.Context(), secret)
	if err != nil {
		return s.loginLinkFail(w, r, err)
	}
	// Referrer-Policy: no-referrer (secureHeaders) keeps the secret out of
	// any Referer; this keeps the page out of search indexes.
	w.Header().Set("X-Robots-Tag", "noindex")
	return s.render(w, r, http.StatusOK, views.LoginLinkPage(s.page("Open a bin"), views.LoginLinkView{
		Name: bin.Name, BinID: bin.ID, Action: "/login/" + secret,
	}))
}

// handleLoginLinkUse spends the link, adds its bin to this browser and opens
// the inspector. The form is same-origin (crossOrigin checks it), so a
// foreign page cannot log a visitor into a bin of its choosing.
func (s *Server) handleLoginLinkUse(w http.ResponseWriter, r *http.Request) error {
	browser, err := s.session.ensureBrowserID(w, r, s.isTLS(r))
	if err != nil {
		return err
	}
	binID, err := s.db.UseLoginLink(r.Context(), r.PathValue("secret"), browser)
	if err != nil {
		return s.loginLinkFail(w, r, err)
	}
	http.Redirect(w, r, views.BinPath(binID), http.StatusSeeOther)
	return nil
}

func (s *Server) loginLinkFail(w http.ResponseWriter, r *http.Request, err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return s.render(w, r, http.StatusNotFound, views.LoginLinkGone(s.page("Link not valid")))
	}
	return err
}

// binPageFail answers /bins/{bin} that this browser may not see: the same
// "not found" page for a missing bin and one of another browser, with the
// token form.
func (s *Server) binPageFail(w http.ResponseWriter, r *http.Request, err error) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.status == http.StatusNotFound || errors.Is(err, storage.ErrNotFound) {
		return s.render(w, r, http.StatusNotFound, views.BinNotFound(s.page("Not found"), views.BinPath(r.PathValue("bin"))+"/unlock", ""))
	}
	return err
}

// handleUnlock takes a bin's token from the not-found page's form. The right
// token adds the bin to this browser; anything else, including a bin that
// does not exist, gives the same not-found page with the same error.
func (s *Server) handleUnlock(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return badRequest("Could not read the form.")
	}
	id := r.PathValue("bin")
	token := strings.TrimSpace(r.PostForm.Get("token"))
	bin, err := s.db.Bin(r.Context(), id)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if err != nil || !bin.CheckToken(token) {
		return s.render(w, r, http.StatusNotFound, views.BinNotFound(s.page("Not found"), views.BinPath(id)+"/unlock",
			"That token does not open a bin here."))
	}
	browser, err := s.session.ensureBrowserID(w, r, s.isTLS(r))
	if err != nil {
		return err
	}
	if err := s.db.AddBrowser(r.Context(), bin.ID, browser); err != nil {
		return err
	}
	http.Redirect(w, r, views.BinPath(bin.ID), http.StatusSeeOther)
	return nil
}

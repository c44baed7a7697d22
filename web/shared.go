package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tailhook-dev/tailhook/storage"
	"github.com/tailhook-dev/tailhook/views"
)

// The read-only inspector behind a share link: the owner's list and details
// components in their read-only scope, live through a stream of its own.
// Every handler checks the link first; an expired, revoked or invented one
// is the same plain 404 (Server.fail). Nothing here names the bin, whose id
// is its capture URL.

func (s *Server) handleSharedPage(w http.ResponseWriter, r *http.Request) error {
	sharedHeaders(w)
	sh, bin, err := s.shareFrom(r)
	if err != nil {
		return err
	}
	now := time.Now()
	sc := views.Scope{ShareID: sh.ID}
	list, err := s.listView(r, sc, bin, now)
	if err != nil {
		return err
	}
	page := s.page(bin.Name)
	if bin.Name == "" {
		page = s.page("Shared requests")
	}
	page.ReadOnly = true
	v := views.SharedView{Page: page, Name: bin.Name, ExpiresAt: sh.ExpiresAt, StreamURL: streamURL(sc, list), List: list}
	req, err := s.selected(r, bin, list)
	if err != nil {
		return err
	}
	if req != nil {
		v.Detail = views.NewDetail(sc, req, "", now)
		v.List.Selected = req.ID
	}
	return s.render(w, r, http.StatusOK, views.Shared(v))
}

func (s *Server) handleSharedRows(w http.ResponseWriter, r *http.Request) error {
	sharedHeaders(w)
	sh, bin, err := s.shareFrom(r)
	if err != nil {
		return err
	}
	list, err := s.listView(r, views.Scope{ShareID: sh.ID}, bin, time.Now())
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, views.RowsFragment(list))
}

// sharedRequest checks the link and loads the request in the path.
func (s *Server) sharedRequest(r *http.Request) (storage.Share, *storage.Request, error) {
	sh, bin, err := s.shareFrom(r)
	if err != nil {
		return sh, nil, err
	}
	seq, err := storage.ParseRequestID(r.PathValue("id"))
	if err != nil {
		return sh, nil, err
	}
	req, err := s.db.Request(r.Context(), bin.ID, seq)
	return sh, req, err
}

func (s *Server) handleSharedDetail(w http.ResponseWriter, r *http.Request) error {
	sharedHeaders(w)
	sh, req, err := s.sharedRequest(r)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, views.RequestDetail(*views.NewDetail(views.Scope{ShareID: sh.ID}, req, "", time.Now())))
}

// handleSharedBody downloads a body like the API does: an attachment that
// is never sniffed or rendered.
func (s *Server) handleSharedBody(w http.ResponseWriter, r *http.Request) error {
	sharedHeaders(w)
	_, req, err := s.sharedRequest(r)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", `attachment; filename="`+req.ID+`.bin"`)
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Content-Length", strconv.Itoa(len(req.Body)))
	w.Write(req.Body)
	return nil
}

func (s *Server) handleSharedHead(w http.ResponseWriter, r *http.Request) error {
	sharedHeaders(w)
	_, req, err := s.sharedRequest(r)
	if err != nil {
		return err
	}
	writeHead(w, req)
	return nil
}

func (s *Server) handleSharedPart(w http.ResponseWriter, r *http.Request) error {
	sharedHeaders(w)
	_, req, err := s.sharedRequest(r)
	if err != nil {
		return err
	}
	return s.writePart(w, r, req)
}

// handleSharedStream is a share link's live rows. It ends when the link
// expires or is revoked; EventSource then reconnects, gets a 404 and stops.
func (s *Server) handleSharedStream(w http.ResponseWriter, r *http.Request) error {
	sh, bin, err := s.shareFrom(r)
	if err != nil {
		return err
	}
	return s.stream(w, r, streamRequest{kind: sharedStream, bin: bin, share: sh.ID, q: strings.TrimSpace(r.URL.Query().Get("q")),
		until: sh.ExpiresAt,
		authorize: func(ctx context.Context) error {
			_, _, err := s.shareFrom(r.WithContext(ctx))
			return err
		}})
}

package web

import (
	"bytes"
	"mime"
	"net/http"
	"path"
	"time"

	"github.com/tailhook-dev/tailhook/static"
)

// handleStatic serves the embedded assets. Their URLs carry a hash of their
// content, so a current URL may be cached for a year; a stale hash (a page
// from before an upgrade) still gets the file, but not for keeps.
func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) error {
	a, current, ok := static.Lookup(r.PathValue("path"))
	if !ok {
		return errNotFound
	}
	h := w.Header()
	ctype := mime.TypeByExtension(path.Ext(a.Name))
	if ctype == "" {
		ctype = "text/plain; charset=utf-8"
	}
	h.Set("Content-Type", ctype)
	h.Set("ETag", `"`+a.Hash+`"`)
	if current {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, a.Name, time.Time{}, bytes.NewReader(a.Data))
	return nil
}

package web

import (
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/tailhook-dev/tailhook/storage"
	"github.com/tailhook-dev/tailhook/views"
)

// Image previews and download names. A preview is served from our origin
// only when the bytes themselves are a PNG, JPEG, GIF or WebP (never what
// the sender declared, so never SVG or HTML), with that exact type,
// nosniff and a sandboxing CSP: a browser can only ever decode an image.

func (s *Server) bodyViewRoutes(mux *http.ServeMux) {
	h := s.handle
	mux.Handle("GET /bins/{bin}/requests/{id}/image", h(s.handleImage))
	mux.Handle("GET /bins/{bin}/requests/{id}/parts/{n}/image", h(s.handleImage))
	mux.Handle("GET /s/{share}/requests/{id}/image", h(s.handleSharedImage))
	mux.Handle("GET /s/{share}/requests/{id}/parts/{n}/image", h(s.handleSharedImage))
}

func (s *Server) handleImage(w http.ResponseWriter, r *http.Request) error {
	_, req, err := s.requestFrom(r)
	if err != nil {
		return err
	}
	return writeImage(w, r, req)
}

func (s *Server) handleSharedImage(w http.ResponseWriter, r *http.Request) error {
	sharedHeaders(w)
	_, req, err := s.sharedRequest(r)
	if err != nil {
		return err
	}
	return writeImage(w, r, req)
}

func writeImage(w http.ResponseWriter, r *http.Request, req *storage.Request) error {
	data := req.Body
	if n := r.PathValue("n"); n != "" {
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 {
			return errNotFound
		}
		var ok bool
		if data, _, _, ok = views.MultipartPart(req.Header.Get("Content-Type"), req.Body, i); !ok {
			return errNotFound
		}
	} else if enc := strings.Join(req.Header.Values("Content-Encoding"), ","); enc != "" {
		out, _, clipped, err := views.DecodeContent(enc, data, views.MaxDecoded)
		if err != nil || clipped {
			return errNotFound
		}
		data = out
	}
	ctype := views.ImageType(data)
	if ctype == "" {
		return errNotFound
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(data)
	}
	return nil
}

// extensions by media type, for download names; anything else is .bin.
var extensions = map[string]string{
	"application/json": ".json", "text/json": ".json", "application/xml": ".xml", "text/xml": ".xml",
	"text/plain": ".txt", "text/html": ".html", "text/csv": ".csv", "application/x-www-form-urlencoded": ".txt",
	"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp", "image/svg+xml": ".svg",
	"application/pdf": ".pdf", "application/zip": ".zip", "application/gzip": ".gz",
}

func extensionOf(contentType string) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	if e, ok := extensions[mt]; ok {
		return e
	}
	switch {
	case strings.HasSuffix(mt, "+json"):
		return ".json"
	case strings.HasSuffix(mt, "+xml"):
		return ".xml"
	case strings.HasPrefix(mt, "multipart/"):
		return ".txt"
	}
	return ".bin"
}

// bodyFilename names a body download after the request and its type:
// req_5.json; req_5.json.gz when the bytes are gzip-encoded on the wire.
func bodyFilename(req *storage.Request) string {
	name := req.ID + extensionOf(req.Header.Get("Content-Type"))
	switch strings.ToLower(strings.TrimSpace(req.Header.Get("Content-Encoding"))) {
	case "gzip", "x-gzip":
		name += ".gz"
	case "br":
		name += ".br"
	case "deflate":
		name += ".zz"
	}
	return name
}

// partFilename is the sender's file name for a part, else req_5-part2.png.
func partFilename(req *storage.Request, n int, filename, partType string) string {
	if name := safeFilename(filename); name != "" {
		return name
	}
	if partType == "" {
		partType = "text/plain" // a form part's default (RFC 7578)
	}
	return req.ID + "-part" + strconv.Itoa(n+1) + extensionOf(partType)
}

// exportFilename names an export after the bin: its name when it has a
// usable one, else its id.
func exportFilename(bin storage.Bin, ext string) string {
	name := safeFilename(bin.Name)
	if name == "" {
		name = bin.ID
	}
	return name + ext
}

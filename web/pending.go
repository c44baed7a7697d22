package web

import (
	"net/http"

	"github.com/tailhook-dev/tailhook/storage"
)

// TEMPORARY until the signature and forward packages land (same session).
func (s *Server) verify(r *http.Request, bin *storage.Bin, req *storage.Request) *storage.Verdict {
	return nil
}

func (s *Server) deliveryURL(target, path, query string) string { return target + path }

func (s *Server) pageRoutes(mux *http.ServeMux) {}

func (s *Server) signatureRoutes(mux *http.ServeMux) {}

func (s *Server) forwardRoutes(mux *http.ServeMux) {}

func (s *Server) automationRoutes(mux *http.ServeMux) {}

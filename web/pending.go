package web

import (
	"net/http"
)

// TEMPORARY until the forward package is wired (same session).
func (s *Server) deliveryURL(target, path, query string) string { return target + path }

func (s *Server) pageRoutes(mux *http.ServeMux) {}

func (s *Server) forwardRoutes(mux *http.ServeMux) {}

func (s *Server) automationRoutes(mux *http.ServeMux) {}

package web

import (
	"net/http"
)

// TEMPORARY: route groups whose issues are being built in this session.
func (s *Server) automationRoutes(mux *http.ServeMux) {}

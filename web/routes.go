package web

import (
	"net/http"
	"strings"
)

// routes lists every route. Captures bypass the router: ServeMux cleans
// paths with redirects, and a capture must keep its path byte-exact.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.Handle("GET /metrics", s.metricsHandler()) // metrics.go

	mux.HandleFunc("POST /api/bins", s.handleBinCreate)
	mux.HandleFunc("GET /api/bins/{bin}", s.handleBinGet)
	mux.HandleFunc("PATCH /api/bins/{bin}", s.handleBinRename)
	mux.HandleFunc("DELETE /api/bins/{bin}", s.handleBinDelete)
	mux.HandleFunc("POST /api/bins/{bin}/token", s.handleTokenCreate)
	mux.HandleFunc("PUT /api/bins/{bin}/response", s.handleResponsePut)
	mux.HandleFunc("DELETE /api/bins/{bin}/response", s.handleResponseDelete)

	mux.HandleFunc("GET /api/bins/{bin}/requests", s.handleRequestList)
	mux.HandleFunc("DELETE /api/bins/{bin}/requests", s.handleRequestsClear)
	mux.HandleFunc("GET /api/bins/{bin}/requests/{id}", s.handleRequestGet)
	mux.HandleFunc("GET /api/bins/{bin}/requests/{id}/body", s.handleRequestBody)
	mux.HandleFunc("DELETE /api/bins/{bin}/requests/{id}", s.handleRequestDelete)

	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API route: "+r.Method+" "+r.URL.Path)
	})
	s.signatureRoutes(mux)  // api_signature.go
	s.forwardRoutes(mux)    // api_forward.go
	s.automationRoutes(mux) // api_automation.go
	s.pageRoutes(mux)       // pages.go
	s.loginRoutes(mux)      // loginlink.go
	s.bodyViewRoutes(mux)   // bodyview.go

	app := s.recoverer(s.logRequests(s.secureHeaders(s.crossOrigin(mux))))
	capture := s.recoverer(s.logRequests(http.HandlerFunc(s.handleCapture)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, _, ok := captureTarget(r); ok {
			capture.ServeHTTP(w, r)
			return
		}
		app.ServeHTTP(w, r)
	})
}

// crossOrigin rejects cross-site state-changing requests that ride on the
// session cookie. Requests with an Authorization header carry their own
// credential, and are exempt.
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			if err := cop.Check(r); err != nil {
				if strings.HasPrefix(r.URL.Path, "/api/") {
					writeError(w, http.StatusForbidden, "cross-origin request refused")
				} else {
					http.Error(w, "Cross-origin request refused.", http.StatusForbidden)
				}
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// secureHeaders are sent with every page and API answer. Pages add their own
// Content-Security-Policy with a per-request nonce.
func (s *Server) secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

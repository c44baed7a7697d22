package web

import (
	"net"
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
		if headerBytes(r) > maxHeaderBytes {
			// net/http allows a few KiB over its MaxHeaderBytes; the
			// contract's limit is exact.
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusRequestHeaderFieldsTooLarge, "request headers over 1 MiB")
			return
		}
		_, _, _, isCapture := captureTarget(r)
		if s.cfg.CaptureHost != "" && r.URL.Path != "/healthz" && isCapture != s.onCaptureHost(r) {
			// Captures only on the capture host, and nothing else there:
			// what a bin's owner configures never shares the app's origin.
			writeError(w, http.StatusNotFound, "not found on this host")
			return
		}
		if isCapture {
			capture.ServeHTTP(w, r)
			return
		}
		app.ServeHTTP(w, r)
	})
}

// maxHeaderBytes is the contract's limit on a request's header block.
const maxHeaderBytes = 1 << 20

// headerBytes is the size of r's request line and header block as sent
// (less optional white space, which the parser drops): what net/http's
// MaxHeaderBytes counts, with none of its slack.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2
	n += len("Host: ") + len(r.Host) + 2
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	for _, te := range r.TransferEncoding {
		n += len("Transfer-Encoding: ") + len(te) + 2
	}
	return n + 2
}

// onCaptureHost reports whether r was sent to --capture-host.
func (s *Server) onCaptureHost(r *http.Request) bool {
	host := s.requestHost(r)
	want := s.cfg.CaptureHost
	if !strings.Contains(want, ":") {
		// A capture host without a port matches on any port.
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	return strings.EqualFold(host, want)
}

// crossOrigin rejects cross-site state-changing requests that ride on the
// session cookie. API requests with an Authorization header carry their own
// credential, and are exempt. Whenever Authorization is present the cookie
// is removed, so that only that credential counts: a browser adds
// Authorization: Basic to a cross-site request by itself, with the cookie.
// The pages' forms are checked even then: they set the session cookie, and
// a cross-site form must not replace a browser's session.
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, hasAuth := r.Header["Authorization"]
		api := strings.HasPrefix(r.URL.Path, "/api/")
		if !hasAuth || !api {
			if err := cop.Check(r); err != nil {
				if api {
					writeError(w, http.StatusForbidden, "cross-origin request refused")
				} else {
					http.Error(w, "Cross-origin request refused.", http.StatusForbidden)
				}
				return
			}
		}
		if _, hasCookie := r.Header["Cookie"]; hasAuth && hasCookie {
			r = r.Clone(r.Context())
			r.Header.Del("Cookie")
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

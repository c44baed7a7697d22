package web

import (
	"net"
	"net/http"
	"strings"
)

// routes lists every route; it only registers, everything was built by New.
// Captures bypass the router: ServeMux cleans paths with redirects, and a
// capture must keep its path byte-exact.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	h := s.handle // every handler returns its error to s.fail (errors.go)

	mux.Handle("GET /healthz", h(s.handleHealth))
	mux.Handle("GET /metrics", s.metrics.handler())

	// The JSON API: bins and their settings (api_bins.go, api_signature.go,
	// api_forward.go).
	mux.Handle("POST /api/bins", h(s.handleBinCreate))
	mux.Handle("GET /api/bins/{bin}", h(s.handleBinGet))
	mux.Handle("PATCH /api/bins/{bin}", h(s.handleBinRename))
	mux.Handle("DELETE /api/bins/{bin}", h(s.handleBinDelete))
	mux.Handle("POST /api/bins/{bin}/token", h(s.handleTokenCreate))
	mux.Handle("PUT /api/bins/{bin}/response", h(s.handleResponsePut))
	mux.Handle("DELETE /api/bins/{bin}/response", h(s.handleResponseDelete))
	mux.Handle("GET /api/providers", h(s.handleProviders))
	mux.Handle("PUT /api/bins/{bin}/signature", h(s.handleSignaturePut))
	mux.Handle("DELETE /api/bins/{bin}/signature", h(s.handleSignatureDelete))
	mux.Handle("POST /api/bins/{bin}/samples", h(s.handleSample))
	mux.Handle("PUT /api/bins/{bin}/forwarding", h(s.handleForwardingPut))
	mux.Handle("DELETE /api/bins/{bin}/forwarding", h(s.handleForwardingDelete))

	// Captured requests (api_requests.go, api_signature.go, api_forward.go,
	// api_automation.go, curl.go, har.go).
	mux.Handle("GET /api/bins/{bin}/requests", h(s.handleRequestList))
	mux.Handle("DELETE /api/bins/{bin}/requests", h(s.handleRequestsClear))
	mux.Handle("GET /api/bins/{bin}/requests/wait", h(s.handleWait))
	mux.Handle("GET /api/bins/{bin}/requests/{id}", h(s.handleRequestGet))
	mux.Handle("GET /api/bins/{bin}/requests/{id}/body", h(s.handleRequestBody))
	mux.Handle("DELETE /api/bins/{bin}/requests/{id}", h(s.handleRequestDelete))
	mux.Handle("GET /api/bins/{bin}/requests/{id}/curl", h(s.handleCurl))
	mux.Handle("POST /api/bins/{bin}/requests/{id}/verify", h(s.handleVerify))
	mux.Handle("POST /api/bins/{bin}/requests/{id}/sns-confirm", h(s.handleSNSConfirm)) // sns.go
	mux.Handle("POST /api/bins/{bin}/requests/{id}/forward", h(s.handleForward))
	mux.Handle("POST /api/bins/{bin}/requests/{id}/delivery/retry", h(s.handleDeliveryRetry))
	mux.Handle("POST /api/bins/{bin}/requests/{id}/delivery/cancel", h(s.handleDeliveryCancel))
	mux.Handle("GET /api/bins/{bin}/export.har", h(s.handleExportHAR))
	mux.Handle("GET /api/bins/{bin}/export.json", h(s.handleExportJSON))
	mux.Handle("GET /api/bins/{bin}/events", h(s.handleEvents)) // live.go

	// Share links (api_automation.go).
	mux.Handle("POST /api/bins/{bin}/shares", h(s.handleShareCreate))
	mux.Handle("GET /api/bins/{bin}/shares", h(s.handleShareList))
	mux.Handle("DELETE /api/bins/{bin}/shares/{share}", h(s.handleShareDelete))

	mux.Handle("GET /api/openapi.json", h(s.handleOpenAPI))
	mux.Handle("/api/", h(func(w http.ResponseWriter, r *http.Request) error {
		return notFound("no such API route: " + r.Method + " " + r.URL.Path)
	}))

	// The browser pages, their fragments and their stream (pages.go).
	mux.Handle("GET /{$}", h(s.handleHome))
	mux.Handle("POST /bins", h(s.handleBinCreateForm))
	mux.Handle("GET /bins/{bin}", h(s.handleInspector))
	mux.Handle("GET /bins/{bin}/rows", h(s.handleRows))
	mux.Handle("GET /bins/{bin}/requests/{id}", h(s.handleDetail))
	mux.Handle("GET /bins/{bin}/requests/{id}/parts/{n}", h(s.handlePart))
	mux.Handle("GET /bins/{bin}/requests/{id}/head", h(s.handleHead))
	mux.Handle("GET /bins/{bin}/stream", h(s.handlePageStream))

	// The read-only inspector behind a share link (shared.go).
	mux.Handle("GET /s/{share}", h(s.handleSharedPage))
	mux.Handle("GET /s/{share}/rows", h(s.handleSharedRows))
	mux.Handle("GET /s/{share}/requests/{id}", h(s.handleSharedDetail))
	mux.Handle("GET /s/{share}/requests/{id}/body", h(s.handleSharedBody))
	mux.Handle("GET /s/{share}/requests/{id}/parts/{n}", h(s.handleSharedPart))
	mux.Handle("GET /s/{share}/requests/{id}/head", h(s.handleSharedHead))
	mux.Handle("GET /s/{share}/stream", h(s.handleSharedStream))

	mux.Handle("GET /static/{path...}", h(s.handleStatic))

	app := s.recoverer(s.logRequests(s.secureHeaders(s.crossOrigin(mux))))
	capture := s.recoverer(s.logRequests(http.HandlerFunc(s.handleCapture)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headerBytes(r) > maxHeaderBytes {
			// net/http allows a few KiB over its MaxHeaderBytes; the
			// contract's limit is exact.
			w.Header().Set("Connection", "close")
			s.fail(w, r, &apiError{http.StatusRequestHeaderFieldsTooLarge, "request headers over 1 MiB"})
			return
		}
		_, _, _, isCapture := captureTarget(r)
		if s.cfg.CaptureHost != "" && r.URL.Path != "/healthz" && isCapture != s.onCaptureHost(r) {
			// Captures only on the capture host, and nothing else there:
			// what a bin's owner configures never shares the app's origin.
			writeError(w, http.StatusNotFound, "not found on this host") // no page of the app here
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
				s.fail(w, r, &apiError{http.StatusForbidden, "cross-origin request refused"})
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

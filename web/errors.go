package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/tailhook-dev/tailhook/storage"
	"github.com/tailhook-dev/tailhook/views"
)

// apiError is an error whose message is safe to show the user.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(msg string) error { return &apiError{http.StatusBadRequest, msg} }

func notFound(msg string) error { return &apiError{http.StatusNotFound, msg} }

// writeJSON writes v as the response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// writeError writes the API's error shape: {"error": "…"}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// errNotFound is a plain "not found": pages show their not-found page.
var errNotFound = &apiError{http.StatusNotFound, "not found"}

// errShuttingDown answers streams and long polls while the server stops.
var errShuttingDown = &apiError{http.StatusServiceUnavailable, "server shutting down"}

// handlerFunc is a route's handler. It returns an error instead of writing
// one, so that every failure goes through fail.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handlerFunc to net/http; routes.go wraps every route in it.
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// fail is the one error path: it maps err to a status and a message a user
// may see, and answers in the route's language: JSON for the API and
// captures, the same plain 404 for every kind of missing share link (an
// expired, revoked and invented one look alike), HTML for pages. Only
// server errors are logged, and their text is never shown.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "internal error; the server log has details"
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		status, msg = ae.status, ae.msg
	case errors.Is(err, storage.ErrNotFound):
		status, msg = http.StatusNotFound, "not found"
	default:
		path := r.URL.Path
		if strings.HasPrefix(path, "/s/") {
			path = "/s/…" // the link is the credential
		}
		s.log.Error("internal error", "method", r.Method, "path", path, "error", err)
	}
	_, _, _, capture := captureTarget(r)
	switch {
	case capture || strings.HasPrefix(r.URL.Path, "/api/"):
		writeError(w, status, msg)
	case strings.HasPrefix(r.URL.Path, "/s/") && status == http.StatusNotFound:
		http.NotFound(w, r)
	case status == http.StatusNotFound && s.render(w, r, status, views.NotFound(s.page("Not found"))) == nil:
	case status >= 500:
		http.Error(w, "Internal error; the server log has details.", status)
	default:
		http.Error(w, msg, status)
	}
}

// decodeJSON reads a JSON request body of at most 1 MiB into v. An empty
// body leaves v as it is.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, 1<<20)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &apiError{http.StatusRequestEntityTooLarge, "request body over 1 MiB"}
		}
		return badRequest("invalid JSON body: " + err.Error())
	}
	if dec.More() {
		return badRequest("invalid JSON body: more than one value")
	}
	return nil
}

package web

import (
	"net/http"
	"strconv"

	"github.com/tailhook-dev/tailhook/storage"
)

func (s *Server) handleRequestList(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	opts, err := listOptions(r)
	if err != nil {
		return err
	}
	reqs, more, err := s.db.ListRequests(r.Context(), bin.ID, opts)
	if err != nil {
		return err
	}
	out := struct {
		Requests []requestJSON `json:"requests"`
		Next     *string       `json:"next"`
	}{Requests: make([]requestJSON, 0, len(reqs))}
	for _, q := range reqs {
		out.Requests = append(out.Requests, toRequestJSON(q, false))
	}
	if more && len(reqs) > 0 {
		out.Next = &reqs[len(reqs)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// listOptions reads limit, before and q from the query string.
func listOptions(r *http.Request) (storage.ListOptions, error) {
	q := r.URL.Query()
	var o storage.ListOptions
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return o, badRequest("limit must be a number")
		}
		o.Limit = min(max(n, 1), 500)
	}
	if v := q.Get("before"); v != "" {
		seq, err := storage.ParseRequestID(v)
		if err != nil {
			return o, badRequest("before must be a request id")
		}
		o.Before = seq
	}
	o.Query = q.Get("q")
	return o, nil
}

// requestFrom loads the request named in the path, within an authorised bin.
func (s *Server) requestFrom(r *http.Request) (storage.Bin, *storage.Request, error) {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return bin, nil, err
	}
	seq, err := storage.ParseRequestID(r.PathValue("id"))
	if err != nil {
		return bin, nil, notFound("no request with id " + r.PathValue("id"))
	}
	req, err := s.db.Request(r.Context(), bin.ID, seq)
	if err != nil {
		return bin, nil, err
	}
	return bin, req, nil
}

func (s *Server) handleRequestGet(w http.ResponseWriter, r *http.Request) error {
	_, req, err := s.requestFrom(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toRequestJSON(req, true))
	return nil
}

// handleRequestBody serves the captured bytes as a download: never rendered
// in our origin, never sniffed.
func (s *Server) handleRequestBody(w http.ResponseWriter, r *http.Request) error {
	_, req, err := s.requestFrom(r)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", `attachment; filename="`+bodyFilename(req)+`"`)
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Content-Length", strconv.Itoa(len(req.Body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(req.Body)
	}
	return nil
}

func (s *Server) handleRequestDelete(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	seq, err := storage.ParseRequestID(r.PathValue("id"))
	if err == nil {
		err = s.db.DeleteRequest(r.Context(), bin.ID, seq)
	}
	if err != nil {
		return err
	}
	s.publish(Event{Kind: Removed, Bin: bin.ID, Seq: seq})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleRequestsClear(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	if err := s.db.ClearRequests(r.Context(), bin.ID); err != nil {
		return err
	}
	s.publish(Event{Kind: Cleared, Bin: bin.ID})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	if err := s.db.Ping(r.Context()); err != nil {
		s.log.Error("health check", "error", err)
		return &apiError{http.StatusServiceUnavailable, "database not answering"}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

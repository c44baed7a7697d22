package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tailhook-dev/tailhook/storage"
)

// Limits of the automation API.
const (
	defaultWait     = 30 * time.Second
	maxWait         = 120 * time.Second
	defaultShareTTL = 24 * time.Hour
	maxShareTTL     = 30 * 24 * time.Hour
	// waitBuffer is how many captures a waiter may fall behind before it
	// stops receiving them and catches up from the database instead.
	waitBuffer = 16
)

func (s *Server) automationRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/bins/{bin}/requests/wait", s.handleWait)
	mux.HandleFunc("GET /api/bins/{bin}/requests/{id}/curl", s.handleCurl)
	mux.HandleFunc("GET /api/bins/{bin}/export.har", s.handleExportHAR)
	mux.HandleFunc("GET /api/bins/{bin}/export.json", s.handleExportJSON)
	mux.HandleFunc("POST /api/bins/{bin}/shares", s.handleShareCreate)
	mux.HandleFunc("GET /api/bins/{bin}/shares", s.handleShareList)
	mux.HandleFunc("DELETE /api/bins/{bin}/shares/{share}", s.handleShareDelete)
	mux.HandleFunc("GET /api/openapi.json", s.handleOpenAPI)
	// The shared, read-only view is a page: pageRoutes (pages.go).
}

// waitParams are the wait API's query parameters.
type waitParams struct {
	timeout  time.Duration
	after    int64
	hasAfter bool
	filter   storage.Filter
}

func parseWait(r *http.Request) (waitParams, error) {
	q := r.URL.Query()
	p := waitParams{timeout: defaultWait, filter: storage.Filter{
		Method: q.Get("method"), PathPrefix: q.Get("path"), Query: q.Get("q"),
	}}
	if v := q.Get("timeout"); v != "" {
		d, err := parseDuration(v)
		if err != nil || d < 0 {
			return p, badRequest(`timeout must be a duration such as "30s" or a number of seconds`)
		}
		p.timeout = min(d, maxWait)
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			// A request id names the same position.
			n, err = storage.ParseRequestID(v)
		}
		if err != nil || n < 0 {
			return p, badRequest("after must be a seq (a number) or a request id")
		}
		p.after, p.hasAfter = n, true
	}
	return p, nil
}

// parseDuration reads a Go duration ("90s", "1m30s"), a number of seconds
// ("30"), or a number of days ("7d").
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n > 1e6 {
			return 0, errors.New("too long")
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 10000 {
			return 0, errors.New("bad days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

// handleWait long-polls for the first capture after a seq that passes the
// filters. A waiter costs one goroutine (the handler's own) and one small
// channel; it is woken by the hub, and reads the database only to catch up:
// once at the start, and again if it ever fell behind the live events.
func (s *Server) handleWait(w http.ResponseWriter, r *http.Request) {
	bin, err := s.binFrom(r, false)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	p, err := parseWait(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	// Without after, only what is captured from now on: bin.Seq was read
	// just now, and the catch-up query below closes the gap between that
	// read and Listen.
	checked := bin.Seq
	if p.hasAfter {
		checked = p.after
	}

	events := make(chan *storage.Request, waitBuffer)
	behind := make(chan struct{}, 1)
	stop := s.hub.Listen(bin.ID, func(req *storage.Request) {
		// Runs on the database writer: never block. A full buffer means
		// this waiter is slow; it will read the database instead.
		select {
		case events <- req:
		default:
			select {
			case behind <- struct{}{}:
			default:
			}
		}
	})
	defer stop()

	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	// A long poll outlives the server's usual write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(p.timeout + 10*time.Second))

	// catchUp asks the database for the first match after checked; gapEnd
	// is the newest seq known to be committed when it was asked for.
	catchUp, gapEnd := true, int64(0)
	for {
		if catchUp {
			catchUp = false
			req, err := s.db.FirstMatchAfter(r.Context(), bin.ID, checked, p.filter)
			if err == nil {
				writeJSON(w, http.StatusOK, toRequestJSON(req, true))
				return
			}
			if !errors.Is(err, storage.ErrNotFound) {
				s.apiFail(w, r, err)
				return
			}
			// Nothing up to gapEnd matches. Queued events may repeat what
			// the query saw after it; checking them again is harmless.
			checked = max(checked, gapEnd)
		}
		select {
		case req := <-events:
			if req.Seq <= checked {
				continue
			}
			if req.Seq > checked+1 {
				// A gap: captures committed before Listen, or dropped.
				catchUp, gapEnd = true, req.Seq
				continue
			}
			checked = req.Seq
			if p.filter.Matches(req) {
				s.writeWaitMatch(w, r, req)
				return
			}
		case <-behind:
			catchUp = true
		case <-timer.C:
			w.WriteHeader(http.StatusNoContent)
			return
		case <-r.Context().Done():
			return // the client hung up; stop frees the listener
		case <-s.baseCtx.Done():
			writeError(w, http.StatusServiceUnavailable, "server shutting down")
			return
		}
	}
}

// writeWaitMatch answers with a live capture as stored, with its forwarding
// history (none yet, or what auto-forward recorded meanwhile).
func (s *Server) writeWaitMatch(w http.ResponseWriter, r *http.Request, req *storage.Request) {
	if stored, err := s.db.Request(r.Context(), req.BinID, req.Seq); err == nil {
		req = stored
	}
	writeJSON(w, http.StatusOK, toRequestJSON(req, true))
}

// handleExportJSON streams the bin's requests (honouring q) as
// {"requests":[…whole requests, oldest first…]}.
func (s *Server) handleExportJSON(w http.ResponseWriter, r *http.Request) {
	bin, err := s.binFrom(r, false)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+exportFilename(bin, ".json")+`"`)
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(`{"requests":[`))
	s.exportArray(w, r, bin, func(req *storage.Request) any { return toRequestJSON(req, true) })
	w.Write([]byte("]}\n"))
}

// exportArray writes the bin's requests (see exportEach) as the elements of
// a JSON array whose brackets the caller writes; entry gives each element.
func (s *Server) exportArray(w http.ResponseWriter, r *http.Request, bin storage.Bin, entry func(*storage.Request) any) {
	n := 0
	s.exportEach(w, r, bin, func(req *storage.Request) error {
		j, err := json.Marshal(entry(req))
		if err != nil {
			return err
		}
		if n > 0 {
			w.Write([]byte(",\n"))
		}
		n++
		_, err = w.Write(j)
		return err
	})
}

// exportEach calls fn for each of the bin's requests captured before the
// call that match q, oldest first, a page at a time so that memory stays
// bounded. The answer has begun, so a failure cannot change the status: it
// is logged and the connection cut, so that the client sees a broken
// download rather than a short one.
func (s *Server) exportEach(w http.ResponseWriter, r *http.Request, bin storage.Bin, fn func(*storage.Request) error) {
	o := storage.ExportOptions{UpTo: bin.Seq, Query: r.URL.Query().Get("q")}
	for {
		page, err := s.db.ExportRequests(r.Context(), bin.ID, o)
		if err != nil {
			s.log.Error("export", "bin", bin.ID, "error", err)
			panic(http.ErrAbortHandler)
		}
		for _, req := range page {
			if err := fn(req); err != nil {
				s.log.Info("export cut short", "bin", bin.ID, "error", err)
				panic(http.ErrAbortHandler)
			}
			o.After = req.Seq
		}
		if len(page) == 0 || (o.UpTo > 0 && o.After >= o.UpTo) {
			return
		}
	}
}

// shareJSON is a share link as its bin's owner sees it.
type shareJSON struct {
	ID        string `json:"id"`
	URL       string `json:"url"`
	CreatedAt string `json:"created_at"`
	ExpiresAt string `json:"expires_at"`
}

func (s *Server) toShareJSON(r *http.Request, sh storage.Share) shareJSON {
	return shareJSON{ID: sh.ID, URL: s.baseURL(r) + "/s/" + sh.ID,
		CreatedAt: sh.CreatedAt.Format(timeFormat), ExpiresAt: sh.ExpiresAt.Format(timeFormat)}
}

func (s *Server) handleShareCreate(w http.ResponseWriter, r *http.Request) {
	bin, err := s.binFrom(r, false)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in struct {
		ExpiresIn string `json:"expires_in"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		s.apiFail(w, r, err)
		return
	}
	ttl := defaultShareTTL
	if in.ExpiresIn != "" {
		ttl, err = parseDuration(in.ExpiresIn)
		if err != nil || ttl <= 0 {
			s.apiFail(w, r, badRequest(`expires_in must be a positive duration such as "24h" or "7d"`))
			return
		}
		if ttl > maxShareTTL {
			s.apiFail(w, r, badRequest("expires_in is over the maximum of 30 days (720h)"))
			return
		}
	}
	sh, err := s.db.CreateShare(r.Context(), bin.ID, ttl)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.toShareJSON(r, sh))
}

func (s *Server) handleShareList(w http.ResponseWriter, r *http.Request) {
	bin, err := s.binFrom(r, false)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	list, err := s.db.Shares(r.Context(), bin.ID)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := struct {
		Shares []shareJSON `json:"shares"`
	}{Shares: make([]shareJSON, 0, len(list))}
	for _, sh := range list {
		out.Shares = append(out.Shares, s.toShareJSON(r, sh))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleShareDelete(w http.ResponseWriter, r *http.Request) {
	bin, err := s.binFrom(r, false)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if err := s.db.RevokeShare(r.Context(), bin.ID, r.PathValue("share")); err != nil {
		s.apiFail(w, r, err)
		return
	}
	// Open shared pages stop at once; reconnecting, they get a 404.
	s.hub.Notice(bin.ID, NoticeShareRevoked)
	w.WriteHeader(http.StatusNoContent)
}

// shareFrom checks the share link in the path and returns it with its bin.
// A missing, expired or revoked share, or one whose bin is gone, is
// storage.ErrNotFound: callers answer a plain 404 and say nothing more.
func (s *Server) shareFrom(r *http.Request) (storage.Share, storage.Bin, error) {
	sh, err := s.db.Share(r.Context(), r.PathValue("share"))
	if err != nil {
		return storage.Share{}, storage.Bin{}, err
	}
	bin, err := s.db.Bin(r.Context(), sh.BinID)
	if err != nil {
		return storage.Share{}, storage.Bin{}, err
	}
	return sh, bin, nil
}

// shareFail answers a shared view's error: any kind of "not found" is the
// same plain 404, so expired, revoked and invented links look alike.
func (s *Server) shareFail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.Is(err, storage.ErrNotFound) || (errors.As(err, &ae) && ae.status == http.StatusNotFound) {
		http.NotFound(w, r)
		return
	}
	if errors.As(err, &ae) {
		http.Error(w, ae.msg, ae.status)
		return
	}
	s.log.Error("internal error", "method", r.Method, "path", "/s/…", "error", err)
	http.Error(w, "Internal error; the server log has details.", http.StatusInternalServerError)
}

// sharedHeaders keep a shared view out of caches and search engines. The
// global Referrer-Policy: no-referrer already keeps the link out of Referer.
func sharedHeaders(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Robots-Tag", "noindex, nofollow")
}

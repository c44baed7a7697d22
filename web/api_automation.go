package web

import (
	"context"
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
// filters. A waiter is one Subscription of the hub with the filters: it
// reads the database to catch up (through the same search predicate as the
// live filter), then is woken by live captures.
func (s *Server) handleWait(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	p, err := parseWait(r)
	if err != nil {
		return err
	}
	if s.baseCtx.Err() != nil {
		return errShuttingDown
	}
	// Without after, only what is captured from now on: bin.Seq was read
	// just now, and the subscription misses nothing committed after it.
	after := bin.Seq
	if p.hasAfter {
		after = p.after
	}
	ctx, cancel := context.WithTimeout(r.Context(), p.timeout)
	defer cancel()
	sub := s.hub.Subscribe(ctx, bin.ID, after, p.filter)
	defer sub.Close()
	// A long poll outlives the server's usual write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(p.timeout + 10*time.Second))
	for {
		ev, err := sub.Next(ctx)
		switch {
		case errors.Is(err, errClosed) || s.baseCtx.Err() != nil:
			return errShuttingDown
		case r.Context().Err() != nil:
			return nil // the client hung up
		case errors.Is(err, context.DeadlineExceeded):
			w.WriteHeader(http.StatusNoContent)
			return nil
		case err != nil:
			return err // the bin is gone (not found), or the database failed
		}
		switch ev.Kind {
		case Captured:
			s.writeWaitMatch(w, r, ev.Request)
			return nil
		case BinDeleted:
			return notFound("the bin was deleted")
		case CredentialChanged:
			if _, err := s.binFrom(r, false); err != nil {
				return err
			}
		}
	}
}

func (s *Server) writeWaitMatch(w http.ResponseWriter, r *http.Request, req *storage.Request) {
	if stored, err := s.db.Request(r.Context(), req.BinID, req.Seq); err == nil {
		req = stored
	}
	writeJSON(w, http.StatusOK, toRequestJSON(req, true))
}

// handleExportJSON streams the bin's requests (honouring q) as
// {"requests":[…whole requests, oldest first…]}.
func (s *Server) handleExportJSON(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+exportFilename(bin, ".json")+`"`)
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(`{"requests":[`))
	s.exportArray(w, r, bin, func(req *storage.Request) any { return toRequestJSON(req, true) })
	w.Write([]byte("]}\n"))
	return nil
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

// readExpiresIn reads a body's optional {"expires_in": "…"}: def when it is
// absent, an error naming examples and the maximum when it is not a positive
// duration of at most max.
func readExpiresIn(w http.ResponseWriter, r *http.Request, def, max time.Duration, examples, maxText string) (time.Duration, error) {
	var in struct {
		ExpiresIn string `json:"expires_in"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return 0, err
	}
	if in.ExpiresIn == "" {
		return def, nil
	}
	ttl, err := parseDuration(in.ExpiresIn)
	if err != nil || ttl <= 0 {
		return 0, badRequest("expires_in must be a positive duration such as " + examples)
	}
	if ttl > max {
		return 0, badRequest("expires_in is over the maximum of " + maxText)
	}
	return ttl, nil
}

func (s *Server) handleShareCreate(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	ttl, err := readExpiresIn(w, r, defaultShareTTL, maxShareTTL, `"24h" or "7d"`, "30 days (720h)")
	if err != nil {
		return err
	}
	sh, err := s.db.CreateShare(r.Context(), bin.ID, ttl)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.toShareJSON(r, sh))
	return nil
}

func (s *Server) handleShareList(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	list, err := s.db.Shares(r.Context(), bin.ID)
	if err != nil {
		return err
	}
	out := struct {
		Shares []shareJSON `json:"shares"`
	}{Shares: make([]shareJSON, 0, len(list))}
	for _, sh := range list {
		out.Shares = append(out.Shares, s.toShareJSON(r, sh))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleShareDelete(w http.ResponseWriter, r *http.Request) error {
	bin, err := s.binFrom(r, false)
	if err != nil {
		return err
	}
	if err := s.db.RevokeShare(r.Context(), bin.ID, r.PathValue("share")); err != nil {
		return err
	}
	// Open shared pages stop at once; reconnecting, they get a 404.
	s.publish(Event{Kind: ShareRevoked, Bin: bin.ID, Share: r.PathValue("share")})
	w.WriteHeader(http.StatusNoContent)
	return nil
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

// sharedHeaders keep a shared view out of caches and search engines. The
// global Referrer-Policy: no-referrer already keeps the link out of Referer.
func sharedHeaders(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Robots-Tag", "noindex, nofollow")
}

package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tailhook-dev/tailhook/storage"
)

// maxResponseDelay caps a bin's configured answer delay.
const maxResponseDelay = 30 * time.Second

// captureTarget splits a raw request target "/b/{bin}{rest}?query" into its
// parts, exactly as sent: no unescaping, no path cleaning.
func captureTarget(r *http.Request) (bin, path, query string, ok bool) {
	target := r.RequestURI
	if !strings.HasPrefix(target, "/") {
		// Absolute form ("http://host/b/…"), as proxies send it.
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return "", "", "", false
		}
		target = u.EscapedPath()
		if u.RawQuery != "" || u.ForceQuery {
			target += "?" + u.RawQuery
		}
	}
	target, query, _ = strings.Cut(target, "?")
	rest, found := strings.CutPrefix(target, "/b/")
	if !found {
		return "", "", "", false
	}
	bin, path, _ = strings.Cut(rest, "/")
	if strings.Contains(rest, "/") {
		path = "/" + path
	}
	return bin, path, query, true
}

// handleCapture stores any request sent to /b/{bin}/… and answers with the
// bin's response, only once the request is durably stored.
func (s *Server) handleCapture(w http.ResponseWriter, r *http.Request) {
	received := time.Now().UTC()
	binID, path, query, _ := captureTarget(r)
	// Whatever a bin's owner configures, the answer must never run script in
	// tailhook's origin: a sandboxed document gets an opaque origin.
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")

	bin, err := s.db.CachedBin(r.Context(), binID)
	if err != nil {
		s.captureFail(w, r, binID, err)
		return
	}
	if ok, retry := s.limits.allow(bin.ID); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
		writeError(w, http.StatusTooManyRequests, "rate limit exceeded for this bin; retry later")
		return
	}

	body, size, truncated, err := readBody(r, s.cfg.MaxBody)
	if err != nil {
		// The sender went away mid-body: there is nobody to answer, and a
		// partial body is not what was sent.
		s.log.Info("capture aborted: body not received", "bin", bin.ID, "error", err)
		writeError(w, http.StatusBadRequest, "could not read request body: "+err.Error())
		return
	}

	header := r.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	// net/http moves these out of the header map; they were on the wire.
	header["Host"] = []string{r.Host}
	if len(r.TransferEncoding) > 0 {
		header["Transfer-Encoding"] = append([]string(nil), r.TransferEncoding...)
	}
	req := &storage.Request{
		BinID:      bin.ID,
		Method:     r.Method,
		Path:       path,
		Query:      query,
		Header:     header,
		Body:       body,
		Size:       size,
		Truncated:  truncated,
		RemoteAddr: s.clientAddr(r),
		Proto:      r.Proto,
		TLS:        s.isTLS(r),
		ReceivedAt: received,
	}
	var base string // only schemes that sign the URL need it
	if bin.Signature != nil {
		base = s.baseURL(r)
	}
	captured, err := s.store(r.Context(), &bin, req, base)
	if err != nil {
		s.captureFail(w, r, binID, err)
		return
	}
	s.metrics.captured(len(body))
	if truncated {
		writeError(w, http.StatusRequestEntityTooLarge,
			"request body over the "+formatSize(s.cfg.MaxBody)+" limit; stored without its body as "+req.ID)
		return
	}
	s.answer(w, r, captured)
}

// captureFail answers a capture that could not be stored: 404 for a bin
// that does not (or no longer) exist, 500 for anything else.
func (s *Server) captureFail(w http.ResponseWriter, r *http.Request, binID string, err error) {
	if errors.Is(err, storage.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no bin with id "+strconv.Quote(binID))
		return
	}
	s.serverError(w, r, err)
}

// store checks the request's signature, queues its auto-forward and stores
// it, all before the sender gets an answer. base is the public origin the
// sender used, for schemes that sign the URL.
func (s *Server) store(ctx context.Context, bin *storage.Bin, req *storage.Request, base string) (storage.Captured, error) {
	if bin.Signature != nil && !req.Truncated {
		req.Verdict = s.verify(bin.Signature.Provider, bin.Signature.Params, req, base)
	}
	c := storage.Capture{Request: req}
	// A truncated capture has no body to deliver.
	if bin.Forwarding.Enabled && bin.Forwarding.URL != "" && !req.Truncated {
		c.DeliverTo = s.deliveryURL(bin.Forwarding.URL, req.Path, req.Query)
	}
	// Detached from the sender's context: the capture shares a transaction
	// with others, and a sender hanging up must not cancel it.
	captured, err := s.db.Capture(context.WithoutCancel(ctx), c)
	if err == nil && c.DeliverTo != "" {
		s.deliverer.kick(bin.ID)
	}
	return captured, err
}

// answer writes the bin's configured (or the default) response.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, c storage.Captured) {
	if c.Response == nil {
		// Built by hand: the id is "req_" and digits, nothing to escape,
		// and this is the hot path.
		body := `{"ok":true,"id":"` + c.Request.ID + "\"}\n"
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			io.WriteString(w, body)
		}
		return
	}
	a := c.Response.Pick(c.Served)
	if d := min(a.Delay, maxResponseDelay); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return // the sender hung up; the request is stored already
		}
	}
	h := w.Header()
	for k, v := range a.Headers {
		if strings.EqualFold(k, "Content-Security-Policy") {
			continue // see handleCapture
		}
		h.Set(k, v)
	}
	if h.Get("Content-Type") == "" && a.Body != "" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	h.Set("Content-Length", strconv.Itoa(len(a.Body)))
	w.WriteHeader(a.Status)
	if r.Method != http.MethodHead && bodyAllowed(a.Status) {
		io.WriteString(w, a.Body)
	}
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// readBody reads at most limit bytes of the body. Over the limit it stops
// reading and reports the body as truncated, with size the larger of what
// was received and the declared Content-Length.
func readBody(r *http.Request, limit int64) (body []byte, size int64, truncated bool, err error) {
	if r.Body == nil || r.Body == http.NoBody {
		return []byte{}, 0, false, nil
	}
	if r.ContentLength > limit {
		// Declared too large: do not read megabytes we will throw away.
		return nil, r.ContentLength, true, nil
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, 0, false, err
	}
	if n > limit {
		return nil, max(n, r.ContentLength), true, nil
	}
	return buf.Bytes(), n, false, nil
}

// formatSize renders a byte count the way the --max-body flag accepts it.
func formatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + " GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

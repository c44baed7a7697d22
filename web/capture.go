package web

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
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
		s.fail(w, r, &apiError{http.StatusTooManyRequests, "rate limit exceeded for this bin; retry later"})
		return
	}

	if s.db.Full() {
		// Refused before the body is read: none of it could be stored,
		// and the connection goes with the answer rather than reading
		// what is left of a large body.
		w.Header().Set("Connection", "close")
		s.captureFail(w, r, binID, storage.ErrStorageFull)
		return
	}

	// The body must arrive within --body-timeout: a sender that trickles
	// it would otherwise hold a connection and its buffer for ever.
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(received.Add(s.cfg.BodyTimeout))
	body, size, truncated, held, err := readBody(r, s.cfg.MaxBody, &s.inflight)
	// Given back once the capture is stored or refused (not after a
	// configured delay): until then its buffer is memory it holds.
	release := func() { s.inflight.give(held); held = 0 }
	defer release()
	if err != nil {
		// Read no more of this connection: what is left of the body
		// would otherwise be drained after the answer.
		rc.SetReadDeadline(time.Now())
		s.bodyFail(w, bin.ID, err)
		return
	}
	rc.SetReadDeadline(time.Time{})

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
		HeaderList: recordedHeaders(r), // headerlist.go
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
		base = s.captureBase(r)
	}
	if truncated {
		req.Answered.Status = http.StatusRequestEntityTooLarge
	}
	hs := s.handshake(&bin, req) // sets req.Answered when it answers
	captured, err := s.store(r.Context(), &bin, req, base)
	release()
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
	if s.answerOwn(w, r, &bin, captured.Request, hs) {
		return
	}
	s.answer(w, r, captured)
}

// captureFail answers a capture that could not be stored: 404 for a bin
// that does not (or no longer) exist, 507 while the database is at
// --max-storage, 500 for anything else.
func (s *Server) captureFail(w http.ResponseWriter, r *http.Request, binID string, err error) {
	if errors.Is(err, storage.ErrNotFound) {
		err = notFound("no bin with id " + strconv.Quote(binID))
	}
	var limited *storage.RateLimitedError
	if errors.As(err, &limited) {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(limited.RetryAfter.Seconds())))))
		err = &apiError{http.StatusTooManyRequests, "rate limit exceeded for this bin; retry later"}
	}
	if errors.Is(err, storage.ErrStorageFull) {
		err = &apiError{http.StatusInsufficientStorage, "the server's storage is full (--max-storage); not stored, retry later"}
	}
	s.fail(w, r, err)
}

// store checks the request's signature, queues its auto-forward and stores
// it, all before the sender gets an answer. base is the public origin the
// sender used, for schemes that sign the URL.
func (s *Server) store(ctx context.Context, bin *storage.Bin, req *storage.Request, base string) (storage.Captured, error) {
	if bin.Signature != nil && bin.Signature.Provider != "" && !req.Truncated {
		req.Verdict = s.verify(ctx, bin.Signature.Provider, bin.Signature.Params, req, base)
		if req.Answered.Status == 0 && !req.Verdict.Valid && bin.Signature.RejectsInvalid() {
			req.Answered.Status = http.StatusUnauthorized
		}
	}
	// Published once durable, from the database's syncer goroutine and in
	// seq order, before the sender hears back (hub.go).
	c := storage.Capture{Request: req, Durable: func(r *storage.Request) {
		s.hub.Publish(Event{Kind: Captured, Bin: r.BinID, Seq: r.Seq, Request: r})
	}}
	if s.db.Shared() && s.cfg.RateLimit > 0 {
		// Several instances: the limit holds across them, in the capture's
		// own transaction (s.limits only spares the database the obvious
		// excess).
		c.Rate = storage.Rate{PerSecond: s.cfg.RateLimit, Burst: max(1, int(2*s.cfg.RateLimit))}
	}
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
	if c.Response.CORS && corsAnswer(w, r) { // cors.go: a preflight is answered there
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
		case <-s.baseCtx.Done():
			// Shutting down: the delay may outlast the shutdown, and an
			// empty 200 would read as the configured answer.
			t.Stop()
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusServiceUnavailable, "server shutting down; the request was stored as "+c.Request.ID)
			return
		}
	}
	h := w.Header()
	for k, v := range a.Headers {
		if strings.EqualFold(k, "Content-Security-Policy") || refusedHeader(k) {
			// See handleCapture; refused headers may have been stored
			// before they were refused.
			continue
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

// Why a body could not be received.
var (
	errInflight = errors.New("too many request bodies being received at once")
)

// bodyFail answers a capture whose body was not received whole. Nothing is
// stored: a partial body is not what was sent.
func (s *Server) bodyFail(w http.ResponseWriter, binID string, err error) {
	// The rest of the body may still be on its way: this connection
	// cannot be reused.
	w.Header().Set("Connection", "close")
	var ne net.Error
	switch {
	case errors.Is(err, errInflight):
		s.log.Warn("capture refused: --max-inflight reached", "bin", binID)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "server busy receiving other requests (--max-inflight); retry later")
	case errors.As(err, &ne) && ne.Timeout():
		s.log.Info("capture aborted: body too slow", "bin", binID, "timeout", s.cfg.BodyTimeout)
		writeError(w, http.StatusRequestTimeout, "request body not received within "+s.cfg.BodyTimeout.String())
	default:
		// The sender went away mid-body: most likely nobody reads this.
		s.log.Info("capture aborted: body not received", "bin", binID, "error", err)
		writeError(w, http.StatusBadRequest, "could not read request body: "+err.Error())
	}
}

// budget counts bytes against a limit shared by all captures: the memory
// their bodies hold while they are received and stored.
type budget struct {
	max  int64
	used atomic.Int64
}

// take reserves n bytes, or reports that they would go over the limit.
func (b *budget) take(n int64) bool {
	if b.used.Add(n) > b.max {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *budget) give(n int64) { b.used.Add(-n) }

// Body buffers start at most this big and double as bytes arrive.
const firstChunk = 16 << 10

// readBody reads at most limit bytes of the body. Over the limit it stops
// reading and reports the body as truncated, with size the larger of what
// was received and the declared Content-Length.
//
// Memory follows the bytes that arrive, never the declared length: the
// buffer starts small and doubles, each growth taken from inflight first
// (held is what was taken; the caller gives it back). A sender that
// declares 10 MiB and sends one byte costs a few KiB.
func readBody(r *http.Request, limit int64, inflight *budget) (body []byte, size int64, truncated bool, held int64, err error) {
	if r.Body == nil || r.Body == http.NoBody {
		return []byte{}, 0, false, 0, nil
	}
	if r.ContentLength > limit {
		// Declared too large: do not read megabytes we will throw away.
		return nil, r.ContentLength, true, 0, nil
	}
	// bound is the most bytes worth holding: one past the limit tells an
	// oversized body, and a declared length cannot be exceeded.
	bound := limit + 1
	if r.ContentLength >= 0 {
		bound = r.ContentLength
	}
	grow := func(buf []byte) ([]byte, error) {
		n := min(max(2*int64(cap(buf)), 4<<10), bound)
		if r.ContentLength >= 0 && len(buf) == 0 {
			n = min(bound, firstChunk) // most bodies fit: one exact buffer
		}
		if !inflight.take(n - int64(cap(buf))) {
			return buf, errInflight
		}
		held += n - int64(cap(buf))
		nb := make([]byte, len(buf), n)
		copy(nb, buf)
		return nb, nil
	}
	var buf []byte
	var one [1]byte
	for {
		if int64(len(buf)) > limit {
			break // over the limit: read no more
		}
		if len(buf) == cap(buf) {
			if int64(len(buf)) >= bound {
				// All of the declared length is here: the next read
				// says EOF without a buffer to grow.
				n, rerr := r.Body.Read(one[:])
				switch {
				case n > 0:
					return nil, 0, false, held, errors.New("body longer than its Content-Length")
				case rerr == io.EOF:
				case rerr != nil:
					return nil, 0, false, held, rerr
				default:
					continue
				}
				break
			}
			if buf, err = grow(buf); err != nil {
				return nil, 0, false, held, err
			}
		}
		n, rerr := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, 0, false, held, rerr
		}
	}
	if int64(len(buf)) > limit {
		// Only a body of unknown length gets here: drain nothing more.
		return nil, int64(len(buf)), true, held, nil
	}
	if buf == nil {
		buf = []byte{}
	}
	return buf, int64(len(buf)), false, held, nil
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

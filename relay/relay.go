// Package relay implements `tailhook relay`: it follows a bin's live event
// stream and re-sends every captured request to a local target, exactly once
// and in order, across reconnects and server restarts.
//
// The stream is read with github.com/r3labs/sse/v2's client, wrapped to work
// round the pitfalls listed in NOTES.md §2:
//
//   - A clean EOF ends SubscribeRawWithContext with nil and no retry, so Run
//     has its own loop around it.
//   - The default reconnect strategy gives up 15 minutes after the first
//     connect and ignores the context while sleeping. Ours never gives up
//     (MaxElapsedTime 0), is capped at 30 s, is reset on every successful
//     connect, and is wrapped with backoff.WithContext so Ctrl-C ends a
//     backoff at once.
//   - Events are limited to 64 KiB by default; ClientMaxBufferSize is set to
//     8 × the server's max body (body_base64 plus body_text). An event that
//     still does not fit would be re-sent on every reconnect forever, so that
//     ends Run with an error instead.
//   - Heartbeats never reach the handler and there is no read timeout, so a
//     transport wrapper puts an idle watchdog on the response body: a Read
//     that waits longer than HeartbeatTimeout cancels that connection.
//     Transport.ResponseHeaderTimeout covers the wait for headers;
//     http.Client.Timeout is never set (it would cut every stream).
//   - The ResponseValidator closes the body itself and makes 401/403/404
//     permanent (backoff.Permanent) so a bad token or a deleted bin ends Run.
//   - The library records LastEventID when an event is read, not when it has
//     been forwarded; the transport wrapper overwrites Last-Event-ID with the
//     last seq this package has handled, and the handler drops every event
//     with a seq at or below it.
//   - Unsubscribe leaks a goroutine; it is never used. One client lives as
//     long as Run.
package relay

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/r3labs/sse/v2"
	"gopkg.in/cenkalti/backoff.v1"

	"github.com/tailhook-dev/tailhook/forward"
)

// Defaults for zero Options fields.
const (
	DefaultMaxBody          = 10 << 20
	DefaultHeartbeatTimeout = 75 * time.Second
)

// LiveOnly is the FromSeq value that starts with requests captured from now
// on.
const LiveOnly = -1

// Tunables, replaced by tests.
var (
	reconnectInitial      = time.Second
	reconnectMax          = 30 * time.Second
	responseHeaderTimeout = 30 * time.Second
	lookupTimeout         = 15 * time.Second
	// refusedRetries are the waits before re-sending a request whose target
	// refused the connection.
	refusedRetries = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
)

// ErrOptions is wrapped by Run's error when the options themselves are
// wrong (no target, a URL that is not a bin's): the command line's fault,
// which retrying cannot fix.
var ErrOptions = errors.New("bad options")

type optionsError struct{ err error }

func (e *optionsError) Error() string        { return "relay: " + e.err.Error() }
func (e *optionsError) Unwrap() error        { return e.err }
func (e *optionsError) Is(target error) bool { return target == ErrOptions }

// Options configures Run.
type Options struct {
	// URL is the bin's inspect URL (https://host/bins/ID) or capture URL
	// (https://host/b/ID[/...]); an API URL (https://host/api/bins/ID) works
	// too. A ?token= in it is used when Token is empty.
	URL string
	// To is the target the requests are re-sent to, e.g.
	// http://localhost:3000; the captured path and query are joined to it as
	// forward.Join does.
	To string
	// Token is the bin's token, sent as Authorization: Bearer.
	Token string
	// FromSeq is where to start: LiveOnly (any negative value) for requests
	// captured from now on, N ≥ 0 for every stored request with seq > N first
	// (so 0 replays the whole bin). The CLI passes LiveOnly when --from-seq is
	// not given; note that the zero value means "replay everything".
	FromSeq int64
	// MaxBody is the server's --max-body; the stream's event buffer is sized
	// to 8 × this. Default 10 MiB.
	MaxBody int64
	// Out gets one human-readable line per request and per connection
	// change. Nil discards them.
	Out io.Writer
	// Log gets diagnostics. Nil discards them.
	Log *slog.Logger
	// HeartbeatTimeout is how long a read from the stream may wait before the
	// connection is considered dead and replaced. The server sends a
	// heartbeat at least every 30 s. Default 75 s.
	HeartbeatTimeout time.Duration
}

// Run relays until ctx is cancelled, then returns nil. It returns an error
// for bad options and for failures that retrying cannot fix: the stream
// answering 401, 403 or 404 (bad token, wrong URL or deleted bin), something
// that is not an event stream, or an event too large for the buffer. Network
// failures and server restarts are retried forever with backoff.
func Run(ctx context.Context, o Options) error {
	if o.To == "" {
		return &optionsError{errors.New("no target; give one with --to, e.g. --to http://localhost:3000")}
	}
	if err := forward.CheckURL(o.To); err != nil {
		return &optionsError{fmt.Errorf("--to: %w", err)}
	}
	src, err := parseSource(o.URL)
	if err != nil {
		return &optionsError{err}
	}
	if o.Token == "" {
		o.Token = src.token
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.HeartbeatTimeout <= 0 {
		o.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	r := newRelayer(o, src)
	defer r.close()
	return r.run(ctx)
}

// relayer holds one Run's state. Except for the timers inside idleBody and
// the library's read goroutine, everything runs on Run's goroutine: the
// library calls the transport, the validator, the handler and the notify
// function from inside SubscribeRawWithContext.
type relayer struct {
	o        Options
	src      source
	fwd      *forward.Client
	tr       *http.Transport
	client   *sse.Client
	strategy *backoff.ExponentialBackOff

	// last is the seq of the last request handled (delivered, or skipped for
	// good), or -1 before the position in the bin is known.
	last atomic.Int64

	connects  int                     // successful connects so far
	connected bool                    // the current attempt got a stream
	cancelSub context.CancelCauseFunc // ends the current subscription
	outMu     sync.Mutex
}

func newRelayer(o Options, src source) *relayer {
	r := &relayer{
		o:   o,
		src: src,
		// The relay exists to reach localhost, so private targets are fine.
		fwd: forward.New(forward.Options{AllowPrivate: true}),
		tr: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: responseHeaderTimeout,
			// Bigger reads mean fewer passes of the library's event splitter,
			// which rescans its whole buffer after every read.
			ReadBufferSize:  64 << 10,
			IdleConnTimeout: 90 * time.Second,
		},
		strategy: &backoff.ExponentialBackOff{
			InitialInterval:     reconnectInitial,
			RandomizationFactor: 0.5,
			Multiplier:          2,
			MaxInterval:         reconnectMax,
			MaxElapsedTime:      0, // never give up
			Clock:               backoff.SystemClock,
		},
	}
	r.strategy.Reset()
	r.last.Store(max(o.FromSeq, LiveOnly))

	buf := 8 * o.MaxBody
	if buf > math.MaxInt32 || buf < 0 {
		buf = math.MaxInt32
	}
	r.client = sse.NewClient(src.eventsURL(), sse.ClientMaxBufferSize(max(int(buf), 1<<16)))
	// No Timeout: it would bound the whole stream, not just the connect.
	r.client.Connection = &http.Client{Transport: &streamTransport{r: r}}
	r.client.Headers["User-Agent"] = "tailhook-relay"
	if o.Token != "" {
		r.client.Headers["Authorization"] = "Bearer " + o.Token
	}
	r.client.ResponseValidator = r.validate
	r.client.ReconnectNotify = r.notify
	return r
}

func (r *relayer) close() {
	r.fwd.CloseIdleConnections()
	r.tr.CloseIdleConnections()
}

func (r *relayer) run(ctx context.Context) error {
	for {
		subCtx, cancel := context.WithCancelCause(ctx)
		r.cancelSub = cancel
		// A fresh wrapper per subscription: the library's sleep between
		// retries then ends as soon as ctx (Ctrl-C) or subCtx is done.
		r.client.ReconnectStrategy = backoff.WithContext(r.strategy, subCtx)
		err := r.client.SubscribeRawWithContext(subCtx, func(ev *sse.Event) { r.handle(ctx, ev) })
		cause := context.Cause(subCtx)
		cancel(nil)
		if ctx.Err() != nil {
			return nil
		}
		var perm *permanentError
		if errors.As(err, &perm) {
			return perm
		}
		if errors.As(cause, &perm) {
			return perm
		}
		// The library only comes back on its own after a clean end of the
		// stream (our server closes streams when it shuts down); reconnect
		// like after any other break.
		reason := "the server closed the stream"
		if err != nil {
			reason = errText(err)
		}
		d := r.strategy.NextBackOff()
		r.lost(reason, d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// permanentError ends Run: retrying would only repeat it.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return "relay: " + e.msg }

// validate is the library's ResponseValidator. The library does not close
// the body when this returns an error, so it does.
func (r *relayer) validate(_ *sse.Client, resp *http.Response) error {
	u := r.src.eventsURL()
	if resp.StatusCode == http.StatusOK {
		ct := resp.Header.Get("Content-Type")
		if mt, _, _ := mime.ParseMediaType(ct); mt == "text/event-stream" {
			r.onConnect()
			return nil
		}
		resp.Body.Close()
		return backoff.Permanent(&permanentError{fmt.Sprintf("%s is not an event stream (Content-Type %q); is the bin URL right?", u, ct)})
	}
	detail := errorBody(resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotFound:
		return backoff.Permanent(&permanentError{fmt.Sprintf("bin %q not found at %s (404%s): it was deleted, the URL is wrong, or the token is missing or wrong (--token)", r.src.bin, r.src.origin, detail)})
	case http.StatusUnauthorized, http.StatusForbidden:
		return backoff.Permanent(&permanentError{fmt.Sprintf("access to bin %q denied (%d%s): check --token", r.src.bin, resp.StatusCode, detail)})
	}
	return fmt.Errorf("stream answered %s%s", resp.Status, detail)
}

// errorBody returns the server's JSON error message, as ": message".
func errorBody(body io.Reader) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.NewDecoder(io.LimitReader(body, 4<<10)).Decode(&e) != nil || e.Error == "" {
		return ""
	}
	return ": " + e.Error
}

func (r *relayer) onConnect() {
	// Reset here, not only when the library starts: a stream that ran for an
	// hour and then broke should be retried quickly.
	r.strategy.Reset()
	r.connected = true
	r.connects++
	if r.connects == 1 {
		from := "new requests"
		if r.o.FromSeq >= 0 {
			from = fmt.Sprintf("requests after seq %d", r.o.FromSeq)
		}
		r.printf("connected to %s, relaying %s to %s", r.src.eventsURL(), from, r.o.To)
		return
	}
	if last := r.last.Load(); last >= 0 {
		r.printf("reconnected, resuming after seq %d", last)
	} else {
		r.printf("reconnected")
	}
}

// notify is the library's ReconnectNotify, called before each backoff sleep.
func (r *relayer) notify(err error, d time.Duration) {
	if errors.Is(err, bufio.ErrTooLong) {
		// The same event would come back after every reconnect.
		r.cancelSub(&permanentError{fmt.Sprintf("an event is larger than the %d-byte buffer; set the relay's max body to the server's --max-body", 8*r.o.MaxBody)})
		return
	}
	r.lost(errText(err), d)
}

func (r *relayer) lost(reason string, d time.Duration) {
	if r.connected {
		r.printf("stream lost: %s; reconnecting in %s", reason, roundDelay(d))
	} else {
		r.printf("cannot connect to %s: %s; retrying in %s", r.src.eventsURL(), reason, roundDelay(d))
	}
	r.connected = false
}

func roundDelay(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// capture is the part of a request's JSON (contract "JSON API") the relay
// uses.
type capture struct {
	Seq     int64               `json:"seq"`
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Query   string              `json:"query"`
	Headers map[string][]string `json:"headers"`
	// HeaderList is [name, value] or [name, value, value's bytes in
	// base64] (when they are not UTF-8), in the order and spelling the
	// sender wrote them.
	HeaderList [][]string `json:"header_list"`
	BodyBase64 string     `json:"body_base64"`
	Size       int64      `json:"size"`
	Truncated  bool       `json:"truncated"`
}

// handle delivers one event. It runs on the library's read path, so the
// next event is not read before this one is delivered.
func (r *relayer) handle(ctx context.Context, ev *sse.Event) {
	if string(ev.Event) != "request" {
		r.o.Log.Debug("relay: skipping event", "event", string(ev.Event), "id", string(ev.ID))
		return
	}
	var c capture
	if err := json.Unmarshal(ev.Data, &c); err != nil || c.Seq <= 0 {
		// Not marked as handled: if the event was cut short by a broken
		// connection, the reconnect brings it again.
		r.o.Log.Warn("relay: skipping a malformed request event", "id", string(ev.ID), "error", err)
		r.printf("skipped a malformed request event (id %q)", ev.ID)
		return
	}
	if last := r.last.Load(); last >= 0 && c.Seq <= last {
		r.o.Log.Debug("relay: dropping a request already handled", "seq", c.Seq, "last", last)
		return
	}
	label := c.Method + " " + display(c.Path, c.Query)
	if c.Truncated {
		r.printf("%s → skipped: its body (%d bytes) was over the server's limit, so it was not stored", label, c.Size)
		r.last.Store(c.Seq)
		return
	}
	body, err := base64.StdEncoding.DecodeString(c.BodyBase64)
	if err != nil {
		// Be lenient about padding; the bytes are what matter.
		body, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(c.BodyBase64, "="))
	}
	if err != nil {
		r.printf("%s → skipped: body_base64 is not valid base64: %v", label, err)
		r.last.Store(c.Seq)
		return
	}
	target, err := forward.Join(r.o.To, c.Path, c.Query)
	if err != nil {
		r.printf("%s → skipped: %v", label, err)
		r.last.Store(c.Seq)
		return
	}
	req := forward.Request{Method: c.Method, URL: target, Header: http.Header(c.Headers), Fields: c.fields(), Body: body}
	var res forward.Result
	retried := 0
	for {
		res = r.fwd.Do(ctx, req)
		if ctx.Err() != nil {
			return // interrupted: not delivered
		}
		// A refused connection usually means the local server is restarting
		// (a dev server reloading on save): worth a few short waits before
		// this request is given up on.
		if !errors.Is(res.Err, syscall.ECONNREFUSED) || retried == len(refusedRetries) {
			break
		}
		d := refusedRetries[retried]
		retried++
		r.printf("%s → target refused the connection; retrying in %s (%d of %d)", label, d, retried, len(refusedRetries))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	r.last.Store(c.Seq)
	ms := res.Duration.Milliseconds()
	switch {
	case res.Status == 0 && errors.Is(res.Err, context.DeadlineExceeded):
		r.printf("%s → no answer from target: %s (will keep going)", label, errText(res.Err))
	case res.Status == 0 && retried > 0:
		r.printf("%s → target unreachable: %s (gave up after %d retries; will keep going)", label, errText(res.Err), retried)
	case res.Status == 0:
		r.printf("%s → target unreachable: %s (will keep going)", label, errText(res.Err))
	case res.Err != nil:
		r.printf("%s → %d, but the response broke off: %s (%d ms)", label, res.Status, errText(res.Err), ms)
	default:
		r.printf("%s → %d (%d ms)", label, res.Status, ms)
	}
}

// fields are the capture's header lines to send on, in order and as
// spelled, with each value's exact bytes; nil from a server that does not
// send header_list (the headers object then goes out, sorted).
func (c *capture) fields() forward.Fields {
	if c.HeaderList == nil {
		return nil
	}
	out := make(forward.Fields, 0, len(c.HeaderList))
	for _, l := range c.HeaderList {
		if len(l) < 2 {
			continue
		}
		f := forward.Field{Name: l[0], Value: l[1]}
		if len(l) > 2 {
			if b, err := base64.StdEncoding.DecodeString(l[2]); err == nil {
				f.Value = string(b)
			}
		}
		out = append(out, f)
	}
	return out
}

// display is a request's path and query as shown in the output.
func display(path, query string) string {
	if path == "" {
		path = "/"
	}
	if query != "" {
		path += "?" + query
	}
	return path
}

// errText drops the "Get "URL": " prefix of *url.Error: the line already
// says which request it is.
func errText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

func (r *relayer) printf(format string, args ...any) {
	r.outMu.Lock()
	defer r.outMu.Unlock()
	fmt.Fprintf(r.o.Out, format+"\n", args...)
}

// latestSeq asks the API for the bin's newest seq, so that a relay started
// "live" has a Last-Event-ID to resume from if it loses the stream before
// the first request arrives.
func (r *relayer) latestSeq(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.src.requestsURL(), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "tailhook-relay")
	if r.o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.o.Token)
	}
	resp, err := r.tr.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s answered %s", r.src.requestsURL(), resp.Status)
	}
	var page struct {
		Requests []struct {
			Seq int64 `json:"seq"`
		} `json:"requests"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&page); err != nil {
		return 0, fmt.Errorf("decode %s: %w", r.src.requestsURL(), err)
	}
	var seq int64
	for _, q := range page.Requests {
		seq = max(seq, q.Seq)
	}
	return seq, nil
}

// streamTransport is the stream client's RoundTripper. It sets Last-Event-ID
// from what has been handled and puts an idle watchdog on the body.
type streamTransport struct{ r *relayer }

func (t *streamTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := t.r
	if r.last.Load() < 0 {
		if seq, err := r.latestSeq(req.Context()); err == nil {
			r.last.CompareAndSwap(-1, seq)
		} else {
			r.o.Log.Debug("relay: cannot learn the newest seq; starting live", "error", err)
		}
	}
	ctx, cancel := context.WithCancel(req.Context())
	req = req.Clone(ctx)
	if last := r.last.Load(); last >= 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(last, 10))
	} else {
		req.Header.Del("Last-Event-ID")
	}
	resp, err := r.tr.RoundTrip(req)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = newIdleBody(resp.Body, r.o.HeartbeatTimeout, cancel)
	return resp, nil
}

// idleError is the read error when the stream sent nothing, not even a
// heartbeat, for longer than Options.HeartbeatTimeout.
type idleError struct{ timeout time.Duration }

func (e *idleError) Error() string {
	return fmt.Sprintf("no data from the server for %s (no heartbeat)", e.timeout)
}

// idleBody cancels its connection when one Read waits longer than timeout.
// Only time spent inside Read counts: while the handler is delivering an
// event the library does not read, and that must not look like a dead
// server.
type idleBody struct {
	rc      io.ReadCloser
	timeout time.Duration
	cancel  context.CancelFunc
	timer   *time.Timer
	fired   atomic.Bool
}

func newIdleBody(rc io.ReadCloser, timeout time.Duration, cancel context.CancelFunc) *idleBody {
	b := &idleBody{rc: rc, timeout: timeout, cancel: cancel}
	b.timer = time.AfterFunc(timeout, func() {
		b.fired.Store(true)
		cancel()
	})
	b.timer.Stop()
	return b
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.timeout)
	n, err := b.rc.Read(p)
	b.timer.Stop()
	if err != nil && b.fired.Load() {
		// Not context.Canceled: the library would take that for a clean EOF.
		return n, &idleError{b.timeout}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.rc.Close()
	b.cancel()
	return err
}

var _ http.RoundTripper = (*streamTransport)(nil)

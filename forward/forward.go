// Package forward is tailhook's one outbound HTTP client. Manual replay,
// auto-forward and the relay all send captured requests through it, so they
// share one set of rules: bodies go out byte-exact, headers in the order and
// spelling they were captured in, hop-by-hop headers dropped, redirects are not followed, responses are captured up to a cap,
// and (unless private forwarding is allowed) no connection is ever made to an
// address that is not globally routable.
package forward

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// Default values used by New for zero Options fields.
const (
	DefaultConnectTimeout  = 5 * time.Second
	DefaultTimeout         = 30 * time.Second
	DefaultMaxResponseBody = 1 << 20
)

// ErrRefused is wrapped (together with the address) by the error of an
// attempt whose target resolved to an address that is not globally routable
// while private forwarding is off. Callers answer 422 for it.
var ErrRefused = errors.New("forwarding to a non-public address is not allowed")

// ErrInvalidURL is wrapped by every error of CheckURL and Join.
var ErrInvalidURL = errors.New("invalid forward URL")

// ErrInvalidRequest is wrapped by Do's error when the method or a header
// cannot be sent as given; sending again would fail the same way.
var ErrInvalidRequest = errors.New("invalid request")

// Options configures a Client. Zero fields take the defaults above.
type Options struct {
	// ConnectTimeout bounds establishing the TCP connection and the TLS
	// handshake. Default 5s.
	ConnectTimeout time.Duration
	// Timeout bounds the whole attempt, reading the response body included.
	// Default 30s.
	Timeout time.Duration
	// AllowPrivate allows loopback, private, link-local and other addresses
	// that are not globally routable (see Refused).
	AllowPrivate bool
	// MaxResponseBody is the most response body bytes kept; longer bodies are
	// cut and Result.BodyTruncated is set. Default 1 MiB.
	MaxResponseBody int64
	// TLSConfig, when set, is the base of each https connection's
	// configuration (tests trust their own CA with it); nil is the system's
	// roots.
	TLSConfig *tls.Config
}

// Request is what to send. Fields, when not nil, are the header lines in
// the order and spelling they go out (a capture's header_list); else Header
// is sent, sorted by name. Either way hop-by-hop headers are dropped (see
// hopByHop), and Host and Content-Length are the target's and the body's,
// written where the lines had them.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Fields Fields
	Body   []byte
}

// Result is the outcome of one attempt.
type Result struct {
	// Status is the response status code, 0 when no response came back.
	Status int
	// Header is the response header, nil when no response came back.
	Header http.Header
	// Body is the response body, at most Options.MaxResponseBody bytes.
	Body []byte
	// BodyTruncated reports that the response body was longer than Body.
	BodyTruncated bool
	// Duration is the time from sending to the end of the response body.
	Duration time.Duration
	// Err is nil when a whole response came back, whatever its status. With
	// Status 0 it explains why there was no response (invalid URL or request,
	// refused address, network error, timeout); with a non-zero Status the response
	// body could not be read to the end.
	Err error
}

// Client sends requests over HTTP/1.1 (wire.go). It is safe for concurrent
// use; keep one per configuration so connections are reused.
type Client struct {
	opts   Options
	dialer *net.Dialer
	pool   pool
}

// New returns a Client for o.
func New(o Options) *Client {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxResponseBody <= 0 {
		o.MaxResponseBody = DefaultMaxResponseBody
	}
	d := &net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		// Deciding in Control sees the address actually being connected to,
		// after DNS: hostnames, rebinding, redirects (not followed anyway) and
		// literal IPv4-mapped IPv6 cannot get round it. There is never a
		// proxy: it would make the connection for us, and the guard would
		// only ever see the proxy's address.
		d.Control = guard
	}
	return &Client{opts: o, dialer: d}
}

// CloseIdleConnections closes kept-alive connections that are not in use.
func (c *Client) CloseIdleConnections() { c.pool.closeIdle() }

// Do sends r once and reports what came back. It never follows redirects: a
// 3xx is the result. Result.Err wraps ErrRefused when the target's address is
// refused and ErrInvalidURL when r.URL is not usable. The response body is
// returned as received (no decompression), at most MaxResponseBody bytes.
func (c *Client) Do(ctx context.Context, r Request) Result {
	if err := CheckURL(r.URL); err != nil {
		return Result{Err: err}
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return Result{Err: fmt.Errorf("%w: %w", ErrInvalidURL, err)}
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	fields := r.Fields
	if fields == nil {
		fields = FieldsOf(r.Header)
	}
	t := targetOf(u)
	h, err := head(method, u, t.host, fields, len(r.Body))
	if err != nil {
		return Result{Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()

	start := time.Now()
	var res Result
	for try := 0; ; try++ {
		var pc *pconn
		if try == 0 {
			pc = c.pool.get(t.key, time.Now())
		}
		if pc == nil {
			if pc, err = c.dial(ctx, t); err != nil {
				return Result{Duration: time.Since(start), Err: c.explain(ctx, err)}
			}
		}
		res = Result{}
		retry, keep := c.exchange(ctx, pc, method, replayable(method, fields), h, r.Body, &res)
		if keep && pc.conn.SetDeadline(time.Time{}) == nil {
			c.pool.put(pc, time.Now())
		} else {
			pc.close()
		}
		// Sent on a kept-alive connection that the target had closed:
		// once more on a new one, when that cannot act twice.
		if retry && try == 0 {
			continue
		}
		break
	}
	res.Duration = time.Since(start)
	if res.Err != nil {
		res.Err = c.explain(ctx, res.Err)
	}
	return res
}

// explain adds which timeout fired, since "context deadline exceeded" alone
// does not tell a user that the target was too slow.
func (c *Client) explain(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no complete response within %s: %w", c.opts.Timeout, err)
	}
	return err
}

// guard is the net.Dialer Control hook: it runs after DNS resolution and
// before connect(2), once per address tried.
func guard(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Fail closed: we cannot tell where this goes.
		return fmt.Errorf("%w: cannot parse dial address %q", ErrRefused, address)
	}
	if Refused(ap.Addr()) {
		return fmt.Errorf("%w: %s resolves to %s", ErrRefused, network, ap.Addr())
	}
	return nil
}

// MaxURL is the longest target URL accepted, in bytes.
const MaxURL = 8 << 10

// CheckURL reports whether raw is usable as a forward target: an absolute
// http or https URL with a host and, if given, a valid port. It checks syntax
// only; addresses are checked when connecting. Errors wrap ErrInvalidURL.
func CheckURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("%w: empty", ErrInvalidURL)
	}
	if len(raw) > MaxURL {
		// Every stored URL is copied into each delivery record.
		return fmt.Errorf("%w: %d bytes long, over the %d KiB limit", ErrInvalidURL, len(raw), MaxURL>>10)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		if u.Scheme == "" {
			return fmt.Errorf("%w: %q is not absolute (want http:// or https://)", ErrInvalidURL, raw)
		}
		return fmt.Errorf("%w: scheme %q is not http or https", ErrInvalidURL, u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%w: %q has no host", ErrInvalidURL, raw)
	}
	if p := u.Port(); p != "" {
		if n, err := netip.ParseAddrPort("0.0.0.0:" + p); err != nil || n.Port() == 0 {
			return fmt.Errorf("%w: bad port %q", ErrInvalidURL, p)
		}
	}
	return nil
}

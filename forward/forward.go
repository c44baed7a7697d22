// Package forward is tailhook's one outbound HTTP client. Manual replay,
// auto-forward and the relay all send captured requests through it, so they
// share one set of rules: bodies go out byte-exact, hop-by-hop headers are
// dropped, redirects are not followed, responses are captured up to a cap,
// and (unless private forwarding is allowed) no connection is ever made to an
// address that is not globally routable.
package forward

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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
}

// Request is what to send. Header holds the captured headers; hop-by-hop
// headers, Host and Content-Length in it are ignored (see StripHopByHop).
type Request struct {
	Method string
	URL    string
	Header http.Header
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

// Client sends requests. It is safe for concurrent use; keep one per
// configuration so connections are reused.
type Client struct {
	opts Options
	hc   *http.Client
	tr   *http.Transport
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
		// literal IPv4-mapped IPv6 cannot get round it.
		d.Control = guard
	}
	tr := &http.Transport{
		// Never a proxy: the proxy would make the connection for us and the
		// guard would only ever see the proxy's address.
		Proxy:                  nil,
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    o.ConnectTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    8, // an independent auto-forward bin has 8 in flight
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 1 << 20,
		// The bytes we report must be the bytes the target sent.
		DisableCompression: true,
	}
	return &Client{
		opts: o,
		tr:   tr,
		hc: &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

// CloseIdleConnections closes kept-alive connections that are not in use.
func (c *Client) CloseIdleConnections() { c.tr.CloseIdleConnections() }

// Do sends r once and reports what came back. It never follows redirects: a
// 3xx is the result. Result.Err wraps ErrRefused when the target's address is
// refused and ErrInvalidURL when r.URL is not usable.
func (c *Client) Do(ctx context.Context, r Request) Result {
	if err := CheckURL(r.URL); err != nil {
		return Result{Err: err}
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()

	// bytes.Reader lets NewRequest set ContentLength and GetBody, so
	// Content-Length is always right and a retry on a stale pooled
	// connection can rewind the body.
	req, err := http.NewRequestWithContext(ctx, method, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return Result{Err: fmt.Errorf("%w: %w", ErrInvalidRequest, err)}
	}
	req.Header = StripHopByHop(r.Header)
	for k, vs := range req.Header {
		if !validHeaderName(k) {
			return Result{Err: fmt.Errorf("%w: header name %q", ErrInvalidRequest, k)}
		}
		for _, v := range vs {
			if !validHeaderValue(v) {
				return Result{Err: fmt.Errorf("%w: value of header %s", ErrInvalidRequest, k)}
			}
		}
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		// An empty value stops net/http adding its own User-Agent, which the
		// original request did not have.
		req.Header["User-Agent"] = []string{""}
	}

	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return Result{Duration: time.Since(start), Err: c.explain(ctx, err)}
	}
	defer resp.Body.Close()
	res := Result{Status: resp.StatusCode, Header: resp.Header}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxResponseBody+1))
	if int64(len(body)) > c.opts.MaxResponseBody {
		body, res.BodyTruncated, err = body[:c.opts.MaxResponseBody], true, nil
	}
	res.Body = body
	res.Duration = time.Since(start)
	if err != nil {
		res.Err = fmt.Errorf("read response body: %w", c.explain(ctx, err))
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

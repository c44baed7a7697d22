package forward

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The HTTP/1.1 client under Do. net/http's Transport sorts a request's
// headers by name; a forwarded capture must go out in the order and spelling
// it came in, so the request head is written here, and the answer is read
// with http.ReadResponse. Connections come from the same guarded dialer and
// are kept alive in a small pool, as the Transport did. HTTP/2 is not
// spoken: ALPN offers http/1.1 only.

const (
	maxIdlePerHost         = 8 // an independent auto-forward bin has 8 in flight
	maxIdle                = 64
	idleTimeout            = 90 * time.Second
	maxResponseHeaderBytes = 1 << 20
)

// errResponseHead is a response whose head is over maxResponseHeaderBytes.
var errResponseHead = fmt.Errorf("response headers over %d KiB", maxResponseHeaderBytes>>10)

// pconn is one connection to a target.
type pconn struct {
	conn   net.Conn // TLS or TCP
	raw    net.Conn // the TCP socket, for the liveness check
	meter  *meteredConn
	br     *bufio.Reader
	bw     *bufio.Writer
	key    string
	idleAt time.Time
	reused bool
}

func (pc *pconn) close() { pc.conn.Close() }

// meteredConn bounds reads while a response head is being parsed
// (http.ReadResponse has no limit of its own); left < 0 is no bound.
type meteredConn struct {
	net.Conn
	left int64
}

func (m *meteredConn) Read(p []byte) (int, error) {
	if m.left == 0 {
		return 0, errResponseHead
	}
	if m.left > 0 && int64(len(p)) > m.left {
		p = p[:m.left]
	}
	n, err := m.Conn.Read(p)
	if m.left > 0 {
		m.left -= int64(n)
	}
	return n, err
}

// pool keeps idle connections by scheme and host:port.
type pool struct {
	mu   sync.Mutex
	idle map[string][]*pconn
	n    int
}

// get takes the most recently used idle connection to key that is still
// open, or nil.
func (p *pool) get(key string, now time.Time) *pconn {
	for {
		p.mu.Lock()
		list := p.idle[key]
		if len(list) == 0 {
			p.mu.Unlock()
			return nil
		}
		pc := list[len(list)-1]
		p.idle[key] = list[:len(list)-1]
		p.n--
		p.mu.Unlock()
		// A target may have closed it meanwhile (an idle timeout of its
		// own); sending on it would fail, or worse, half-succeed.
		if now.Sub(pc.idleAt) < idleTimeout && alive(pc.raw) && pc.br.Buffered() == 0 {
			pc.reused = true
			return pc
		}
		pc.close()
	}
}

// put keeps pc for the next request to its target, or closes it when the
// pool is full.
func (p *pool) put(pc *pconn, now time.Time) {
	pc.idleAt = now
	p.mu.Lock()
	if p.idle == nil {
		p.idle = map[string][]*pconn{}
	}
	list := p.idle[pc.key]
	var drop *pconn
	switch {
	case len(list) >= maxIdlePerHost:
		drop = list[0]
		list = append(list[1:], pc)
	case p.n >= maxIdle:
		drop = pc
	default:
		list = append(list, pc)
		p.n++
	}
	p.idle[pc.key] = list
	p.mu.Unlock()
	if drop != nil {
		drop.close()
	}
}

func (p *pool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.n = nil, 0
	p.mu.Unlock()
	for _, list := range idle {
		for _, pc := range list {
			pc.close()
		}
	}
}

// target is where a request goes: the pool key, the address to dial, the
// TLS server name ("" for http) and the Host header.
type target struct {
	key, addr, serverName, host string
}

func targetOf(u *url.URL) target {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	t := target{addr: net.JoinHostPort(u.Hostname(), port), host: u.Host}
	if u.Scheme == "https" {
		t.serverName = u.Hostname()
	}
	t.key = u.Scheme + "://" + t.addr
	return t
}

// dial opens a connection through the guarded dialer, with the TLS
// handshake for https, both within ConnectTimeout.
func (c *Client) dial(ctx context.Context, t target) (*pconn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ConnectTimeout)
	defer cancel()
	raw, err := c.dialer.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	conn := raw
	if t.serverName != "" {
		cfg := &tls.Config{}
		if c.opts.TLSConfig != nil {
			cfg = c.opts.TLSConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = t.serverName
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		conn = tc
	}
	m := &meteredConn{Conn: conn, left: -1}
	return &pconn{conn: conn, raw: raw, meter: m, br: bufio.NewReaderSize(m, 8<<10), bw: bufio.NewWriterSize(conn, 8<<10), key: t.key}, nil
}

// head is a request's line and header block, ready to write.
func head(method string, u *url.URL, host string, fields Fields, bodyLen int) ([]byte, error) {
	if !validHeaderName(method) {
		return nil, fmt.Errorf("%w: method %q", ErrInvalidRequest, method)
	}
	// Connection names more headers that describe only the sender's hop.
	var named map[string]bool
	for _, f := range fields {
		if !strings.EqualFold(f.Name, "Connection") {
			continue
		}
		for name := range strings.SplitSeq(f.Value, ",") {
			if name = strings.TrimSpace(name); name != "" {
				if named == nil {
					named = map[string]bool{}
				}
				named[textproto.CanonicalMIMEHeaderKey(name)] = true
			}
		}
	}
	var length string
	if bodyLen > 0 || method == "POST" || method == "PUT" || method == "PATCH" {
		length = "Content-Length: " + strconv.Itoa(bodyLen) + "\r\n"
	}
	b := make([]byte, 0, 256+len(fields)*48)
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, u.RequestURI()...)
	b = append(b, " HTTP/1.1\r\n"...)
	// Host and Content-Length are the target's and the body's, written
	// where the capture had them (Host first, the length last otherwise).
	hostAt, hasAuth := -1, false
	for i, f := range fields {
		if hostAt < 0 && strings.EqualFold(f.Name, "Host") {
			hostAt = i
		}
		hasAuth = hasAuth || strings.EqualFold(f.Name, "Authorization")
	}
	if hostAt < 0 {
		b = append(b, "Host: "+host+"\r\n"...)
	}
	for i, f := range fields {
		ck := textproto.CanonicalMIMEHeaderKey(f.Name)
		switch {
		case i == hostAt:
			b = append(b, "Host: "+host+"\r\n"...)
			continue
		case ck == "Content-Length" || ck == "Transfer-Encoding":
			b = append(b, length...) // the body is whole now: its length, once
			length = ""
			continue
		case hopByHop[ck] || named[ck] || strings.HasPrefix(ck, "Proxy-"):
			continue
		}
		if !validHeaderName(f.Name) {
			return nil, fmt.Errorf("%w: header name %q", ErrInvalidRequest, f.Name)
		}
		if !validHeaderValue(f.Value) {
			return nil, fmt.Errorf("%w: value of header %s", ErrInvalidRequest, f.Name)
		}
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	if u.User != nil && !hasAuth {
		// Credentials in the target URL, as net/http's client sends them.
		pass, _ := u.User.Password()
		b = append(b, "Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass))+"\r\n"...)
	}
	b = append(b, length...)
	return append(b, "\r\n"...), nil
}

// replayable methods may be sent again when a kept-alive connection turns
// out closed before any answer: the target cannot have acted on them
// twice. The same rule as net/http's.
func replayable(method string, fields Fields) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return true
	}
	for _, f := range fields {
		if strings.EqualFold(f.Name, "Idempotency-Key") || strings.EqualFold(f.Name, "X-Idempotency-Key") {
			return true
		}
	}
	return false
}

// exchange is one request and response on pc. retry reports a kept-alive
// connection that the target had closed: the request could not be written,
// or (for a replayable request) no byte of an answer came; it may go again
// on a new connection. keep reports that pc can serve another request.
func (c *Client) exchange(ctx context.Context, pc *pconn, method string, replay bool, h, body []byte, res *Result) (retry, keep bool) {
	if d, ok := ctx.Deadline(); ok {
		pc.conn.SetDeadline(d)
	}
	// Cancelling ctx unblocks whatever I/O is under way.
	stop := context.AfterFunc(ctx, func() { pc.conn.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if !stop() {
			keep = false
		}
	}()
	fail := func(err error) error {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// Only ctx's deadline is ever set on pc: it is due now, if
			// its timer has not fired yet.
			<-ctx.Done()
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		}
		return err
	}
	pc.bw.Write(h)
	pc.bw.Write(body)
	wrote := pc.bw.Flush()
	if wrote != nil && pc.reused && ctx.Err() == nil && pc.br.Buffered() == 0 {
		// A closed kept-alive connection: the target had let it go
		// before this request reached it.
		res.Err = fail(fmt.Errorf("write request: %w", wrote))
		return true, false
	}
	// Even when the body could not be written whole, the target may have
	// answered (a 413 before reading it all): that answer is the result.
	req := &http.Request{Method: method}
	var resp *http.Response
	for {
		pc.meter.left = maxResponseHeaderBytes
		r, err := http.ReadResponse(pc.br, req)
		pc.meter.left = -1
		if err != nil && wrote != nil {
			res.Err = fail(fmt.Errorf("write request: %w", wrote))
			return false, false
		}
		if err != nil {
			if errors.Is(err, errResponseHead) {
				res.Err = err
				return false, false
			}
			nothing := errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
			res.Err = fail(fmt.Errorf("read response: %w", err))
			return pc.reused && replay && nothing && ctx.Err() == nil, false
		}
		// Interim answers (103 Early Hints, a 100 sent anyway) precede
		// the one that counts.
		if r.StatusCode >= 100 && r.StatusCode < 200 && r.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		resp = r
		break
	}
	if wrote != nil {
		resp.Close = true // the request broke off: nothing more on pc
	}
	res.Status, res.Header = resp.StatusCode, resp.Header
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxResponseBody+1))
	if int64(len(b)) > c.opts.MaxResponseBody {
		// The rest is not read: this connection cannot carry another.
		res.Body, res.BodyTruncated = b[:c.opts.MaxResponseBody], true
		return false, false
	}
	res.Body = b
	if err != nil {
		res.Err = fmt.Errorf("read response body: %w", fail(err))
		return false, false
	}
	resp.Body.Close()
	return false, !resp.Close && resp.StatusCode != http.StatusSwitchingProtocols
}

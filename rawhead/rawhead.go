// Package rawhead records the header block of each HTTP/1.x request as it
// came over the wire: net/http canonicalises header names and keeps no
// order, while a webhook inspector must show `x-github-event` spelled and
// placed as the sender sent it.
//
// A Listener wraps each accepted connection. The connection's Read passes
// bytes through untouched and feeds them to a small parser that follows the
// HTTP/1.x framing (header block, then a Content-Length or chunked body) so
// that it finds every request's header block, also with keep-alive and
// pipelining. A handler takes its request's block with Take, which matches
// on the request line: requests net/http answers by itself (a 400,
// "OPTIONS *") or that no handler asks for cannot shift the others.
//
// Cost per request: one copy of the header block and one scan of it; body
// bytes are skipped by count, not looked at (chunk framing aside).
package rawhead

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
)

// maxBlock bounds one recorded header block; net/http refuses bigger ones
// (MaxHeaderBytes) anyway. Past it the connection stops recording.
const maxBlock = 1<<20 + 4096

// maxQueue and maxQueueBytes bound the blocks kept per connection for
// handlers that have not taken them (requests that are not captures never
// do): the oldest go first. A request's own block is taken as soon as its
// handler runs, so only long pipelines of big headers ever lose one, and
// then fall back to net/http's view.
const (
	maxQueue      = 16
	maxQueueBytes = maxBlock + 64<<10
)

// Listener records the header blocks of the connections it accepts.
type Listener struct{ net.Listener }

// Listen wraps ln.
func Listen(ln net.Listener) *Listener { return &Listener{ln} }

// Accept wraps the accepted connection.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: c}, nil
}

type ctxKey struct{}

// ConnContext is for http.Server.ConnContext: it makes the connection
// available to Take.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if rc, ok := c.(*Conn); ok {
		return context.WithValue(ctx, ctxKey{}, rc)
	}
	return ctx
}

// Field is one header line: the name as spelled on the wire, the value
// without surrounding white space (obs-fold lines joined with a space).
type Field struct {
	Name  string
	Value string
}

// Take returns the header lines of the request with this method and
// request-target on the connection in ctx, in wire order, or nil when there
// is no record of it (no recording listener, HTTP/2, a request line that
// was not seen).
func Take(ctx context.Context, method, requestURI string) []Field {
	c, _ := ctx.Value(ctxKey{}).(*Conn)
	if c == nil {
		return nil
	}
	return c.take(method, requestURI)
}

// block is one request's recorded header block.
type block struct {
	line []byte // the request line
	head []byte // the header lines after it, each ending in LF
}

// parser states
const (
	stHead    = iota // in a header block
	stBody           // skipping n body bytes
	stChunk          // reading a chunk-size line
	stData           // skipping chunk data (n bytes, then its CRLF)
	stTrailer        // reading trailer lines up to an empty one
	stOff            // not HTTP/1.x as far as we can tell: stop
)

// Conn is a connection that records its requests' header blocks.
type Conn struct {
	net.Conn

	// Parser state: touched only by Read, which net/http never calls
	// concurrently with itself.
	state int
	n     int64  // bytes left in stBody / stData
	buf   []byte // the header block, chunk-size or trailer line so far
	// In stHead: bytes of the current line so far, and whether the last
	// was a CR, to find the empty line that ends the block.
	lineLen int
	lastCR  bool

	mu     sync.Mutex
	queue  []block
	queued int // bytes in queue
}

// Read reads from the connection and records what passes.
func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.state != stOff {
		c.feed(p[:n])
	}
	return n, err
}

func (c *Conn) feed(p []byte) {
	for len(p) > 0 && c.state != stOff {
		switch c.state {
		case stHead:
			if len(c.buf) == 0 {
				// RFC 9112 2.2: empty lines before a request line are ignored.
				for len(p) > 0 && (p[0] == '\r' || p[0] == '\n') {
					p = p[1:]
				}
				if len(p) == 0 {
					return
				}
			}
			end := c.headEnd(p)
			if end < 0 {
				if len(c.buf)+len(p) > maxBlock {
					c.off()
					return
				}
				c.buf = append(c.buf, p...)
				return
			}
			c.buf = append(c.buf, p[:end]...)
			p = p[end:]
			c.endHead()
		case stBody:
			k := min(int64(len(p)), c.n)
			p = p[k:]
			if c.n -= k; c.n == 0 {
				c.state = stHead
			}
		case stData:
			k := min(int64(len(p)), c.n)
			p = p[k:]
			if c.n -= k; c.n == 0 {
				c.state = stChunk // the CRLF after the data reads as an empty size line
			}
		case stChunk, stTrailer:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				if len(c.buf)+len(p) > 4096 {
					c.off()
					return
				}
				c.buf = append(c.buf, p...)
				return
			}
			c.buf = append(c.buf, p[:i+1]...)
			p = p[i+1:]
			line := bytes.TrimRight(c.buf, "\r\n")
			c.buf = c.buf[:0]
			if c.state == stTrailer {
				if len(line) == 0 {
					c.state = stHead
				}
				continue
			}
			if len(line) == 0 {
				continue // the CRLF that ends a chunk's data
			}
			if j := bytes.IndexByte(line, ';'); j >= 0 {
				line = line[:j]
			}
			size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
			switch {
			case err != nil || size < 0:
				c.off()
			case size == 0:
				c.state = stTrailer
			default:
				c.state, c.n = stData, size
			}
		}
	}
}

// headEnd returns how many bytes of p complete the header block (through
// its empty line), or -1. Lines may end in CRLF or LF; the line counters
// carry over from one Read to the next.
func (c *Conn) headEnd(p []byte) int {
	for i := 0; i < len(p); {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			c.lineLen += len(p) - i
			c.lastCR = p[len(p)-1] == '\r'
			return -1
		}
		if j > 0 {
			c.lineLen += j
			c.lastCR = p[i+j-1] == '\r'
		}
		empty := c.lineLen == 0 || c.lineLen == 1 && c.lastCR
		c.lineLen, c.lastCR = 0, false
		i += j + 1
		if empty {
			return i
		}
	}
	return -1
}

func (c *Conn) off() {
	c.state = stOff
	c.buf = nil
}

// endHead queues the block in c.buf and sets up the body's framing.
func (c *Conn) endHead() {
	raw := c.buf
	c.buf = c.buf[:0]
	if cap(raw) > 64<<10 {
		c.buf = nil // do not keep a rare big block's buffer for the connection's life
	}
	i := bytes.IndexByte(raw, '\n')
	line := bytes.TrimRight(raw[:i+1], "\r\n")
	if bytes.HasPrefix(line, []byte("PRI * HTTP/2")) {
		c.off() // HTTP/2 with prior knowledge: not ours to parse
		return
	}
	b := block{line: bytes.Clone(line), head: bytes.Clone(raw[i+1:])}
	c.mu.Lock()
	c.queue = append(c.queue, b)
	c.queued += len(b.line) + len(b.head)
	for len(c.queue) > maxQueue || c.queued > maxQueueBytes && len(c.queue) > 1 {
		c.queued -= len(c.queue[0].line) + len(c.queue[0].head)
		c.queue = append(c.queue[:0], c.queue[1:]...)
	}
	c.mu.Unlock()

	// The body's framing (RFC 9112 6.3): chunked wins over Content-Length.
	// Scanned in place: this runs for every request on the connection.
	var length int64
	chunked, upgrade := false, false
	for rest := b.head; len(rest) > 0; {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte("\n"))
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue
		}
		switch len(name) {
		case len("Transfer-Encoding"):
			chunked = chunked || bytes.EqualFold(name, []byte("Transfer-Encoding")) // net/http accepts only chunked
		case len("Content-Length"):
			if bytes.EqualFold(name, []byte("Content-Length")) {
				n, err := strconv.ParseInt(string(bytes.Trim(value, " \t\r")), 10, 64)
				if err != nil || n < 0 {
					c.off() // net/http answers 400 and closes
					return
				}
				length = n
			}
		case len("Upgrade"):
			upgrade = upgrade || bytes.EqualFold(name, []byte("Upgrade"))
		}
	}
	method, _, _ := bytes.Cut(line, []byte(" "))
	switch {
	case upgrade || string(method) == "CONNECT":
		c.off() // the connection may become something else
	case chunked:
		c.state = stChunk
	case length > 0:
		c.state, c.n = stBody, length
	default:
		c.state = stHead
	}
}

func (c *Conn) take(method, requestURI string) []Field {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, b := range c.queue {
		m, rest, _ := bytes.Cut(b.line, []byte(" "))
		target, _, _ := bytes.Cut(rest, []byte(" "))
		if string(m) == method && string(target) == requestURI {
			// Blocks before it belong to requests no handler asked for.
			for _, old := range c.queue[:i+1] {
				c.queued -= len(old.line) + len(old.head)
			}
			c.queue = append(c.queue[:0], c.queue[i+1:]...)
			return parse(b.head)
		}
	}
	return nil
}

// parse splits header lines into fields. A line that starts with white
// space continues the previous one (obs-fold), as net/http reads it. The
// fields are substrings of one copy of the block.
func parse(head []byte) []Field {
	h := string(head)
	out := make([]Field, 0, strings.Count(h, "\n"))
	for len(h) > 0 {
		var line string
		line, h, _ = strings.Cut(h, "\n")
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			last := &out[len(out)-1]
			last.Value = strings.TrimSpace(last.Value + " " + strings.TrimSpace(line))
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		out = append(out, Field{Name: name, Value: strings.Trim(value, " \t")})
	}
	return out
}

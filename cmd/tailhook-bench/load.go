package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// target is where load goes: a server's origin and the path to POST to.
type target struct {
	scheme string // http or https
	host   string // host:port, also sent as Host
}

func parseTarget(raw string) (target, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return target{}, fmt.Errorf("want an http:// or https:// URL, got %q", raw)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	return target{scheme: u.Scheme, host: host}, nil
}

func (t target) origin() string { return t.scheme + "://" + t.host }

// conn is one keep-alive HTTP/1.1 connection, written to and read from
// directly: the generator is lighter than net/http's Transport, which
// leaves more of the shared CPU to the server under test.
type conn struct {
	t  target
	nc net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

func dial(ctx context.Context, t target) (*conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", t.host)
	if err != nil {
		return nil, err
	}
	if t.scheme == "https" {
		host, _, _ := net.SplitHostPort(t.host)
		tc := tls.Client(nc, &tls.Config{ServerName: host, NextProtos: []string{"http/1.1"}})
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	return &conn{t: t, nc: nc, br: bufio.NewReaderSize(nc, 64<<10), bw: bufio.NewWriterSize(nc, 16<<10)}, nil
}

func (c *conn) close() {
	if c != nil {
		c.nc.Close()
	}
}

// do sends one request and reads the whole answer. Its body is returned only
// when keep is set.
func (c *conn) do(method, path string, header http.Header, body []byte, keep bool) (int, []byte, error) {
	c.nc.SetDeadline(time.Now().Add(60 * time.Second))
	bw := c.bw
	bw.WriteString(method + " " + path + " HTTP/1.1\r\nHost: " + c.t.host + "\r\n")
	for k, vs := range header {
		for _, v := range vs {
			bw.WriteString(k + ": " + v + "\r\n")
		}
	}
	if body != nil {
		bw.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	bw.WriteString("\r\n")
	bw.Write(body)
	if err := bw.Flush(); err != nil {
		return 0, nil, err
	}
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, nil, err
	}
	var b []byte
	if keep {
		b, err = io.ReadAll(res.Body)
	} else {
		_, err = io.Copy(io.Discard, res.Body)
	}
	res.Body.Close()
	if err == nil && res.Close {
		err = errors.New("server closed the connection")
	}
	return res.StatusCode, b, err
}

// payload is a JSON body of exactly n bytes (at least 32), as a webhook
// sender would post.
func payload(n int) []byte {
	const head = `{"type":"bench.event","data":"`
	const tail = `"}`
	n = max(n, len(head)+len(tail))
	b := make([]byte, 0, n)
	b = append(b, head...)
	for i := 0; len(b) < n-len(tail); i++ {
		b = append(b, "abcdefghijklmnopqrstuvwxyz0123456789"[i%36])
	}
	return append(b, tail...)
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}, "User-Agent": {"tailhook-bench"}}

// loadResult is what one run of load saw.
type loadResult struct {
	OK       int             // 2xx answers
	Errors   int             // other answers and failed requests
	Statuses map[int]int     // every non-2xx status seen, 0 for network errors
	Elapsed  time.Duration   // wall time of the run
	Lat      []time.Duration // latency of each 2xx answer
	FirstErr string
}

func (r *loadResult) merge(o loadResult) {
	r.OK += o.OK
	r.Errors += o.Errors
	r.Elapsed += o.Elapsed
	r.Lat = append(r.Lat, o.Lat...)
	if r.Statuses == nil {
		r.Statuses = map[int]int{}
	}
	for k, v := range o.Statuses {
		r.Statuses[k] += v
	}
	if r.FirstErr == "" {
		r.FirstErr = o.FirstErr
	}
}

func (r *loadResult) rps() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// maxSamples bounds the latency samples one run keeps per worker.
const maxSamples = 2_000_000

// worker is one connection's share of a run.
type worker struct {
	res  loadResult
	conn *conn
}

func (w *worker) send(ctx context.Context, t target, path string, body []byte) {
	if w.conn == nil {
		// Not bounded by the run's end: a dial cut short by it would
		// count as a failure of the server.
		c, err := dial(context.WithoutCancel(ctx), t)
		if err != nil {
			w.fail(0, err)
			time.Sleep(50 * time.Millisecond) // do not spin on a dead server
			return
		}
		w.conn = c
	}
	start := time.Now()
	status, _, err := w.conn.do("POST", path, jsonHeader, body, false)
	lat := time.Since(start)
	if err != nil {
		w.conn.close()
		w.conn = nil
		w.fail(0, err)
		return
	}
	if status < 200 || status > 299 {
		w.fail(status, fmt.Errorf("status %d", status))
		return
	}
	w.res.OK++
	if len(w.res.Lat) < maxSamples {
		w.res.Lat = append(w.res.Lat, lat)
	}
}

func (w *worker) fail(status int, err error) {
	w.res.Errors++
	if w.res.Statuses == nil {
		w.res.Statuses = map[int]int{}
	}
	w.res.Statuses[status]++
	if w.res.FirstErr == "" {
		w.res.FirstErr = err.Error()
	}
}

// closedLoop posts body to path from conns connections, each sending its
// next request as soon as the previous one is answered, for d.
func closedLoop(ctx context.Context, t target, path string, conns int, d time.Duration, body []byte) loadResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	ws := make([]*worker, conns)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range ws {
		w := &worker{}
		ws[i] = w
		wg.Go(func() {
			defer w.conn.close()
			for ctx.Err() == nil {
				w.send(ctx, t, path, body)
			}
		})
	}
	wg.Wait()
	var res loadResult
	for _, w := range ws {
		res.merge(w.res)
	}
	res.Elapsed = time.Since(start)
	return res
}

// openLoop sends rate requests per second, spread evenly, for d, from a
// pool of conns connections, whatever the answers' latency. path gets the
// send time (ns since epoch0) as ?t=, so that receivers can tell how long
// an event took from the moment it was sent. at, if not nil, is called with
// each answered request's send time and latency.
func openLoop(ctx context.Context, t target, path string, conns int, rate float64, d time.Duration,
	body []byte, epoch0 time.Time, at func(sent time.Duration, lat time.Duration)) loadResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	slots := make(chan struct{}, conns*4)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var res loadResult
	start := time.Now()
	for range conns {
		wg.Go(func() {
			w := &worker{}
			defer w.conn.close()
			for {
				select {
				case <-ctx.Done():
					mu.Lock()
					res.merge(w.res)
					mu.Unlock()
					return
				case <-slots:
				}
				sent := time.Since(epoch0)
				n := len(w.res.Lat)
				w.send(ctx, t, path+"?t="+strconv.FormatInt(int64(sent), 10), body)
				if at != nil && len(w.res.Lat) > n {
					at(sent, w.res.Lat[n])
				}
			}
		})
	}
	interval := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	missed := 0
	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		default:
			missed++ // every connection busy: the server is slower than rate
		}
		next = next.Add(interval)
		if w := time.Until(next); w > 0 {
			select {
			case <-time.After(w):
			case <-ctx.Done():
			}
		}
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	if missed > 0 {
		if res.Statuses == nil {
			res.Statuses = map[int]int{}
		}
		res.Statuses[-1] += missed
		res.Errors += missed
		if res.FirstErr == "" {
			res.FirstErr = fmt.Sprintf("%d sends skipped: all %d connections busy", missed, conns)
		}
	}
	return res
}

// percentile of sorted samples, p in [0,100].
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// latency summarises samples.
type latency struct {
	N     int     `json:"n"`
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

func summarize(s []time.Duration) latency {
	s = slices.Clone(s)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	l := latency{N: len(s), P50Ms: ms(percentile(s, 50)), P99Ms: ms(percentile(s, 99))}
	if len(s) > 0 {
		l.MaxMs = ms(s[len(s)-1])
	}
	return l
}

// apiClient makes the tool's own API calls over one connection.
type apiClient struct {
	t target
	c *conn
}

func (a *apiClient) call(ctx context.Context, method, path, token string, body []byte) (int, []byte, time.Duration, error) {
	if a.c == nil {
		c, err := dial(ctx, a.t)
		if err != nil {
			return 0, nil, 0, err
		}
		a.c = c
	}
	h := http.Header{"Accept": {"application/json"}}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	start := time.Now()
	status, b, err := a.c.do(method, path, h, body, true)
	lat := time.Since(start)
	if err != nil {
		a.c.close()
		a.c = nil
	}
	return status, b, lat, err
}

func (a *apiClient) close() { a.c.close() }

// trimBody shortens an answer for an error message.
func trimBody(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

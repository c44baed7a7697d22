package forward

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawRequest is a request as a raw socket target read it.
type rawRequest struct {
	conn int    // which connection, from 1
	head string // request line and header block, as written
	body []byte
}

// rawTarget is a loopback HTTP/1.1 target that keeps the bytes: it reads
// requests one after another on each connection (bodies by
// Content-Length), and answers each with answer(n) for the n-th request
// (from 1), a whole response. It closes a connection after an answer that
// has "Connection: close".
func rawTarget(t *testing.T, answer func(n int) string) (string, func() []rawRequest) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var got []rawRequest
	var conns atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			id := int(conns.Add(1))
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for {
					var head strings.Builder
					length := 0
					for {
						line, err := br.ReadString('\n')
						if err != nil {
							return
						}
						head.WriteString(line)
						if line == "\r\n" {
							break
						}
						if name, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(name, "Content-Length") {
							length, _ = strconv.Atoi(strings.TrimSpace(v))
						}
					}
					body := make([]byte, length)
					if _, err := io.ReadFull(br, body); err != nil {
						return
					}
					mu.Lock()
					got = append(got, rawRequest{conn: id, head: head.String(), body: body})
					n := len(got)
					mu.Unlock()
					a := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
					if answer != nil {
						a = answer(n)
					}
					if _, err := io.WriteString(conn, a); err != nil || strings.Contains(a, "Connection: close") {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), func() []rawRequest {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// headLines splits a raw head into its lines, the request line first.
func headLines(head string) []string {
	return strings.Split(strings.TrimSuffix(head, "\r\n\r\n"), "\r\n")
}

// TestDoWritesFieldsInOrder: the header lines go out in the order and
// spelling given, not sorted or canonicalised, with Host and Content-Length
// replaced in place, hop-by-hop lines dropped, and the same again on the
// kept-alive connection.
func TestDoWritesFieldsInOrder(t *testing.T) {
	addr, got := rawTarget(t, nil)
	c := New(Options{AllowPrivate: true})
	defer c.CloseIdleConnections()
	fields := Fields{
		{"Host", "captured.example"},
		{"Zeta", "1"},
		{"x-github-event", "push"},
		{"Alpha", "2"},
		{"Connection", "keep-alive, X-Hop"},
		{"X-Hop", "dropped"},
		{"content-length", "999"},
		{"Expect", "100-continue"},
		{"X-MiXeD", "a"},
		{"zeta", "again"},
		{"Proxy-Authorization", "Basic eA=="},
	}
	body := allBytes()
	for i := range 2 {
		res := c.Do(context.Background(), Request{Method: "POST", URL: "http://" + addr + "/p?q=1", Fields: fields, Body: body})
		if res.Err != nil || res.Status != 200 || string(res.Body) != "ok" {
			t.Fatalf("request %d: %d %q %v", i+1, res.Status, res.Body, res.Err)
		}
	}
	rs := got()
	if len(rs) != 2 {
		t.Fatalf("target got %d requests", len(rs))
	}
	want := []string{
		"POST /p?q=1 HTTP/1.1",
		"Host: " + addr,
		"Zeta: 1",
		"x-github-event: push",
		"Alpha: 2",
		"Content-Length: 256",
		"X-MiXeD: a",
		"zeta: again",
	}
	for i, r := range rs {
		if lines := headLines(r.head); !slices.Equal(lines, want) {
			t.Errorf("request %d head:\n%s\nwant:\n%s", i+1, strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}
		if !bytes.Equal(r.body, body) {
			t.Errorf("request %d body differs", i+1)
		}
	}
	if rs[0].conn != 1 || rs[1].conn != 1 {
		t.Errorf("connections %d, %d: the second request did not reuse the first's", rs[0].conn, rs[1].conn)
	}
}

// TestDoHeadPlacement: without a Host line Host comes first; a dechunked
// capture's Transfer-Encoding line becomes its Content-Length; Header
// without Fields goes out sorted, spelled as given; GET without a body has
// no length; credentials in the URL are sent as Basic auth, as net/http
// does.
func TestDoHeadPlacement(t *testing.T) {
	addr, got := rawTarget(t, nil)
	c := New(Options{AllowPrivate: true})
	defer c.CloseIdleConnections()
	u := "http://" + addr + "/"
	c.Do(context.Background(), Request{Method: "PUT", URL: u, Fields: Fields{{"B", "1"}, {"Transfer-Encoding", "chunked"}, {"A", "2"}}, Body: []byte("hello")})
	c.Do(context.Background(), Request{Method: "POST", URL: u, Header: http.Header{"Zz": {"1"}, "x-lower": {"2"}, "Aa": {"3", "4"}}})
	c.Do(context.Background(), Request{URL: u, Fields: Fields{{"Accept", "*/*"}}})
	c.Do(context.Background(), Request{URL: "http://us%20er:p%40ss@" + addr + "/a", Fields: Fields{{"X", "1"}}})
	rs := got()
	if len(rs) != 4 {
		t.Fatalf("target got %d requests", len(rs))
	}
	for i, want := range [][]string{
		{"PUT / HTTP/1.1", "Host: " + addr, "B: 1", "Content-Length: 5", "A: 2"},
		{"POST / HTTP/1.1", "Host: " + addr, "Aa: 3", "Aa: 4", "Zz: 1", "x-lower: 2", "Content-Length: 0"},
		{"GET / HTTP/1.1", "Host: " + addr, "Accept: */*"},
		{"GET /a HTTP/1.1", "Host: " + addr, "X: 1", "Authorization: Basic dXMgZXI6cEBzcw=="},
	} {
		if lines := headLines(rs[i].head); !slices.Equal(lines, want) {
			t.Errorf("request %d head %q, want %q", i+1, lines, want)
		}
	}
	if string(rs[0].body) != "hello" {
		t.Errorf("body %q", rs[0].body)
	}
}

// TestDoClosedKeptAliveConnection: a target that closes each connection
// after answering (without saying so) must not cost the next POST, which
// cannot be sent twice: the pool finds the connection closed before using
// it.
func TestDoClosedKeptAliveConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}()
		}
	}()
	c := New(Options{AllowPrivate: true})
	defer c.CloseIdleConnections()
	for i := range 3 {
		res := c.Do(context.Background(), Request{Method: "POST", URL: "http://" + ln.Addr().String() + "/", Body: []byte("x")})
		if res.Err != nil || res.Status != 200 {
			t.Fatalf("request %d: %d %v", i+1, res.Status, res.Err)
		}
		time.Sleep(20 * time.Millisecond) // the target's close arrives
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
}

// TestDoResponses: chunked bodies are decoded, interim 1xx answers skipped,
// HEAD has no body, a response head over 1 MiB is refused, and a body over
// the cap is cut and its connection not reused.
func TestDoResponses(t *testing.T) {
	answers := map[string]string{
		"/chunked": "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
		"/early":   "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"/head":    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
		"/big":     "HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n" + strings.Repeat("b", 3000),
		"/huge":    "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("h", 1<<20) + "\r\n\r\n",
		"/after":   "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter",
	}
	var mu sync.Mutex
	var paths []string
	addr, got := rawTarget(t, func(n int) string {
		mu.Lock()
		defer mu.Unlock()
		return answers[paths[n-1]]
	})
	c := New(Options{AllowPrivate: true, MaxResponseBody: 1000})
	defer c.CloseIdleConnections()
	do := func(method, path string) Result {
		mu.Lock()
		paths = append(paths, path)
		mu.Unlock()
		return c.Do(context.Background(), Request{Method: method, URL: "http://" + addr + path})
	}
	if r := do("GET", "/chunked"); r.Err != nil || r.Status != 201 || string(r.Body) != "abcde" || r.Header.Get("X-A") != "1" {
		t.Errorf("chunked: %d %q %v", r.Status, r.Body, r.Err)
	}
	if r := do("GET", "/early"); r.Err != nil || r.Status != 204 {
		t.Errorf("early hints: %d %v", r.Status, r.Err)
	}
	if r := do("HEAD", "/head"); r.Err != nil || r.Status != 200 || len(r.Body) != 0 {
		t.Errorf("head: %d %q %v", r.Status, r.Body, r.Err)
	}
	if r := do("GET", "/big"); r.Err != nil || len(r.Body) != 1000 || !r.BodyTruncated {
		t.Errorf("big: %d bytes truncated=%v %v", len(r.Body), r.BodyTruncated, r.Err)
	}
	if r := do("GET", "/huge"); r.Err == nil || !strings.Contains(r.Err.Error(), "response headers over") {
		t.Errorf("huge head: %d %v", r.Status, r.Err)
	}
	if r := do("GET", "/after"); r.Err != nil || string(r.Body) != "after" {
		t.Errorf("after: %q %v", r.Body, r.Err)
	}
	rs := got()
	conn := map[string]int{}
	for i, r := range rs {
		conn[paths[i]] = r.conn
	}
	if conn["/chunked"] != conn["/head"] || conn["/head"] != conn["/big"] || conn["/big"] == conn["/huge"] || conn["/huge"] == conn["/after"] {
		t.Errorf("connections by request %v: kept alive until the cut body, then new ones", conn)
	}
}

// TestDoHTTPS: https goes through TLS on the same writer, keeps its
// connection alive and keeps the order.
func TestDoHTTPS(t *testing.T) {
	var conns atomic.Int32
	var mu sync.Mutex
	var order [][]string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, []string{r.Proto, fmt.Sprint(r.Header)})
		mu.Unlock()
		w.Write([]byte("secure"))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	c := New(Options{AllowPrivate: true, TLSConfig: &tls.Config{RootCAs: pool}})
	defer c.CloseIdleConnections()
	for range 3 {
		res := c.Do(context.Background(), Request{Method: "POST", URL: srv.URL + "/s", Fields: Fields{{"x-b", "1"}, {"X-A", "2"}}, Body: []byte("{}")})
		if res.Err != nil || string(res.Body) != "secure" {
			t.Fatalf("https: %d %q %v", res.Status, res.Body, res.Err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d TLS connections for 3 requests, want 1", n)
	}
	if order[0][0] != "HTTP/1.1" {
		t.Errorf("proto %s", order[0][0])
	}
	// An untrusted certificate is an error, not a fallback.
	res := New(Options{AllowPrivate: true}).Do(context.Background(), Request{URL: srv.URL})
	if res.Err == nil || res.Status != 0 {
		t.Errorf("untrusted certificate: %d %v", res.Status, res.Err)
	}
}

func TestFieldsSet(t *testing.T) {
	f := Fields{{"Host", "h"}, {"x-sig", "old1"}, {"B", "b"}, {"X-Sig", "old2"}}
	for _, tc := range []struct {
		name   string
		values []string
		want   Fields
	}{
		{"X-Sig", []string{"new"}, Fields{{"Host", "h"}, {"X-Sig", "new"}, {"B", "b"}}},
		{"x-sig", nil, Fields{{"Host", "h"}, {"B", "b"}}},
		{"C", []string{"1", "2"}, Fields{{"Host", "h"}, {"x-sig", "old1"}, {"B", "b"}, {"X-Sig", "old2"}, {"C", "1"}, {"C", "2"}}},
	} {
		if got := f.Set(tc.name, tc.values...); !slices.Equal(got, tc.want) {
			t.Errorf("Set(%s, %q) = %v, want %v", tc.name, tc.values, got, tc.want)
		}
	}
	if len(f) != 4 || f[1].Value != "old1" {
		t.Error("Set changed its receiver")
	}
	h := f.Header()
	if !slices.Equal(h["X-Sig"], []string{"old1", "old2"}) || h.Get("Host") != "h" {
		t.Errorf("Header() = %v", h)
	}
	if got := FieldsOf(http.Header{"b": {"1"}, "Host": {"h"}, "A": {"2", "3"}}); !slices.Equal(got, Fields{{"Host", "h"}, {"A", "2"}, {"A", "3"}, {"b", "1"}}) {
		t.Errorf("FieldsOf = %v", got)
	}
}

// TestDoEarlyAnswer: a target that answers 413 after the head and closes
// without reading an 8 MiB body gives its answer, not a write error.
func TestDoEarlyAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		for {
			line, err := br.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		io.WriteString(conn, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!")
	}()
	c := New(Options{AllowPrivate: true, Timeout: 10 * time.Second})
	defer c.CloseIdleConnections()
	res := c.Do(context.Background(), Request{Method: "POST", URL: "http://" + ln.Addr().String() + "/", Body: make([]byte, 8<<20)})
	if res.Status != 413 || string(res.Body) != "too big!" {
		t.Fatalf("Do = %d %q %v, want the 413", res.Status, res.Body, res.Err)
	}
}

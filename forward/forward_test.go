package forward

import (
	"bufio"
	"bytes"
	"context"
	"errors"
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

// received is what a test target saw.
type received struct {
	method, requestURI, host string
	header                   http.Header
	body                     []byte
	contentLength            int64
	transferEncoding         []string
}

// newTarget starts a loopback target that records every request and answers
// with h (or 200 when h is nil).
func newTarget(t *testing.T, h http.HandlerFunc) (*httptest.Server, func() []received) {
	t.Helper()
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{
			method: r.Method, requestURI: r.RequestURI, host: r.Host,
			header: r.Header.Clone(), body: body,
			contentLength: r.ContentLength, transferEncoding: r.TransferEncoding,
		})
		mu.Unlock()
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestDoDeliversByteExact(t *testing.T) {
	// The response claims gzip: with DisableCompression the bytes must come
	// back as sent, not decoded (and not failing to decode).
	respBody := []byte{0x1f, 0x8b, 0, 1, 2, 0xff}
	srv, got := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("X-Resp", "1")
		w.Header().Add("X-Resp", "2")
		w.WriteHeader(http.StatusCreated)
		w.Write(respBody)
	})
	c := New(Options{AllowPrivate: true})
	defer c.CloseIdleConnections()

	hdr := http.Header{
		"Content-Type":          {"application/octet-stream"},
		"X-Multi":               {"first", "second", "third"},
		"Connection":            {"keep-alive, X-Named-By-Connection"},
		"X-Named-By-Connection": {"secret"},
		"Keep-Alive":            {"timeout=5"},
		"Proxy-Authorization":   {"Basic eDp5"},
		"Proxy-Connection":      {"keep-alive"},
		"Te":                    {"trailers"},
		"Trailer":               {"X-T"},
		"Transfer-Encoding":     {"chunked"},
		"Upgrade":               {"h2c"},
		"Host":                  {"captured.example"},
		"Content-Length":        {"99999"},
		"Stripe-Signature":      {"t=1,v1=abc"},
	}
	body := allBytes()
	res := c.Do(context.Background(), Request{Method: "PUT", URL: srv.URL + "/hook/a%2Fb?x=1&x=2", Header: hdr, Body: body})
	if res.Err != nil {
		t.Fatalf("Do: %v", res.Err)
	}
	if res.Status != http.StatusCreated || !bytes.Equal(res.Body, respBody) || res.BodyTruncated {
		t.Errorf("result = %d %x truncated=%v, want 201 %x", res.Status, res.Body, res.BodyTruncated, respBody)
	}
	if v := res.Header.Values("X-Resp"); !slices.Equal(v, []string{"1", "2"}) {
		t.Errorf("response X-Resp = %q", v)
	}
	if res.Duration <= 0 {
		t.Errorf("Duration = %v", res.Duration)
	}

	rs := got()
	if len(rs) != 1 {
		t.Fatalf("target got %d requests, want 1", len(rs))
	}
	r := rs[0]
	if r.method != "PUT" || r.requestURI != "/hook/a%2Fb?x=1&x=2" {
		t.Errorf("request line = %s %s", r.method, r.requestURI)
	}
	if !bytes.Equal(r.body, body) {
		t.Errorf("body differs: got %x", r.body)
	}
	if r.contentLength != int64(len(body)) || len(r.transferEncoding) != 0 {
		t.Errorf("Content-Length %d, Transfer-Encoding %q; want %d, none", r.contentLength, r.transferEncoding, len(body))
	}
	if want := strings.TrimPrefix(srv.URL, "http://"); r.host != want {
		t.Errorf("Host = %q, want %q", r.host, want)
	}
	if v := r.header.Values("X-Multi"); !slices.Equal(v, []string{"first", "second", "third"}) {
		t.Errorf("X-Multi = %q", v)
	}
	for _, k := range []string{"Stripe-Signature", "Content-Type"} {
		if r.header.Get(k) != hdr.Get(k) {
			t.Errorf("%s = %q, want %q", k, r.header.Get(k), hdr.Get(k))
		}
	}
	for _, k := range []string{"X-Named-By-Connection", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Te", "Trailer", "Upgrade", "User-Agent", "Accept-Encoding"} {
		if v, ok := r.header[k]; ok {
			t.Errorf("target got %s: %q, want it absent", k, v)
		}
	}
}

func TestDoEmptyBodyAndDefaultMethod(t *testing.T) {
	srv, got := newTarget(t, nil)
	c := New(Options{AllowPrivate: true})
	defer c.CloseIdleConnections()
	if res := c.Do(context.Background(), Request{URL: srv.URL}); res.Err != nil || res.Status != 200 {
		t.Fatalf("Do = %d, %v", res.Status, res.Err)
	}
	if res := c.Do(context.Background(), Request{Method: "POST", URL: srv.URL}); res.Err != nil {
		t.Fatalf("Do POST: %v", res.Err)
	}
	rs := got()
	if rs[0].method != "GET" || rs[0].requestURI != "/" || len(rs[0].body) != 0 {
		t.Errorf("first = %+v", rs[0])
	}
	if rs[1].method != "POST" || rs[1].contentLength != 0 || rs[1].header.Get("Content-Length") != "" && rs[1].header.Get("Content-Length") != "0" {
		t.Errorf("second = %+v", rs[1])
	}
}

func TestDoDoesNotFollowRedirects(t *testing.T) {
	srv, got := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	c := New(Options{AllowPrivate: true})
	defer c.CloseIdleConnections()
	res := c.Do(context.Background(), Request{Method: "POST", URL: srv.URL + "/start", Body: []byte("x")})
	if res.Err != nil || res.Status != http.StatusFound || res.Header.Get("Location") != "/elsewhere" {
		t.Fatalf("result = %d %v %q", res.Status, res.Err, res.Header.Get("Location"))
	}
	if n := len(got()); n != 1 {
		t.Errorf("target got %d requests, want 1", n)
	}
}

func TestDoTotalTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv, _ := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-body" {
			w.WriteHeader(200)
			w.Write([]byte("partial"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	c := New(Options{AllowPrivate: true, Timeout: 150 * time.Millisecond})
	defer c.CloseIdleConnections()

	start := time.Now()
	res := c.Do(context.Background(), Request{URL: srv.URL + "/slow-headers"})
	if res.Err == nil || res.Status != 0 || !errors.Is(res.Err, context.DeadlineExceeded) {
		t.Fatalf("slow headers: status %d err %v, want a deadline error", res.Status, res.Err)
	}
	if !strings.Contains(res.Err.Error(), "within 150ms") {
		t.Errorf("error %q does not name the timeout", res.Err)
	}
	if !Retryable(res) {
		t.Error("a timeout should be retryable")
	}

	res = c.Do(context.Background(), Request{URL: srv.URL + "/slow-body"})
	if res.Status != 200 || res.Err == nil || string(res.Body) != "partial" {
		t.Fatalf("slow body: status %d body %q err %v", res.Status, res.Body, res.Err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v", el)
	}
}

func TestDoResponseBodyCap(t *testing.T) {
	srv, _ := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("a"), 3000))
	})
	c := New(Options{AllowPrivate: true, MaxResponseBody: 1000})
	defer c.CloseIdleConnections()
	res := c.Do(context.Background(), Request{URL: srv.URL})
	if res.Err != nil || len(res.Body) != 1000 || !res.BodyTruncated {
		t.Fatalf("len %d truncated %v err %v, want 1000 true nil", len(res.Body), res.BodyTruncated, res.Err)
	}

	c = New(Options{AllowPrivate: true, MaxResponseBody: 3000})
	defer c.CloseIdleConnections()
	res = c.Do(context.Background(), Request{URL: srv.URL})
	if res.Err != nil || len(res.Body) != 3000 || res.BodyTruncated {
		t.Fatalf("exact fit: len %d truncated %v err %v", len(res.Body), res.BodyTruncated, res.Err)
	}
}

func TestDoInvalidURL(t *testing.T) {
	c := New(Options{})
	for _, u := range []string{"", "ftp://x", "/relative", "http://", "http://:80/"} {
		res := c.Do(context.Background(), Request{URL: u})
		if !errors.Is(res.Err, ErrInvalidURL) || Retryable(res) {
			t.Errorf("Do(%q).Err = %v, want ErrInvalidURL and not retryable", u, res.Err)
		}
	}
}

func TestDoInvalidRequest(t *testing.T) {
	srv, got := newTarget(t, nil)
	c := New(Options{AllowPrivate: true})
	defer c.CloseIdleConnections()
	for _, r := range []Request{
		{Method: "BAD METHOD", URL: srv.URL},
		{URL: srv.URL, Header: http.Header{"X-A": {"line\nbreak"}}},
		{URL: srv.URL, Header: http.Header{"Bad Name": {"v"}}},
	} {
		res := c.Do(context.Background(), r)
		if !errors.Is(res.Err, ErrInvalidRequest) || Retryable(res) {
			t.Errorf("Do(%+v).Err = %v, want ErrInvalidRequest and not retryable", r, res.Err)
		}
	}
	if n := len(got()); n != 0 {
		t.Errorf("target got %d requests", n)
	}
}

// TestGuardRefusesBeforeConnect points a client without private forwarding
// at a live loopback server in three spellings and checks that the server
// never sees a connection.
func TestGuardRefusesBeforeConnect(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port

	c := New(Options{})
	defer c.CloseIdleConnections()
	for _, host := range []string{"127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "[::1]"} {
		u := "http://" + host + ":" + strconv.Itoa(port) + "/x"
		res := c.Do(context.Background(), Request{Method: "POST", URL: u, Body: []byte("x")})
		if !errors.Is(res.Err, ErrRefused) {
			t.Errorf("%s: Err = %v, want ErrRefused", u, res.Err)
		}
		if res.Status != 0 || Retryable(res) {
			t.Errorf("%s: status %d retryable %v", u, res.Status, Retryable(res))
		}
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("server saw %d connections, want 0", n)
	}

	// The hook itself, with no socket involved.
	for addr, refused := range map[string]bool{
		"10.1.2.3:80":           true,
		"[::ffff:10.1.2.3]:80":  true,
		"[fe80::1%eth0]:80":     true,
		"169.254.169.254:80":    true,
		"not an address":        true,
		"1.1.1.1:443":           false,
		"[2606:4700::1111]:443": false,
	} {
		err := guard("tcp", addr, nil)
		if got := errors.Is(err, ErrRefused); got != refused {
			t.Errorf("guard(%q) = %v, want refused=%v", addr, err, refused)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"http://example.com":             true,
		"https://example.com:8443/a?b=c": true,
		"HTTP://Example.com/":            true,
		"http://user:pw@example.com/":    true,
		"http://[2606:4700::1111]:80/":   true,
		"":                               false,
		"example.com":                    false,
		"//example.com/x":                false,
		"ftp://example.com":              false,
		"javascript:alert(1)":            false,
		"http:example.com":               false,
		"http://":                        false,
		"http://:8080":                   false,
		"http://example.com:0/":          false,
		"http://example.com:99999/":      false,
		"http://example.com:x/":          false,
		"http://exa mple.com/":           false,
		"http://example.com/\x7f":        false,
		"https://example.com/%zz":        false,
	} {
		err := CheckURL(raw)
		if (err == nil) != ok {
			t.Errorf("CheckURL(%q) = %v, want ok=%v", raw, err, ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidURL) {
			t.Errorf("CheckURL(%q) = %v, does not wrap ErrInvalidURL", raw, err)
		}
	}
}

func TestJoin(t *testing.T) {
	tests := []struct {
		target, path, query, want string
	}{
		{"http://localhost:3000", "", "", "http://localhost:3000"},
		{"http://localhost:3000", "/stripe", "", "http://localhost:3000/stripe"},
		{"http://localhost:3000/", "/stripe", "", "http://localhost:3000/stripe"},
		{"http://localhost:3000/", "", "", "http://localhost:3000/"},
		{"http://h/api", "/stripe", "", "http://h/api/stripe"},
		{"http://h/api/", "/stripe/", "", "http://h/api/stripe/"},
		{"http://h/api", "", "a=1", "http://h/api?a=1"},
		{"http://h/api?k=v", "/x", "a=1&b=2", "http://h/api/x?k=v&a=1&b=2"},
		{"http://h/api?k=v", "", "", "http://h/api?k=v"},
		{"http://h/api?", "/x", "a=1", "http://h/api/x?a=1"},
		{"http://h?k=v", "/x", "", "http://h/x?k=v"},
		{"http://h/api#frag", "/x", "a=1", "http://h/api/x?a=1"},
		// the captured path is kept as sent: escapes, doubled slashes, dots
		{"http://h/", "//a/../b%2F", "q=%20", "http://h//a/../b%2F?q=%20"},
		{"http://h", "/a#b", "c=#", "http://h/a%23b?c=%23"},
		{"https://h:8443/p/", "/", "", "https://h:8443/p/"},
	}
	for _, tt := range tests {
		got, err := Join(tt.target, tt.path, tt.query)
		if err != nil || got != tt.want {
			t.Errorf("Join(%q, %q, %q) = %q, %v; want %q", tt.target, tt.path, tt.query, got, err, tt.want)
		}
	}
	for _, bad := range [][3]string{{"ftp://h", "", ""}, {"h:3000", "/x", ""}, {"http://h", "x", ""}} {
		if _, err := Join(bad[0], bad[1], bad[2]); !errors.Is(err, ErrInvalidURL) {
			t.Errorf("Join%q = %v, want ErrInvalidURL", bad, err)
		}
	}
}

// A captured "Expect: 100-continue" must not go out again: a target that
// never sends the interim 100 would make every delivery wait for the
// transport's ExpectContinueTimeout. The target here is a raw socket, so
// nothing in net/http's server hides the header from the test.
func TestDoDropsExpectContinue(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	head := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		var sb strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				head <- sb.String()
				return
			}
			sb.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		head <- sb.String()
		io.WriteString(conn, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
	}()
	c := New(Options{AllowPrivate: true})
	res := c.Do(context.Background(), Request{
		Method: "POST", URL: "http://" + ln.Addr().String() + "/x",
		Header: http.Header{"Expect": {"100-continue"}, "X-Keep": {"1"}},
		Body:   []byte("hello"),
	})
	if res.Err != nil || res.Status != http.StatusNoContent {
		t.Fatalf("Do = %d, %v", res.Status, res.Err)
	}
	got := <-head
	if strings.Contains(strings.ToLower(got), "expect:") {
		t.Errorf("the target received an Expect header:\n%s", got)
	}
	if !strings.Contains(got, "X-Keep: 1") {
		t.Errorf("the target did not receive the other headers:\n%s", got)
	}
}

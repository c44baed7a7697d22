package rawhead

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// server answers each request with its recorded header lines, one
// "name: value" per line, after reading the whole body.
func server(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{
		ConnContext: ConnContext,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			var b strings.Builder
			fields := Take(r.Context(), r.Method, r.RequestURI)
			if fields == nil {
				b.WriteString("none\n")
			}
			for _, f := range fields {
				fmt.Fprintf(&b, "%s: %s\n", f.Name, f.Value)
			}
			fmt.Fprintf(&b, "body=%q\n", body)
			w.Header().Set("Content-Length", fmt.Sprint(b.Len()))
			io.WriteString(w, b.String())
		}),
	}
	go hs.Serve(Listen(ln))
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// exchange writes raw to one connection in the given pieces and reads n
// responses.
func exchange(t *testing.T, addr string, pieces []string, n int) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	go func() {
		for _, p := range pieces {
			c.Write([]byte(p))
			time.Sleep(2 * time.Millisecond)
		}
	}()
	br := bufio.NewReader(c)
	var out []string
	for range n {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", len(out)+1, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		out = append(out, string(b))
	}
	return out
}

func TestPipelinedKeepAlive(t *testing.T) {
	addr := server(t)
	reqs := "POST /a?x=1 HTTP/1.1\r\nHost: h\r\nZeta: 1\r\nx-github-event: push\r\nAlpha: 2\r\nContent-Length: 5\r\n\r\nhello" +
		"PUT /b HTTP/1.1\r\nhost: h\r\nTransfer-Encoding: chunked\r\nX-Second: yes\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer-A: t\r\n\r\n" +
		"GET /c HTTP/1.1\nHOST: h\nX-LF-Only: ok\nX-Fold: one\n  two\n\n" +
		"DELETE /d HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nX-Empty:\r\nX-Space:   padded value \t\r\n\r\n\r\n\r\n"
	want := []string{
		"Host: h\nZeta: 1\nx-github-event: push\nAlpha: 2\nContent-Length: 5\nbody=\"hello\"\n",
		"host: h\nTransfer-Encoding: chunked\nX-Second: yes\nbody=\"abcde\"\n",
		"HOST: h\nX-LF-Only: ok\nX-Fold: one two\nbody=\"\"\n",
		"Host: h\nContent-Length: 3\nX-Empty: \nX-Space: padded value\nbody=\"\\r\\n\\r\"\n",
	}
	// All at once (pipelined), then byte by byte, then in odd pieces.
	for name, pieces := range map[string][]string{
		"pipelined":    {reqs},
		"byte by byte": strings.Split(reqs, ""),
		"pieces":       {reqs[:7], reqs[7:40], reqs[40:41], reqs[41:100], reqs[100:150], reqs[150:]},
	} {
		t.Run(name, func(t *testing.T) {
			got := exchange(t, addr, pieces, len(want))
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("request %d:\n got %q\nwant %q", i+1, got[i], want[i])
				}
			}
		})
	}
}

// A request net/http answers without the handler (a bad one closes the
// connection; OPTIONS * is answered directly) does not shift the others.
func TestUnclaimedBlocksAreSkipped(t *testing.T) {
	addr := server(t)
	got := exchange(t, addr, []string{"OPTIONS * HTTP/1.1\r\nHost: h\r\nX-1: a\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\nX-2: b\r\n\r\n"}, 2)
	if got[1] != "Host: h\nX-2: b\nbody=\"\"\n" {
		t.Fatalf("after OPTIONS *: %q", got[1])
	}
}

// Expect: 100-continue: the body comes after the interim answer.
func TestExpectContinue(t *testing.T) {
	addr := server(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("interim: %q", line)
	}
	br.ReadString('\n')
	io.WriteString(c, "okGET /f HTTP/1.1\r\nHost: h\r\nX-After: 1\r\n\r\n")
	for i, want := range []string{"Host: h\nExpect: 100-continue\nContent-Length: 2\nbody=\"ok\"\n", "Host: h\nX-After: 1\nbody=\"\"\n"} {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		if string(b) != want {
			t.Errorf("request %d: %q, want %q", i+1, b, want)
		}
	}
}

// A plain http.Client (Go's own header writer) round trip.
func TestClient(t *testing.T) {
	addr := server(t)
	req, _ := http.NewRequest("POST", "http://"+addr+"/p", strings.NewReader("xyz"))
	req.Header["x-lower"] = []string{"v1", "v2"}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), "x-lower: v1\nx-lower: v2\n") || !strings.HasPrefix(string(b), "Host: "+addr+"\n") {
		t.Fatalf("%s", b)
	}
}

func BenchmarkFeed(b *testing.B) {
	req := []byte("POST /b/abc/stripe?x=1 HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: Stripe/1.0\r\nContent-Type: application/json\r\nStripe-Signature: t=1,v1=abc\r\nContent-Length: 1024\r\n\r\n")
	body := make([]byte, 1024)
	c := &Conn{}
	b.SetBytes(int64(len(req) + len(body)))
	b.ReportAllocs()
	for b.Loop() {
		c.feed(req)
		c.feed(body)
		c.take("POST", "/b/abc/stripe?x=1")
	}
}

// Blocks nobody takes (pages, API calls on a keep-alive connection) are
// bounded in number and bytes.
func TestQueueBounded(t *testing.T) {
	c := &Conn{}
	big := "GET /x HTTP/1.1\r\nHost: h\r\nX-Big: " + strings.Repeat("a", 200<<10) + "\r\n\r\n"
	for range 40 {
		c.feed([]byte(big))
	}
	if len(c.queue) > maxQueue || c.queued > maxQueueBytes {
		t.Fatalf("%d blocks, %d bytes queued", len(c.queue), c.queued)
	}
	for range 40 {
		c.feed([]byte("GET /y HTTP/1.1\r\nHost: h\r\n\r\n"))
	}
	if len(c.queue) != maxQueue {
		t.Fatalf("%d blocks", len(c.queue))
	}
	if f := c.take("GET", "/y"); len(f) != 1 || len(c.queue) != maxQueue-1 {
		t.Fatalf("take: %v, %d left", f, len(c.queue))
	}
	sum := 0
	for _, b := range c.queue {
		sum += len(b.line) + len(b.head)
	}
	if sum != c.queued {
		t.Fatalf("queued %d, counted %d", c.queued, sum)
	}
}

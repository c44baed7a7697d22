package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// wireRequest is a request as a raw socket target read it.
type wireRequest struct {
	conn  int      // which connection, from 1
	lines []string // request line and header lines, as written
	body  string
}

// wireTarget is a loopback HTTP/1.1 target that keeps the bytes of every
// request, reads requests one after another on each connection (bodies by
// Content-Length) and answers each 204, keeping the connection.
func wireTarget(t *testing.T) (string, func() []wireRequest) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var got []wireRequest
	conns := 0
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns++
			id := conns
			mu.Unlock()
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for {
					var lines []string
					length := 0
					for {
						line, err := br.ReadString('\n')
						if err != nil {
							return
						}
						if line == "\r\n" {
							break
						}
						line = strings.TrimSuffix(line, "\r\n")
						lines = append(lines, line)
						if name, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(name, "Content-Length") {
							length, _ = strconv.Atoi(strings.TrimSpace(v))
						}
					}
					body := make([]byte, length)
					if _, err := io.ReadFull(br, body); err != nil {
						return
					}
					mu.Lock()
					got = append(got, wireRequest{id, lines, string(body)})
					mu.Unlock()
					if _, err := io.WriteString(conn, "HTTP/1.1 204 No Content\r\n\r\n"); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), func() []wireRequest {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// sendRaw writes captures to tailhook as raw bytes on one kept-alive
// connection, so their header order and spelling are the test's.
func sendRaw(t *testing.T, base string, reqs ...string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	for _, r := range reqs {
		if _, err := io.WriteString(conn, r); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("capture answered %d", res.StatusCode)
		}
	}
}

// TestForwardKeepsHeaderOrder: replay, auto-forward and the relay send a
// capture's header lines in the order and spelling they arrived in (not
// net/http's sorted, canonical ones), Host and Content-Length the target's,
// the body byte-exact, and a second request on the same kept-alive
// connection the same way.
func TestForwardKeepsHeaderOrder(t *testing.T) {
	addr, got := wireTarget(t)
	base, _, _ := startRun(t, "--db", t.TempDir()+"/order.db")
	bin := createBin(t, base)
	api := func(method, path, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+"/api/bins/"+bin.ID+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+bin.Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
	}
	capture := func(n int) string {
		body := fmt.Sprintf("body\x00\xff%d", n)
		return fmt.Sprintf("POST /b/%s/hook/%d HTTP/1.1\r\nHost: hooks.example\r\nZeta: 1\r\nx-github-event: push\r\n"+
			"Alpha: 2\r\nCONTENT-TYPE: text/plain\r\nContent-Length: %d\r\nX-Dup: a\r\nzeta: again\r\n\r\n%s", bin.ID, n, len(body), body)
	}
	want := func(path string, n int) []string {
		return []string{"POST " + path + "/hook/" + strconv.Itoa(n) + " HTTP/1.1", "Host: " + addr, "Zeta: 1", "x-github-event: push",
			"Alpha: 2", "CONTENT-TYPE: text/plain", "Content-Length: " + strconv.Itoa(len(fmt.Sprintf("body\x00\xff%d", n))), "X-Dup: a", "zeta: again"}
	}
	// check waits for two requests under path and compares them.
	check := func(path string, first int) {
		t.Helper()
		var rs []wireRequest
		eventually(t, 10*time.Second, "two requests at "+path, func() bool {
			rs = rs[:0]
			for _, r := range got() {
				if strings.HasPrefix(r.lines[0], "POST "+path+"/") {
					rs = append(rs, r)
				}
			}
			return len(rs) >= 2
		})
		if len(rs) != 2 {
			t.Fatalf("%s: %d requests", path, len(rs))
		}
		for i, r := range rs {
			n := first + i
			if w := want(path, n); !slices.Equal(r.lines, w) {
				t.Errorf("%s request %d:\n%s\nwant:\n%s", path, i+1, strings.Join(r.lines, "\n"), strings.Join(w, "\n"))
			}
			if r.body != fmt.Sprintf("body\x00\xff%d", n) {
				t.Errorf("%s request %d body %q", path, i+1, r.body)
			}
		}
		if rs[0].conn != rs[1].conn {
			t.Errorf("%s: the second request came on a new connection", path)
		}
	}

	// Auto-forward: two captures, delivered in order on one connection.
	api("PUT", "/forwarding", `{"url":"http://`+addr+`/auto"}`)
	sendRaw(t, base, capture(1), capture(2))
	check("/auto", 1)
	api("PUT", "/forwarding", `{"url":"http://`+addr+`/auto","enabled":false}`)

	// Replay: the same two, by hand.
	api("POST", "/requests/req_1/forward", `{"url":"http://`+addr+`/replay/hook/1"}`)
	api("POST", "/requests/req_2/forward", `{"url":"http://`+addr+`/replay/hook/2"}`)
	check("/replay", 1)

	// The relay: two new captures.
	ctx, cancel := context.WithCancel(context.Background())
	var out safeBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"relay", base + "/bins/" + bin.ID, "--to", "http://" + addr + "/relay", "--token", bin.Token}, noEnv, &out, &out)
	}()
	defer func() {
		cancel()
		<-done
	}()
	eventually(t, 10*time.Second, "the relay to connect", func() bool { return strings.Contains(out.String(), "connected") })
	sendRaw(t, base, capture(3), capture(4))
	check("/relay", 3)
}

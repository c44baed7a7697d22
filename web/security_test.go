package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tailhook-dev/tailhook/storage"
)

// The tests of issue 11: what someone who knows a capture URL, a share link
// or a victim's browser can do must stay bounded.

// streamEnds waits for a stream to end and returns the events it sent
// before ending (comments left out).
func streamEnds(t *testing.T, s *sseStream, within time.Duration, what string) []sseEvent {
	t.Helper()
	var evs []sseEvent
	deadline := time.After(within)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return evs
			}
			if ev.Comment == "" || ev.Data != "" {
				evs = append(evs, ev)
			}
		case <-deadline:
			t.Fatalf("%s: the stream is still open after %v", what, within)
		}
	}
}

// TestStreamsEndWithTheirCredential: a stream ends within 2 s once what
// opened it stops working, on the notice, not on the periodic re-check
// (which stays at its 15 s here).
func TestStreamsEndWithTheirCredential(t *testing.T) {
	a := newTestApp(t)

	t.Run("token replaced", func(t *testing.T) {
		bin := a.newBin()
		s := openStream(t, nil, eventsURL(a, bin), nil)
		a.capture(bin.ID, "/one", `{}`)
		if ev := s.next(2 * time.Second); ev.Event != "request" {
			t.Fatalf("first event: %+v", ev)
		}
		// The same token in the header, to check that kind of stream too.
		h := openStream(t, nil, a.ts.URL+"/api/bins/"+bin.ID+"/events", http.Header{"Authorization": {"Bearer " + bin.Token}})
		if res := a.do("POST", "/api/bins/"+bin.ID+"/token", bin.Token, nil, ""); res.StatusCode != 200 {
			t.Fatalf("new token: %d %s", res.StatusCode, res.body)
		}
		for _, st := range []*sseStream{s, h} {
			for _, ev := range streamEnds(t, st, 2*time.Second, "token replaced") {
				if ev.Event == "request" {
					t.Errorf("event after the token was replaced: %+v", ev)
				}
			}
		}
		// Reconnecting with the old token is refused.
		if res := a.do("GET", "/api/bins/"+bin.ID+"/events?token="+bin.Token, "", nil, ""); res.StatusCode != 404 {
			t.Errorf("reconnect with the old token: %d", res.StatusCode)
		}
	})

	t.Run("bin deleted", func(t *testing.T) {
		bin := a.newBin()
		api := openStream(t, nil, eventsURL(a, bin), nil)
		if res := a.do("DELETE", "/api/bins/"+bin.ID, bin.Token, nil, ""); res.StatusCode != 204 {
			t.Fatalf("delete: %d", res.StatusCode)
		}
		evs := streamEnds(t, api, 2*time.Second, "bin deleted")
		if len(evs) != 1 || evs[0].Event != "deleted" || !strings.Contains(evs[0].Data, bin.ID) {
			t.Errorf("API stream before ending: %+v, want one deleted event", evs)
		}
	})

	t.Run("page and shared streams, bin deleted", func(t *testing.T) {
		owner, binID := a.browserBin("page")
		var sh struct{ ID string }
		res := a.ownerDo(owner, "POST", "/api/bins/"+binID+"/shares", `{"expires_in":"1h"}`)
		json.Unmarshal(res.body, &sh)
		s := openStream(t, owner, a.ts.URL+"/bins/"+binID+"/stream", nil)
		shared := openStream(t, nil, a.ts.URL+"/s/"+sh.ID+"/stream", nil)
		if res := a.ownerDo(owner, "DELETE", "/api/bins/"+binID, ""); res.StatusCode != 204 {
			t.Fatalf("delete: %d", res.StatusCode)
		}
		evs := streamEnds(t, s, 2*time.Second, "page stream, bin deleted")
		if len(evs) != 1 || evs[0].Event != "removed" || evs[0].Data != "bin" {
			t.Errorf("page stream before ending: %+v, want the removed event", evs)
		}
		streamEnds(t, shared, 2*time.Second, "shared stream, bin deleted")
	})

	t.Run("share revoked", func(t *testing.T) {
		owner, binID := a.browserBin("shared")
		var sh struct{ ID string }
		res := a.ownerDo(owner, "POST", "/api/bins/"+binID+"/shares", `{"expires_in":"1h"}`)
		json.Unmarshal(res.body, &sh)
		s := openStream(t, nil, a.ts.URL+"/s/"+sh.ID+"/stream", nil)
		if res := a.ownerDo(owner, "DELETE", "/api/bins/"+binID+"/shares/"+sh.ID, ""); res.StatusCode != 204 {
			t.Fatalf("revoke: %d", res.StatusCode)
		}
		streamEnds(t, s, 2*time.Second, "share revoked")
	})
}

// TestResponseRefusesBrowserStateHeaders: a configured answer may not set
// or clear cookies or site data, in its base response or a sequence step.
func TestResponseRefusesBrowserStateHeaders(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	for _, tc := range []struct{ body, header string }{
		{`{"status":200,"headers":{"Set-Cookie":"tailhook_session=attacker; Path=/"}}`, "Set-Cookie"},
		{`{"status":200,"headers":{"set-cookie":"a=b"}}`, "Set-Cookie"},
		{`{"status":200,"headers":{"Clear-Site-Data":"\"cookies\""}}`, "Clear-Site-Data"},
		{`{"status":200,"sequence":[{"status":500,"times":1,"headers":{"Set-Cookie":"a=b"}}]}`, "Set-Cookie"},
	} {
		res := a.do("PUT", "/api/bins/"+bin.ID+"/response", bin.Token, nil, tc.body)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(res.body), tc.header) {
			t.Errorf("PUT %s: %d %s, want 422 naming %s", tc.body, res.StatusCode, res.body, tc.header)
		}
	}
	// Nothing was stored: captures get the default answer, no cookie.
	res := a.do("POST", "/b/"+bin.ID, "", nil, "x")
	if res.StatusCode != 200 || res.Header.Get("Set-Cookie") != "" {
		t.Errorf("capture: %d, Set-Cookie %q", res.StatusCode, res.Header.Get("Set-Cookie"))
	}
}

// TestAuthorizationIgnoresCookie: a browser sends Authorization: Basic by
// itself to a site it has credentials for; that must not let a cross-site
// request ride on the session cookie.
func TestAuthorizationIgnoresCookie(t *testing.T) {
	a := newTestApp(t)
	owner, binID := a.browserBin("victim")
	for _, tc := range []struct{ method, path, body string }{
		{"PUT", "/api/bins/" + binID + "/forwarding", `{"url":"http://evil.example/","enabled":true}`},
		{"GET", "/api/bins/" + binID, ""},
		{"DELETE", "/api/bins/" + binID, ""},
	} {
		req, _ := http.NewRequest(tc.method, a.ts.URL+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
		req.Header.Set("Origin", "http://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res, err := owner.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s with cookie and Basic auth: %d %s, want 404", tc.method, tc.path, res.StatusCode, b)
		}
	}
	// A page's form is checked for its origin even with Authorization: it
	// would replace the browser's session.
	req, _ := http.NewRequest("POST", a.ts.URL+"/bins", strings.NewReader("name=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := owner.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || res.Header.Get("Set-Cookie") != "" {
		t.Errorf("cross-site form with Basic auth: %d, Set-Cookie %q", res.StatusCode, res.Header.Get("Set-Cookie"))
	}
	// The bin is untouched and still the owner's.
	if res := a.ownerDo(owner, "GET", "/api/bins/"+binID, ""); res.StatusCode != 200 || strings.Contains(string(res.body), "evil.example") {
		t.Errorf("after the attempts: %d %s", res.StatusCode, res.body)
	}
}

// TestBinLimit: one address creates at most --bin-limit bins a minute,
// through the API and the form alike.
func TestBinLimit(t *testing.T) {
	a := newTestApp(t, func(c *Config, _ *storage.Options) { c.BinLimit = 3 })
	for i := range 2 {
		if res := a.do("POST", "/api/bins", "", nil, ""); res.StatusCode != 201 {
			t.Fatalf("bin %d: %d", i, res.StatusCode)
		}
	}
	a.browserBin("third") // the form counts too
	res := a.do("POST", "/api/bins", "", nil, "")
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("fourth bin: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	form, err := http.PostForm(a.ts.URL+"/bins", map[string][]string{"name": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	form.Body.Close()
	if form.StatusCode != http.StatusTooManyRequests || form.Header.Get("Retry-After") == "" {
		t.Errorf("fourth bin by form: %d", form.StatusCode)
	}
}

// TestURLLimit: a target URL is stored (and copied into every delivery),
// so it has a length limit with a clear 422.
func TestURLLimit(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	long := "http://127.0.0.1/" + strings.Repeat("a", 8<<10)
	res := a.do("PUT", "/api/bins/"+bin.ID+"/forwarding", bin.Token, nil, `{"url":"`+long+`","enabled":true}`)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(res.body), "8 KiB") || len(res.body) > 1000 {
		t.Errorf("long forwarding URL: %d %.200s", res.StatusCode, res.body)
	}
	seq := a.capture(bin.ID, "", "{}")
	res = a.do("POST", "/api/bins/"+bin.ID+"/requests/"+storage.RequestID(seq)+"/forward", bin.Token, nil, `{"url":"`+long+`"}`)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(res.body), "8 KiB") {
		t.Errorf("long forward URL: %d %.200s", res.StatusCode, res.body)
	}
	ok := "http://127.0.0.1/" + strings.Repeat("a", 8<<10-len("http://127.0.0.1/"))
	if res := a.do("PUT", "/api/bins/"+bin.ID+"/forwarding", bin.Token, nil, `{"url":"`+ok+`","enabled":false}`); res.StatusCode != 200 {
		t.Errorf("8 KiB URL: %d %.200s", res.StatusCode, res.body)
	}
}

// TestCaptureHost: with --capture-host, captures are served there only, and
// nothing else is.
func TestCaptureHost(t *testing.T) {
	a := newTestApp(t, func(c *Config, _ *storage.Options) { c.CaptureHost = "hooks.test" })
	bin := a.newBin()
	if !strings.HasPrefix(bin.CaptureURL, "http://hooks.test/b/") || strings.Contains(bin.InspectURL, "hooks.test") {
		t.Errorf("capture_url %q, inspect_url %q", bin.CaptureURL, bin.InspectURL)
	}
	on := func(host, method, path string) int {
		req, _ := http.NewRequest(method, a.ts.URL+path, nil)
		req.Host = host
		res, err := a.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, tc := range []struct {
		host, method, path string
		want               int
	}{
		{"hooks.test", "POST", "/b/" + bin.ID + "/x", 200},
		{"HOOKS.test:8080", "GET", "/b/" + bin.ID, 200},
		{"app.test", "POST", "/b/" + bin.ID, 404},
		{"hooks.test", "GET", "/", 404},
		{"hooks.test", "GET", "/bins/" + bin.ID, 404},
		{"hooks.test", "POST", "/api/bins", 404},
		{"hooks.test", "GET", "/static/app.js", 404},
		{"app.test", "GET", "/", 200},
		{"hooks.test", "GET", "/healthz", 200},
	} {
		if got := on(tc.host, tc.method, tc.path); got != tc.want {
			t.Errorf("%s %s on %s: %d, want %d", tc.method, tc.path, tc.host, got, tc.want)
		}
	}
	var list struct{ Requests []apiRequest }
	a.getJSON("/api/bins/"+bin.ID+"/requests", bin.Token, &list)
	if len(list.Requests) != 2 {
		t.Errorf("stored %d captures, want the 2 sent to the capture host", len(list.Requests))
	}
}

// rawConn sends head (and body) on a fresh connection and returns it.
func (a *testApp) rawConn(head string) net.Conn {
	a.t.Helper()
	conn, err := net.Dial("tcp", a.ts.Listener.Addr().String())
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, head); err != nil {
		a.t.Fatal(err)
	}
	return conn
}

// readAnswer reads one response from conn and says whether the server
// closes the connection after it.
func readAnswer(t *testing.T, conn net.Conn) (*http.Response, string, bool) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufioReader(conn)
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !res.Close {
		return res, string(b), false
	}
	_, err = r.ReadByte()
	return res, string(b), err == io.EOF
}

// TestBodyTimeout: a body that does not arrive within --body-timeout is
// answered 408, the connection closed, and nothing stored.
func TestBodyTimeout(t *testing.T) {
	a := newTestApp(t, func(c *Config, _ *storage.Options) { c.BodyTimeout = 300 * time.Millisecond })
	bin := a.newBin()
	conn := a.rawConn("POST /b/" + bin.ID + " HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nx")
	res, body, closed := readAnswer(t, conn)
	if res.StatusCode != http.StatusRequestTimeout || !closed || !strings.Contains(body, "300ms") {
		t.Errorf("slow body: %d %q, closed %v", res.StatusCode, body, closed)
	}
	var list struct{ Requests []apiRequest }
	a.getJSON("/api/bins/"+bin.ID+"/requests", bin.Token, &list)
	if len(list.Requests) != 0 {
		t.Errorf("stored %d requests", len(list.Requests))
	}
	if n := a.srv.inflight.used.Load(); n != 0 {
		t.Errorf("in-flight bytes after the timeout: %d", n)
	}
}

// TestMaxInflight: body bytes being received count against one budget; a
// capture that would go over it gets 503 with Retry-After, and what a
// capture held is given back when it is done.
func TestMaxInflight(t *testing.T) {
	a := newTestApp(t, func(c *Config, _ *storage.Options) { c.MaxInflight = 64 << 10 })
	bin := a.newBin()
	// A sends 20 KiB of a 60 KiB body and pauses: its buffer has grown
	// to 32 KiB to hold them.
	slow := a.rawConn(fmt.Sprintf("POST /b/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", bin.ID, 60<<10, strings.Repeat("a", 20<<10)))
	eventually(t, 5*time.Second, "the first body to be buffered", func() bool { return a.srv.inflight.used.Load() >= 20<<10 })
	res := a.do("POST", "/b/"+bin.ID, "", nil, strings.Repeat("b", 40<<10))
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("second body: %d %s, Retry-After %q", res.StatusCode, res.body, res.Header.Get("Retry-After"))
	}
	// Small bodies that fit still go through.
	a.capture(bin.ID, "/small", `{"ok":1}`)
	io.WriteString(slow, strings.Repeat("a", 40<<10))
	if res, body, _ := readAnswer(t, slow); res.StatusCode != 200 {
		t.Errorf("first body: %d %s", res.StatusCode, body)
	}
	eventually(t, 5*time.Second, "the budget to be given back", func() bool { return a.srv.inflight.used.Load() == 0 })
	if res := a.do("POST", "/b/"+bin.ID, "", nil, strings.Repeat("b", 40<<10)); res.StatusCode != 200 {
		t.Errorf("after the first finished: %d", res.StatusCode)
	}
}

// TestHeaderLimitIsExact: a request head of exactly 1 MiB is taken, one of
// a byte more is 431, although net/http would take a few KiB more.
func TestHeaderLimitIsExact(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	head := func(total int) string {
		start := "POST /b/" + bin.ID + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nX-Big: "
		end := "\r\n\r\n"
		return start + strings.Repeat("a", total-len(start)-len(end)) + end
	}
	if code, body := a.rawRequest(head(1 << 20)); code != 200 {
		t.Errorf("1 MiB head: %d %s", code, body)
	}
	for _, n := range []int{1<<20 + 1, 1<<20 + 9, 1<<20 + 4000} {
		if code, body := a.rawRequest(head(n)); code != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("head of %d bytes: %d %s", n, code, body)
		}
	}
}

// TestHugeCapturesRenderBounded: any capture within the limits gives a
// details pane of bounded size, with a note and a download for the rest.
// (Its speed is BenchmarkRenderManyHeaders.)
func TestHugeCapturesRenderBounded(t *testing.T) {
	a := newTestApp(t, func(c *Config, _ *storage.Options) { c.MaxBody = 10 << 20 })
	owner, binID := a.browserBin("big")

	// 20 000 distinct header names, just under 1 MiB.
	var hb strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&hb, "X-H%05d: v%05d\r\n", 19999-i, i)
	}
	code, body := a.rawRequest("GET /b/" + binID + "/h HTTP/1.1\r\nHost: x\r\n" + hb.String() + "\r\n")
	if code != 200 {
		t.Fatalf("capture: %d %s", code, body)
	}
	// 100 parts of 9 000 headers each would not fit in 10 MiB with names
	// as long; 60 parts × 9 000 headers is 9 MiB.
	var mb bytes.Buffer
	for p := range 120 {
		mb.WriteString("--XX\r\nContent-Disposition: form-data; name=\"f" + fmt.Sprint(p) + "\"\r\n")
		if p < 60 {
			for i := range 9000 {
				fmt.Fprintf(&mb, "X-%d: v\r\n", i)
			}
		}
		mb.WriteString("\r\nvalue\r\n")
	}
	mb.WriteString("--XX--\r\n")
	mp := a.do("POST", "/b/"+binID+"/mp", "", http.Header{"Content-Type": {"multipart/form-data; boundary=XX"}}, mb.String())
	if mp.StatusCode != 200 {
		t.Fatalf("multipart capture: %d %s", mp.StatusCode, mp.body)
	}

	for _, tc := range []struct{ id, note string }{{"req_1", "19801 more headers"}, {"req_2", "Only the first 100 parts"}} {
		res := a.ownerDo(owner, "GET", "/bins/"+binID+"/requests/"+tc.id, "")
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", tc.id, res.StatusCode)
		}
		// At most MaxText of raw body, plus the bounded lists.
		if len(res.body) > 2<<20 {
			t.Errorf("%s renders as %d bytes of HTML", tc.id, len(res.body))
		}
		if !strings.Contains(string(res.body), tc.note) {
			t.Errorf("%s: no %q note", tc.id, tc.note)
		}
	}
	// The first pane is the smaller one: 200 headers of 20 000.
	if res := a.ownerDo(owner, "GET", "/bins/"+binID+"/requests/req_1", ""); len(res.body) > 100<<10 {
		t.Errorf("20 000 headers render as %d bytes", len(res.body))
	}
	// The download has them all, sorted as the page lists them.
	res := a.ownerDo(owner, "GET", "/bins/"+binID+"/requests/req_1/head", "")
	lines := strings.Split(strings.TrimSpace(string(res.body)), "\n")
	if res.StatusCode != 200 || len(lines) != 1+20001 || lines[0] != "GET /h HTTP/1.1" || lines[2] != "X-H00000: v19999" {
		t.Errorf("head download: %d, %d lines, %q %q", res.StatusCode, len(lines), lines[0], lines[min(2, len(lines)-1)])
	}
}

// TestStoredSetCookieNotSent: a response stored before Set-Cookie was
// refused still never sends it.
func TestStoredSetCookieNotSent(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	resp := &storage.Response{Status: 202, Headers: map[string]string{"Set-Cookie": "tailhook_session=x", "Clear-Site-Data": `"*"`, "X-Kept": "1"}}
	if _, err := a.db.SetResponse(context.Background(), bin.ID, resp); err != nil {
		t.Fatal(err)
	}
	res := a.do("POST", "/b/"+bin.ID, "", nil, "x")
	if res.StatusCode != 202 || res.Header.Get("X-Kept") != "1" || res.Header.Get("Set-Cookie") != "" || res.Header.Get("Clear-Site-Data") != "" {
		t.Errorf("capture answer: %d %v", res.StatusCode, res.Header)
	}
}

// TestRetentionEndsStreams: a bin that retention deletes (no request of
// anyone's, so no event of the web server's) ends its streams within 2 s.
func TestRetentionEndsStreams(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	api := openStream(t, nil, eventsURL(a, bin), nil)
	// What the pruner does to an idle bin, behind the web server's back.
	if err := a.db.DeleteBin(context.Background(), bin.ID); err != nil {
		t.Fatal(err)
	}
	evs := streamEnds(t, api, 2*time.Second, "bin deleted by retention")
	if len(evs) != 1 || evs[0].Event != "deleted" {
		t.Errorf("API stream before ending: %+v, want one deleted event", evs)
	}
}

func TestClientKeyGroupsIPv6By64(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"203.0.113.7:51234", "203.0.113.7"},
		{"203.0.113.7", "203.0.113.7"},
		{"[::ffff:203.0.113.7]:80", "203.0.113.7"},
		{"[2001:db8:1:2:aaaa::1]:443", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:80", "fe80::/64"},
		{"not an address", "not an address"},
	} {
		if got := clientKey(tc.addr); got != tc.want {
			t.Errorf("clientKey(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

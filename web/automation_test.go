package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailhook-dev/tailhook/storage"
)

// capture sends one request to the bin and returns its id.
func (a *testApp) sendCapture(binID, method, path string, header http.Header, body string) string {
	a.t.Helper()
	res := a.do(method, "/b/"+binID+path, "", header, body)
	if res.StatusCode != http.StatusOK {
		a.t.Fatalf("capture %s %s: %d %s", method, path, res.StatusCode, res.body)
	}
	var ack struct{ ID string }
	json.Unmarshal(res.body, &ack)
	return ack.ID
}

// listenerCount is how many live subscriptions the hub has for a bin.
func (a *testApp) listenerCount(binID string) int { return a.hub.subscribers(binID) }

type waitResult struct {
	status int
	req    apiRequest
	body   string
}

// startWait calls the wait API in the background once the hub has one more
// listener for the bin, so that captures after it are "after the call".
func (a *testApp) startWait(binID, token, query string) <-chan waitResult {
	a.t.Helper()
	before := a.listenerCount(binID)
	ch := make(chan waitResult, 1)
	go func() {
		req, _ := http.NewRequest("GET", a.ts.URL+"/api/bins/"+binID+"/requests/wait?"+query, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := a.ts.Client().Do(req)
		if err != nil {
			ch <- waitResult{status: -1, body: err.Error()}
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var out apiRequest
		json.Unmarshal(b, &out)
		ch <- waitResult{status: res.StatusCode, req: out, body: string(b)}
	}()
	eventually(a.t, 5*time.Second, "the waiter to listen", func() bool { return a.listenerCount(binID) > before })
	return ch
}

func recv(t *testing.T, ch <-chan waitResult) waitResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("wait API did not answer")
		return waitResult{}
	}
}

func TestWaitAPI(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	old := a.sendCapture(bin.ID, "POST", "/old", nil, "before the call")

	t.Run("without after, only new captures", func(t *testing.T) {
		ch := a.startWait(bin.ID, bin.Token, "timeout=10s")
		id := a.sendCapture(bin.ID, "PUT", "/new", nil, "after the call")
		r := recv(t, ch)
		if r.status != 200 || r.req.ID != id || r.req.Method != "PUT" || r.req.BodyText == nil || *r.req.BodyText != "after the call" {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})

	t.Run("after answers from storage at once", func(t *testing.T) {
		res := a.do("GET", "/api/bins/"+bin.ID+"/requests/wait?after=0&timeout=10s", bin.Token, nil, "")
		var got apiRequest
		json.Unmarshal(res.body, &got)
		if res.StatusCode != 200 || got.ID != old {
			t.Fatalf("got %d %s, want %s", res.StatusCode, res.body, old)
		}
		// A request id works as after too.
		res = a.do("GET", "/api/bins/"+bin.ID+"/requests/wait?after="+old+"&timeout=10s", bin.Token, nil, "")
		json.Unmarshal(res.body, &got)
		if res.StatusCode != 200 || got.Seq != 2 {
			t.Fatalf("after=%s: %d %s", old, res.StatusCode, res.body)
		}
	})

	t.Run("filters", func(t *testing.T) {
		ch := a.startWait(bin.ID, bin.Token, url.Values{
			"timeout": {"10s"}, "method": {"post"}, "path": {"/github/"}, "q": {"REFS/HEADS/MAIN"},
		}.Encode())
		a.sendCapture(bin.ID, "GET", "/github/push", nil, "")                                   // method
		a.sendCapture(bin.ID, "POST", "/gitlab/push", nil, `{"ref":"refs/heads/main"}`)         // path
		a.sendCapture(bin.ID, "POST", "/github/push", nil, `{"ref":"refs/heads/dev"}`)          // q
		want := a.sendCapture(bin.ID, "POST", "/github/push", nil, `{"ref":"refs/heads/main"}`) // all
		a.sendCapture(bin.ID, "POST", "/github/push", nil, `{"ref":"refs/heads/main"}`)         // a later one
		if r := recv(t, ch); r.status != 200 || r.req.ID != want {
			t.Fatalf("got %d %s, want %s", r.status, r.body, want)
		}
	})

	t.Run("timeout is 204", func(t *testing.T) {
		start := time.Now()
		res := a.do("GET", "/api/bins/"+bin.ID+"/requests/wait?timeout=200ms&q=never-sent", bin.Token, nil, "")
		if res.StatusCode != http.StatusNoContent || len(res.body) != 0 {
			t.Fatalf("got %d %q", res.StatusCode, res.body)
		}
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Errorf("answered after %v", d)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for _, q := range []string{"timeout=soon", "timeout=-1s", "after=x", "after=-3"} {
			if res := a.do("GET", "/api/bins/"+bin.ID+"/requests/wait?"+q, bin.Token, nil, ""); res.StatusCode != 400 {
				t.Errorf("%s: %d %s", q, res.StatusCode, res.body)
			}
		}
		if res := a.do("GET", "/api/bins/"+bin.ID+"/requests/wait?timeout=1ms", "wrong", nil, ""); res.StatusCode != 404 {
			t.Errorf("wrong token: %d", res.StatusCode)
		}
	})

	t.Run("a client that hangs up frees its waiter", func(t *testing.T) {
		goroutines := runtime.NumGoroutine()
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", a.ts.URL+"/api/bins/"+bin.ID+"/requests/wait?timeout=100s", nil)
		req.Header.Set("Authorization", "Bearer "+bin.Token)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if res, err := a.ts.Client().Do(req); err == nil {
				res.Body.Close()
			}
		}()
		eventually(t, 5*time.Second, "the waiter to listen", func() bool { return a.listenerCount(bin.ID) == 1 })
		cancel()
		<-done
		eventually(t, 5*time.Second, "the listener to go", func() bool { return a.listenerCount(bin.ID) == 0 })
		a.ts.Client().CloseIdleConnections()
		eventually(t, 5*time.Second, "goroutines to end", func() bool { return runtime.NumGoroutine() <= goroutines })
	})
}

// BenchmarkWaiters parks 1 000 long polls on one bin, then wakes them all
// with one capture that every one of them matches. It reports what a parked
// waiter costs (heap, goroutines on the server side) and checks that none is
// left behind.
func BenchmarkWaiters(b *testing.B) {
	const waiters = 1000
	a := newTestApp(b)
	bin := a.newBin()
	tr := &http.Transport{MaxIdleConnsPerHost: waiters, MaxConnsPerHost: 0}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	startG := runtime.NumGoroutine()
	var heapPerWaiter, goroutinesPerWaiter float64
	for b.Loop() {
		var wg sync.WaitGroup
		errs := make(chan error, waiters)
		for range waiters {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", a.ts.URL+"/api/bins/"+bin.ID+"/requests/wait?timeout=60s&path=/wake", nil)
				req.Header.Set("Authorization", "Bearer "+bin.Token)
				res, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					errs <- fmt.Errorf("status %d", res.StatusCode)
				}
			})
		}
		eventually(b, 5*time.Second, "all waiters to listen", func() bool { return a.listenerCount(bin.ID) == waiters })
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		parkedHeap, parkedG := ms.HeapInuse, runtime.NumGoroutine()
		// Captures that match nobody wake everyone and cost no database read.
		for range 10 {
			a.sendCapture(bin.ID, "POST", "/other", nil, "x")
		}
		a.sendCapture(bin.ID, "POST", "/wake", nil, "wake up")
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		eventually(b, 5*time.Second, "listeners to go", func() bool { return a.listenerCount(bin.ID) == 0 })
		runtime.GC()
		runtime.ReadMemStats(&ms)
		heapPerWaiter = float64(int64(parkedHeap)-int64(ms.HeapInuse)) / waiters
		// Each parked waiter is one client goroutine plus the server's
		// connection goroutines; the test's own client side is included.
		goroutinesPerWaiter = float64(parkedG-startG) / waiters
	}
	b.ReportMetric(heapPerWaiter, "heap-B/waiter")
	b.ReportMetric(goroutinesPerWaiter, "goroutines/waiter")
	tr.CloseIdleConnections()
	eventually(b, 5*time.Second, "no goroutine leak", func() bool { return runtime.NumGoroutine() <= startG+5 })
}

func TestSearchAPI(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	a.sendCapture(bin.ID, "POST", "/stripe", http.Header{"X-Event": {"Invoice.Paid"}}, `{"amount":100}`)
	a.sendCapture(bin.ID, "DELETE", "/item/7", nil, "")
	a.sendCapture(bin.ID, "POST", "/stripe", nil, `{"type":"Charge.Refunded"}`)
	a.sendCapture(bin.ID, "GET", "/search", nil, "")
	for _, tc := range []struct {
		q    string
		want []int64
	}{
		{"invoice.paid", []int64{1}},    // header value
		{"x-event", []int64{1}},         // header name
		{"CHARGE.refunded", []int64{3}}, // body
		{"delete", []int64{2}},          // method
		{"/STRIPE", []int64{3, 1}},      // path, newest first
		{"nothing", nil},
	} {
		var list apiList
		a.getJSON("/api/bins/"+bin.ID+"/requests?q="+url.QueryEscape(tc.q), bin.Token, &list)
		var got []int64
		for _, r := range list.Requests {
			got = append(got, r.Seq)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("q=%s: %v, want %v", tc.q, got, tc.want)
		}
	}
	var page apiList
	a.getJSON("/api/bins/"+bin.ID+"/requests?q=stripe&limit=1", bin.Token, &page)
	if len(page.Requests) != 1 || page.Next == nil || page.Requests[0].Seq != 3 {
		t.Fatalf("page 1: %+v", page)
	}
	a.getJSON("/api/bins/"+bin.ID+"/requests?q=stripe&limit=1&before="+*page.Next, bin.Token, &page)
	if len(page.Requests) != 1 || page.Next != nil || page.Requests[0].Seq != 1 {
		t.Fatalf("page 2: %+v", page)
	}
	var exp struct{ Requests []apiRequest }
	a.getJSON("/api/bins/"+bin.ID+"/export.json?q=stripe", bin.Token, &exp)
	if len(exp.Requests) != 2 || exp.Requests[0].Seq != 1 || exp.Requests[1].Seq != 3 || exp.Requests[0].BodyBase64 == nil {
		t.Fatalf("export.json?q=stripe: %+v", exp)
	}
}

// rawCapture sends raw bytes (request line and headers without the final
// CRLF) plus a body, and returns the new request's id.
func (a *testApp) rawCapture(head string, body []byte) string {
	a.t.Helper()
	raw := head + fmt.Sprintf("Content-Length: %d\r\nConnection: close\r\n\r\n", len(body)) + string(body)
	code, resp := a.rawRequest(raw)
	if code != 200 {
		a.t.Fatalf("capture: %d %s", code, resp)
	}
	var ack struct{ ID string }
	json.Unmarshal([]byte(resp), &ack)
	return ack.ID
}

func TestCurlReproducesRequest(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	a := newTestApp(t)
	bin := a.newBin()
	host := a.ts.Listener.Addr().String()
	every := make([]byte, 0, 512)
	for i := range 256 {
		every = append(every, byte(i))
	}
	every = append(every, "\x01"+"234567 \\0 \\012 %s %% ' '\\'' -\n"...)
	tests := []struct {
		name string
		head string // request line and headers, %s = bin id
		body []byte
	}{
		{"json post", "POST /b/%s/stripe?a=1&b=%%20x HTTP/1.1\r\nContent-Type: application/json\r\nUser-Agent: Stripe/1.0\r\n", []byte(`{"id":"evt_1","note":"it's $HOME and ` + "`id`" + `"}`)},
		{"every byte", "PUT /b/%s/bin HTTP/1.1\r\nContent-Type: application/octet-stream\r\n", every},
		{"leading dash", "POST /b/%s/d HTTP/1.1\r\n", []byte("-n -e x")},
		{"odd path and query", "PATCH /b/%s//a/../b/%%2F%%7E[x]{y}?q=[1]&r={2}&s='$x' HTTP/1.1\r\n", []byte("x")},
		{"shell in headers", "POST /b/%s/h HTTP/1.1\r\nX-Quote: it's \"quoted\" $(id) `id` \\n\r\nX-Multi: one\r\nX-Multi: two\r\nX-Empty:\r\nAccept: text/plain\r\nCookie: a=1; b=2\r\n", []byte("h")},
		{"get without body", "GET /b/%s/g?x=1 HTTP/1.1\r\n", nil},
		{"delete with body", "DELETE /b/%s/d HTTP/1.1\r\n", []byte("bye")},
		{"custom method", "PURGE /b/%s/cache HTTP/1.1\r\n", nil},
		{"empty post", "POST /b/%s/e HTTP/1.1\r\n", []byte{}},
	}
	for _, shell := range []string{"sh", "bash"} {
		if _, err := exec.LookPath(shell); err != nil {
			continue
		}
		for _, tt := range tests {
			t.Run(shell+"/"+tt.name, func(t *testing.T) {
				id := a.rawCapture(fmt.Sprintf(tt.head, bin.ID)+"Host: "+host+"\r\n", tt.body)
				var orig apiRequest
				a.getJSON("/api/bins/"+bin.ID+"/requests/"+id, bin.Token, &orig)
				res := a.do("GET", "/api/bins/"+bin.ID+"/requests/"+id+"/curl", bin.Token, nil, "")
				if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
					t.Fatalf("curl: %d %s", res.StatusCode, res.body)
				}
				cmd := exec.Command(shell, "-c", string(res.body))
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%v: %s\ncommand:\n%s", err, out, res.body)
				}
				var ack struct{ ID string }
				if err := json.Unmarshal(bytes.TrimSpace(lastLine(out)), &ack); err != nil || ack.ID == "" {
					t.Fatalf("output %q: %v\ncommand:\n%s", out, err, res.body)
				}
				var again apiRequest
				a.getJSON("/api/bins/"+bin.ID+"/requests/"+ack.ID, bin.Token, &again)
				if again.Method != orig.Method || again.Path != orig.Path || again.Query != orig.Query {
					t.Errorf("request line: %s %q %q, want %s %q %q", again.Method, again.Path, again.Query, orig.Method, orig.Path, orig.Query)
				}
				if *again.BodyBase64 != *orig.BodyBase64 {
					t.Errorf("body differs:\n got %q\nwant %q\ncommand:\n%s", b64(*again.BodyBase64), b64(*orig.BodyBase64), res.body)
				}
				if fmt.Sprint(again.Headers) != fmt.Sprint(orig.Headers) {
					t.Errorf("headers differ:\n got %v\nwant %v\ncommand:\n%s", again.Headers, orig.Headers, res.body)
				}
			})
		}
	}

	t.Run("base sends elsewhere, byte-exact", func(t *testing.T) {
		type seen struct {
			method, uri string
			header      http.Header
			body        []byte
		}
		got := make(chan seen, 1)
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got <- seen{r.Method, r.RequestURI, r.Header.Clone(), b}
		}))
		defer other.Close()
		id := a.rawCapture(fmt.Sprintf("POST /b/%s/hooks/x?y=%%41 HTTP/1.1\r\nHost: %s\r\nX-A: 1\r\n", bin.ID, host), every)
		res := a.do("GET", "/api/bins/"+bin.ID+"/requests/"+id+"/curl?base="+url.QueryEscape(other.URL+"/dev"), bin.Token, nil, "")
		if out, err := exec.Command("sh", "-c", string(res.body)).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		s := <-got
		if s.method != "POST" || s.uri != "/dev/hooks/x?y=%41" || !bytes.Equal(s.body, every) || s.header.Get("X-A") != "1" {
			t.Errorf("got %s %s %q body %d bytes", s.method, s.uri, s.header, len(s.body))
		}
		for _, h := range []string{"User-Agent", "Accept", "Content-Type", "Expect"} {
			if _, ok := s.header[h]; ok {
				t.Errorf("curl added %s: %q", h, s.header[h])
			}
		}
	})

	t.Run("bad base", func(t *testing.T) {
		res := a.do("GET", "/api/bins/"+bin.ID+"/requests/req_1/curl?base=ftp://x", bin.Token, nil, "")
		if res.StatusCode != 400 {
			t.Errorf("got %d", res.StatusCode)
		}
	})
}

func lastLine(b []byte) []byte {
	b = bytes.TrimRight(b, "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

func b64(s string) []byte {
	b, _ := base64.StdEncoding.DecodeString(s)
	return b
}

// harFields is the HAR 1.2 field list (required fields of each object, with
// their JSON types), from the spec.
var harFields = map[string]map[string]string{
	"log":      {"version": "string", "creator": "object", "entries": "array"},
	"creator":  {"name": "string", "version": "string"},
	"entry":    {"startedDateTime": "string", "time": "number", "request": "object", "response": "object", "cache": "object", "timings": "object"},
	"request":  {"method": "string", "url": "string", "httpVersion": "string", "cookies": "array", "headers": "array", "queryString": "array", "headersSize": "number", "bodySize": "number"},
	"response": {"status": "number", "statusText": "string", "httpVersion": "string", "cookies": "array", "headers": "array", "content": "object", "redirectURL": "string", "headersSize": "number", "bodySize": "number"},
	"content":  {"size": "number", "mimeType": "string"},
	"timings":  {"send": "number", "wait": "number", "receive": "number"},
	"postData": {"mimeType": "string", "text": "string"},
	"pair":     {"name": "string", "value": "string"},
}

func checkHARObject(t *testing.T, kind string, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is %T, not an object", kind, v)
	}
	for name, typ := range harFields[kind] {
		f, ok := m[name]
		if !ok {
			t.Errorf("%s.%s missing", kind, name)
			continue
		}
		var got string
		switch f.(type) {
		case string:
			got = "string"
		case float64:
			got = "number"
		case []any:
			got = "array"
		case map[string]any:
			got = "object"
		}
		if got != typ {
			t.Errorf("%s.%s is %s, want %s", kind, name, got, typ)
		}
	}
	return m
}

func TestHARExport(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	binary := []byte{0xff, 0x00, 0xfe, 'h', 'i'}
	a.rawCapture(fmt.Sprintf("POST /b/%s/json?a=1&b=x%%20y&a=2 HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nCookie: s=1; t=2\r\nX-M: 1\r\nX-M: 2\r\n", bin.ID), []byte(`{"k":"ü"}`))
	a.rawCapture(fmt.Sprintf("PUT /b/%s/bin HTTP/1.1\r\nHost: h\r\n", bin.ID), binary)
	a.rawCapture(fmt.Sprintf("GET /b/%s HTTP/1.1\r\nHost: h\r\n", bin.ID), nil)

	res := a.do("GET", "/api/bins/"+bin.ID+"/export.har", bin.Token, nil, "")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("export: %d %s", res.StatusCode, res.body)
	}

	t.Run("structure", func(t *testing.T) {
		var doc map[string]any
		if err := json.Unmarshal(res.body, &doc); err != nil {
			t.Fatalf("%v in %s", err, res.body)
		}
		log := checkHARObject(t, "log", doc["log"])
		if log["version"] != "1.2" {
			t.Errorf("version %v", log["version"])
		}
		checkHARObject(t, "creator", log["creator"])
		entries := log["entries"].([]any)
		if len(entries) != 3 {
			t.Fatalf("%d entries", len(entries))
		}
		for _, e := range entries {
			em := checkHARObject(t, "entry", e)
			if _, err := time.Parse(time.RFC3339Nano, em["startedDateTime"].(string)); err != nil {
				t.Errorf("startedDateTime: %v", err)
			}
			rq := checkHARObject(t, "request", em["request"])
			rs := checkHARObject(t, "response", em["response"])
			checkHARObject(t, "content", rs["content"])
			checkHARObject(t, "timings", em["timings"])
			for _, list := range []string{"headers", "queryString", "cookies"} {
				for _, p := range rq[list].([]any) {
					checkHARObject(t, "pair", p)
				}
			}
			if pd, ok := rq["postData"]; ok {
				pm := checkHARObject(t, "postData", pd)
				if _, both := pm["params"]; both {
					t.Error("postData has both text and params")
				}
			}
		}
	})

	t.Run("round trip", func(t *testing.T) {
		var har harFile
		if err := json.Unmarshal(res.body, &har); err != nil {
			t.Fatal(err)
		}
		for _, e := range har.Log.Entries {
			var want apiRequest
			a.getJSON("/api/bins/"+bin.ID+"/requests/"+e.ID, bin.Token, &want)
			u, err := url.Parse(e.Request.URL)
			if err != nil || u.EscapedPath() != "/b/"+bin.ID+want.Path || u.RawQuery != want.Query || e.Request.Method != want.Method || e.Request.HTTPVersion != want.Proto {
				t.Errorf("%s: %s %s, want %s %s?%s", e.ID, e.Request.Method, e.Request.URL, want.Method, want.Path, want.Query)
			}
			h := http.Header{}
			for _, p := range e.Request.Headers {
				h[p.Name] = append(h[p.Name], p.Value)
			}
			if fmt.Sprint(h) != fmt.Sprint(http.Header(want.Headers)) {
				t.Errorf("%s headers %v, want %v", e.ID, h, want.Headers)
			}
			var body []byte
			if pd := e.Request.PostData; pd != nil {
				body = []byte(pd.Text)
				if pd.Encoding == "base64" {
					body = b64(pd.Text)
				}
			}
			if !bytes.Equal(body, b64(*want.BodyBase64)) || e.Request.BodySize != want.Size {
				t.Errorf("%s body %q (%d), want %q", e.ID, body, e.Request.BodySize, b64(*want.BodyBase64))
			}
			st, _ := time.Parse(time.RFC3339Nano, e.StartedDateTime)
			rt, _ := time.Parse(time.RFC3339Nano, want.ReceivedAt)
			if !st.Equal(rt) {
				t.Errorf("%s started %s, want %s", e.ID, e.StartedDateTime, want.ReceivedAt)
			}
		}
		first := har.Log.Entries[0].Request
		if fmt.Sprint(first.QueryString) != "[{a 1} {b x y} {a 2}]" || fmt.Sprint(first.Cookies) != "[{s 1} {t 2}]" {
			t.Errorf("queryString %v cookies %v", first.QueryString, first.Cookies)
		}
		if pd := har.Log.Entries[1].Request.PostData; pd == nil || pd.Encoding != "base64" {
			t.Errorf("binary body: %+v", pd)
		}
		if pd := har.Log.Entries[0].Request.PostData; pd == nil || pd.Encoding != "" || pd.MimeType != "application/json" {
			t.Errorf("text body: %+v", pd)
		}
	})

	t.Run("honours q", func(t *testing.T) {
		var har harFile
		a.getJSON("/api/bins/"+bin.ID+"/export.har?q=X-M", bin.Token, &har)
		if len(har.Log.Entries) != 1 || har.Log.Entries[0].Seq != 1 {
			t.Errorf("entries %+v", har.Log.Entries)
		}
	})

	t.Run("JSON export has the same requests", func(t *testing.T) {
		var exp struct{ Requests []apiRequest }
		a.getJSON("/api/bins/"+bin.ID+"/export.json", bin.Token, &exp)
		if len(exp.Requests) != 3 {
			t.Fatalf("%d requests", len(exp.Requests))
		}
		for _, r := range exp.Requests {
			var want apiRequest
			a.getJSON("/api/bins/"+bin.ID+"/requests/"+r.ID, bin.Token, &want)
			gj, _ := json.Marshal(r)
			wj, _ := json.Marshal(want)
			if !bytes.Equal(gj, wj) {
				t.Errorf("export %s\n got %s\nwant %s", r.ID, gj, wj)
			}
		}
	})

	t.Run("many pages", func(t *testing.T) {
		for range 45 {
			a.sendCapture(bin.ID, "POST", "/bulk", nil, "bulk")
		}
		var har harFile
		a.getJSON("/api/bins/"+bin.ID+"/export.har", bin.Token, &har)
		if len(har.Log.Entries) != 48 {
			t.Fatalf("%d entries", len(har.Log.Entries))
		}
		for i, e := range har.Log.Entries {
			if e.Seq != int64(i+1) {
				t.Fatalf("entry %d has seq %d", i, e.Seq)
			}
		}
	})
}

// settableClock is a clock tests move by hand.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *settableClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestShareLinks(t *testing.T) {
	clock := &settableClock{t: time.Now().UTC()}
	a := newTestApp(t, func(_ *Config, o *storage.Options) { o.Now = clock.Now })
	bin := a.newBin()
	const secret = "whsec_c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1sZWFr"
	if res := a.do("PUT", "/api/bins/"+bin.ID+"/signature", bin.Token, nil, `{"provider":"stripe","secret":"`+secret+`"}`); res.StatusCode != 200 {
		t.Fatalf("set signature: %d %s", res.StatusCode, res.body)
	}
	if res := a.do("PUT", "/api/bins/"+bin.ID+"/forwarding", bin.Token, nil, `{"url":"http://127.0.0.1:9/private-target","enabled":false}`); res.StatusCode != 200 {
		t.Fatalf("set forwarding: %d %s", res.StatusCode, res.body)
	}
	id := a.sendCapture(bin.ID, "POST", "/hook", http.Header{"X-Seen": {"yes"}}, `{"hello":"world"}`)

	type share struct {
		ID, URL   string
		ExpiresAt string `json:"expires_at"`
	}
	create := func(body string) (int, share) {
		res := a.do("POST", "/api/bins/"+bin.ID+"/shares", bin.Token, nil, body)
		var s share
		json.Unmarshal(res.body, &s)
		return res.StatusCode, s
	}
	code, sh := create(`{}`)
	if code != 201 || sh.ID == "" || sh.URL != a.ts.URL+"/s/"+sh.ID {
		t.Fatalf("create: %d %+v", code, sh)
	}
	if exp, err := time.Parse(time.RFC3339Nano, sh.ExpiresAt); err != nil || exp.Sub(clock.Now()).Round(time.Second) != 24*time.Hour {
		t.Errorf("default expiry %s (now %s): %v", sh.ExpiresAt, clock.Now(), err)
	}
	for _, bad := range []string{`{"expires_in":"721h"}`, `{"expires_in":"31d"}`, `{"expires_in":"0s"}`, `{"expires_in":"soon"}`, `{"nope":1}`} {
		if code, _ := create(bad); code != 400 {
			t.Errorf("%s: %d", bad, code)
		}
	}
	if code, _ := create(`{"expires_in":"30d"}`); code != 201 {
		t.Errorf("30d: %d", code)
	}
	if res := a.do("POST", "/api/bins/"+bin.ID+"/shares", "", nil, `{}`); res.StatusCode != 404 {
		t.Errorf("without the token: %d", res.StatusCode)
	}

	t.Run("shared view is read-only and shows no secrets", func(t *testing.T) {
		res := a.do("GET", "/s/"+sh.ID, "", nil, "")
		if res.StatusCode != 200 {
			t.Fatalf("shared list: %d %s", res.StatusCode, res.body)
		}
		detail := a.do("GET", "/s/"+sh.ID+"/requests/"+id, "", nil, "")
		if detail.StatusCode != 200 || !strings.Contains(string(detail.body), `{&#34;hello&#34;:&#34;world&#34;}`) {
			t.Fatalf("shared detail: %d %s", detail.StatusCode, detail.body)
		}
		for _, r := range []testResponse{res, detail} {
			body := string(r.body)
			if !strings.Contains(body, `<th scope="row">X-Seen</th><td>yes</td>`) {
				t.Errorf("the request is not shown: %s", body)
			}
			for _, leak := range []string{bin.Token, secret, secret[:12], bin.ID, "private-target"} {
				if strings.Contains(body, leak) {
					t.Errorf("shared view shows %q: %s", leak, body)
				}
			}
			if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("headers %v", r.Header)
			}
		}
		for _, m := range []string{"POST", "PUT", "DELETE"} {
			if res := a.do(m, "/s/"+sh.ID, "", nil, "{}"); res.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s on a share: %d", m, res.StatusCode)
			}
		}
		// The share id is no credential for the bin.
		for _, p := range []string{"/api/bins/" + bin.ID, "/api/bins/" + bin.ID + "/requests"} {
			if res := a.do("GET", p, sh.ID, nil, ""); res.StatusCode != 404 {
				t.Errorf("%s with the share id as token: %d", p, res.StatusCode)
			}
		}
	})

	notFound := func(t *testing.T, shareID string) {
		t.Helper()
		for _, p := range []string{"/s/" + shareID, "/s/" + shareID + "/requests/" + id} {
			res := a.do("GET", p, "", nil, "")
			if res.StatusCode != 404 || string(res.body) != "404 page not found\n" {
				t.Errorf("%s: %d %q", p, res.StatusCode, res.body)
			}
		}
	}

	t.Run("unknown is a plain 404", func(t *testing.T) { notFound(t, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") })

	t.Run("listed and revoked", func(t *testing.T) {
		var list struct{ Shares []share }
		a.getJSON("/api/bins/"+bin.ID+"/shares", bin.Token, &list)
		if len(list.Shares) != 2 {
			t.Fatalf("shares %+v", list)
		}
		other := a.newBin()
		if res := a.do("DELETE", "/api/bins/"+other.ID+"/shares/"+sh.ID, other.Token, nil, ""); res.StatusCode != 404 {
			t.Errorf("revoke through another bin: %d", res.StatusCode)
		}
		if res := a.do("DELETE", "/api/bins/"+bin.ID+"/shares/"+sh.ID, bin.Token, nil, ""); res.StatusCode != 204 {
			t.Fatalf("revoke: %d %s", res.StatusCode, res.body)
		}
		notFound(t, sh.ID)
		if res := a.do("DELETE", "/api/bins/"+bin.ID+"/shares/"+sh.ID, bin.Token, nil, ""); res.StatusCode != 404 {
			t.Errorf("second revoke: %d", res.StatusCode)
		}
	})

	t.Run("expired", func(t *testing.T) {
		code, s := create(`{"expires_in":"1h"}`)
		if code != 201 {
			t.Fatal(code)
		}
		if res := a.do("GET", "/s/"+s.ID, "", nil, ""); res.StatusCode != 200 {
			t.Fatalf("fresh share: %d", res.StatusCode)
		}
		clock.Advance(time.Hour)
		notFound(t, s.ID)
	})
}

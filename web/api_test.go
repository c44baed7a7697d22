package web

import (
	"bytes"
	"encoding/base64"
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

// apiRequest is the contract's request JSON, as a client decodes it.
type apiRequest struct {
	ID         string              `json:"id"`
	Bin        string              `json:"bin"`
	Seq        int64               `json:"seq"`
	Method     string              `json:"method"`
	Path       string              `json:"path"`
	Query      string              `json:"query"`
	Headers    map[string][]string `json:"headers"`
	BodyBase64 *string             `json:"body_base64"`
	BodyText   *string             `json:"body_text"`
	Size       int64               `json:"size"`
	Truncated  bool                `json:"truncated"`
	RemoteAddr string              `json:"remote_addr"`
	Proto      string              `json:"proto"`
	TLS        bool                `json:"tls"`
	ReceivedAt string              `json:"received_at"`
	Signature  *json.RawMessage    `json:"signature"`
	Forwards   []json.RawMessage   `json:"forwards"`
}

type apiList struct {
	Requests []apiRequest `json:"requests"`
	Next     *string      `json:"next"`
}

// rawRequest sends bytes exactly as given over a fresh connection and
// returns the status line's code and the whole response.
func (a *testApp) rawRequest(raw string) (int, string) {
	a.t.Helper()
	conn, err := net.Dial("tcp", a.ts.Listener.Addr().String())
	if err != nil {
		a.t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		a.t.Fatal(err)
	}
	res, err := http.ReadResponse(bufioReader(conn), nil)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestCaptureByteExact(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB exactly
	tests := []struct {
		name      string
		raw       string // request line + headers, without the body
		body      []byte
		wantPath  string
		wantQuery string
		wantHdr   map[string][]string
		wantText  bool
	}{
		{name: "dot segments and double slash kept", raw: "POST /b/%s//a/../b HTTP/1.1\r\n", body: []byte("x"), wantPath: "//a/../b", wantText: true},
		{name: "percent escapes kept", raw: "GET /b/%s/a%%2Fb/%%7Euser?q=%%20x HTTP/1.1\r\n", wantPath: "/a%2Fb/%7Euser", wantQuery: "q=%20x", wantText: true},
		{name: "no sub-path", raw: "PUT /b/%s HTTP/1.1\r\n", body: []byte("{}"), wantPath: "", wantText: true},
		{name: "trailing slash", raw: "DELETE /b/%s/ HTTP/1.1\r\n", wantPath: "/", wantText: true},
		{name: "repeated query keys", raw: "GET /b/%s/q?a=1&a=2&b=&a=3 HTTP/1.1\r\n", wantPath: "/q", wantQuery: "a=1&a=2&b=&a=3", wantText: true},
		{name: "repeated headers keep order", raw: "POST /b/%s/h HTTP/1.1\r\nX-Multi: first\r\nx-multi: second\r\nX-MULTI: third\r\n", body: []byte("h"),
			wantPath: "/h", wantHdr: map[string][]string{"X-Multi": {"first", "second", "third"}}, wantText: true},
		{name: "every byte value", raw: "POST /b/%s/bin HTTP/1.1\r\nContent-Type: application/octet-stream\r\n", body: allBytes, wantPath: "/bin"},
		{name: "invalid utf-8", raw: "POST /b/%s/bad HTTP/1.1\r\n", body: []byte{0xff, 0xfe, 'a', 0xc3}, wantPath: "/bad"},
		{name: "1 MiB body", raw: "POST /b/%s/big HTTP/1.1\r\n", body: big, wantPath: "/big", wantText: true},
		{name: "OPTIONS", raw: "OPTIONS /b/%s/opt HTTP/1.1\r\n", wantPath: "/opt", wantText: true},
		{name: "custom method", raw: "PURGE /b/%s/x HTTP/1.1\r\n", wantPath: "/x", wantText: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := fmt.Sprintf(tt.raw, bin.ID) + "Host: example.test\r\n"
			if tt.body != nil {
				raw += fmt.Sprintf("Content-Length: %d\r\n", len(tt.body))
			}
			raw += "Connection: close\r\n\r\n" + string(tt.body)
			code, resp := a.rawRequest(raw)
			if code != 200 {
				t.Fatalf("capture: %d %s", code, resp)
			}
			var ack struct {
				OK bool   `json:"ok"`
				ID string `json:"id"`
			}
			if err := json.Unmarshal([]byte(resp), &ack); err != nil || !ack.OK || ack.ID == "" {
				t.Fatalf("ack %q: %v", resp, err)
			}
			var got apiRequest
			a.getJSON("/api/bins/"+bin.ID+"/requests/"+ack.ID, bin.Token, &got)
			method := strings.Fields(tt.raw)[0]
			if got.Method != method || got.Path != tt.wantPath || got.Query != tt.wantQuery {
				t.Errorf("method/path/query = %q %q %q, want %q %q %q", got.Method, got.Path, got.Query, method, tt.wantPath, tt.wantQuery)
			}
			if h := got.Headers["Host"]; len(h) != 1 || h[0] != "example.test" {
				t.Errorf("Host = %q", h)
			}
			for k, want := range tt.wantHdr {
				if fmt.Sprint(got.Headers[k]) != fmt.Sprint(want) {
					t.Errorf("header %s = %q, want %q", k, got.Headers[k], want)
				}
			}
			if got.BodyBase64 == nil {
				t.Fatal("body_base64 missing")
			}
			body, _ := base64.StdEncoding.DecodeString(*got.BodyBase64)
			if !bytes.Equal(body, tt.body) && !(len(body) == 0 && len(tt.body) == 0) {
				t.Errorf("body differs: got %d bytes, want %d", len(body), len(tt.body))
			}
			if got.Size != int64(len(tt.body)) {
				t.Errorf("size = %d, want %d", got.Size, len(tt.body))
			}
			if tt.wantText != (got.BodyText != nil) {
				t.Errorf("body_text present = %v, want %v", got.BodyText != nil, tt.wantText)
			}
			if got.BodyText != nil && *got.BodyText != string(tt.body) {
				t.Errorf("body_text differs")
			}
			if got.Proto != "HTTP/1.1" || got.TLS || got.Truncated || !strings.HasPrefix(got.RemoteAddr, "127.0.0.1:") {
				t.Errorf("proto/tls/truncated/remote = %s %v %v %s", got.Proto, got.TLS, got.Truncated, got.RemoteAddr)
			}
			if _, err := time.Parse(time.RFC3339Nano, got.ReceivedAt); err != nil {
				t.Errorf("received_at %q: %v", got.ReceivedAt, err)
			}
			if got.Signature != nil && string(*got.Signature) != "null" {
				t.Errorf("signature = %s, want null", *got.Signature)
			}
			// The raw body endpoint gives the same bytes back.
			res := a.do("GET", "/api/bins/"+bin.ID+"/requests/"+ack.ID+"/body", bin.Token, nil, "")
			if res.StatusCode != 200 || !bytes.Equal(res.body, tt.body) && len(tt.body) > 0 {
				t.Errorf("body endpoint: %d, %d bytes", res.StatusCode, len(res.body))
			}
			if res.Header.Get("Content-Type") != "application/octet-stream" || res.Header.Get("X-Content-Type-Options") != "nosniff" ||
				!strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
				t.Errorf("body endpoint headers: %v", res.Header)
			}
		})
	}
}

func TestCaptureHEADHasNoBody(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	res := a.do("HEAD", "/b/"+bin.ID+"/x", "", nil, "")
	if res.StatusCode != 200 || len(res.body) != 0 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("HEAD: %d %q %v", res.StatusCode, res.body, res.Header)
	}
	var list apiList
	a.getJSON("/api/bins/"+bin.ID+"/requests", bin.Token, &list)
	if len(list.Requests) != 1 || list.Requests[0].Method != "HEAD" {
		t.Fatalf("list after HEAD: %+v", list)
	}
}

func TestCaptureBadInput(t *testing.T) {
	a := newTestApp(t, func(c *Config, _ *storage.Options) { c.MaxBody = 1024; c.RateLimit = 2 })
	bin := a.newBin()

	t.Run("unknown bin", func(t *testing.T) {
		res := a.do("POST", "/b/nosuchbin/x", "", nil, "hi")
		if res.StatusCode != 404 || !strings.Contains(string(res.body), `"error"`) {
			t.Fatalf("got %d %s", res.StatusCode, res.body)
		}
	})
	t.Run("empty bin id", func(t *testing.T) {
		res := a.do("POST", "/b/", "", nil, "hi")
		if res.StatusCode != 404 {
			t.Fatalf("got %d %s", res.StatusCode, res.body)
		}
	})
	t.Run("body over max-body is stored truncated", func(t *testing.T) {
		res := a.do("POST", "/b/"+bin.ID+"/big", "", nil, strings.Repeat("x", 5000))
		if res.StatusCode != 413 || !strings.Contains(string(res.body), `"error"`) {
			t.Fatalf("got %d %s", res.StatusCode, res.body)
		}
		var list apiList
		a.getJSON("/api/bins/"+bin.ID+"/requests?limit=1", bin.Token, &list)
		got := list.Requests[0]
		if !got.Truncated || got.Size != 5000 || got.Path != "/big" {
			t.Fatalf("stored %+v", got)
		}
		var full apiRequest
		a.getJSON("/api/bins/"+bin.ID+"/requests/"+got.ID, bin.Token, &full)
		if full.BodyBase64 == nil || *full.BodyBase64 != "" {
			t.Fatalf("truncated body_base64 = %v", full.BodyBase64)
		}
	})
	t.Run("chunked body over max-body", func(t *testing.T) {
		req, _ := http.NewRequest("POST", a.ts.URL+"/b/"+bin.ID+"/chunked", io.MultiReader(strings.NewReader(strings.Repeat("y", 3000))))
		req.ContentLength = -1
		res, err := a.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 413 {
			t.Fatalf("got %d", res.StatusCode)
		}
		var list apiList
		a.getJSON("/api/bins/"+bin.ID+"/requests?limit=1", bin.Token, &list)
		if got := list.Requests[0]; !got.Truncated || got.Size < 1025 || got.Path != "/chunked" {
			t.Fatalf("stored %+v", got)
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		other := a.newBin()
		var last testResponse
		for i := 0; i < 10; i++ {
			last = a.do("POST", "/b/"+other.ID, "", nil, "")
			if last.StatusCode == 429 {
				break
			}
		}
		if last.StatusCode != 429 || last.Header.Get("Retry-After") == "" {
			t.Fatalf("got %d, Retry-After %q", last.StatusCode, last.Header.Get("Retry-After"))
		}
		var list apiList
		a.getJSON("/api/bins/"+other.ID+"/requests", other.Token, &list)
		if len(list.Requests) != 4 { // burst 2× of 2/s
			t.Fatalf("stored %d requests, want the 4 of the burst", len(list.Requests))
		}
	})
	t.Run("headers over 1 MiB", func(t *testing.T) {
		code, _ := a.rawRequest("GET /b/" + bin.ID + " HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 1<<20+8192) + "\r\n\r\n")
		if code != 431 {
			t.Fatalf("got %d", code)
		}
	})
}

func TestConfiguredResponse(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	res := a.do("PUT", "/api/bins/"+bin.ID+"/response", bin.Token, nil,
		`{"status":201,"headers":{"X-A":"b","Content-Type":"text/plain"},"body":"made","delay_ms":0,"sequence":[{"status":500,"times":3},{"status":503,"times":1,"body":"later"}]}`)
	if res.StatusCode != 200 || !strings.Contains(string(res.body), `"status":201`) {
		t.Fatalf("PUT response: %d %s", res.StatusCode, res.body)
	}
	want := []struct {
		status int
		body   string
	}{{500, "made"}, {500, "made"}, {500, "made"}, {503, "later"}, {201, "made"}, {201, "made"}}
	for i, w := range want {
		res := a.do("POST", "/b/"+bin.ID, "", nil, "")
		if res.StatusCode != w.status || string(res.body) != w.body || res.Header.Get("X-A") != "b" {
			t.Fatalf("answer %d: %d %q %v, want %d %q", i, res.StatusCode, res.body, res.Header, w.status, w.body)
		}
		if !strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Fatalf("answer %d lacks the sandbox CSP", i)
		}
	}
	// Setting the response again restarts the sequence.
	a.do("PUT", "/api/bins/"+bin.ID+"/response", bin.Token, nil, `{"status":202,"sequence":[{"status":429,"times":1}]}`)
	if res := a.do("POST", "/b/"+bin.ID, "", nil, ""); res.StatusCode != 429 {
		t.Fatalf("after reset: %d", res.StatusCode)
	}
	if res := a.do("POST", "/b/"+bin.ID, "", nil, ""); res.StatusCode != 202 {
		t.Fatalf("after sequence: %d", res.StatusCode)
	}
	// DELETE restores the default answer.
	if res := a.do("DELETE", "/api/bins/"+bin.ID+"/response", bin.Token, nil, ""); res.StatusCode != 200 {
		t.Fatalf("DELETE response: %d %s", res.StatusCode, res.body)
	}
	if res := a.do("POST", "/b/"+bin.ID, "", nil, ""); res.StatusCode != 200 || !strings.Contains(string(res.body), `"ok":true`) {
		t.Fatalf("default answer: %d %s", res.StatusCode, res.body)
	}
	// Delay.
	a.do("PUT", "/api/bins/"+bin.ID+"/response", bin.Token, nil, `{"status":200,"delay_ms":150}`)
	start := time.Now()
	a.do("GET", "/b/"+bin.ID, "", nil, "")
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("delay not applied: %v", d)
	}
	for _, bad := range []string{`{"status":99}`, `{"status":200,"delay_ms":40000}`, `{"headers":{"Bad Name":"x"}}`,
		`{"sequence":[{"status":500,"times":0}]}`, `{"stauts":200}`, `not json`} {
		if res := a.do("PUT", "/api/bins/"+bin.ID+"/response", bin.Token, nil, bad); res.StatusCode != 400 || !strings.Contains(string(res.body), `"error"`) {
			t.Errorf("PUT %s: %d %s", bad, res.StatusCode, res.body)
		}
	}
}

func TestAPIRoutes(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	other := a.newBin()
	for i := 0; i < 7; i++ {
		a.do("POST", fmt.Sprintf("/b/%s/n%d", bin.ID, i), "", nil, fmt.Sprint(i))
	}
	base := "/api/bins/" + bin.ID
	tests := []struct {
		method, path, token, body string
		status                    int
		contains                  []string
	}{
		{"GET", "/healthz", "", "", 200, []string{`"ok"`}},
		{"GET", base, bin.Token, "", 200, []string{`"id":"` + bin.ID, `"capture_url":"` + a.ts.URL + "/b/" + bin.ID, `"inspect_url":"` + a.ts.URL + "/bins/" + bin.ID}},
		{"GET", base, "", "", 404, []string{`"error"`}},
		{"GET", base, other.Token, "", 404, []string{`"error"`}},
		{"GET", base, "wrong", "", 404, []string{`"error"`}},
		{"GET", "/api/bins/nosuchbin", bin.Token, "", 404, []string{`"error"`}},
		{"GET", base + "/requests?limit=2", bin.Token, "", 200, []string{`"seq":7`, `"seq":6`, `"next":"req_6"`}},
		{"GET", base + "/requests?limit=2&before=req_6", bin.Token, "", 200, []string{`"seq":5`, `"seq":4`, `"next":"req_4"`}},
		{"GET", base + "/requests?limit=500&before=req_2", bin.Token, "", 200, []string{`"seq":1`, `"next":null`}},
		{"GET", base + "/requests?limit=abc", bin.Token, "", 400, []string{`"error"`}},
		{"GET", base + "/requests?before=zzz", bin.Token, "", 400, []string{`"error"`}},
		{"GET", base + "/requests?q=N3", bin.Token, "", 200, []string{`"path":"/n3"`}},
		{"GET", base + "/requests/req_3", bin.Token, "", 200, []string{`"body_text":"2"`, `"forwards":[]`}},
		{"GET", base + "/requests/req_99", bin.Token, "", 404, []string{`"error"`}},
		{"GET", base + "/requests/nonsense", bin.Token, "", 404, []string{`"error"`}},
		{"GET", base + "/requests/req_3", other.Token, "", 404, []string{`"error"`}},
		{"DELETE", base + "/requests/req_3", bin.Token, "", 204, nil},
		{"GET", base + "/requests/req_3", bin.Token, "", 404, []string{`"error"`}},
		{"DELETE", base + "/requests/req_3", bin.Token, "", 404, []string{`"error"`}},
		{"DELETE", base + "/requests", bin.Token, "", 204, nil},
		{"GET", base + "/requests", bin.Token, "", 200, []string{`"requests":[]`, `"next":null`}},
		{"POST", "/api/bins", "", `{"name":` + `"` + strings.Repeat("n", 300) + `"}`, 400, []string{`"error"`}},
		{"POST", "/api/bins", "", `{"nme":"x"}`, 400, []string{`"error"`}},
		{"POST", "/api/bins", "", ``, 201, []string{`"token":"`}},
		{"GET", "/api/nothing", "", "", 404, []string{`"error"`}},
		{"DELETE", "/api/bins/" + other.ID, other.Token, "", 204, nil},
		{"GET", "/api/bins/" + other.ID, other.Token, "", 404, []string{`"error"`}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := a.do(tt.method, tt.path, tt.token, nil, tt.body)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, res.body)
			}
			for _, c := range tt.contains {
				if !strings.Contains(string(res.body), c) {
					t.Errorf("answer lacks %s: %s", c, res.body)
				}
			}
			if tt.status >= 400 && !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				t.Errorf("error Content-Type %q", res.Header.Get("Content-Type"))
			}
		})
	}
	// Capture after the bin was deleted: 404.
	if res := a.do("POST", "/b/"+other.ID, "", nil, ""); res.StatusCode != 404 {
		t.Fatalf("capture to deleted bin: %d", res.StatusCode)
	}
	// An empty body downloads as 200 with no bytes.
	a.do("POST", "/b/"+bin.ID, "", nil, "")
	var list apiList
	a.getJSON(base+"/requests?limit=1", bin.Token, &list)
	res := a.do("GET", base+"/requests/"+list.Requests[0].ID+"/body", bin.Token, nil, "")
	if res.StatusCode != 200 || len(res.body) != 0 {
		t.Fatalf("empty body download: %d %q", res.StatusCode, res.body)
	}
}

func TestCrossOriginProtection(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	cross := http.Header{"Sec-Fetch-Site": {"cross-site"}}
	if res := a.do("POST", "/api/bins", "", cross, ""); res.StatusCode != 403 {
		t.Errorf("cross-site POST /api/bins: %d", res.StatusCode)
	}
	if res := a.do("DELETE", "/api/bins/"+bin.ID+"/requests", bin.Token, cross, ""); res.StatusCode != 204 {
		t.Errorf("cross-site with Authorization: %d", res.StatusCode)
	}
	if res := a.do("POST", "/b/"+bin.ID, "", cross, "x"); res.StatusCode != 200 {
		t.Errorf("cross-site capture: %d", res.StatusCode)
	}
	if res := a.do("POST", "/api/bins", "", http.Header{"Sec-Fetch-Site": {"same-origin"}}, ""); res.StatusCode != 201 {
		t.Errorf("same-origin POST: %d", res.StatusCode)
	}
}

// TestNewToken: POST …/token gives a bin a new token, shown once, and the
// old one stops working; a bin made in a browser gets a usable token this way.
func TestNewToken(t *testing.T) {
	a := newTestApp(t)
	b := a.newBin()
	res := a.do("POST", "/api/bins/"+b.ID+"/token", b.Token, nil, "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST token: %d %s", res.StatusCode, res.body)
	}
	var got createdBin
	if err := json.Unmarshal(res.body, &got); err != nil || got.Token == "" || got.Token == b.Token || got.ID != b.ID {
		t.Fatalf("answer %s (%v)", res.body, err)
	}
	if res := a.do("GET", "/api/bins/"+b.ID, b.Token, nil, ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("old token: %d, want 404", res.StatusCode)
	}
	if res := a.do("GET", "/api/bins/"+b.ID, got.Token, nil, ""); res.StatusCode != http.StatusOK {
		t.Errorf("new token: %d", res.StatusCode)
	}
	for _, token := range []string{"", b.Token} {
		if res := a.do("POST", "/api/bins/"+b.ID+"/token", token, nil, ""); res.StatusCode != http.StatusNotFound {
			t.Errorf("POST token with %q: %d, want 404", token, res.StatusCode)
		}
	}

	// A browser's bin: the session asks, the token then works without it.
	owner, binID := a.browserBin("browser")
	req, _ := http.NewRequest("POST", a.ts.URL+"/api/bins/"+binID+"/token", nil)
	r2, err := owner.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var fromBrowser createdBin
	json.NewDecoder(r2.Body).Decode(&fromBrowser)
	r2.Body.Close()
	if r2.StatusCode != http.StatusOK || fromBrowser.Token == "" {
		t.Fatalf("POST token from the browser: %d %+v", r2.StatusCode, fromBrowser)
	}
	a.capture(binID, "/x", "{}")
	var list struct {
		Requests []json.RawMessage `json:"requests"`
	}
	a.getJSON("/api/bins/"+binID+"/requests", fromBrowser.Token, &list)
	if len(list.Requests) != 1 {
		t.Fatalf("%d requests listed with the new token", len(list.Requests))
	}
	s := openStream(t, nil, a.ts.URL+"/api/bins/"+binID+"/events?token="+fromBrowser.Token, http.Header{"Last-Event-ID": {"0"}})
	if ev := s.next(2 * time.Second); ev.Event != "request" || ev.ID != "1" {
		t.Fatalf("event stream with the new token: %+v", ev)
	}
}

func TestRenameBin(t *testing.T) {
	a := newTestApp(t)
	b := a.newBin()
	path := "/api/bins/" + b.ID
	json := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name, token, body string
		status            int
		want              string // the name afterwards
	}{
		{"rename", b.Token, `{"name":"  stripe-dev  "}`, http.StatusOK, "stripe-dev"},
		{"too long", b.Token, `{"name":"` + strings.Repeat("x", 201) + `"}`, http.StatusBadRequest, "stripe-dev"},
		{"unknown field", b.Token, `{"title":"x"}`, http.StatusBadRequest, "stripe-dev"},
		{"not JSON", b.Token, `name=x`, http.StatusBadRequest, "stripe-dev"},
		{"no token", "", `{"name":"x"}`, http.StatusNotFound, "stripe-dev"},
		{"empty removes the name", b.Token, `{"name":""}`, http.StatusOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := a.do("PATCH", path, tc.token, json, tc.body)
			if res.StatusCode != tc.status {
				t.Fatalf("PATCH: %d %s, want %d", res.StatusCode, res.body, tc.status)
			}
			var got createdBin
			a.getJSON(path, b.Token, &got)
			if got.Name != tc.want {
				t.Errorf("name %q, want %q", got.Name, tc.want)
			}
		})
	}
	if res := a.do("PATCH", "/api/bins/nosuchbin", b.Token, json, `{"name":"x"}`); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown bin: %d", res.StatusCode)
	}
}

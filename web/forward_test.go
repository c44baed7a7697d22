package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailhook-dev/tailhook/forward"
	"github.com/tailhook-dev/tailhook/signature"
	"github.com/tailhook-dev/tailhook/storage"
)

// target is a test server that records what it receives.
type target struct {
	*httptest.Server
	mu   sync.Mutex
	got  []*receivedReq
	next func(n int, w http.ResponseWriter) // answers the n-th request (1-based)
}

type receivedReq struct {
	method, uri string
	header      http.Header
	body        []byte
	at          time.Time
}

func newTarget(t *testing.T, next func(n int, w http.ResponseWriter)) *target {
	tg := &target{next: next}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h := r.Header.Clone()
		h.Set("Host", r.Host)
		tg.mu.Lock()
		tg.got = append(tg.got, &receivedReq{r.Method, r.RequestURI, h, b, time.Now()})
		n := len(tg.got)
		tg.mu.Unlock()
		if tg.next != nil {
			tg.next(n, w)
			return
		}
		w.Header().Set("X-Target", "yes")
		w.WriteHeader(202)
		io.WriteString(w, "accepted")
	}))
	t.Cleanup(tg.Close)
	return tg
}

func (tg *target) received() []*receivedReq {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return append([]*receivedReq(nil), tg.got...)
}

func (tg *target) waitFor(t *testing.T, n int, within time.Duration) []*receivedReq {
	t.Helper()
	eventually(t, within, strconv.Itoa(n)+" requests at the target", func() bool { return len(tg.received()) >= n })
	return tg.received()
}

func TestManualForward(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	tg := newTarget(t, nil)
	body := string([]byte{0, 1, 2, 0xff, 'x'})
	a.do("POST", "/b/"+bin.ID+"/hook?a=1", "", http.Header{"X-Multi": {"1", "2"}, "Connection": {"X-Drop"}, "X-Drop": {"gone"}}, body)

	res := a.do("POST", "/api/bins/"+bin.ID+"/requests/req_1/forward", bin.Token, nil, `{"url":"`+tg.URL+`/exact?z=9"}`)
	if res.StatusCode != 200 {
		t.Fatalf("forward: %d %s", res.StatusCode, res.body)
	}
	var out struct {
		Status     int                 `json:"status"`
		Headers    map[string][]string `json:"headers"`
		Body       *string             `json:"body"`
		BodyBase64 string              `json:"body_base64"`
		DurationMS int64               `json:"duration_ms"`
		Error      string              `json:"error"`
	}
	json.Unmarshal(res.body, &out)
	if out.Status != 202 || out.Body == nil || *out.Body != "accepted" || out.Headers["X-Target"][0] != "yes" || out.Error != "" {
		t.Fatalf("result: %s", res.body)
	}
	got := tg.received()[0]
	if got.method != "POST" || got.uri != "/exact?z=9" || !bytes.Equal(got.body, []byte(body)) {
		t.Errorf("target got %s %s %q", got.method, got.uri, got.body)
	}
	if strings.Join(got.header["X-Multi"], ",") != "1,2" || got.header.Get("X-Drop") != "" || got.header.Get("Host") != strings.TrimPrefix(tg.URL, "http://") {
		t.Errorf("target headers: %v", got.header)
	}

	// Edits: method, headers, body.
	res = a.do("POST", "/api/bins/"+bin.ID+"/requests/req_1/forward", bin.Token, nil,
		`{"url":"`+tg.URL+`/edit","method":"PUT","headers":{"X-Multi":null,"X-New":["a","b"]},"body":"edited"}`)
	if res.StatusCode != 200 {
		t.Fatalf("edited forward: %d %s", res.StatusCode, res.body)
	}
	got = tg.received()[1]
	if got.method != "PUT" || string(got.body) != "edited" || got.header.Get("X-Multi") != "" || strings.Join(got.header["X-New"], ",") != "a,b" {
		t.Errorf("edited: %s %q %v", got.method, got.body, got.header)
	}

	// A dead target: 200 with status 0 and an error, recorded.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	res = a.do("POST", "/api/bins/"+bin.ID+"/requests/req_1/forward", bin.Token, nil, `{"url":"`+deadURL+`"}`)
	if res.StatusCode != 200 || !strings.Contains(string(res.body), `"status":0`) || strings.Contains(string(res.body), `"error":""`) {
		t.Fatalf("dead target: %d %s", res.StatusCode, res.body)
	}
	for _, bad := range []string{`{"url":"ftp://x"}`, `{"url":"not a url"}`, `{}`} {
		if res := a.do("POST", "/api/bins/"+bin.ID+"/requests/req_1/forward", bin.Token, nil, bad); res.StatusCode != 422 {
			t.Errorf("%s: %d %s", bad, res.StatusCode, res.body)
		}
	}
	var full struct {
		Forwards []struct {
			URL     string `json:"url"`
			Status  int    `json:"status"`
			Attempt int    `json:"attempt"`
			Error   string `json:"error"`
		} `json:"forwards"`
	}
	a.getJSON("/api/bins/"+bin.ID+"/requests/req_1", bin.Token, &full)
	if len(full.Forwards) != 3 || full.Forwards[0].Status != 202 || full.Forwards[2].Status != 0 || full.Forwards[2].Error == "" || full.Forwards[2].Attempt != 3 {
		t.Fatalf("forwards: %+v", full.Forwards)
	}
}

func TestForwardRefusesPrivateTargets(t *testing.T) {
	a := newTestApp(t, func(c *Config, _ *storage.Options) { c.AllowPrivateForwarding = false })
	bin := a.newBin()
	tg := newTarget(t, nil)
	a.do("POST", "/b/"+bin.ID, "", nil, "x")
	for _, u := range []string{tg.URL, strings.Replace(tg.URL, "127.0.0.1", "localhost", 1), strings.Replace(tg.URL, "127.0.0.1", "[::ffff:127.0.0.1]", 1)} {
		res := a.do("POST", "/api/bins/"+bin.ID+"/requests/req_1/forward", bin.Token, nil, `{"url":"`+u+`"}`)
		if res.StatusCode != 422 || !strings.Contains(string(res.body), "allow-private-forwarding") {
			t.Errorf("forward to %s: %d %s", u, res.StatusCode, res.body)
		}
		if res := a.do("PUT", "/api/bins/"+bin.ID+"/forwarding", bin.Token, nil, `{"url":"`+u+`","enabled":true}`); res.StatusCode != 422 {
			t.Errorf("auto-forward to %s: %d %s", u, res.StatusCode, res.body)
		}
	}
	if n := len(tg.received()); n != 0 {
		t.Fatalf("target reached %d times", n)
	}
}

func TestForwardResign(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	secret := "whsec_resign"
	a.do("PUT", "/api/bins/"+bin.ID+"/signature", bin.Token, nil, `{"provider":"stripe","secret":"`+secret+`"}`)
	// Captured with an old, now stale signature.
	old := time.Now().Add(-time.Hour)
	h, _, _ := signature.Sign("stripe", signature.Params{"secret": secret}, signature.Input{Method: "POST", Body: []byte(`{"a":1}`), Header: http.Header{}, Now: old})
	a.do("POST", "/b/"+bin.ID, "", h, `{"a":1}`)
	tg := newTarget(t, nil)
	res := a.do("POST", "/api/bins/"+bin.ID+"/requests/req_1/forward", bin.Token, nil, `{"url":"`+tg.URL+`","resign":true}`)
	if res.StatusCode != 200 {
		t.Fatalf("%d %s", res.StatusCode, res.body)
	}
	got := tg.received()[0]
	v, err := signature.Verify("stripe", signature.Params{"secret": secret}, signature.Input{Method: "POST", Header: got.header, Body: got.body, Now: time.Now()})
	if err != nil || !v.Valid {
		t.Fatalf("re-signed request does not verify now: %+v %v", v, err)
	}
}

func TestAutoForwardRetriesInOrder(t *testing.T) {
	old := retryDelay
	retryDelay = func(attempt int, res forward.Result, rnd func() float64) (time.Duration, bool) {
		d, ok := old(attempt, res, func() float64 { return 0.5 })
		return d / 50, ok // 1 s → 20 ms; Retry-After clamps to 1 s → 20 ms
	}
	t.Cleanup(func() { retryDelay = old })
	a := newTestApp(t)
	bin := a.newBin()
	// 500, 500, then 202 for the first delivery; the rest succeed at once.
	tg := newTarget(t, func(n int, w http.ResponseWriter) {
		if n <= 2 {
			w.WriteHeader(500)
			return
		}
		if n == 3 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			return
		}
		w.WriteHeader(202)
	})
	if res := a.do("PUT", "/api/bins/"+bin.ID+"/forwarding", bin.Token, nil, `{"url":"`+tg.URL+`/base/","enabled":true}`); res.StatusCode != 200 ||
		!strings.Contains(string(res.body), `"enabled":true`) {
		t.Fatalf("PUT forwarding: %d %s", res.StatusCode, res.body)
	}
	for i := 1; i <= 5; i++ {
		a.do("POST", "/b/"+bin.ID+"/hook"+string(rune('0'+i))+"?n="+string(rune('0'+i)), "", nil, "body"+string(rune('0'+i)))
	}
	got := tg.waitFor(t, 8, 10*time.Second)
	// The first capture is tried 4 times before the others: one at a time,
	// in capture order.
	var uris []string
	for _, g := range got {
		uris = append(uris, g.uri)
	}
	want := "/base/hook1?n=1 /base/hook1?n=1 /base/hook1?n=1 /base/hook1?n=1 /base/hook2?n=2 /base/hook3?n=3 /base/hook4?n=4 /base/hook5?n=5"
	if strings.Join(uris, " ") != want {
		t.Fatalf("delivery order:\n got %s\nwant %s", strings.Join(uris, " "), want)
	}
	if string(got[7].body) != "body5" {
		t.Errorf("body %q", got[7].body)
	}
	// Every attempt is in the history.
	var full struct {
		Forwards []struct {
			Status  int  `json:"status"`
			Attempt int  `json:"attempt"`
			Auto    bool `json:"auto"`
		} `json:"forwards"`
		Delivery struct {
			State    string `json:"state"`
			Attempts int    `json:"attempts"`
		} `json:"delivery"`
	}
	eventually(t, 5*time.Second, "req_1 delivered", func() bool {
		a.getJSON("/api/bins/"+bin.ID+"/requests/req_1", bin.Token, &full)
		return full.Delivery.State == "delivered"
	})
	if len(full.Forwards) != 4 || full.Forwards[0].Status != 500 || full.Forwards[2].Status != 429 || full.Forwards[3].Status != 202 ||
		full.Forwards[3].Attempt != 4 || !full.Forwards[3].Auto || full.Delivery.Attempts != 4 {
		t.Fatalf("history: %+v", full)
	}
}

func TestAutoForwardFailsAndRetryNow(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	var fail = true
	var mu sync.Mutex
	tg := newTarget(t, func(n int, w http.ResponseWriter) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			w.WriteHeader(400) // not retryable: fails at once
			return
		}
		w.WriteHeader(200)
	})
	a.do("PUT", "/api/bins/"+bin.ID+"/forwarding", bin.Token, nil, `{"url":"`+tg.URL+`"}`)
	a.do("POST", "/b/"+bin.ID, "", nil, "x")
	tg.waitFor(t, 1, 5*time.Second)
	waitState := func(want string) {
		t.Helper()
		eventually(t, 5*time.Second, "delivery state "+want, func() bool {
			res := a.do("GET", "/api/bins/"+bin.ID+"/requests/req_1", bin.Token, nil, "")
			return strings.Contains(string(res.body), `"state":"`+want+`"`)
		})
	}
	waitState("failed")
	if res := a.do("POST", "/api/bins/"+bin.ID+"/requests/req_1/delivery/cancel", bin.Token, nil, ""); res.StatusCode != 409 {
		t.Errorf("cancel a failed delivery: %d %s", res.StatusCode, res.body)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	if res := a.do("POST", "/api/bins/"+bin.ID+"/requests/req_1/delivery/retry", bin.Token, nil, ""); res.StatusCode != 200 {
		t.Fatalf("retry: %d %s", res.StatusCode, res.body)
	}
	tg.waitFor(t, 2, 5*time.Second)
	waitState("delivered")
	if res := a.do("DELETE", "/api/bins/"+bin.ID+"/forwarding", bin.Token, nil, ""); res.StatusCode != 200 || !strings.Contains(string(res.body), `"enabled":false`) {
		t.Errorf("DELETE forwarding: %d %s", res.StatusCode, res.body)
	}
	a.do("POST", "/b/"+bin.ID, "", nil, "y")
	// A delivery job is written in its capture's own transaction: req_2 has
	// none, so nothing will ever be sent for it.
	if res := a.do("POST", "/api/bins/"+bin.ID+"/requests/req_2/delivery/retry", bin.Token, nil, ""); res.StatusCode != 404 {
		t.Errorf("retry without delivery: %d", res.StatusCode)
	}
	if n := len(tg.received()); n != 2 {
		t.Errorf("delivered after turning off: %d", n)
	}
}

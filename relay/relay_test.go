package relay

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailhook-dev/tailhook/rawhead"
)

func TestMain(m *testing.M) {
	reconnectInitial = 20 * time.Millisecond
	reconnectMax = 200 * time.Millisecond
	responseHeaderTimeout = 2 * time.Second
	lookupTimeout = 2 * time.Second
	refusedRetries = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}
	os.Exit(m.Run())
}

const token = "tok"

// item is one frame in a fakeBin's history. seq is 0 for frames that are not
// requests; those are only sent live.
type item struct {
	seq   int64
	frame string
}

// fakeBin is a test double of the server's bin API: the event stream (with
// Last-Event-ID replay) and the request list. It can misbehave on demand.
type fakeBin struct {
	mu        sync.Mutex
	items     []item
	seq       int64
	changed   chan struct{}
	status    int           // answer the stream with this status instead
	silent    bool          // send the stream's headers, then nothing
	heartbeat time.Duration // send a comment this often
	dropAfter int           // end a connection after this many request frames
	clean     bool          // end it cleanly instead of aborting it
	inclusive bool          // replay seq >= Last-Event-ID, like r3labs' own replay
	lastIDs   []string      // Last-Event-ID of each stream connection
}

func newFakeBin() *fakeBin { return &fakeBin{changed: make(chan struct{})} }

func (b *fakeBin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/bins/abc/events" {
		b.mu.Lock()
		b.lastIDs = append(b.lastIDs, r.Header.Get("Last-Event-ID"))
		b.mu.Unlock()
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":"bin not found"}`)
		return
	}
	switch r.URL.Path {
	case "/api/bins/abc/requests":
		b.mu.Lock()
		list := `{"requests":[],"next":null}`
		if b.seq > 0 {
			list = fmt.Sprintf(`{"requests":[{"seq":%d,"method":"POST"}],"next":null}`, b.seq)
		}
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, list)
	case "/api/bins/abc/events":
		b.serveEvents(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (b *fakeBin) serveEvents(w http.ResponseWriter, r *http.Request) {
	lastID, hasID := r.Header.Get("Last-Event-ID"), r.Header.Get("Last-Event-ID") != ""
	b.mu.Lock()
	status, silent, hb, dropAfter, clean := b.status, b.silent, b.heartbeat, b.dropAfter, b.clean
	if b.inclusive && hasID {
		lastID = strconv.Itoa(max(0, atoi(lastID)-1))
	}
	next := len(b.items) // live only
	if hasID {
		after, err := strconv.ParseInt(lastID, 10, 64)
		if err != nil {
			b.mu.Unlock()
			http.Error(w, "bad Last-Event-ID", http.StatusBadRequest)
			return
		}
		next = 0
		for next < len(b.items) && b.items[next].seq <= after {
			next++
		}
	}
	b.mu.Unlock()

	if status != 0 {
		w.WriteHeader(status)
		io.WriteString(w, `{"error":"nope"}`)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	if silent {
		<-r.Context().Done()
		return
	}
	var tick <-chan time.Time
	if hb > 0 {
		tk := time.NewTicker(hb)
		defer tk.Stop()
		tick = tk.C
	}
	sent := 0
	for {
		b.mu.Lock()
		changed := b.changed
		var frames []item
		if next < len(b.items) {
			frames = slices.Clone(b.items[next:])
			next = len(b.items)
		}
		b.mu.Unlock()
		for _, it := range frames {
			io.WriteString(w, it.frame)
			if it.seq == 0 {
				continue
			}
			if sent++; dropAfter > 0 && sent >= dropAfter {
				w.(http.Flusher).Flush()
				if clean {
					return
				}
				panic(http.ErrAbortHandler)
			}
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		case <-tick:
			io.WriteString(w, ": heartbeat\n\n")
			w.(http.Flusher).Flush()
		}
	}
}

// publish stores a request and wakes the streams. Its headers get X-Seq.
func (b *fakeBin) publish(c capture, body []byte) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	c.Seq = b.seq
	if c.Method == "" {
		c.Method = "POST"
	}
	if c.Headers == nil {
		c.Headers = map[string][]string{}
	}
	c.Headers["X-Seq"] = []string{strconv.FormatInt(c.Seq, 10)}
	if !c.Truncated {
		c.BodyBase64 = base64.StdEncoding.EncodeToString(body)
		c.Size = int64(len(body))
	}
	data, err := json.Marshal(struct {
		capture
		ID string `json:"id"`
	}{c, "req" + strconv.FormatInt(c.Seq, 10)})
	if err != nil {
		panic(err)
	}
	b.items = append(b.items, item{c.Seq, fmt.Sprintf("event: request\nid: %d\ndata: %s\n\n", c.Seq, data)})
	close(b.changed)
	b.changed = make(chan struct{})
	return c.Seq
}

// publishRaw adds a frame that is not a request.
func (b *fakeBin) publishRaw(frame string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.items = append(b.items, item{0, frame})
	close(b.changed)
	b.changed = make(chan struct{})
}

func (b *fakeBin) connections() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.lastIDs)
}

func (b *fakeBin) set(f func(b *fakeBin)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f(b)
}

// startServer serves h on loopback (on addr when given) until the test ends.
func startServer(t *testing.T, h http.Handler, addr string) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	if addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen again on %s: %v", addr, err)
		}
		srv.Listener.Close()
		srv.Listener = l
	}
	srv.Start()
	t.Cleanup(func() { stopServer(srv) })
	return srv
}

// stopServer ends open streams first: Close alone waits for them.
func stopServer(srv *httptest.Server) {
	srv.CloseClientConnections()
	srv.Close()
}

// delivery is what the target received.
type delivery struct {
	method, uri, host string
	header            http.Header
	body              []byte
	contentLength     int64
}

type target struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []delivery
}

func newTarget(t *testing.T) *target {
	tg := &target{}
	tg.srv = startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		tg.mu.Lock()
		tg.got = append(tg.got, delivery{r.Method, r.RequestURI, r.Host, r.Header.Clone(), body, r.ContentLength})
		tg.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}), "")
	return tg
}

func (tg *target) deliveries() []delivery {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return slices.Clone(tg.got)
}

func (tg *target) seqs() []string {
	var s []string
	for _, d := range tg.deliveries() {
		s = append(s, d.header.Get("X-Seq"))
	}
	return s
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// relayRun is a Run in the background.
type relayRun struct {
	cancel context.CancelFunc
	done   chan error
	out    *syncBuffer
}

func startRelay(t *testing.T, o Options) *relayRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rr := &relayRun{cancel: cancel, done: make(chan error, 1), out: &syncBuffer{}}
	o.Out = rr.out
	if o.Token == "" {
		o.Token = token
	}
	go func() { rr.done <- Run(ctx, o) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-rr.done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
		t.Logf("relay output:\n%s", rr.out)
	})
	return rr
}

// stop cancels Run and wants nil back promptly.
func (rr *relayRun) stop(t *testing.T) {
	t.Helper()
	rr.cancel()
	select {
	case err := <-rr.done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
		rr.done <- nil // for the cleanup
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return within 2s of cancel")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkGoroutines fails the test if goroutines started during it are still
// running once everything has been shut down. Call it first, so its cleanup
// runs last.
func checkGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for runtime.NumGoroutine() > base {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("goroutines: %d at start, %d at end\n%s", base, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

func seqList(from, to int) []string {
	var s []string
	for i := from; i <= to; i++ {
		s = append(s, strconv.Itoa(i))
	}
	return s
}

func TestRelayExactlyOnceAcrossDrops(t *testing.T) {
	for _, tt := range []struct{ clean, inclusive bool }{{false, false}, {true, false}, {false, true}} {
		t.Run(fmt.Sprintf("clean=%v,inclusive=%v", tt.clean, tt.inclusive), func(t *testing.T) {
			checkGoroutines(t)
			bin := newFakeBin()
			bin.dropAfter, bin.clean, bin.inclusive = 3, tt.clean, tt.inclusive
			for range 4 {
				bin.publish(capture{Path: "/old"}, []byte("stored"))
			}
			srv := startServer(t, bin, "")
			tg := newTarget(t)
			rr := startRelay(t, Options{URL: srv.URL + "/bins/abc", To: tg.srv.URL, FromSeq: 0})

			for i := range 8 {
				bin.publish(capture{Path: "/live"}, []byte("live "+strconv.Itoa(i)))
				time.Sleep(5 * time.Millisecond)
			}
			waitFor(t, "12 deliveries", func() bool { return len(tg.deliveries()) >= 12 })
			bin.publish(capture{Path: "/last"}, nil)
			waitFor(t, "13 deliveries", func() bool { return len(tg.deliveries()) >= 13 })
			time.Sleep(50 * time.Millisecond)
			rr.stop(t)

			if got, want := tg.seqs(), seqList(1, 13); !slices.Equal(got, want) {
				t.Errorf("delivered seqs %v, want %v", got, want)
			}
			ids := bin.connections()
			if len(ids) < 4 || ids[0] != "0" {
				t.Errorf("Last-Event-IDs %q: want several connections, the first resuming after 0", ids)
			}
			for i := 1; i < len(ids); i++ {
				if atoi(ids[i]) < atoi(ids[i-1]) {
					t.Errorf("Last-Event-ID went back: %q", ids)
				}
			}
			if !strings.Contains(rr.out.String(), "stream lost:") {
				t.Errorf("output does not say the stream was lost:\n%s", rr.out)
			}
		})
	}
}

func TestRelayLiveAcrossServerRestart(t *testing.T) {
	checkGoroutines(t)
	bin := newFakeBin()
	bin.publish(capture{}, []byte("before the relay"))
	bin.publish(capture{}, []byte("before the relay"))
	srv := startServer(t, bin, "")
	addr := srv.Listener.Addr().String()
	tg := newTarget(t)
	rr := startRelay(t, Options{URL: srv.URL + "/b/abc/some/path", To: tg.srv.URL, FromSeq: LiveOnly})

	waitFor(t, "the relay to connect", func() bool { return len(bin.connections()) == 1 })
	if got := bin.connections()[0]; got != "2" {
		t.Errorf("first Last-Event-ID = %q, want 2 (the newest seq when starting live)", got)
	}
	bin.publish(capture{}, []byte("three"))
	waitFor(t, "seq 3", func() bool { return len(tg.deliveries()) == 1 })

	stopServer(srv)
	bin.publish(capture{}, []byte("four"))
	bin.publish(capture{}, []byte("five"))
	waitFor(t, "a failed reconnect", func() bool { return strings.Contains(rr.out.String(), "cannot connect to") })
	startServer(t, bin, addr)
	waitFor(t, "seqs 4 and 5", func() bool { return len(tg.deliveries()) == 3 })
	bin.publish(capture{}, []byte("six"))
	waitFor(t, "seq 6", func() bool { return len(tg.deliveries()) == 4 })
	rr.stop(t)

	if got, want := tg.seqs(), seqList(3, 6); !slices.Equal(got, want) {
		t.Errorf("delivered seqs %v, want %v", got, want)
	}
	if ids := bin.connections(); ids[len(ids)-1] != "3" {
		t.Errorf("Last-Event-IDs %q, want the last to be 3", ids)
	}
	out := rr.out.String()
	for _, want := range []string{"connected to " + srv.URL + "/api/bins/abc/events, relaying new requests to " + tg.srv.URL, "stream lost:", "reconnected, resuming after seq 3"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestRelayByteExact(t *testing.T) {
	checkGoroutines(t)
	bin := newFakeBin()
	srv := startServer(t, bin, "")
	tg := newTarget(t)
	rr := startRelay(t, Options{URL: srv.URL + "/bins/abc", To: tg.srv.URL + "/base/?k=v", FromSeq: LiveOnly})
	waitFor(t, "the relay to connect", func() bool { return len(bin.connections()) == 1 })

	body := make([]byte, 256)
	for i := range body {
		body[i] = byte(i)
	}
	bin.publish(capture{
		Method: "PATCH", Path: "/stripe/a%2Fb", Query: "a=1&a=2",
		Headers: map[string][]string{
			"Content-Type":   {"application/octet-stream"},
			"X-Multi":        {"one", "two", "three"},
			"Host":           {"hooks.example.com"},
			"Content-Length": {"256"},
			"Connection":     {"X-Hop"},
			"X-Hop":          {"secret"},
			"User-Agent":     {"Stripe/1.0"},
		},
	}, body)
	bin.publishRaw("event: verdict\nid: 1\ndata: {\"seq\":1}\n\n")
	bin.publishRaw("data: an unnamed message\n\n")
	bin.publish(capture{Method: "PUT", Path: "/big", Truncated: true, Size: 20 << 20}, nil)
	bin.publish(capture{Method: "GET", Path: ""}, nil)
	waitFor(t, "two deliveries", func() bool { return len(tg.deliveries()) == 2 })
	time.Sleep(30 * time.Millisecond)
	rr.stop(t)

	got := tg.deliveries()
	if len(got) != 2 {
		t.Fatalf("target got %d requests, want 2", len(got))
	}
	d := got[0]
	if d.method != "PATCH" || d.uri != "/base/stripe/a%2Fb?k=v&a=1&a=2" {
		t.Errorf("request line %s %s", d.method, d.uri)
	}
	if !bytes.Equal(d.body, body) || d.contentLength != 256 {
		t.Errorf("body %x (Content-Length %d), want all 256 byte values", d.body, d.contentLength)
	}
	if v := d.header.Values("X-Multi"); !slices.Equal(v, []string{"one", "two", "three"}) {
		t.Errorf("X-Multi = %q", v)
	}
	if d.host != tg.srv.Listener.Addr().String() {
		t.Errorf("Host = %q, want the target's", d.host)
	}
	if d.header.Get("User-Agent") != "Stripe/1.0" || d.header.Get("X-Hop") != "" || d.header.Get("Connection") != "" {
		t.Errorf("headers %v", d.header)
	}
	if d := got[1]; d.method != "GET" || d.uri != "/base/?k=v" || len(d.body) != 0 || d.header.Get("X-Seq") != "3" {
		t.Errorf("second delivery %s %s %q seq %s", d.method, d.uri, d.body, d.header.Get("X-Seq"))
	}

	lines := strings.Split(strings.TrimSpace(rr.out.String()), "\n")
	patterns := []string{
		`^connected to .*/api/bins/abc/events, relaying new requests to `,
		`^PATCH /stripe/a%2Fb\?a=1&a=2 → 202 \(\d+ ms\)$`,
		`^PUT /big → skipped: its body \(20971520 bytes\) was over the server's limit, so it was not stored$`,
		`^GET / → 202 \(\d+ ms\)$`,
	}
	if len(lines) != len(patterns) {
		t.Fatalf("output has %d lines, want %d:\n%s", len(lines), len(patterns), rr.out)
	}
	for i, p := range patterns {
		if !regexp.MustCompile(p).MatchString(lines[i]) {
			t.Errorf("line %d = %q, want it to match %s", i, lines[i], p)
		}
	}
}

func TestRelayTargetUnreachable(t *testing.T) {
	checkGoroutines(t)
	bin := newFakeBin()
	srv := startServer(t, bin, "")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	rr := startRelay(t, Options{URL: srv.URL + "/bins/abc", To: closed})
	waitFor(t, "the relay to connect", func() bool { return len(bin.connections()) == 1 })
	bin.publish(capture{Path: "/stripe"}, []byte("x"))
	bin.publish(capture{Path: "/again"}, []byte("y"))
	waitFor(t, "two lines", func() bool { return strings.Count(rr.out.String(), "(gave up after 2 retries; will keep going)") == 2 })
	rr.stop(t)
	for _, re := range []string{
		`(?m)^POST /stripe → target refused the connection; retrying in 10ms \(1 of 2\)$`,
		`(?m)^POST /stripe → target refused the connection; retrying in 20ms \(2 of 2\)$`,
		`(?m)^POST /stripe → target unreachable: dial tcp 127\.0\.0\.1:\d+: connect: connection refused \(gave up after 2 retries; will keep going\)$`,
	} {
		if !regexp.MustCompile(re).MatchString(rr.out.String()) {
			t.Errorf("output does not match %s:\n%s", re, rr.out)
		}
	}
}

// A target that refuses while it restarts gets the request once it is back.
func TestRelayRetriesRefusedTarget(t *testing.T) {
	checkGoroutines(t)
	old := refusedRetries
	refusedRetries = []time.Duration{50 * time.Millisecond, time.Second}
	defer func() { refusedRetries = old }()
	bin := newFakeBin()
	srv := startServer(t, bin, "")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	rr := startRelay(t, Options{URL: srv.URL + "/bins/abc", To: "http://" + addr})
	waitFor(t, "the relay to connect", func() bool { return len(bin.connections()) == 1 })
	bin.publish(capture{Path: "/stripe"}, []byte("x"))
	waitFor(t, "the second retry", func() bool { return strings.Contains(rr.out.String(), "(2 of 2)") })
	got := make(chan string, 1)
	startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.RequestURI
		w.WriteHeader(http.StatusAccepted)
	}), addr)
	select {
	case uri := <-got:
		if uri != "/stripe" {
			t.Errorf("the target got %q, want /stripe", uri)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the restarted target never got the request; output:\n%s", rr.out)
	}
	waitFor(t, "the result line", func() bool { return strings.Contains(rr.out.String(), "POST /stripe → 202") })
	rr.stop(t)
}

func TestRelayPermanentErrors(t *testing.T) {
	for _, tt := range []struct {
		name, token string
		status      int
		want        string
	}{
		{"wrong token", "bad", 0, `bin "abc" not found`},
		{"deleted bin", token, http.StatusNotFound, `bin "abc" not found`},
		{"forbidden", token, http.StatusForbidden, "denied (403: nope): check --token"},
		{"unauthorized", token, http.StatusUnauthorized, "denied (401"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			bin := newFakeBin()
			bin.status = tt.status
			srv := startServer(t, bin, "")
			start := time.Now()
			err := Run(context.Background(), Options{URL: srv.URL + "/bins/abc", To: "http://127.0.0.1:1", Token: tt.token})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run = %v, want an error containing %q", err, tt.want)
			}
			if el := time.Since(start); el > time.Second {
				t.Errorf("took %v", el)
			}
			if n := len(bin.connections()); n != 1 {
				t.Errorf("%d stream connections, want 1 (no retry)", n)
			}
		})
	}
}

func TestRelayRetriesServerErrors(t *testing.T) {
	checkGoroutines(t)
	bin := newFakeBin()
	bin.status = http.StatusServiceUnavailable
	srv := startServer(t, bin, "")
	tg := newTarget(t)
	rr := startRelay(t, Options{URL: srv.URL + "/bins/abc", To: tg.srv.URL})
	waitFor(t, "retries", func() bool { return len(bin.connections()) >= 3 })
	bin.set(func(b *fakeBin) { b.status = 0 })
	waitFor(t, "connected", func() bool { return strings.Contains(rr.out.String(), "connected to") })
	bin.publish(capture{}, nil)
	waitFor(t, "delivery", func() bool { return len(tg.deliveries()) == 1 })
	rr.stop(t)
	if !strings.Contains(rr.out.String(), "503 Service Unavailable: nope; retrying in") {
		t.Errorf("output:\n%s", rr.out)
	}
}

func TestRelayCancelDuringBackoff(t *testing.T) {
	checkGoroutines(t)
	old := reconnectInitial
	reconnectInitial = 10 * time.Second
	defer func() { reconnectInitial = old }()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close()
	rr := startRelay(t, Options{URL: down + "/bins/abc", To: "http://127.0.0.1:1"})
	waitFor(t, "the first backoff", func() bool { return strings.Contains(rr.out.String(), "retrying in") })
	start := time.Now()
	rr.stop(t)
	if el := time.Since(start); el > 500*time.Millisecond {
		t.Errorf("Run returned %v after cancel", el)
	}
}

func TestRelayCancelWhileConnected(t *testing.T) {
	checkGoroutines(t)
	bin := newFakeBin()
	srv := startServer(t, bin, "")
	rr := startRelay(t, Options{URL: srv.URL + "/bins/abc", To: "http://127.0.0.1:1"})
	waitFor(t, "the relay to connect", func() bool { return strings.Contains(rr.out.String(), "connected to") })
	rr.stop(t)
}

func TestRelayIdleWatchdog(t *testing.T) {
	checkGoroutines(t)
	bin := newFakeBin()
	bin.silent = true
	srv := startServer(t, bin, "")
	rr := startRelay(t, Options{URL: srv.URL + "/bins/abc", To: "http://127.0.0.1:1", HeartbeatTimeout: 100 * time.Millisecond})
	waitFor(t, "a reconnect after silence", func() bool { return len(bin.connections()) >= 2 })
	rr.stop(t)
	if !strings.Contains(rr.out.String(), "stream lost: no data from the server for 100ms") {
		t.Errorf("output:\n%s", rr.out)
	}
}

func TestRelayHeartbeatsKeepStreamOpen(t *testing.T) {
	checkGoroutines(t)
	bin := newFakeBin()
	bin.heartbeat = 30 * time.Millisecond
	srv := startServer(t, bin, "")
	tg := newTarget(t)
	rr := startRelay(t, Options{URL: srv.URL + "/bins/abc", To: tg.srv.URL, HeartbeatTimeout: 150 * time.Millisecond})
	waitFor(t, "the relay to connect", func() bool { return len(bin.connections()) == 1 })
	time.Sleep(500 * time.Millisecond)
	bin.publish(capture{}, nil)
	waitFor(t, "delivery", func() bool { return len(tg.deliveries()) == 1 })
	rr.stop(t)
	if n := len(bin.connections()); n != 1 {
		t.Errorf("%d connections, want 1: heartbeats should keep the watchdog quiet", n)
	}
}

func TestRelayLargeEvents(t *testing.T) {
	checkGoroutines(t)
	bin := newFakeBin()
	srv := startServer(t, bin, "")
	tg := newTarget(t)
	body := bytes.Repeat([]byte("0123456789abcdef\x00\xff"), 3<<20/18)
	bin.publish(capture{}, body)
	start := time.Now()
	rr := startRelay(t, Options{URL: srv.URL + "/bins/abc", To: tg.srv.URL, MaxBody: 4 << 20})
	waitFor(t, "delivery", func() bool { return len(tg.deliveries()) == 1 })
	t.Logf("a %d-byte body took %v", len(body), time.Since(start))
	rr.stop(t)
	if got := tg.deliveries()[0].body; !bytes.Equal(got, body) {
		t.Errorf("body differs (%d bytes, want %d)", len(got), len(body))
	}
}

func TestRelayEventTooLarge(t *testing.T) {
	checkGoroutines(t)
	bin := newFakeBin()
	srv := startServer(t, bin, "")
	bin.publish(capture{}, bytes.Repeat([]byte("x"), 100<<10))
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), Options{URL: srv.URL + "/bins/abc", To: "http://127.0.0.1:1", Token: token, MaxBody: 1 << 10})
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "larger than the") {
			t.Errorf("Run = %v, want an error about the buffer", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run kept going on an event that can never fit")
	}
}

func TestRelayCancelDuringDelivery(t *testing.T) {
	checkGoroutines(t)
	bin := newFakeBin()
	srv := startServer(t, bin, "")
	arrived := make(chan struct{}, 1)
	slow := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}), "")
	rr := startRelay(t, Options{URL: srv.URL + "/bins/abc", To: slow.URL})
	bin.publish(capture{}, nil)
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery")
	}
	rr.stop(t)
}

func TestRunBadOptions(t *testing.T) {
	for _, o := range []Options{
		{URL: "http://127.0.0.1:1/bins/abc"},
		{URL: "http://127.0.0.1:1/bins/abc", To: "localhost:3000"},
		{URL: "http://127.0.0.1:1/nothing", To: "http://127.0.0.1:3000"},
		{URL: "ftp://127.0.0.1/bins/abc", To: "http://127.0.0.1:3000"},
	} {
		if err := Run(context.Background(), o); !errors.Is(err, ErrOptions) {
			t.Errorf("Run(%+v) = %v, want an error wrapping ErrOptions", o, err)
		}
	}
}

func TestParseSource(t *testing.T) {
	tests := []struct {
		raw                string
		origin, bin, token string
	}{
		{"https://hooks.example.com/bins/abc", "https://hooks.example.com", "abc", ""},
		{"https://hooks.example.com/bins/abc/", "https://hooks.example.com", "abc", ""},
		{"https://hooks.example.com/b/abc", "https://hooks.example.com", "abc", ""},
		{"https://hooks.example.com/b/abc/stripe/x?y=1", "https://hooks.example.com", "abc", ""},
		{"http://127.0.0.1:8080/api/bins/abc/events?token=t1", "http://127.0.0.1:8080", "abc", "t1"},
		{"https://example.com/tailhook/bins/a%20b", "https://example.com/tailhook", "a b", ""},
		{"https://example.com/bins/abc#requests", "https://example.com", "abc", ""},
	}
	for _, tt := range tests {
		s, err := parseSource(tt.raw)
		if err != nil || s.origin != tt.origin || s.bin != tt.bin || s.token != tt.token {
			t.Errorf("parseSource(%q) = %+v, %v; want %s %s %s", tt.raw, s, err, tt.origin, tt.bin, tt.token)
		}
	}
	if s, _ := parseSource("https://example.com/tailhook/bins/a%20b"); s.eventsURL() != "https://example.com/tailhook/api/bins/a%20b/events" {
		t.Errorf("eventsURL = %s", s.eventsURL())
	}
	for _, raw := range []string{"", "example.com/bins/abc", "https://example.com/", "https://example.com/bins", "https://example.com/b/", "mailto:x@example.com", "https:///bins/abc"} {
		if s, err := parseSource(raw); err == nil {
			t.Errorf("parseSource(%q) = %+v, want an error", raw, s)
		}
	}
}

// TestRelayHeaderList: the relay sends header_list's lines in their order
// and spelling, each value's exact bytes (the base64 third element for one
// that is not UTF-8, which "headers" can only show as U+FFFD).
func TestRelayHeaderList(t *testing.T) {
	checkGoroutines(t)
	bin := newFakeBin()
	srv := startServer(t, bin, "")
	got := make(chan []rawhead.Field, 1)
	tg := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got <- rawhead.Take(r.Context(), r.Method, r.RequestURI)
	}))
	tg.Listener = rawhead.Listen(tg.Listener)
	tg.Config.ConnContext = rawhead.ConnContext
	tg.Start()
	defer tg.Close()
	rr := startRelay(t, Options{URL: srv.URL + "/bins/abc", To: tg.URL, FromSeq: LiveOnly})
	waitFor(t, "the relay to connect", func() bool { return len(bin.connections()) == 1 })
	raw := "caf\xe9"
	bin.publish(capture{
		Method: "POST", Path: "/h",
		Headers: map[string][]string{"Zeta": {"1"}, "X-Github-Event": {"push"}, "Alpha": {"\ufffd"}, "Host": {"h"}, "Content-Length": {"2"}},
		HeaderList: [][]string{{"Host", "h"}, {"Zeta", "1"}, {"x-github-event", "push"},
			{"Alpha", "caf\ufffd", base64.StdEncoding.EncodeToString([]byte(raw))}, {"Content-Length", "2"}},
	}, []byte("{}"))
	var fields []rawhead.Field
	select {
	case fields = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery")
	}
	rr.stop(t)
	var lines []string
	for _, f := range fields {
		lines = append(lines, f.Name+": "+f.Value)
	}
	want := []string{"Host: " + strings.TrimPrefix(tg.URL, "http://"), "Zeta: 1", "x-github-event: push", "Alpha: " + raw, "Content-Length: 2"}
	if !slices.Equal(lines, want) {
		t.Fatalf("relayed:\n%q\nwant:\n%q", lines, want)
	}
}

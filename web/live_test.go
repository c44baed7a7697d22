package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailhook-dev/tailhook/storage"
)

// sseEvent is one parsed frame of an event stream.
type sseEvent struct {
	ID, Event, Data string
	DataLines       int
	Comment         string
}

// sseStream reads frames of a live stream on a goroutine of its own.
type sseStream struct {
	t      testing.TB
	res    *http.Response
	cancel context.CancelFunc
	events chan sseEvent
	done   chan error
}

// openStream connects to an event stream and checks its headers.
func openStream(t testing.TB, client *http.Client, url string, header http.Header) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if client == nil {
		client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	}
	res, err := client.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", url, err)
	}
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		cancel()
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "X-Accel-Buffering": "no", "Cache-Control": "no-store"} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("stream header %s = %q, want %q", k, got, want)
		}
	}
	s := &sseStream{t: t, res: res, cancel: cancel, events: make(chan sseEvent, 100000), done: make(chan error, 1)}
	go s.read()
	t.Cleanup(s.close)
	return s
}

func (s *sseStream) read() {
	defer close(s.events)
	r := bufio.NewReaderSize(s.res.Body, 1<<20)
	var ev sseEvent
	any := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			s.done <- err
			return
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if any {
				s.events <- ev
			}
			ev, any = sseEvent{}, false
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			ev.Comment, any = value, true
		case "id":
			ev.ID, any = value, true
		case "event":
			ev.Event, any = value, true
		case "data":
			if ev.DataLines > 0 {
				ev.Data += "\n"
			}
			ev.Data += value
			ev.DataLines++
			any = true
		case "retry":
		default:
			s.t.Errorf("unexpected stream line %q", line)
		}
	}
}

// next returns the next event that has data: like EventSource, it passes
// over comments and frames that only move the resume position (an id).
func (s *sseStream) next(timeout time.Duration) sseEvent {
	s.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.t.Fatalf("stream ended: %v", <-s.done)
			}
			if ev.DataLines == 0 {
				continue
			}
			return ev
		case <-deadline:
			s.t.Fatalf("no event within %v", timeout)
		}
	}
}

func (s *sseStream) close() {
	s.cancel()
	s.res.Body.Close()
}

// capture sends one request to a bin and returns its seq.
func (a *testApp) capture(binID, path, body string) int64 {
	a.t.Helper()
	res := a.do("POST", "/b/"+binID+path, "", http.Header{"Content-Type": {"application/json"}}, body)
	if res.StatusCode != http.StatusOK {
		a.t.Fatalf("capture: %d %s", res.StatusCode, res.body)
	}
	var out struct{ ID string }
	json.Unmarshal(res.body, &out)
	seq, err := storage.ParseRequestID(out.ID)
	if err != nil {
		a.t.Fatalf("capture answered %s", res.body)
	}
	return seq
}

func eventsURL(a *testApp, b createdBin) string {
	return a.ts.URL + "/api/bins/" + b.ID + "/events?token=" + b.Token
}

func mustSeq(t testing.TB, ev sseEvent) int64 {
	t.Helper()
	n, err := strconv.ParseInt(ev.ID, 10, 64)
	if err != nil {
		t.Fatalf("event id %q is not a seq", ev.ID)
	}
	return n
}

func TestEventsFrameIsContractJSON(t *testing.T) {
	a := newTestApp(t)
	b := a.newBin()
	s := openStream(t, nil, a.ts.URL+"/api/bins/"+b.ID+"/events", http.Header{"Authorization": {"Bearer " + b.Token}})
	a.capture(b.ID, "/x?y=1", "{\"multi\":\n\"line\u2028\"}")
	ev := s.next(2 * time.Second)
	if ev.Event != "request" || ev.ID != "1" || ev.DataLines != 1 {
		t.Fatalf("frame: event=%q id=%q data lines=%d", ev.Event, ev.ID, ev.DataLines)
	}
	var got, want map[string]any
	if err := json.Unmarshal([]byte(ev.Data), &got); err != nil {
		t.Fatalf("data is not JSON: %v: %s", err, ev.Data)
	}
	a.getJSON("/api/bins/"+b.ID+"/requests/req_1", b.Token, &want)
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Errorf("event data differs from GET …/requests/req_1:\n got %s\nwant %s", gj, wj)
	}
	if got["body_text"] != "{\"multi\":\n\"line\u2028\"}" || got["path"] != "/x" || got["query"] != "y=1" {
		t.Errorf("event data: %s", ev.Data)
	}
}

func TestEventsAuthAndStreamChoice(t *testing.T) {
	a := newTestApp(t)
	b, other := a.newBin(), a.newBin()
	for _, url := range []string{
		"/api/bins/" + b.ID + "/events",
		"/api/bins/" + b.ID + "/events?token=" + other.Token,
		"/api/bins/nope/events?token=" + b.Token,
	} {
		if res := a.do("GET", url, "", nil, ""); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", url, res.StatusCode)
		}
	}
	// The client's ?stream= must not choose another bin's stream.
	s := openStream(t, nil, eventsURL(a, b)+"&stream="+other.ID, nil)
	a.capture(other.ID, "/other", "{}")
	a.capture(b.ID, "/mine", "{}")
	ev := s.next(2 * time.Second)
	if !strings.Contains(ev.Data, `"bin":"`+b.ID+`"`) {
		t.Fatalf("got another bin's event: %s", ev.Data)
	}
}

func TestEventsResumeFromDatabase(t *testing.T) {
	a := newTestApp(t)
	b := a.newBin()
	for range 3 {
		a.capture(b.ID, "", "{}")
	}
	check := func(name string, s *sseStream, want ...int64) {
		t.Helper()
		for _, w := range want {
			if got := mustSeq(t, s.next(2*time.Second)); got != w {
				t.Fatalf("%s: got seq %d, want %d", name, got, w)
			}
		}
	}
	header := openStream(t, nil, eventsURL(a, b), http.Header{"Last-Event-Id": {"1"}})
	query := openStream(t, nil, eventsURL(a, b)+"&last_event_id=2", nil)
	live := openStream(t, nil, eventsURL(a, b), nil)
	junk := openStream(t, nil, eventsURL(a, b), http.Header{"Last-Event-Id": {"abc"}})
	future := openStream(t, nil, eventsURL(a, b), http.Header{"Last-Event-Id": {"999"}})
	check("Last-Event-ID: 1", header, 2, 3)
	check("?last_event_id=2", query, 3)
	a.capture(b.ID, "", "{}")
	check("Last-Event-ID: 1", header, 4)
	check("?last_event_id=2", query, 4)
	check("no Last-Event-ID", live, 4)
	check("non-numeric Last-Event-ID", junk, 4)
	check("Last-Event-ID beyond the newest", future, 4)
	// Nothing repeated: the next event is the next capture.
	a.capture(b.ID, "", "{}")
	check("Last-Event-ID: 1", header, 5)
}

// TestEventsResumeUnderLoad reconnects again and again while captures keep
// coming: every seq arrives exactly once, in order.
func TestEventsResumeUnderLoad(t *testing.T) {
	a := newTestApp(t)
	b := a.newBin()
	const total = 300
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range total {
			a.capture(b.ID, "/"+strconv.Itoa(i), `{"i":`+strconv.Itoa(i)+`}`)
			if i%7 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	var last int64
	for conn := 0; last < total; conn++ {
		h := http.Header{}
		if last > 0 {
			h.Set("Last-Event-ID", strconv.FormatInt(last, 10))
		} else {
			h.Set("Last-Event-ID", "0")
		}
		s := openStream(t, nil, eventsURL(a, b), h)
		for n := 0; n < 1+conn%23 && last < total; n++ {
			seq := mustSeq(t, s.next(5*time.Second))
			if seq != last+1 {
				t.Fatalf("connection %d: got seq %d after %d", conn, seq, last)
			}
			last = seq
		}
		s.close()
	}
	wg.Wait()
}

// startAppAt runs the app on a database file of the caller's; stop shuts it
// down the way tailhook serve does, and may be called more than once.
func startAppAt(t *testing.T, path string) (a *testApp, stop func()) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := storage.Open(context.Background(), path, storage.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(context.Background(), Config{MaxBody: 1 << 20, Version: "test"}, db, log)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Config.RegisterOnShutdown(srv.Close)
	ts.Start()
	a = &testApp{t: t, db: db, hub: srv.hub, srv: srv, ts: ts}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			if err := ts.Config.Shutdown(ctx); err != nil {
				t.Errorf("shutdown with open streams: %v", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("shutdown took %v: streams did not end", d)
			}
			srv.Close()
			ts.Close()
			db.Close()
		})
	}
	t.Cleanup(stop)
	return a, stop
}

func TestEventsResumeAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "restart.db")
	a, stop := startAppAt(t, path)
	b := a.newBin()
	s := openStream(t, nil, eventsURL(a, b), nil)
	a.capture(b.ID, "/before", "{}")
	last := mustSeq(t, s.next(2*time.Second))

	stop() // the stream must end with the server
	select {
	case _, ok := <-s.events:
		for ok {
			_, ok = <-s.events
		}
	case <-time.After(2 * time.Second):
		t.Fatal("stream still open after shutdown")
	}

	a2, _ := startAppAt(t, path)
	a2.capture(b.ID, "/while-away-1", "{}")
	a2.capture(b.ID, "/while-away-2", "{}")
	s2 := openStream(t, nil, a2.ts.URL+"/api/bins/"+b.ID+"/events?token="+b.Token,
		http.Header{"Last-Event-ID": {strconv.FormatInt(last, 10)}})
	a2.capture(b.ID, "/after", "{}")
	for _, want := range []string{"/while-away-1", "/while-away-2", "/after"} {
		ev := s2.next(2 * time.Second)
		if !strings.Contains(ev.Data, `"path":"`+want+`"`) {
			t.Fatalf("after restart: want %s, got id %s %.80s", want, ev.ID, ev.Data)
		}
	}
}

// TestStalledClientDoesNotDelay: a client that never reads is cut off; the
// capture path and a healthy client carry on at full speed.
func TestStalledClientDoesNotDelay(t *testing.T) {
	a := newTestApp(t)
	a.srv.liveWriteTimeout = 200 * time.Millisecond
	b := a.newBin()

	// The stalled client: sends its request, then never reads.
	conn, err := net.Dial("tcp", a.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET /api/bins/%s/events?token=%s HTTP/1.1\r\nHost: x\r\n\r\n", b.ID, b.Token)
	healthy := openStream(t, nil, eventsURL(a, b), nil)
	eventually(t, 5*time.Second, "both clients connected", func() bool { return a.hub.subscribers(b.ID) == 2 })

	const n = 300
	body := `{"pad":"` + strings.Repeat("x", 32<<10) + `"}`
	var slowest time.Duration
	start := time.Now()
	for range n {
		t0 := time.Now()
		a.capture(b.ID, "/load", body)
		slowest = max(slowest, time.Since(t0))
	}
	elapsed := time.Since(start)
	for i := int64(1); i <= n; i++ {
		if got := mustSeq(t, healthy.next(5*time.Second)); got != i {
			t.Fatalf("healthy client: got seq %d, want %d", got, i)
		}
	}
	t.Logf("%d captures of 32 KiB in %v, slowest %v", n, elapsed, slowest)
	// A capture path that waited on the stalled viewer would wait out its
	// write timeout again and again: n of them take n × 200 ms = 60 s. The
	// bound is half that, far from any load's noise (a bound on the
	// slowest single capture was: an fsync alone can take a second on a
	// busy machine).
	if limit := time.Duration(n) * a.srv.liveWriteTimeout / 2; elapsed > limit {
		t.Errorf("%d captures took %v with a stalled viewer, over %v", n, elapsed, limit)
	}
	eventually(t, 5*time.Second, "stalled client cut off", func() bool { return a.hub.subscribers(b.ID) == 1 })
}

func TestHeartbeat(t *testing.T) {
	a := newTestApp(t)
	a.srv.heartbeat = 50 * time.Millisecond
	b := a.newBin()
	s := openStream(t, nil, eventsURL(a, b), nil)
	select {
	case ev := <-s.events:
		if ev.Comment == "" || ev.Data != "" {
			t.Fatalf("want a comment-only frame, got %+v", ev)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no heartbeat")
	}
}

// TestPageStreamSendsRows: the inspector's stream carries the same row the
// page renders, for its owner only.
func TestPageStreamSendsRows(t *testing.T) {
	a := newTestApp(t)
	owner, binID := a.browserBin("rows")
	s := openStream(t, owner, a.ts.URL+"/bins/"+binID+"/stream?last_event_id=0", nil)
	a.capture(binID, "/a?x=<b>", "{}")
	ev := s.next(2 * time.Second)
	if ev.Event != "request" || ev.ID != "1" {
		t.Fatalf("frame: %+v", ev)
	}
	if !strings.HasPrefix(ev.Data, `<li class="req" data-request-id="req_1"`) || strings.Contains(ev.Data, "<b>") {
		t.Fatalf("row: %s", ev.Data)
	}
	if res := a.do("GET", "/bins/"+binID+"/stream", "", nil, ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("stream without the owner's cookie: %d, want 404", res.StatusCode)
	}
}

// TestPageStreamsHearDeletes: deleting a request, or clearing the bin,
// tells every page showing the bin, filtered or not, so other tabs drop the
// rows too; the API's stream carries captures only.
func TestPageStreamsHearDeletes(t *testing.T) {
	a := newTestApp(t)
	owner, binID := a.browserBin("deletes")
	tab := openStream(t, owner, a.ts.URL+"/bins/"+binID+"/stream", nil)
	filtered := openStream(t, owner, a.ts.URL+"/bins/"+binID+"/stream?q=nothing-matches", nil)
	for range 2 {
		a.capture(binID, "/x", "{}")
	}
	for _, want := range []string{"1", "2"} {
		if ev := tab.next(2 * time.Second); ev.Event != "request" || ev.ID != want {
			t.Fatalf("capture event: %+v", ev)
		}
	}
	call := func(method, path string) {
		t.Helper()
		req, _ := http.NewRequest(method, a.ts.URL+path, nil)
		res, err := owner.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			t.Fatalf("%s %s: %d", method, path, res.StatusCode)
		}
	}
	call("DELETE", "/api/bins/"+binID+"/requests/req_1")
	call("DELETE", "/api/bins/"+binID+"/requests")
	for name, s := range map[string]*sseStream{"page": tab, "filtered page": filtered} {
		for _, want := range []string{"req_1", "*"} {
			ev := s.next(2 * time.Second)
			if ev.Event != "removed" || ev.Data != want || ev.ID != "" {
				t.Fatalf("%s: got %+v, want a removed event for %s without an id", name, ev, want)
			}
		}
	}
	// A page that resumes after the deletes sees no ghost: its first event
	// is the bin's deletion.
	resumed := openStream(t, owner, a.ts.URL+"/bins/"+binID+"/stream", http.Header{"Last-Event-ID": {"0"}})
	call("DELETE", "/api/bins/"+binID)
	for name, s := range map[string]*sseStream{"page": tab, "resumed page": resumed} {
		if ev := s.next(2 * time.Second); ev.Event != "removed" || ev.Data != "bin" {
			t.Fatalf("%s after the bin's deletion: %+v", name, ev)
		}
	}

	b := a.newBin()
	api := openStream(t, nil, eventsURL(a, b), nil)
	a.capture(b.ID, "/y", "{}")
	if ev := api.next(2 * time.Second); ev.Event != "request" {
		t.Fatalf("API stream: %+v", ev)
	}
	if res := a.do("DELETE", "/api/bins/"+b.ID+"/requests/req_1", b.Token, nil, ""); res.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", res.StatusCode)
	}
	// No removed event on the API stream: its next event is the next capture.
	a.capture(b.ID, "/z", "{}")
	if ev := api.next(2 * time.Second); ev.Event != "request" || ev.ID != "2" {
		t.Fatalf("API stream after a delete: %+v, want request 2", ev)
	}
}

// TestNoLeaksAfterClientsLeave: streams and goroutines go when clients go.
func TestNoLeaksAfterClientsLeave(t *testing.T) {
	a := newTestApp(t)
	b := a.newBin()
	owner, pageBin := a.browserBin("leaks")
	owner.Transport.(*http.Transport).DisableKeepAlives = true
	a.capture(b.ID, "", "{}") // warm up the capture path's goroutines
	runtime.GC()
	base := runtime.NumGoroutine()

	var streams []*sseStream
	for i := range 10 {
		streams = append(streams, openStream(t, nil, eventsURL(a, b), http.Header{"Last-Event-ID": {"0"}}))
		if i%2 == 0 {
			streams = append(streams, openStream(t, owner, a.ts.URL+"/bins/"+pageBin+"/stream", nil))
		}
	}
	a.capture(b.ID, "", "{}")
	a.capture(pageBin, "", "{}")
	for _, s := range streams {
		s.next(2 * time.Second)
		s.close()
	}
	eventually(t, 5*time.Second, "streams removed", func() bool {
		return a.hub.subscribers(b.ID) == 0 && a.hub.subscribers(pageBin) == 0
	})
	eventually(t, 5*time.Second, "goroutines back to "+strconv.Itoa(base), func() bool { return runtime.NumGoroutine() <= base })
}

// browserBin creates a bin the way a browser does and returns a client with
// that browser's cookie.
func (a *testApp) browserBin(name string) (*http.Client, string) {
	a.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{}, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	res, err := c.PostForm(a.ts.URL+"/bins", map[string][]string{"name": {name}})
	if err != nil {
		a.t.Fatal(err)
	}
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/bins/") {
		a.t.Fatalf("POST /bins: %d → %q", res.StatusCode, loc)
	}
	a.t.Cleanup(c.CloseIdleConnections)
	return c, strings.TrimPrefix(loc, "/bins/")
}

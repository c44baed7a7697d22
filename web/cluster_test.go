package web

// The cluster suite: several tailhook instances, each its own storage.DB
// and Server on a real listener, sharing one PostgreSQL schema (the
// contract's Scale-out). Clients are real HTTP and SSE clients; tests look
// inside an instance only to wait for a subscription and to shorten retry
// delays, and into PostgreSQL (as its superuser, pgtest.Admin) to find,
// kill and lock out listener connections. Every time bound asserted is the
// contract's: settings apply everywhere within 1 s, a stream ends (or
// recovers) within 2 s.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the admin connection

	"github.com/tailhook-dev/tailhook/forward"
	"github.com/tailhook-dev/tailhook/rawhead"
	"github.com/tailhook-dev/tailhook/storage"
	"github.com/tailhook-dev/tailhook/storage/pgtest"
)

// newInstance starts one instance on the shared database dsn, as
// newTestApp does on an SQLite file: its own storage.DB handle, Server and
// listener, closed when the test ends.
func newInstance(t testing.TB, dsn string, opts ...func(*Config, *storage.Options)) *testApp {
	t.Helper()
	cfg := Config{MaxBody: 1 << 20, RateLimit: 0, AllowPrivateForwarding: true, Version: "test"}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	sopts := storage.Options{Log: log}
	for _, o := range opts {
		o(&cfg, &sopts)
	}
	db, err := storage.Open(context.Background(), dsn, sopts)
	if err != nil {
		t.Fatal(err)
	}
	if !db.Shared() {
		t.Fatal("a postgres:// database is not Shared")
	}
	srv, err := New(context.Background(), cfg, db, log)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	return serveInstance(t, srv, db)
}

// serveInstance serves srv on a listener of its own, closing it and db
// when the test ends.
func serveInstance(t testing.TB, srv *Server, db *storage.DB) *testApp {
	t.Helper()
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Config.MaxHeaderBytes = 1 << 20
	ts.Listener = rawhead.Listen(ts.Listener)
	ts.Config.ConnContext = rawhead.ConnContext
	ts.Config.RegisterOnShutdown(srv.Close)
	ts.Start()
	t.Cleanup(func() {
		ts.CloseClientConnections()
		srv.Close()
		ts.Close()
		db.Close()
	})
	return &testApp{t: t, db: db, hub: srv.hub, srv: srv, ts: ts}
}

// newCluster starts n instances on one fresh schema.
func newCluster(t testing.TB, n int, opts ...func(*Config, *storage.Options)) (string, []*testApp) {
	t.Helper()
	dsn := pgtest.DSN(t)
	apps := make([]*testApp, n)
	for i := range apps {
		apps[i] = newInstance(t, dsn, opts...)
	}
	return dsn, apps
}

// capturePost sends a capture and returns its status and, for a 2xx, its
// seq. It is safe on any goroutine (it never fails the test itself).
func capturePost(c *http.Client, base, binID, path, body string) (status int, seq int64, err error) {
	res, err := c.Post(base+"/b/"+binID+path, "text/plain", strings.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, 0, err
	}
	if res.StatusCode/100 != 2 {
		return res.StatusCode, 0, nil
	}
	var out struct{ ID string }
	if err := json.Unmarshal(b, &out); err != nil {
		return res.StatusCode, 0, nil // a configured answer: no id
	}
	seq, _ = storage.ParseRequestID(out.ID)
	return res.StatusCode, seq, nil
}

// nextRequestSeq returns the seq of the stream's next "request" event,
// passing over other event types as a client must.
func nextRequestSeq(t testing.TB, s *sseStream, timeout time.Duration) int64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ev := s.next(time.Until(deadline))
		if ev.Event == "request" {
			return mustSeq(t, ev)
		}
	}
}

// expectSeqs reads captures from s and fails unless they are seq from
// through to, in order.
func expectSeqs(t testing.TB, name string, s *sseStream, from, to int64) {
	t.Helper()
	for want := from; want <= to; want++ {
		if got := nextRequestSeq(t, s, 10*time.Second); got != want {
			t.Fatalf("%s: got seq %d, want %d", name, got, want)
		}
	}
}

// 1. A capture taken by any instance is on every instance's streams,
// gap-free, in seq order, exactly once.
func TestClusterStreamsSeeEveryCapture(t *testing.T) {
	_, apps := newCluster(t, 2)
	a, b := apps[0], apps[1]
	bin := a.newBin()
	sa := openStream(t, nil, eventsURL(a, bin), nil)
	sb := openStream(t, nil, eventsURL(b, bin), nil)

	const total = 200
	// The first half one at a time, alternating; the second from four
	// senders at once, two per instance.
	for i := range total / 2 {
		app := apps[i%2]
		if st, _, err := capturePost(app.ts.Client(), app.ts.URL, bin.ID, "/seq", strconv.Itoa(i)); err != nil || st != 200 {
			t.Fatalf("capture %d: %d %v", i, st, err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	var next atomic.Int64
	for g := range 4 {
		app := apps[g%2]
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > total/2 {
					return
				}
				if st, _, err := capturePost(app.ts.Client(), app.ts.URL, bin.ID, "/burst", strconv.FormatInt(i, 10)); err != nil || st != 200 {
					errs <- fmt.Errorf("capture: %d %v", st, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	expectSeqs(t, "stream on A", sa, 1, total)
	expectSeqs(t, "stream on B", sb, 1, total)
	// Nothing repeated late: the next event of each is the next capture.
	if st, _, err := capturePost(b.ts.Client(), b.ts.URL, bin.ID, "/last", "x"); err != nil || st != 200 {
		t.Fatalf("last capture: %d %v", st, err)
	}
	expectSeqs(t, "stream on A", sa, total+1, total+1)
	expectSeqs(t, "stream on B", sb, total+1, total+1)
}

// 2. A client that read part of the stream from A resumes on B with
// Last-Event-ID and gets the rest, with no gap and no repeat.
func TestClusterResumeOnOtherInstance(t *testing.T) {
	_, apps := newCluster(t, 2)
	a, b := apps[0], apps[1]
	bin := a.newBin()
	sa := openStream(t, nil, eventsURL(a, bin), http.Header{"Last-Event-ID": {"0"}})
	for i := range 20 {
		app := apps[i%2]
		if st, _, err := capturePost(app.ts.Client(), app.ts.URL, bin.ID, "/first", strconv.Itoa(i)); err != nil || st != 200 {
			t.Fatalf("capture %d: %d %v", i, st, err)
		}
	}
	expectSeqs(t, "stream on A", sa, 1, 8)
	sa.close()

	// More captures on both while the client is away and as it reconnects.
	done := make(chan error, 1)
	go func() {
		for i := range 20 {
			app := apps[i%2]
			if st, _, err := capturePost(app.ts.Client(), app.ts.URL, bin.ID, "/more", strconv.Itoa(i)); err != nil || st != 200 {
				done <- fmt.Errorf("capture %d: %d %v", i, st, err)
				return
			}
		}
		done <- nil
	}()
	sb := openStream(t, nil, eventsURL(b, bin), http.Header{"Last-Event-ID": {"8"}})
	expectSeqs(t, "resumed on B", sb, 9, 40)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st, _, err := capturePost(a.ts.Client(), a.ts.URL, bin.ID, "/last", "x"); err != nil || st != 200 {
		t.Fatalf("last capture: %d %v", st, err)
	}
	expectSeqs(t, "resumed on B", sb, 41, 41)
}

// schemaOf is the schema a pgtest DSN points at (its search_path).
func schemaOf(t testing.TB, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	_, schema, ok := strings.Cut(u.Query().Get("options"), "search_path=")
	if !ok || schema == "" {
		t.Fatalf("no search_path in %s", dsn)
	}
	return schema
}

// openAdmin is a superuser pool on the test cluster.
func openAdmin(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", pgtest.Admin(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// listeners returns the backend pids of the connections LISTENing on the
// schema's channel (the last statement of a listener is its LISTEN until
// its first idle ping, 5 s after the last notification).
func listeners(t testing.TB, admin *sql.DB, schema string) map[int]bool {
	t.Helper()
	rows, err := admin.Query(`SELECT pid FROM pg_stat_activity WHERE query = $1`, `LISTEN "tailhook.`+schema+`"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	pids := map[int]bool{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids[pid] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return pids
}

// clusterWithListeners starts two instances on a fresh schema, one after
// the other so that each one's listener is known: pids[i] is the backend
// of apps[i]'s listener connection.
func clusterWithListeners(t *testing.T) (apps []*testApp, pids []int, admin *sql.DB, schema string) {
	t.Helper()
	dsn := pgtest.DSN(t)
	schema = schemaOf(t, dsn)
	admin = openAdmin(t)
	for i := range 2 {
		apps = append(apps, newInstance(t, dsn))
		eventually(t, 10*time.Second, fmt.Sprintf("instance %d's listener", i), func() bool {
			for pid := range listeners(t, admin, schema) {
				if !slices.Contains(pids, pid) {
					pids = append(pids, pid)
				}
			}
			return len(pids) == i+1
		})
	}
	return apps, pids, admin, schema
}

// terminate ends a backend of the test cluster and waits until it is gone.
func terminate(t testing.TB, admin *sql.DB, pid int) {
	t.Helper()
	var ok bool
	if err := admin.QueryRow(`SELECT pg_terminate_backend($1, 5000)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate backend %d: %v %v", pid, ok, err)
	}
}

// 3. The listener connection of A is killed while B takes captures: A's
// stream has every capture, in order, none later than 2 s after B
// acknowledged it, and A listens again.
func TestClusterListenerKilled(t *testing.T) {
	apps, pids, admin, schema := clusterWithListeners(t)
	a, b, pidA := apps[0], apps[1], pids[0]

	bin := b.newBin()
	sa := openStream(t, nil, eventsURL(a, bin), nil)
	const total, killAt = 150, 40
	acked := make([]time.Time, total+1)
	done := make(chan error, 1)
	go func() {
		for i := 1; i <= total; i++ {
			st, seq, err := capturePost(b.ts.Client(), b.ts.URL, bin.ID, "/burst", strconv.Itoa(i))
			if err != nil || st != 200 || seq != int64(i) {
				done <- fmt.Errorf("capture %d: %d seq %d %v", i, st, seq, err)
				return
			}
			acked[i] = time.Now()
			if i == killAt {
				var ok bool
				if err := admin.QueryRow(`SELECT pg_terminate_backend($1, 5000)`, pidA).Scan(&ok); err != nil || !ok {
					done <- fmt.Errorf("terminate A's listener (pid %d): %v %v", pidA, ok, err)
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		done <- nil
	}()
	received := make([]time.Time, total+1)
	for want := int64(1); want <= total; want++ {
		if got := nextRequestSeq(t, sa, 10*time.Second); got != want {
			t.Fatalf("stream on A: got seq %d, want %d", got, want)
		}
		received[want] = time.Now()
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var worst time.Duration
	var worstSeq int
	for i := 1; i <= total; i++ {
		if lag := received[i].Sub(acked[i]); lag > worst {
			worst, worstSeq = lag, i
		}
	}
	t.Logf("worst lag on A: %v (seq %d; listener killed after seq %d)", worst, worstSeq, killAt)
	if worst > 2*time.Second {
		t.Errorf("seq %d reached A's stream %v after B acknowledged it, want within 2 s", worstSeq, worst)
	}
	eventually(t, 10*time.Second, "A listening again", func() bool {
		pids := listeners(t, admin, schema)
		return len(pids) == 2 && !pids[pidA]
	})
	// Operators see it in /metrics.
	res, err := a.ts.Client().Get(a.ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	metrics, _ := io.ReadAll(res.Body)
	for _, m := range []string{"tailhook_cluster_listener_reconnects_total 1", "tailhook_cluster_events_received_total "} {
		if !strings.Contains(string(metrics), m) {
			t.Errorf("/metrics of A has no %q", m)
		}
	}
}

// 4. A long poll on A is answered by a capture on B.
func TestClusterWaitWokenByOtherInstance(t *testing.T) {
	_, apps := newCluster(t, 2)
	a, b := apps[0], apps[1]
	bin := a.newBin()
	type answer struct {
		status int
		body   []byte
		err    error
	}
	got := make(chan answer, 1)
	start := time.Now()
	go func() {
		req, _ := http.NewRequest("GET", a.ts.URL+"/api/bins/"+bin.ID+"/requests/wait?timeout=10s", nil)
		req.Header.Set("Authorization", "Bearer "+bin.Token)
		res, err := a.ts.Client().Do(req)
		if err != nil {
			got <- answer{err: err}
			return
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		got <- answer{res.StatusCode, body, err}
	}()
	eventually(t, 5*time.Second, "the wait subscribed on A", func() bool { return a.hub.subscribers(bin.ID) == 1 })
	if st, _, err := capturePost(b.ts.Client(), b.ts.URL, bin.ID, "/woken", "from B"); err != nil || st != 200 {
		t.Fatalf("capture on B: %d %v", st, err)
	}
	ans := <-got
	if ans.err != nil || ans.status != 200 {
		t.Fatalf("wait on A: %d %s %v after %v, want 200 with B's capture", ans.status, ans.body, ans.err, time.Since(start))
	}
	var m map[string]any
	json.Unmarshal(ans.body, &m)
	if m["id"] != "req_1" || m["path"] != "/woken" || m["body_text"] != "from B" {
		t.Fatalf("wait on A answered %s", ans.body)
	}
	t.Logf("woken %v after the call began", time.Since(start))
}

// arrival is one delivery the target saw.
type arrival struct {
	n      int // the capture's number (its body)
	status int // what the target answered
}

// 5. Auto-forward with captures spread over instances, a third joining
// halfway and a target that fails some first attempts: each capture is
// delivered successfully exactly once, the successes in seq order.
//
// Three ways: a burst, where each instance's worker always finds more to
// send; captures far enough apart that a worker runs out of jobs, gives
// its lease back and is kicked again between any two; and the same on a
// busy database, where giving a lease back takes 200 ms, so that the next
// capture's worker on the same instance asks for the lease before the last
// one's release has run. And a burst in independent mode: once each, in
// no particular order.
func TestClusterAutoForwardOncePerCapture(t *testing.T) {
	for name, fc := range map[string]forwardCase{
		"burst":             {total: 90, senders: 4, pace: 3 * time.Millisecond, mode: storage.ForwardInOrder},
		"paced":             {total: 24, senders: 1, pace: 80 * time.Millisecond, mode: storage.ForwardInOrder},
		"slow release":      {total: 24, senders: 1, pace: 80 * time.Millisecond, mode: storage.ForwardInOrder, slowRelease: true, retryEvery: 500 * time.Millisecond},
		"independent burst": {total: 90, senders: 4, pace: 3 * time.Millisecond, mode: storage.ForwardIndependent},
	} {
		t.Run(name, func(t *testing.T) { forwardAcrossInstances(t, fc) })
	}
}

// forwardCase is one way of TestClusterAutoForwardOncePerCapture: total
// captures from senders goroutines, each pausing pace after a capture.
// slowRelease makes every lease's release wait 200 ms in the database.
type forwardCase struct {
	total, senders int
	pace           time.Duration
	mode           string
	slowRelease    bool
	retryEvery     time.Duration // the retry delay; 0: the schedule's, 50 times shorter
}

// forwardAcrossInstances runs fc against two instances, then three.
func forwardAcrossInstances(t *testing.T, fc forwardCase) {
	total, senders, pace := fc.total, fc.senders, fc.pace
	old := retryDelay
	retryDelay = func(attempt int, res forward.Result, rnd func() float64) (time.Duration, bool) {
		d, ok := old(attempt, res, func() float64 { return 0.5 })
		if fc.retryEvery > 0 {
			return fc.retryEvery, ok
		}
		return d / 50, ok // 1 s → 20 ms
	}
	t.Cleanup(func() { retryDelay = old })

	var (
		mu       sync.Mutex
		arrivals []arrival
		tries    = map[int]int{}
	)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		n, err := strconv.Atoi(string(b))
		if err != nil {
			http.Error(w, "bad body", 400)
			return
		}
		mu.Lock()
		tries[n]++
		status := http.StatusNoContent
		if n%7 == 3 && tries[n] == 1 {
			status = http.StatusInternalServerError // retried
		}
		arrivals = append(arrivals, arrival{n, status})
		mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(target.Close)

	dsn, apps := newCluster(t, 2)
	if fc.slowRelease {
		schema := schemaOf(t, dsn)
		admin := openAdmin(t)
		for _, q := range []string{
			`CREATE FUNCTION ` + schema + `.slow_release() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.2); RETURN NULL; END $$`,
			`CREATE TRIGGER slow_release BEFORE DELETE ON ` + schema + `.delivery_leases FOR EACH STATEMENT EXECUTE FUNCTION ` + schema + `.slow_release()`,
		} {
			if _, err := admin.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	bin := apps[0].newBin()
	if res := apps[1].do("PUT", "/api/bins/"+bin.ID+"/forwarding", bin.Token, nil,
		`{"url":"`+target.URL+`/in","enabled":true,"mode":"`+fc.mode+`"}`); res.StatusCode != 200 {
		t.Fatalf("forwarding: %d %s", res.StatusCode, res.body)
	}
	// No instance has captured to the bin yet, so none has it cached without
	// forwarding: every capture below queues a delivery.

	var (
		seqMu sync.Mutex
		seqOf = map[int]int64{}
		next  atomic.Int64
	)
	send := func(apps []*testApp) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, senders)
		for range senders {
			wg.Go(func() {
				for {
					i := int(next.Add(1))
					if i > total || (len(apps) == 2 && i > total/2) {
						return
					}
					app := apps[i%len(apps)]
					st, seq, err := capturePost(app.ts.Client(), app.ts.URL, bin.ID, "/p", strconv.Itoa(i))
					if err != nil || st != 200 {
						errs <- fmt.Errorf("capture %d: %d %v", i, st, err)
						return
					}
					seqMu.Lock()
					seqOf[i] = seq
					seqMu.Unlock()
					time.Sleep(pace)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		next.Store(int64(len(seqOf))) // the sender that stopped at the half took a number
	}
	send(apps)
	apps = append(apps, newInstance(t, dsn)) // a third instance joins
	send(apps)
	if len(seqOf) != total {
		t.Fatalf("%d captures, want %d", len(seqOf), total)
	}

	delivered := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, a := range arrivals {
			if a.status/100 == 2 {
				n++
			}
		}
		return n
	}
	eventually(t, 30*time.Second, "every capture delivered", func() bool { return delivered() >= total })
	time.Sleep(1500 * time.Millisecond) // a late duplicate would come within a rescan or two
	mu.Lock()
	defer mu.Unlock()
	okCount := map[int]int{}
	var last int64
	failed, misordered := 0, 0
	for _, a := range arrivals {
		if a.status/100 != 2 {
			failed++
			continue
		}
		okCount[a.n]++
		seq := seqOf[a.n]
		if seq <= last && fc.mode == storage.ForwardInOrder {
			if misordered++; misordered <= 5 {
				t.Errorf("capture seq %d delivered after seq %d: not in capture order", seq, last)
			}
		}
		last = seq
	}
	for i := 1; i <= total; i++ {
		if okCount[i] != 1 {
			t.Errorf("capture %d (seq %d) delivered successfully %d times, want once", i, seqOf[i], okCount[i])
		}
	}
	if failed == 0 {
		t.Error("the target failed no attempt: nothing was retried")
	}
	t.Logf("%d arrivals, %d of them failed and retried", len(arrivals), failed)
}

// captureStatus is the status of a capture sent to app (the test fails on
// a transport error).
func captureStatus(t testing.TB, app *testApp, binID string) int {
	t.Helper()
	st, _, err := capturePost(app.ts.Client(), app.ts.URL, binID, "/s", "{}")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// appliesWithin sends captures to app until one is answered want, failing
// the test if that takes longer than within after since; then a few more
// must be answered want too (no instance goes back to the old setting).
func appliesWithin(t testing.TB, what string, app *testApp, binID string, want int, since time.Time, within time.Duration) {
	t.Helper()
	for {
		st := captureStatus(t, app, binID)
		if st == want {
			break
		}
		if time.Since(since) > within {
			t.Fatalf("%s: captures on the other instance still answered %d %v after the change, want %d within %v",
				what, st, time.Since(since).Round(time.Millisecond), want, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("%s: applied on the other instance %v after the change", what, time.Since(since).Round(time.Millisecond))
	for range 5 {
		if st := captureStatus(t, app, binID); st != want {
			t.Fatalf("%s: a later capture answered %d, want %d", what, st, want)
		}
	}
}

// 6. Settings changed through A apply to captures on B within 1 s: the
// response, the signature check, the bin's deletion (which also ends B's
// stream within 2 s, after a "deleted" event).
func TestClusterSettingsApplyWithinASecond(t *testing.T) {
	_, apps := newCluster(t, 2)
	a, b := apps[0], apps[1]
	bin := a.newBin()
	// B has the bin, with its default answer, in its cache.
	if st := captureStatus(t, b, bin.ID); st != 200 {
		t.Fatalf("first capture on B: %d", st)
	}

	res := a.do("PUT", "/api/bins/"+bin.ID+"/response", bin.Token, nil, `{"status":201,"body":"made"}`)
	if res.StatusCode != 200 {
		t.Fatalf("set response on A: %d %s", res.StatusCode, res.body)
	}
	appliesWithin(t, "response 201", b, bin.ID, 201, time.Now(), time.Second)

	// A scripted sequence is one sequence for the bin, whichever instance
	// takes each capture.
	res = a.do("PUT", "/api/bins/"+bin.ID+"/response", bin.Token, nil, `{"status":201,"sequence":[{"status":503,"times":3}]}`)
	if res.StatusCode != 200 {
		t.Fatalf("set sequence on A: %d %s", res.StatusCode, res.body)
	}
	var got []int
	for i := range 5 {
		got = append(got, captureStatus(t, apps[(i+1)%2], bin.ID))
	}
	if want := []int{503, 503, 503, 201, 201}; !slices.Equal(got, want) {
		t.Errorf("captures on B, A, B, A, B answered %v, want %v", got, want)
	}

	res = a.do("PUT", "/api/bins/"+bin.ID+"/signature", bin.Token, nil, `{"provider":"stripe","secret":"whsec_cluster","reject_invalid":true}`)
	if res.StatusCode != 200 {
		t.Fatalf("set signature on A: %d %s", res.StatusCode, res.body)
	}
	appliesWithin(t, "signature with reject_invalid", b, bin.ID, 401, time.Now(), time.Second)

	res = a.do("DELETE", "/api/bins/"+bin.ID+"/signature", bin.Token, nil, "")
	if res.StatusCode != 200 {
		t.Fatalf("delete signature on A: %d %s", res.StatusCode, res.body)
	}
	appliesWithin(t, "signature removed", b, bin.ID, 201, time.Now(), time.Second)

	sb := openStream(t, nil, eventsURL(b, bin), nil)
	res = a.do("DELETE", "/api/bins/"+bin.ID, bin.Token, nil, "")
	if res.StatusCode != 204 {
		t.Fatalf("delete bin on A: %d %s", res.StatusCode, res.body)
	}
	deleted := time.Now()
	ended := make(chan []sseEvent, 1)
	go func() {
		var got []sseEvent
		for ev := range sb.events {
			got = append(got, ev)
		}
		ended <- got
	}()
	appliesWithin(t, "bin deleted", b, bin.ID, 404, deleted, time.Second)
	select {
	case got := <-ended:
		t.Logf("stream on B ended %v after the deletion", time.Since(deleted).Round(time.Millisecond))
		if len(got) == 0 || got[len(got)-1].Event != "deleted" {
			t.Errorf("stream on B ended without a deleted event: %+v", got)
		}
	case <-time.After(2*time.Second - time.Since(deleted)):
		t.Fatal("stream on B still open 2 s after the bin was deleted on A")
	}
}

// 7. The rate limit holds per bin across instances: a burst against two
// instances gets the bin's burst plus the rate over the time it took, not
// twice that.
func TestClusterRateLimitIsShared(t *testing.T) {
	const rate = 10 // per second; burst 20
	_, apps := newCluster(t, 2, func(c *Config, _ *storage.Options) { c.RateLimit = rate })
	bin := apps[0].newBin()
	const total, senders = 160, 8
	var (
		accepted, limited atomic.Int64
		next              atomic.Int64
		wg                sync.WaitGroup
		missingRetry      atomic.Int64
	)
	errs := make(chan error, senders)
	start := time.Now()
	for g := range senders {
		app := apps[g%2]
		wg.Go(func() {
			for next.Add(1) <= total {
				res, err := app.ts.Client().Post(app.ts.URL+"/b/"+bin.ID+"/burst", "text/plain", strings.NewReader("x"))
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				switch res.StatusCode {
				case 200:
					accepted.Add(1)
				case 429:
					limited.Add(1)
					if res.Header.Get("Retry-After") == "" {
						missingRetry.Add(1)
					}
				default:
					errs <- fmt.Errorf("capture: %d", res.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// GCRA: the burst at once, then one per 1/rate; two captures of slack
	// for the edges of the measured time.
	limit := int64(2*rate + rate*elapsed.Seconds() + 2)
	t.Logf("%d accepted, %d limited in %v (at most %d allowed)", accepted.Load(), limited.Load(), elapsed.Round(time.Millisecond), limit)
	if accepted.Load() > limit {
		t.Errorf("%d captures accepted across two instances in %v, want at most %d: the limit is not shared", accepted.Load(), elapsed, limit)
	}
	if accepted.Load() < 2*rate {
		t.Errorf("%d captures accepted, want at least the burst of %d", accepted.Load(), 2*rate)
	}
	if missingRetry.Load() > 0 {
		t.Errorf("%d 429 answers without Retry-After", missingRetry.Load())
	}
	// Stored is what was accepted.
	var list struct {
		Requests []json.RawMessage `json:"requests"`
	}
	apps[1].getJSON("/api/bins/"+bin.ID+"/requests?limit=1000", bin.Token, &list)
	if int64(len(list.Requests)) != accepted.Load() {
		t.Errorf("%d requests stored, %d accepted", len(list.Requests), accepted.Load())
	}
}

// 8. Share links and browser sessions work through any instance: a share
// made on A opens on B, revoking it on A ends its stream on B within 2 s,
// and a browser's cookie from A is its session on B.
func TestClusterSharesAndSessions(t *testing.T) {
	_, apps := newCluster(t, 2)
	a, b := apps[0], apps[1]
	bin := a.newBin()
	res := a.do("POST", "/api/bins/"+bin.ID+"/shares", bin.Token, nil, `{"expires_in":"1h"}`)
	if res.StatusCode != 201 {
		t.Fatalf("create share on A: %d %s", res.StatusCode, res.body)
	}
	var share struct{ ID, URL string }
	json.Unmarshal(res.body, &share)
	if page := b.do("GET", "/s/"+share.ID, "", nil, ""); page.StatusCode != 200 {
		t.Fatalf("share page on B: %d", page.StatusCode)
	}
	ss := openStream(t, nil, b.ts.URL+"/s/"+share.ID+"/stream", nil)
	if st := captureStatus(t, a, bin.ID); st != 200 {
		t.Fatalf("capture on A: %d", st)
	}
	if ev := ss.next(5 * time.Second); ev.Event != "request" || ev.ID != "1" {
		t.Fatalf("share stream on B: %+v, want request 1", ev)
	}
	if res := a.do("DELETE", "/api/bins/"+bin.ID+"/shares/"+share.ID, bin.Token, nil, ""); res.StatusCode != 204 {
		t.Fatalf("revoke on A: %d %s", res.StatusCode, res.body)
	}
	revoked := time.Now()
	streamEnds(t, ss, 2*time.Second, "share stream on B after the revocation on A")
	t.Logf("share stream on B ended %v after the revocation on A", time.Since(revoked).Round(time.Millisecond))
	if page := b.do("GET", "/s/"+share.ID, "", nil, ""); page.StatusCode != 404 {
		t.Errorf("revoked share page on B: %d, want 404", page.StatusCode)
	}

	// A browser that created a bin on A (its cookie jar sends the cookie to
	// B too: cookies do not tell ports apart).
	owner, binID := a.browserBin("cluster")
	for _, path := range []string{"/bins/" + binID, "/api/bins/" + binID} {
		res, err := owner.Get(b.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("GET %s on B with A's session: %d", path, res.StatusCode)
		}
		if strings.HasPrefix(path, "/bins/") && !strings.Contains(string(body), `id="capture-url"`) {
			t.Errorf("GET %s on B with A's session: not the inspector", path)
		}
		if anon := b.do("GET", path, "", nil, ""); anon.StatusCode != 404 {
			t.Errorf("GET %s on B without a session: %d, want 404", path, anon.StatusCode)
		}
	}
	// The owner's page stream on B hears captures made on A, and deletes.
	ps := openStream(t, owner, b.ts.URL+"/bins/"+binID+"/stream", nil)
	if st := captureStatus(t, a, binID); st != 200 {
		t.Fatalf("capture on A: %d", st)
	}
	if ev := ps.next(5 * time.Second); ev.Event != "request" || ev.ID != "1" {
		t.Fatalf("page stream on B: %+v", ev)
	}
	del, _ := http.NewRequest("DELETE", a.ts.URL+"/api/bins/"+binID+"/requests/req_1", nil)
	dres, err := owner.Do(del)
	if err != nil {
		t.Fatal(err)
	}
	dres.Body.Close()
	if dres.StatusCode != 204 {
		t.Fatalf("delete request on A: %d", dres.StatusCode)
	}
	if ev := ps.next(5 * time.Second); ev.Event != "removed" || ev.Data != "req_1" {
		t.Fatalf("page stream on B after a delete on A: %+v", ev)
	}
}

// 9. Four instances starting at once on an empty schema all come up
// (each migration applied once, under its lock) with the same session key.
func TestClusterInstancesStartTogether(t *testing.T) {
	dsn := pgtest.DSN(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	const n = 4
	dbs := make([]*storage.DB, n)
	errs := make([]error, n)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-gate
			dbs[i], errs[i] = storage.Open(context.Background(), dsn, storage.Options{Log: log})
		})
	}
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
	if t.Failed() {
		for _, db := range dbs {
			if db != nil {
				db.Close()
			}
		}
		t.FailNow()
	}
	// The servers too start at once: each reads (or makes) the session key.
	apps := make([]*testApp, n)
	srvs := make([]*Server, n)
	gate = make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-gate
			srvs[i], errs[i] = New(context.Background(), Config{MaxBody: 1 << 20, Version: "test"}, dbs[i], log)
		})
	}
	close(gate)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			dbs[i].Close()
			t.Errorf("server %d: %v", i, errs[i])
			continue
		}
		apps[i] = serveInstance(t, srvs[i], dbs[i])
	}
	if t.Failed() {
		t.FailNow()
	}

	admin := openAdmin(t)
	schema := schemaOf(t, dsn)
	var applied, names int
	if err := admin.QueryRow(`SELECT count(*), count(DISTINCT name) FROM `+schema+`.migrations`).Scan(&applied, &names); err != nil {
		t.Fatal(err)
	}
	if applied == 0 || applied != names {
		t.Errorf("migrations table: %d rows for %d names", applied, names)
	}
	var keys int
	if err := admin.QueryRow(`SELECT count(*) FROM ` + schema + `.settings WHERE key = 'session_key'`).Scan(&keys); err != nil {
		t.Fatal(err)
	}
	if keys != 1 {
		t.Errorf("%d session keys stored, want 1", keys)
	}
	// One browser session, valid on every instance.
	owner, binID := apps[n-1].browserBin("together")
	for i, app := range apps {
		res, err := owner.Get(app.ts.URL + "/api/bins/" + binID)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("instance %d: the session from instance %d gets %d, want 200", i, n-1, res.StatusCode)
		}
	}
}

// Credentials changed while an instance's listener is down: the
// notifications are lost, yet B's share stream and its stream opened with
// the replaced token end within 2 s, as the contract says, not at the
// streams' periodic re-check (15 s).
func TestClusterCredentialChangesWhileListenerDown(t *testing.T) {
	apps, pids, admin, schema := clusterWithListeners(t)
	a, b := apps[0], apps[1]
	bin := a.newBin()
	res := a.do("POST", "/api/bins/"+bin.ID+"/shares", bin.Token, nil, `{}`)
	if res.StatusCode != 201 {
		t.Fatalf("create share on A: %d %s", res.StatusCode, res.body)
	}
	var share struct{ ID string }
	json.Unmarshal(res.body, &share)
	ss := openStream(t, nil, b.ts.URL+"/s/"+share.ID+"/stream", nil)
	ts := openStream(t, nil, eventsURL(b, bin), nil)

	// B's listener goes, and cannot come back while tailhook's role may
	// not open connections (the pools keep theirs): the revocation's and
	// the new token's notifications reach nobody on B.
	warmPool(t, admin, schema, a, bin, 8)
	lockOut(t, admin, 0)
	terminate(t, admin, pids[1])
	if res := a.do("DELETE", "/api/bins/"+bin.ID+"/shares/"+share.ID, bin.Token, nil, ""); res.StatusCode != 204 {
		t.Fatalf("revoke on A: %d %s", res.StatusCode, res.body)
	}
	if res := a.do("POST", "/api/bins/"+bin.ID+"/token", bin.Token, nil, ""); res.StatusCode != 200 {
		t.Fatalf("new token on A: %d %s", res.StatusCode, res.body)
	}
	changed := time.Now()
	time.Sleep(100 * time.Millisecond) // the notifications are gone
	lockOut(t, admin, -1)
	streamEnds(t, ss, 2*time.Second-time.Since(changed), "share stream on B, share revoked on A while B's listener was down")
	streamEnds(t, ts, 2*time.Second-time.Since(changed), "token stream on B, token replaced on A while B's listener was down")
	t.Logf("both streams on B ended %v after the changes on A", time.Since(changed).Round(time.Millisecond))
	if res := b.do("GET", "/api/bins/"+bin.ID+"/events?token="+bin.Token, "", nil, ""); res.StatusCode != 404 {
		t.Errorf("old token on B: %d, want 404", res.StatusCode)
	}
}

// lockOut sets how many connections tailhook's role may open (-1: no
// limit); the test restores it when it ends.
func lockOut(t *testing.T, admin *sql.DB, limit int) {
	t.Helper()
	if _, err := admin.Exec(fmt.Sprintf(`ALTER ROLE tailhook CONNECTION LIMIT %d`, limit)); err != nil {
		t.Fatal(err)
	}
	if limit >= 0 {
		t.Cleanup(func() { admin.Exec(`ALTER ROLE tailhook CONNECTION LIMIT -1`) })
	}
}

// A setting changed on A while B's listener is down, and stays down: its
// notification is lost, and B's captures still follow it within 1 s (B
// trusts a cached bin 750 ms at most).
func TestClusterSettingsWhileListenerDown(t *testing.T) {
	apps, pids, admin, schema := clusterWithListeners(t)
	a, b := apps[0], apps[1]
	bin := a.newBin()
	warmPool(t, admin, schema, a, bin, 8)
	warmPool(t, admin, schema, b, bin, 8)
	lockOut(t, admin, 0)
	terminate(t, admin, pids[1])
	// B has the bin with its default answer in its cache, fresh.
	if st := captureStatus(t, b, bin.ID); st != 200 {
		t.Fatalf("capture on B: %d", st)
	}
	// The signature check, unlike the answer (read with the bin's row in
	// the capture's transaction), comes from the cached bin.
	res := a.do("PUT", "/api/bins/"+bin.ID+"/signature", bin.Token, nil, `{"provider":"stripe","secret":"whsec_cluster","reject_invalid":true}`)
	if res.StatusCode != 200 {
		t.Fatalf("set signature on A: %d %s", res.StatusCode, res.body)
	}
	appliesWithin(t, "signature with reject_invalid, B not listening", b, bin.ID, 401, time.Now(), time.Second)
	if n := len(listeners(t, admin, schema)); n != 1 {
		t.Fatalf("%d listeners: B's came back during the test", n)
	}
}

// warmPool makes app's connection pool hold at least n connections: n
// requests that each need one wait for a lock on the bins table together,
// so the pool opens n, and keeps them idle afterwards.
func warmPool(t *testing.T, admin *sql.DB, schema string, app *testApp, bin createdBin, n int) {
	t.Helper()
	tx, err := admin.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`LOCK TABLE ` + schema + `.bins IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", app.ts.URL+"/api/bins/"+bin.ID, nil)
			req.Header.Set("Authorization", "Bearer "+bin.Token)
			if res, err := (&http.Client{Transport: &http.Transport{}}).Do(req); err == nil {
				res.Body.Close()
			}
		})
	}
	eventually(t, 10*time.Second, "requests waiting for the lock", func() bool {
		var waiting int
		admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%bins%'`).Scan(&waiting)
		return waiting >= n
	})
	tx.Rollback()
	wg.Wait()
}

// A token replaced on A ends the stream opened with it on B within 2 s.
func TestClusterTokenReplacedEndsStreams(t *testing.T) {
	_, apps := newCluster(t, 2)
	a, b := apps[0], apps[1]
	bin := a.newBin()
	s := openStream(t, nil, eventsURL(b, bin), nil)
	if res := a.do("POST", "/api/bins/"+bin.ID+"/token", bin.Token, nil, ""); res.StatusCode != 200 {
		t.Fatalf("new token on A: %d %s", res.StatusCode, res.body)
	}
	for _, ev := range streamEnds(t, s, 2*time.Second, "stream on B after the token was replaced on A") {
		if ev.Event == "request" {
			t.Errorf("event after the token was replaced: %+v", ev)
		}
	}
	if res := b.do("GET", "/api/bins/"+bin.ID+"/events?token="+bin.Token, "", nil, ""); res.StatusCode != 404 {
		t.Errorf("old token on B: %d, want 404", res.StatusCode)
	}
}

// A delivery retried by hand on B, while A holds the bin's delivery lease
// and waits for the job's scheduled retry (an hour away), is sent by A,
// though no one watches the bin anywhere. And a viewer's stream on B hears
// of the attempts A makes, though no one watches on A.
func TestClusterDeliveryRetriedOnOtherInstance(t *testing.T) {
	old := retryDelay
	retryDelay = func(attempt int, res forward.Result, rnd func() float64) (time.Duration, bool) {
		_, ok := old(attempt, res, rnd)
		return time.Hour, ok
	}
	t.Cleanup(func() { retryDelay = old })
	var (
		mu       sync.Mutex
		statuses []int
	)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		status := http.StatusNoContent
		if len(statuses) == 0 {
			status = http.StatusInternalServerError
		}
		statuses = append(statuses, status)
		mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(target.Close)
	arrived := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(statuses)
	}

	_, apps := newCluster(t, 2)
	a, b := apps[0], apps[1]
	bin := a.newBin()
	if res := a.do("PUT", "/api/bins/"+bin.ID+"/forwarding", bin.Token, nil, `{"url":"`+target.URL+`/in","enabled":true}`); res.StatusCode != 200 {
		t.Fatalf("forwarding: %d %s", res.StatusCode, res.body)
	}
	if st := captureStatus(t, a, bin.ID); st != 200 {
		t.Fatalf("capture on A: %d", st)
	}
	eventually(t, 10*time.Second, "the first attempt", func() bool { return arrived() == 1 })
	eventually(t, 10*time.Second, "the failed attempt recorded", func() bool {
		var req struct {
			Delivery struct {
				State    string `json:"state"`
				Attempts int    `json:"attempts"`
			} `json:"delivery"`
		}
		b.getJSON("/api/bins/"+bin.ID+"/requests/req_1", bin.Token, &req)
		return req.Delivery.State == "pending" && req.Delivery.Attempts == 1
	})

	if res := b.do("POST", "/api/bins/"+bin.ID+"/requests/req_1/delivery/retry", bin.Token, nil, ""); res.StatusCode != 200 {
		t.Fatalf("retry on B: %d %s", res.StatusCode, res.body)
	}
	eventually(t, 10*time.Second, "the delivery retried by hand on B sent", func() bool { return arrived() == 2 })

	// A viewer on B hears of the attempts A makes, though none watches on A.
	viewer := openStream(t, nil, eventsURL(b, bin), nil)
	if st := captureStatus(t, a, bin.ID); st != 200 {
		t.Fatalf("capture on A: %d", st)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ev := viewer.next(time.Until(deadline))
		if ev.Event == "forward" && strings.Contains(ev.Data, `"seq":2`) && strings.Contains(ev.Data, `"state":"delivered"`) {
			break
		}
	}
}

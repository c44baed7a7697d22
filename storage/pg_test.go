package storage

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tailhook-dev/tailhook/storage/pgtest"
)

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE x = ? AND y = ?`, `SELECT a FROM t WHERE x = $1 AND y = $2`},
		{`SELECT '?', "a?b" FROM t WHERE x = ?`, `SELECT '?', "a?b" FROM t WHERE x = $1`},
		{"-- what? why?\nSELECT ?", "-- what? why?\nSELECT $1"},
		{`SELECT 'it''s ?' , ?`, `SELECT 'it''s ?' , $1`},
		{`SELECT 'unterminated ?`, `SELECT 'unterminated ?`},
		{`IN (?,?,?)`, `IN ($1,$2,$3)`},
		{`x = ?-- trailing?`, `x = $1-- trailing?`},
	} {
		if got := rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestBusEncoding(t *testing.T) {
	b := &bus{origin: "me"}
	events := []Event{
		{Kind: EventCaptured, Bin: "abc", Seq: 42},
		{Kind: "share-revoked", Bin: "abc", Ref: "sh1"},
		{Kind: EventBinChanged, Bin: "xyz"},
	}
	var payload string
	for _, e := range events {
		payload += b.encode(e)
	}
	if got := decodeEvents(payload, "other"); !slices.Equal(got, events) {
		t.Errorf("decoded %+v, want %+v", got, events)
	}
	if got := decodeEvents(payload, "me"); len(got) != 0 {
		t.Errorf("an instance hears its own events: %+v", got)
	}
	if got := decodeEvents("garbage\n\na b c\n", "me"); len(got) != 0 {
		t.Errorf("garbage decoded as %+v", got)
	}
}

// pgOnly skips a test of what only PostgreSQL has (several instances).
func pgOnly(t *testing.T) {
	t.Helper()
	if !onPostgres {
		t.Skip("several instances need PostgreSQL (the suite's PostgreSQL run has it)")
	}
}

// twoInstances opens the same PostgreSQL schema twice, as two tailhook
// instances would.
func twoInstances(t *testing.T, opts Options) (*DB, *DB, string) {
	t.Helper()
	dsn := pgtest.DSN(t)
	return mustOpenPath(t, dsn, opts), mustOpenPath(t, dsn, opts), dsn
}

func TestRateLimitAcrossInstances(t *testing.T) {
	pgOnly(t)
	clock := newFakeClock()
	a, b, _ := twoInstances(t, Options{Now: clock.Now})
	ctx := context.Background()
	bin := mustCreateBin(t, a, "", "")
	rate := Rate{PerSecond: 10, Burst: 5}
	accepted := 0
	var limited *RateLimitedError
	for i := range 12 {
		db := a
		if i%2 == 1 {
			db = b
		}
		_, err := db.Capture(ctx, Capture{Request: newRequest(bin.ID), Rate: rate})
		switch {
		case err == nil:
			accepted++
		case errors.As(err, &limited):
		default:
			t.Fatal(err)
		}
	}
	if accepted != rate.Burst {
		t.Errorf("accepted %d captures at once through two instances, want the burst, %d", accepted, rate.Burst)
	}
	if limited == nil || limited.RetryAfter <= 0 || limited.RetryAfter > 100*time.Millisecond {
		t.Errorf("rate limited error = %v, want a retry after ≤ 100 ms", limited)
	}
	clock.Advance(100 * time.Millisecond) // one interval: one more
	if _, err := b.Capture(ctx, Capture{Request: newRequest(bin.ID), Rate: rate}); err != nil {
		t.Errorf("after one interval: %v", err)
	}
	if _, err := a.Capture(ctx, Capture{Request: newRequest(bin.ID), Rate: rate}); !errors.As(err, &limited) {
		t.Errorf("second capture in that interval: %v, want rate limited", err)
	}
	got, err := a.Bin(ctx, bin.ID)
	if err != nil || got.Seq != int64(rate.Burst+1) {
		t.Errorf("bin seq = %d, %v; want %d (refused captures take no seq)", got.Seq, err, rate.Burst+1)
	}
}

func TestDeliveryLeaseOneInstanceAtATime(t *testing.T) {
	pgOnly(t)
	clock := newFakeClock()
	a, b, _ := twoInstances(t, Options{Now: clock.Now})
	ctx := context.Background()
	bin := mustCreateBin(t, a, "", "")
	if _, err := a.Capture(ctx, Capture{Request: newRequest(bin.ID), DeliverTo: "http://127.0.0.1:1/x"}); err != nil {
		t.Fatal(err)
	}
	mustLease := func(db *DB, want bool, when string) {
		t.Helper()
		got, err := db.LeaseDeliveries(ctx, bin.ID)
		if err != nil || got != want {
			t.Fatalf("%s: lease = %v, %v; want %v", when, got, err, want)
		}
	}
	mustLease(a, true, "first")
	mustLease(b, false, "while a holds it")
	mustLease(a, true, "a renews")
	if bins, err := b.PendingBins(ctx); err != nil || len(bins) != 0 {
		t.Errorf("b's pending bins while a holds the lease: %v, %v", bins, err)
	}
	// a's attempts are recorded, b's are not while a holds the lease.
	jobs, err := a.ClaimDeliveries(ctx, bin.ID, clock.Now(), false, 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v, %v", jobs, err)
	}
	att := Attempt{Delivery: jobs[0].Delivery, Forward: Forward{URL: jobs[0].URL, Status: 500, Attempt: 1, Auto: true}, State: DeliveryPending, Next: clock.Now()}
	if found, err := b.RecordAttempts(ctx, []Attempt{att}); err != nil || found[0] {
		t.Errorf("b recorded an attempt on a's lease: %v, %v", found, err)
	}
	if found, err := a.RecordAttempts(ctx, []Attempt{att}); err != nil || !found[0] {
		t.Errorf("a could not record its attempt: %v, %v", found, err)
	}
	// a dies: its lease expires and b takes over.
	clock.Advance(deliveryLeaseTTL + time.Second)
	if bins, err := b.PendingBins(ctx); err != nil || !slices.Equal(bins, []string{bin.ID}) {
		t.Errorf("b's pending bins once a's lease expired: %v, %v", bins, err)
	}
	mustLease(b, true, "after a's lease expired")
	mustLease(a, false, "a is back, b holds it")
	if err := b.ReleaseDeliveries(ctx, bin.ID); err != nil {
		t.Fatal(err)
	}
	mustLease(a, true, "after b released it")
}

func TestBusBetweenInstances(t *testing.T) {
	pgOnly(t)
	a, b, _ := twoInstances(t, Options{})
	ctx := context.Background()
	got := make(chan Event, 100)
	b.OnEvent(func(e Event) { got <- e })
	// The listener's first connect asks for a resync: wait for it, so
	// that b listens before a speaks.
	waitEvent(t, got, func(e Event) bool { return e.Kind == EventResync })
	bin := mustCreateBin(t, a, "", "")
	c, err := a.Capture(ctx, Capture{Request: newRequest(bin.ID)})
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, got, func(e Event) bool { return e.Kind == EventCaptured && e.Bin == bin.ID && e.Seq == c.Request.Seq })
	// A change of settings drops b's cached copy before b hears of it.
	if _, err := b.CachedBin(ctx, bin.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SetName(ctx, bin.ID, "renamed"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, got, func(e Event) bool { return e.Kind == EventBinChanged && e.Bin == bin.ID })
	if cb, ok := b.bins.get(bin.ID); ok {
		t.Errorf("b still caches %+v after the change", cb)
	}
	a.Announce(Event{Kind: "share-revoked", Bin: bin.ID, Ref: "s1"})
	waitEvent(t, got, func(e Event) bool { return e.Kind == "share-revoked" && e.Ref == "s1" })
}

func TestBusListenerReconnects(t *testing.T) {
	pgOnly(t)
	a, b, _ := twoInstances(t, Options{})
	got := make(chan Event, 1000)
	b.OnEvent(func(e Event) { got <- e })
	waitEvent(t, got, func(e Event) bool { return e.Kind == EventResync })
	admin, err := sql.Open("pgx", pgtest.Admin(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx := context.Background()
	var schema string
	if err := b.r.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	// Kill every LISTEN connection of this schema's channel.
	res, err := admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE query LIKE 'LISTEN%' AND query LIKE '%' || $1 || '%'`, schema)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatal("no listener connection found to kill")
	}
	start := time.Now()
	waitEvent(t, got, func(e Event) bool { return e.Kind == EventResync })
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("resync %s after the listener was killed, want within 2 s", took)
	}
	bin := mustCreateBin(t, a, "", "")
	c, err := a.Capture(ctx, Capture{Request: newRequest(bin.ID)})
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, got, func(e Event) bool { return e.Kind == EventCaptured && e.Seq == c.Request.Seq && e.Bin == bin.ID })
}

func waitEvent(t *testing.T, ch <-chan Event, match func(Event) bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-ch:
			if match(e) {
				return
			}
		case <-deadline:
			t.Fatal("event not received within 5 s")
		}
	}
}

func TestRefuseSynchronousCommitOff(t *testing.T) {
	pgOnly(t)
	dsn := pgtest.DSN(t) + "&options=-c%20synchronous_commit%3Doff"
	_, err := Open(context.Background(), dsn, Options{})
	if err == nil {
		t.Fatal("opened with synchronous_commit=off")
	}
	t.Log(err)
}

func TestFourInstancesStartAtOnce(t *testing.T) {
	pgOnly(t)
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	dbs := make([]*DB, 4)
	keys := make([][]byte, 4)
	errs := make([]error, 4)
	done := make(chan int)
	for i := range dbs {
		go func() {
			defer func() { done <- i }()
			if dbs[i], errs[i] = Open(ctx, dsn, Options{}); errs[i] != nil {
				return
			}
			keys[i], errs[i] = dbs[i].SettingOrInit(ctx, "session-key", func() []byte { return randBytes(32) })
		}()
	}
	for range dbs {
		<-done
	}
	for i, db := range dbs {
		if db != nil {
			t.Cleanup(func() { db.Close() })
		}
		if errs[i] != nil {
			t.Errorf("instance %d: %v", i, errs[i])
		}
	}
	for i := range keys {
		if string(keys[i]) != string(keys[0]) {
			t.Errorf("instance %d has another session key", i)
		}
	}
}

// TestBusDroppedEventsAskForResync: an instance that could not send an
// event makes the others resync with its next notification.
func TestBusDroppedEventsAskForResync(t *testing.T) {
	pgOnly(t)
	a, b, _ := twoInstances(t, Options{})
	got := make(chan Event, 100)
	b.OnEvent(func(e Event) { got <- e })
	waitEvent(t, got, func(e Event) bool { return e.Kind == EventResync })
	a.bus.dropped.Store(true) // as when a's queue overflowed
	a.Announce(Event{Kind: "removed", Bin: "x", Seq: 1})
	var kinds []string
	deadline := time.After(5 * time.Second)
	for len(kinds) < 2 {
		select {
		case e := <-got:
			kinds = append(kinds, e.Kind)
		case <-deadline:
			t.Fatalf("got %v, want a resync and the event", kinds)
		}
	}
	if !slices.Equal(kinds, []string{EventResync, "removed"}) {
		t.Errorf("got %v, want a resync, then the event", kinds)
	}
}

func TestStorageBudgetOnPostgres(t *testing.T) {
	pgOnly(t)
	db := mustOpenDB(t, Options{MaxStorage: 1 << 10}) // the empty schema alone is more
	bin := mustCreateBin(t, db, "", "")
	if _, err := db.Capture(context.Background(), Capture{Request: newRequest(bin.ID)}); !errors.Is(err, ErrStorageFull) {
		t.Errorf("capture over the budget: %v, want ErrStorageFull", err)
	}
	if used, budget := db.Space(); used <= budget || budget != 1<<10 {
		t.Errorf("Space() = %d, %d", used, budget)
	}
}

func TestChannelOf(t *testing.T) {
	if got := channelOf("t_1"); got != "tailhook.t_1" {
		t.Errorf("channelOf(t_1) = %q", got)
	}
	long := strings.Repeat("s", 63)
	if got := channelOf(long); len(got) > 63 || got == channelOf(long[:62]+"x") {
		t.Errorf("channelOf(63 bytes) = %q", got)
	}
}

func TestMissingSchemaIsOneClearLine(t *testing.T) {
	pgOnly(t)
	dsn := pgtest.DSN(t) + "&options=-c%20search_path%3Dno_such_schema"
	_, err := Open(context.Background(), dsn, Options{})
	if err == nil || !strings.Contains(err.Error(), "search_path") {
		t.Errorf("open with a missing schema: %v", err)
	}
}

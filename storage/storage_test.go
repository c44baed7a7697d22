package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestOpenAppliesMigrationsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub folder", "tail hook#1.db") // created, and escaped in the DSN
	ctx := context.Background()
	want, err := fs.Glob(migrationFS, "migrations/sqlite/*.sql")
	if err != nil || len(want) == 0 {
		t.Fatalf("embedded migrations: %v, %v", want, err)
	}

	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := mustCreateBin(t, db, "kept", "")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Re-opening must neither re-run a migration (CREATE TABLE would fail)
	// nor lose data.
	for range 2 {
		db = mustOpenPath(t, path, Options{})
		var names []string
		rows, err := db.r.QueryContext(ctx, `SELECT name FROM migrations ORDER BY name`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			names = append(names, n)
		}
		rows.Close()
		if len(names) != len(want) || names[0] != filepath.Base(want[0]) {
			t.Fatalf("migrations table = %v, want one row per file in %v", names, want)
		}
		if got, err := db.Bin(ctx, b.ID); err != nil || got.Name != "kept" {
			t.Fatalf("bin after re-open = %+v, %v", got, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A migration added in a later release applies to an existing database.
func TestOpenAppliesNewMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	ctx := context.Background()
	db := mustOpenPath(t, path, Options{})
	// Make the file look as if it predates 0002.
	for _, q := range []string{`DROP INDEX deliveries_pending_bin`, `DELETE FROM migrations WHERE name = '0002_deliveries_pending_bin.sql'`} {
		if _, err := db.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpenPath(t, path, Options{})
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'deliveries_pending_bin'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("index after re-open: %d, %v; want the migration applied", n, err)
	}
}

func TestOpenPragmas(t *testing.T) {
	sqliteOnly(t)
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	check := func(name string, q *sql.DB, pragma, want string) {
		t.Helper()
		var got string
		if err := q.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatalf("%s %s: %v", name, pragma, err)
		}
		if got != want {
			t.Errorf("%s: PRAGMA %s = %s, want %s", name, pragma, got, want)
		}
	}
	check("writer", db.w, "journal_mode", "wal")
	check("writer", db.w, "foreign_keys", "1")
	// NORMAL, plus the syncer's own fsync of the WAL after every commit and
	// before any acknowledgement: FULL's guarantee (see syncer_test.go).
	check("writer", db.w, "synchronous", "1")
	check("writer", db.w, "busy_timeout", "10000")
	check("reader", db.r, "query_only", "1")
	check("reader", db.r, "busy_timeout", "10000")
	if _, err := db.r.ExecContext(ctx, `DELETE FROM bins`); err == nil {
		t.Error("reader pool accepted a write")
	}
}

func TestCloseDrainsQueuedWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	db := mustOpenPath(t, path, Options{})
	b := mustCreateBin(t, db, "", "")

	release := blockWriter(t, db)
	const n = 50
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := db.Capture(context.Background(), Capture{Request: newRequest(b.ID)})
			errs <- err
		}()
	}
	waitQueued(t, db, n)

	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	for !db.closed.Load() { // Close has begun: new writes are refused from here on
		runtime.Gosched()
	}
	if _, err := db.Capture(context.Background(), Capture{Request: newRequest(b.ID)}); !errors.Is(err, ErrClosed) {
		t.Errorf("capture during Close: err = %v, want ErrClosed", err)
	}
	release()
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("queued capture: %v", err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := db.Capture(context.Background(), Capture{Request: newRequest(b.ID)}); !errors.Is(err, ErrClosed) {
		t.Errorf("capture after Close: err = %v, want ErrClosed", err)
	}
	if _, _, err := db.CreateBin(context.Background(), "", ""); !errors.Is(err, ErrClosed) {
		t.Errorf("create bin after Close: err = %v, want ErrClosed", err)
	}

	db = mustOpenPath(t, path, Options{})
	got, _, err := db.ListRequests(context.Background(), b.ID, ListOptions{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("after re-open: %d requests stored, want the %d drained ones", len(got), n)
	}
}

func TestConcurrentCaptures(t *testing.T) {
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	bins := []Bin{mustCreateBin(t, db, "a", ""), mustCreateBin(t, db, "b", ""), mustCreateBin(t, db, "c", "")}
	const goroutines, each = 32, 200

	var (
		mu   sync.Mutex
		seen = map[string]map[int64]bool{}
		wg   sync.WaitGroup
	)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				r := newRequest(bins[(g+i)%len(bins)].ID)
				r.Body = fmt.Appendf(nil, "g%d i%d", g, i)
				c, err := db.Capture(ctx, Capture{Request: r})
				if err != nil {
					t.Errorf("capture: %v", err)
					return
				}
				mu.Lock()
				if seen[r.BinID] == nil {
					seen[r.BinID] = map[int64]bool{}
				}
				if seen[r.BinID][c.Request.Seq] {
					t.Errorf("bin %s: seq %d handed out twice", r.BinID, c.Request.Seq)
				}
				seen[r.BinID][c.Request.Seq] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	total := 0
	for _, b := range bins {
		n := int64(len(seen[b.ID]))
		total += int(n)
		for s := int64(1); s <= n; s++ {
			if !seen[b.ID][s] {
				t.Errorf("bin %s: seq %d missing among 1…%d", b.ID, s, n)
			}
		}
		got, err := db.Bin(ctx, b.ID)
		if err != nil || got.Seq != n {
			t.Errorf("bin %s: Seq = %d, %v; want %d", b.ID, got.Seq, err, n)
		}
		var rows int64
		if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM requests WHERE bin_id = ?`, b.ID).Scan(&rows); err != nil || rows != n {
			t.Errorf("bin %s: %d rows (%v), want %d", b.ID, rows, err, n)
		}
	}
	if total != goroutines*each {
		t.Errorf("%d captures acknowledged, want %d", total, goroutines*each)
	}
	st := db.Stats()
	if st.Captures.Load() != goroutines*each {
		t.Errorf("Stats.Captures = %d, want %d", st.Captures.Load(), goroutines*each)
	}
	t.Logf("%d commits for %d ops, largest batch %d", st.Commits.Load(), st.Ops.Load(), st.MaxBatch.Load())
}

func TestDurableHookInSeqOrder(t *testing.T) {
	var (
		mu    sync.Mutex
		order = map[string][]int64{}
	)
	hook := func(r *Request) {
		mu.Lock()
		order[r.BinID] = append(order[r.BinID], r.Seq)
		mu.Unlock()
	}
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	bins := []Bin{mustCreateBin(t, db, "", ""), mustCreateBin(t, db, "", ""), mustCreateBin(t, db, "", ""), mustCreateBin(t, db, "", "")}
	const goroutines, each = 16, 100
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				c, err := db.Capture(ctx, Capture{Request: newRequest(bins[(g+i)%len(bins)].ID), Durable: hook})
				if err != nil {
					t.Errorf("capture: %v", err)
					return
				}
				// The hook has run by the time the capture is acknowledged,
				// so a live event is never behind the sender's 2xx.
				mu.Lock()
				got := order[c.Request.BinID]
				if len(got) < int(c.Request.Seq) || got[c.Request.Seq-1] != c.Request.Seq {
					t.Errorf("bin %s: seq %d acknowledged before the hook saw it", c.Request.BinID, c.Request.Seq)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	total := 0
	for _, b := range bins {
		got := order[b.ID]
		total += len(got)
		for i, s := range got {
			if s != int64(i+1) {
				t.Fatalf("bin %s: hook order %v…, want 1, 2, 3…", b.ID, got[:min(len(got), i+3)])
			}
		}
	}
	if total != goroutines*each {
		t.Errorf("hook called %d times, want %d", total, goroutines*each)
	}
}

func TestPingAndPath(t *testing.T) {
	sqliteOnly(t)
	db := mustOpenDB(t, Options{})
	if err := db.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if filepath.Base(db.Path()) != "tailhook.db" {
		t.Errorf("Path() = %q", db.Path())
	}
}

func TestPostgresPathHidesPassword(t *testing.T) {
	if got := redactDSN("postgres://tailhook:s3cret@db.example:5432/th?sslmode=require"); strings.Contains(got, "s3cret") || !strings.Contains(got, "db.example") {
		t.Errorf("redactDSN = %q", got)
	}
	if got := redactDSN("postgres://%zz"); strings.Contains(got, "%zz") {
		t.Errorf("redactDSN of a bad URL = %q", got)
	}
	_, err := Open(context.Background(), "postgres://tailhook:s3cret@127.0.0.1:1/th?connect_timeout=1", Options{})
	if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "\n") {
		t.Errorf("Open with an unreachable server: %q, want one line without the password", err)
	}
}

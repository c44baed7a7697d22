package storage

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tailhook-dev/tailhook/storage/pgtest"
)

// fakeClock is a settable clock for Options.Now: tests age data by moving it,
// never by sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mustOpenDB opens a fresh database and closes it when the test ends: an
// SQLite file in a temporary folder, or, when the suite runs on PostgreSQL
// (see TestMain), a schema of its own in a throwaway cluster. A test that
// needs to re-open the same SQLite file passes it via mustOpenPath.
func mustOpenDB(tb testing.TB, opts Options) *DB {
	tb.Helper()
	if onPostgres {
		return mustOpenPath(tb, pgtest.DSN(tb), opts)
	}
	return mustOpenPath(tb, filepath.Join(tb.TempDir(), "tailhook.db"), opts)
}

// onPostgres says this run of the suite is on PostgreSQL.
var onPostgres = os.Getenv(engineEnv) == "postgres"

const engineEnv = "TAILHOOK_TEST_ENGINE"

// sqliteOnly skips a test of SQLite's own machinery (the writer's batches,
// the WAL, the file) on the PostgreSQL run.
func sqliteOnly(tb testing.TB) {
	tb.Helper()
	if onPostgres {
		tb.Skip("tests SQLite's own machinery")
	}
}

// TestMain runs the storage suite twice: on SQLite, then again in a child
// process on PostgreSQL, so that both engines keep the same contract. The
// PostgreSQL run skips itself (fails with CI=true) where PostgreSQL is
// missing, through pgtest.
func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	if onPostgres || code != 0 {
		os.Exit(code)
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), engineEnv+"=postgres")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	fmt.Println("=== storage suite again, on PostgreSQL")
	if err := cmd.Run(); err != nil {
		fmt.Println("storage suite on PostgreSQL:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func mustOpenPath(tb testing.TB, path string, opts Options) *DB {
	tb.Helper()
	db, err := Open(context.Background(), path, opts)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return db
}

func mustCreateBin(tb testing.TB, db *DB, name, owner string) Bin {
	tb.Helper()
	b, _, err := db.CreateBin(context.Background(), name, owner)
	if err != nil {
		tb.Fatalf("create bin: %v", err)
	}
	return b
}

// newRequest is a plausible capture for binID; tests change what they check.
func newRequest(binID string) *Request {
	return &Request{
		BinID:      binID,
		Method:     "POST",
		Path:       "/hook",
		Query:      "a=1",
		Header:     http.Header{"Content-Type": {"application/json"}, "Host": {"localhost:8080"}},
		Body:       []byte(`{"ok":true}`),
		Size:       11,
		RemoteAddr: "127.0.0.1:5000",
		Proto:      "HTTP/1.1",
		ReceivedAt: time.Date(2026, 11, 27, 10, 0, 0, 123456000, time.UTC),
	}
}

// requestsAfter reads up to limit whole requests after seq after, as a live
// subscription catches up.
func requestsAfter(db *DB, ctx context.Context, binID string, after int64, limit int) ([]*Request, error) {
	reqs, _, err := db.Backlog(ctx, binID, after, Filter{}, limit)
	return reqs, err
}

// firstMatchAfter is the first request after seq after that passes f, or
// ErrNotFound: what the wait API answers.
func firstMatchAfter(db *DB, ctx context.Context, binID string, after int64, f Filter) (*Request, error) {
	reqs, _, err := db.Backlog(ctx, binID, after, f, 1)
	if err != nil {
		return nil, err
	}
	if len(reqs) == 0 {
		return nil, ErrNotFound
	}
	return reqs[0], nil
}

func mustCapture(tb testing.TB, db *DB, r *Request) Captured {
	tb.Helper()
	c, err := db.Capture(context.Background(), Capture{Request: r})
	if err != nil {
		tb.Fatalf("capture: %v", err)
	}
	return c
}

// captureMany captures n requests to binID from a few goroutines, so that
// group commit makes large fixtures cheap. Bodies are "body <i>".
func captureMany(tb testing.TB, db *DB, binID string, n int) {
	tb.Helper()
	const workers = 16
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				r := newRequest(binID)
				r.Body = []byte("body " + strconv.Itoa(i))
				if _, err := db.Capture(context.Background(), Capture{Request: r}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatalf("capture many: %v", err)
	}
}

// blockWriter parks the writer goroutine inside a write until release is
// called, so a test can queue ops that must all land in the next batch.
func blockWriter(tb testing.TB, db *DB) (release func()) {
	tb.Helper()
	running, unblock := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.write(context.Background(), func(*wtx) error {
			close(running)
			<-unblock
			return nil
		}, nil)
	}()
	<-running
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(unblock)
			if err := <-done; err != nil {
				tb.Errorf("blocking write: %v", err)
			}
		})
	}
	tb.Cleanup(release)
	return release
}

// waitQueued waits until n ops sit in the writer's queue. It polls a state,
// not the clock: nothing here ages data.
func waitQueued(tb testing.TB, db *DB, n int) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(db.ops) < n {
		if time.Now().After(deadline) {
			tb.Fatalf("queue has %d ops, want %d", len(db.ops), n)
		}
		runtime.Gosched()
	}
}

// seqs lists the seqs of rs, in order.
func seqs(rs []*Request) []int64 {
	s := make([]int64, len(rs))
	for i, r := range rs {
		s[i] = r.Seq
	}
	return s
}

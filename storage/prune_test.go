package storage

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The pruner deletes a backlog over the cap: here, bins filled before the
// cap was lowered (a restart with a smaller --max-requests, or a database
// from before captures deleted what they push over the cap).
func TestPruneMaxRequests(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tailhook.db")
	db := mustOpenPath(t, path, Options{})
	ctx := context.Background()
	big, small, huge := mustCreateBin(t, db, "", ""), mustCreateBin(t, db, "", ""), mustCreateBin(t, db, "", "")
	captureMany(t, db, big.ID, 25)
	captureMany(t, db, small.ID, 5)
	captureMany(t, db, huge.ID, deleteBatch+500) // needs more than one delete batch
	if err := db.DeleteRequest(ctx, big.ID, 20); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpenPath(t, path, Options{MaxRequests: 10})

	st, err := db.Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(15 + deleteBatch + 490); st.Requests != want || st.Bins != 0 {
		t.Errorf("Prune = %+v, want %d requests, 0 bins", st, want)
	}
	check := func(bin Bin, want []int64) {
		t.Helper()
		got, _, err := db.ListRequests(ctx, bin.ID, ListOptions{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqs(got), want) {
			t.Errorf("bin %s keeps %v, want %v", bin.Name, seqs(got), want)
		}
	}
	// The newest 10 by seq; 20 was deleted by hand, so 9 are left.
	check(big, []int64{25, 24, 23, 22, 21, 19, 18, 17, 16})
	check(small, []int64{5, 4, 3, 2, 1})
	hugeWant := make([]int64, 10)
	for i := range hugeWant {
		hugeWant[i] = int64(deleteBatch + 500 - i)
	}
	check(huge, hugeWant)

	if st, err := db.Prune(ctx); err != nil || st != (PruneStats{}) {
		t.Errorf("second Prune = %+v, %v; want nothing to do", st, err)
	}
	// Captures continue from where the bin was.
	if c := mustCapture(t, db, newRequest(big.ID)); c.Request.Seq != 26 {
		t.Errorf("next seq = %d, want 26", c.Request.Seq)
	}
}

func TestPruneRetention(t *testing.T) {
	clock := newFakeClock()
	db := mustOpenDB(t, Options{Now: clock.Now, Retention: 24 * time.Hour})
	ctx := context.Background()
	idle := mustCreateBin(t, db, "idle", "")
	active := mustCreateBin(t, db, "active", "")
	configured := mustCreateBin(t, db, "configured", "")
	captureMany(t, db, idle.ID, deleteBatch+5)
	if _, err := db.Capture(ctx, Capture{Request: newRequest(idle.ID), DeliverTo: "http://x"}); err != nil {
		t.Fatal(err)
	}
	mustCapture(t, db, newRequest(active.ID))

	clock.Advance(20 * time.Hour)
	mustCapture(t, db, newRequest(active.ID))
	if _, err := db.SetResponse(ctx, configured.ID, &Response{Status: 204}); err != nil {
		t.Fatal(err)
	}
	if st, err := db.Prune(ctx); err != nil || st.Bins != 0 {
		t.Fatalf("Prune at 20 h = %+v, %v; nothing is idle for 24 h yet", st, err)
	}

	clock.Advance(5 * time.Hour) // idle: 25 h; active and configured: 5 h
	st, err := db.Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Bins != 1 {
		t.Errorf("Prune = %+v, want 1 bin deleted", st)
	}
	if _, err := db.Bin(ctx, idle.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("idle bin: err = %v, want ErrNotFound", err)
	}
	var left int
	db.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM requests WHERE bin_id = ?) + (SELECT count(*) FROM deliveries)`, idle.ID).Scan(&left)
	if left != 0 {
		t.Errorf("%d rows of the idle bin left", left)
	}
	for _, b := range []Bin{active, configured} {
		if _, err := db.Bin(ctx, b.ID); err != nil {
			t.Errorf("bin %s was deleted: %v", b.Name, err)
		}
	}
	if got, _, _ := db.ListRequests(ctx, active.ID, ListOptions{}); len(got) != 2 {
		t.Errorf("active bin has %d requests, want 2", len(got))
	}
}

// A bin that retention is emptying, in batches, and that a capture wakes up
// halfway must keep what it still has.
func TestPruneStopsWhenBinWakesUp(t *testing.T) {
	clock := newFakeClock()
	db := mustOpenDB(t, Options{Now: clock.Now, Retention: time.Hour})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "", "")
	captureMany(t, db, bin.ID, 5)
	cutoff := clock.Now().Add(time.Minute).UnixMilli() // idle as of the cutoff

	if n, err := db.deleteOldest(ctx, bin.ID, 2, cutoff, deleteBatch, true); err != nil || n != 2 {
		t.Fatalf("idle batch deleted %d, %v; want 2", n, err)
	}
	clock.Advance(2 * time.Minute)
	mustCapture(t, db, newRequest(bin.ID)) // wakes the bin up
	if n, err := db.deleteOldest(ctx, bin.ID, 5, cutoff, deleteBatch, true); err != nil || n != 0 {
		t.Errorf("batch after the wake-up deleted %d, %v; want 0", n, err)
	}
	got, _, _ := db.ListRequests(ctx, bin.ID, ListOptions{})
	if !slices.Equal(seqs(got), []int64{6, 5, 4, 3}) {
		t.Errorf("left %v, want [6 5 4 3]", seqs(got))
	}
	if n, err := db.deleteOldest(ctx, "nosuchbin", 5, cutoff, deleteBatch, true); err != nil || n != 0 {
		t.Errorf("missing bin: %d, %v", n, err)
	}
}

// The background pruner runs on its own and stops with Close.
func TestPrunerRunsInBackground(t *testing.T) {
	db := mustOpenDB(t, Options{MaxRequests: 1, PruneEvery: time.Millisecond})
	bin := mustCreateBin(t, db, "", "")
	captureMany(t, db, bin.ID, 3)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _, err := db.ListRequests(context.Background(), bin.ID, ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 && got[0].Seq == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pruner left %v", seqs(got))
		}
		time.Sleep(time.Millisecond) // waiting for a goroutine, not ageing data
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

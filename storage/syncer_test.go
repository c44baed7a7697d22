package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCaptureWaitsForFsync checks the durability rule: Capture returns, and
// live listeners hear of a capture, only after an fsync of the WAL that
// began after its commit.
func TestCaptureWaitsForFsync(t *testing.T) {
	sqliteOnly(t)
	release := make(chan struct{})
	var syncs atomic.Int64
	var published atomic.Int64
	db := mustOpenDB(t, Options{
		syncWAL: func(path string) error {
			if filepath.Base(path) != "tailhook.db-wal" {
				t.Errorf("fsync of %s", path)
			}
			<-release
			syncs.Add(1)
			return nil
		},
	})
	ctx := context.Background()
	go func() { // CreateBin is acknowledged through the syncer too
		time.Sleep(20 * time.Millisecond)
		release <- struct{}{}
	}()
	bin, _, err := db.CreateBin(ctx, "b", "")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := db.Capture(ctx, Capture{Request: &Request{BinID: bin.ID, Method: "POST", Body: []byte("x")},
			Durable: func(*Request) { published.Add(1) }})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("capture acknowledged before its fsync (err %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	if published.Load() != 0 {
		t.Fatal("capture published before its fsync")
	}
	// Committed meanwhile: readers may see it, but nobody was told.
	if _, err := db.Request(ctx, bin.ID, 1); err != nil {
		t.Fatalf("committed row not readable: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if published.Load() != 1 || syncs.Load() < 2 {
		t.Fatalf("published %d, fsyncs %d", published.Load(), syncs.Load())
	}
}

// TestCaptureFailsWhenFsyncFails: a capture that may not be on disk is not
// acknowledged as stored.
func TestCaptureFailsWhenFsyncFails(t *testing.T) {
	sqliteOnly(t)
	var fail atomic.Bool
	db := mustOpenDB(t, Options{syncWAL: func(string) error {
		if fail.Load() {
			return errors.New("disk on fire")
		}
		return nil
	}})
	ctx := context.Background()
	bin, _, err := db.CreateBin(ctx, "b", "")
	if err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	_, err = db.Capture(ctx, Capture{Request: &Request{BinID: bin.ID, Method: "POST"}})
	if err == nil {
		t.Fatal("capture acknowledged although its fsync failed")
	}
	fail.Store(false)
	if _, err := db.Capture(ctx, Capture{Request: &Request{BinID: bin.ID, Method: "POST"}}); err != nil {
		t.Fatalf("capture after the disk recovered: %v", err)
	}
}

// TestWALFileSync exercises the real fsync path, including a WAL that is
// replaced under it.
func TestWALFileSync(t *testing.T) {
	sqliteOnly(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "x-wal")
	var w walFile
	defer w.close()
	if err := w.sync(path); err != nil {
		t.Fatalf("no WAL yet: %v", err)
	}
	if err := os.WriteFile(path, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.sync(path); err != nil || w.f == nil {
		t.Fatalf("sync: %v", err)
	}
	first := w.info
	os.Remove(path)
	if err := os.WriteFile(path, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.sync(path); err != nil {
		t.Fatal(err)
	}
	if os.SameFile(first, w.info) {
		t.Fatal("kept syncing the replaced file")
	}
}

// TestBackgroundWorkSkipsFsync: the pruner's deletes are acknowledged at
// commit, without an fsync of their own and without waiting for the fsync
// of a capture that is running.
func TestBackgroundWorkSkipsFsync(t *testing.T) {
	sqliteOnly(t)
	var block atomic.Bool
	release := make(chan struct{})
	var syncs atomic.Int64
	db := mustOpenDB(t, Options{syncWAL: func(string) error {
		syncs.Add(1)
		if block.Load() {
			<-release
		}
		return nil
	}})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the database closes, should the test fail
	ctx := context.Background()
	bin, _, err := db.CreateBin(ctx, "b", "")
	if err != nil {
		t.Fatal(err)
	}
	block.Store(true)
	before := syncs.Load()
	captured := make(chan error, 1)
	go func() {
		_, err := db.Capture(ctx, Capture{Request: &Request{BinID: bin.ID, Method: "POST"}})
		captured <- err
	}()
	for syncs.Load() == before { // the capture's fsync has started, and hangs
		time.Sleep(time.Millisecond)
	}
	pruned := make(chan error, 1)
	go func() {
		_, err := db.PruneShares(ctx)
		pruned <- err
	}()
	select {
	case err := <-pruned:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("background work waited for a capture's fsync")
	}
	if n := syncs.Load() - before; n != 1 {
		t.Errorf("%d fsyncs, want only the capture's", n)
	}
	select {
	case err := <-captured:
		t.Fatalf("capture acknowledged before its fsync ended (err %v)", err)
	default:
	}
	unblock()
	if err := <-captured; err != nil {
		t.Fatal(err)
	}
}

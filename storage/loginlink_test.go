package storage

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestLoginLinks(t *testing.T) {
	clock := newFakeClock()
	db := mustOpenDB(t, Options{Now: clock.Now})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "b", "")

	l, err := db.CreateLoginLink(ctx, bin.ID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateLoginLink(ctx, "nope", time.Minute); !errors.Is(err, ErrNotFound) {
		t.Errorf("link to a missing bin: %v", err)
	}
	// Only the hash is kept.
	var hash []byte
	if err := db.r.QueryRowContext(ctx, `SELECT hash FROM login_links`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(hash, []byte(l.Secret)) || !bytes.Equal(hash, hashToken(l.Secret)) {
		t.Errorf("stored %x for secret %q", hash, l.Secret)
	}
	if got, err := db.LoginLinkBin(ctx, l.Secret); err != nil || got.ID != bin.ID {
		t.Fatalf("LoginLinkBin = %v, %v", got.ID, err)
	}

	// Two browsers race with one link: exactly one gets the bin.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for _, browser := range []string{"b1", "b2", "b3"} {
		wg.Go(func() {
			id, err := db.UseLoginLink(ctx, l.Secret, browser)
			if err == nil && id == bin.ID {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, ErrNotFound) {
				t.Errorf("UseLoginLink: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d browsers used one link", wins)
	}
	n := 0
	for _, b := range []string{"b1", "b2", "b3"} {
		if ok, _ := db.BrowserHasBin(ctx, bin.ID, b); ok {
			n++
			bins, err := db.BinsByOwner(ctx, b)
			if err != nil || len(bins) != 1 || bins[0].ID != bin.ID {
				t.Errorf("BinsByOwner(%s) = %v, %v", b, bins, err)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d browsers have the bin", n)
	}
	if _, err := db.LoginLinkBin(ctx, l.Secret); !errors.Is(err, ErrNotFound) {
		t.Errorf("a used link: %v", err)
	}

	// Expired links answer not found, and go when the next link is made.
	l2, _ := db.CreateLoginLink(ctx, bin.ID, time.Minute)
	clock.Advance(time.Minute)
	if _, err := db.LoginLinkBin(ctx, l2.Secret); !errors.Is(err, ErrNotFound) {
		t.Errorf("an expired link: %v", err)
	}
	if _, err := db.UseLoginLink(ctx, l2.Secret, "b4"); !errors.Is(err, ErrNotFound) {
		t.Errorf("using an expired link: %v", err)
	}
	if _, err := db.CreateLoginLink(ctx, bin.ID, time.Minute); err != nil {
		t.Fatal(err)
	}
	var left int
	db.r.QueryRowContext(ctx, `SELECT count(*) FROM login_links`).Scan(&left)
	if left != 1 {
		t.Errorf("%d links left, want 1", left)
	}

	// Adding twice is fine; deleting the bin takes the access with it.
	if err := db.AddBrowser(ctx, bin.ID, "b5"); err != nil {
		t.Fatal(err)
	}
	if err := db.AddBrowser(ctx, bin.ID, "b5"); err != nil {
		t.Fatalf("second AddBrowser: %v", err)
	}
	if err := db.AddBrowser(ctx, "nope", "b5"); !errors.Is(err, ErrNotFound) {
		t.Errorf("AddBrowser of a missing bin: %v", err)
	}
	if err := db.DeleteBin(ctx, bin.ID); err != nil {
		t.Fatal(err)
	}
	db.r.QueryRowContext(ctx, `SELECT count(*) FROM bin_browsers`).Scan(&left)
	if left != 0 {
		t.Errorf("%d accesses left after the bin was deleted", left)
	}
}

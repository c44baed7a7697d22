package storage

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestShares(t *testing.T) {
	clock := newFakeClock()
	db := mustOpenDB(t, Options{Now: clock.Now})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "", "")
	other := mustCreateBin(t, db, "", "")

	s, err := db.CreateShare(ctx, bin.ID, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ID) < 32 || s.BinID != bin.ID || !s.ExpiresAt.Equal(clock.Now().Add(24*time.Hour)) {
		t.Fatalf("share = %+v", s)
	}
	got, err := db.Share(ctx, s.ID)
	if err != nil || got != s {
		t.Fatalf("Share = %+v, %v; want %+v", got, err, s)
	}
	if _, err := db.CreateShare(ctx, "nope", time.Hour); !errors.Is(err, ErrNotFound) {
		t.Errorf("share of a missing bin: %v", err)
	}

	t.Run("listed newest first", func(t *testing.T) {
		clock.Advance(time.Second)
		s2, err := db.CreateShare(ctx, bin.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		list, err := db.Shares(ctx, bin.ID)
		if err != nil || len(list) != 2 || list[0].ID != s2.ID || list[1].ID != s.ID {
			t.Fatalf("Shares = %+v, %v", list, err)
		}
	})

	t.Run("revoke only within its bin", func(t *testing.T) {
		if err := db.RevokeShare(ctx, other.ID, s.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoke through another bin: %v", err)
		}
		if _, err := db.Share(ctx, s.ID); err != nil {
			t.Fatalf("share gone after a refused revoke: %v", err)
		}
		if err := db.RevokeShare(ctx, bin.ID, s.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Share(ctx, s.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoked share: %v", err)
		}
		if err := db.RevokeShare(ctx, bin.ID, s.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second revoke: %v", err)
		}
	})

	t.Run("expiry", func(t *testing.T) {
		s3, err := db.CreateShare(ctx, bin.ID, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute - time.Millisecond)
		if _, err := db.Share(ctx, s3.ID); err != nil {
			t.Fatalf("before expiry: %v", err)
		}
		clock.Advance(time.Millisecond)
		if _, err := db.Share(ctx, s3.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("at expiry: %v", err)
		}
		clock.Advance(time.Hour)
		n, err := db.PruneShares(ctx)
		if err != nil || n < 1 {
			t.Fatalf("PruneShares = %d, %v", n, err)
		}
	})

	t.Run("deleted with the bin", func(t *testing.T) {
		s4, err := db.CreateShare(ctx, other.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteBin(ctx, other.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Share(ctx, s4.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("share of a deleted bin: %v", err)
		}
	})
}

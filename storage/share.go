package storage

import (
	"context"
	"fmt"
	"time"
)

// Share is a read-only link to a bin's inspector. Its ID is the secret in the
// link, so it is long and random, and never shown to a shared viewer.
type Share struct {
	ID        string
	BinID     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CreateShare creates a share link to a bin that expires after ttl, or
// returns ErrNotFound if the bin does not exist.
func (db *DB) CreateShare(ctx context.Context, binID string, ttl time.Duration) (Share, error) {
	var s Share
	err := db.write(ctx, func(t *wtx) error {
		now := t.now.UTC().Truncate(time.Millisecond)
		// 20 random bytes: 160 bits, unguessable, 32 base32 characters.
		s = Share{ID: newID(20), BinID: binID, CreatedAt: now, ExpiresAt: now.Add(ttl).Truncate(time.Millisecond)}
		return t.execOne(`INSERT INTO shares (id, bin_id, created_at, expires_at)
			SELECT ?, id, ?, ? FROM bins WHERE id = ?`, s.ID, s.CreatedAt.UnixMilli(), s.ExpiresAt.UnixMilli(), binID)
	}, nil)
	if err != nil {
		return Share{}, fmt.Errorf("create share of bin %s: %w", binID, err)
	}
	return s, nil
}

// Share returns the live share with the given id. An expired or revoked
// share, like one that never existed, is ErrNotFound: callers cannot tell
// them apart, and neither can a visitor.
func (db *DB) Share(ctx context.Context, id string) (Share, error) {
	var created, expires int64
	s := Share{ID: id}
	err := db.r.QueryRowContext(ctx, `SELECT bin_id, created_at, expires_at FROM shares WHERE id = ? AND expires_at > ?`,
		id, db.opts.Now().UnixMilli()).Scan(&s.BinID, &created, &expires)
	if isNoRows(err) {
		return Share{}, fmt.Errorf("share: %w", ErrNotFound)
	}
	if err != nil {
		return Share{}, fmt.Errorf("get share: %w", err)
	}
	s.CreatedAt = time.UnixMilli(created).UTC()
	s.ExpiresAt = time.UnixMilli(expires).UTC()
	return s, nil
}

// Shares returns a bin's live shares, newest first.
func (db *DB) Shares(ctx context.Context, binID string) ([]Share, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, created_at, expires_at FROM shares
		WHERE bin_id = ? AND expires_at > ? ORDER BY created_at DESC, `+db.insertOrder()+` DESC`, binID, db.opts.Now().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("list shares: %w", err)
	}
	defer rows.Close()
	var out []Share
	for rows.Next() {
		var created, expires int64
		s := Share{BinID: binID}
		if err := rows.Scan(&s.ID, &created, &expires); err != nil {
			return nil, fmt.Errorf("list shares: %w", err)
		}
		s.CreatedAt = time.UnixMilli(created).UTC()
		s.ExpiresAt = time.UnixMilli(expires).UTC()
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list shares: %w", err)
	}
	return out, nil
}

// RevokeShare deletes a share of a bin, or returns ErrNotFound if the bin
// has no such share. The bin is part of the key so that one bin's owner
// cannot revoke another bin's links.
func (db *DB) RevokeShare(ctx context.Context, binID, id string) error {
	err := db.write(ctx, func(t *wtx) error {
		return t.execOne(`DELETE FROM shares WHERE id = ? AND bin_id = ?`, id, binID)
	}, nil)
	if err != nil {
		return fmt.Errorf("revoke share: %w", err)
	}
	return nil
}

// PruneShares deletes expired shares and returns how many. Lookups ignore
// expired rows anyway, so this only reclaims space; the pruner may call it.
func (db *DB) PruneShares(ctx context.Context) (int64, error) {
	var n int64
	err := db.writeBackground(ctx, func(t *wtx) error {
		res, err := t.exec(`DELETE FROM shares WHERE expires_at <= ?`, t.now.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune shares: %w", err)
	}
	return n, nil
}

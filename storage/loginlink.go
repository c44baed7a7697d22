package storage

import (
	"context"
	"fmt"
	"time"
)

// LoginLink is a single-use link that adds a bin to whichever browser opens
// it. The secret is only ever returned by CreateLoginLink: the database
// keeps its hash, so a copy of the database opens no bin.
type LoginLink struct {
	Secret    string
	BinID     string
	ExpiresAt time.Time
}

// CreateLoginLink makes a login link to a bin that expires after ttl, or
// returns ErrNotFound if the bin does not exist. The bin's expired links are
// deleted on the way: links are few and short-lived, so no pruner is needed.
func (db *DB) CreateLoginLink(ctx context.Context, binID string, ttl time.Duration) (LoginLink, error) {
	// 32 random bytes, like a bin's token.
	l := LoginLink{Secret: newToken(), BinID: binID}
	err := db.write(ctx, func(t *wtx) error {
		now := t.now.UTC().Truncate(time.Millisecond)
		l.ExpiresAt = now.Add(ttl).Truncate(time.Millisecond)
		if _, err := t.exec(`DELETE FROM login_links WHERE bin_id = ? AND expires_at <= ?`, binID, now.UnixMilli()); err != nil {
			return err
		}
		return t.execOne(`INSERT INTO login_links (hash, bin_id, created_at, expires_at)
			SELECT ?, id, ?, ? FROM bins WHERE id = ?`, hashToken(l.Secret), now.UnixMilli(), l.ExpiresAt.UnixMilli(), binID)
	}, nil)
	if err != nil {
		return LoginLink{}, fmt.Errorf("create login link to bin %s: %w", binID, err)
	}
	return l, nil
}

// LoginLinkBin returns the bin a live, unused login link opens, without
// using the link up (a link preview that fetches the page must not spend
// it). An expired, used or unknown link is ErrNotFound.
func (db *DB) LoginLinkBin(ctx context.Context, secret string) (Bin, error) {
	var binID string
	err := db.r.QueryRowContext(ctx, `SELECT bin_id FROM login_links WHERE hash = ? AND expires_at > ?`,
		hashToken(secret), db.opts.Now().UnixMilli()).Scan(&binID)
	if isNoRows(err) {
		return Bin{}, fmt.Errorf("login link: %w", ErrNotFound)
	}
	if err != nil {
		return Bin{}, fmt.Errorf("get login link: %w", err)
	}
	return db.Bin(ctx, binID)
}

// UseLoginLink spends a live login link and adds its bin to browser, in one
// transaction: of two browsers racing with the same link, one wins. It
// returns the bin's id, or ErrNotFound for an expired, used or unknown link.
func (db *DB) UseLoginLink(ctx context.Context, secret, browser string) (string, error) {
	var binID string
	err := db.write(ctx, func(t *wtx) error {
		err := t.QueryRowContext(t.ctx, `DELETE FROM login_links WHERE hash = ? AND expires_at > ? RETURNING bin_id`,
			hashToken(secret), t.now.UnixMilli()).Scan(&binID)
		if isNoRows(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return addBrowser(t, binID, browser)
	}, nil)
	if err != nil {
		return "", fmt.Errorf("use login link: %w", err)
	}
	return binID, nil
}

// AddBrowser gives browser access to a bin, as its creator has (the token
// form on a bin's page does this once the right token is given).
func (db *DB) AddBrowser(ctx context.Context, binID, browser string) error {
	err := db.write(ctx, func(t *wtx) error { return addBrowser(t, binID, browser) }, nil)
	if err != nil {
		return fmt.Errorf("add bin %s to a browser: %w", binID, err)
	}
	return nil
}

func addBrowser(t *wtx, binID, browser string) error {
	if browser == "" {
		return fmt.Errorf("no browser id")
	}
	return t.execOne(`INSERT INTO bin_browsers (bin_id, browser, added_at) SELECT id, ?, ? FROM bins WHERE id = ?
		ON CONFLICT (browser, bin_id) DO UPDATE SET added_at = excluded.added_at`, browser, t.now.UnixMilli(), binID)
}

// BrowserHasBin reports whether browser was given the bin (by AddBrowser or
// a login link). The bin's creator is bins.owner, checked by the caller.
func (db *DB) BrowserHasBin(ctx context.Context, binID, browser string) (bool, error) {
	if browser == "" {
		return false, nil
	}
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM bin_browsers WHERE browser = ? AND bin_id = ?`, browser, binID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check bin access: %w", err)
	}
	return n > 0, nil
}

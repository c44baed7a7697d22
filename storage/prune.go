package storage

import (
	"context"
	"fmt"
	"time"
)

// pruner enforces Retention, and MaxRequests for a backlog (bins filled
// before the cap was lowered, or by an older release), in the background:
// captures delete what they push over a cap themselves (wtx.writeCounter).
// Every delete is a small transaction queued behind captures, never a long
// one in front of them.
func (db *DB) pruner() {
	defer db.wg.Done()
	t := time.NewTicker(db.opts.PruneEvery)
	defer t.Stop()
	for {
		select {
		case <-db.closing:
			return
		case <-t.C:
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-db.closing:
				case <-ctx.Done():
				}
				cancel()
			}()
			if db.pg {
				if err := db.prunePG(ctx); err != nil && ctx.Err() == nil {
					db.log.Error("prune", "error", err)
				}
			} else {
				if _, err := db.Prune(ctx); err != nil && ctx.Err() == nil {
					db.log.Error("prune", "error", err)
				}
				if _, err := db.PruneShares(ctx); err != nil && ctx.Err() == nil {
					db.log.Error("prune shares", "error", err)
				}
			}
			cancel()
		}
	}
}

// pruneBatch and prunePause keep background deletes out of the captures'
// way: each delete transaction is short, and between two of them the writer
// is left to the captures queued meanwhile. Every prune transaction also
// rewrites a few pages whatever its size (the B-tree's parents, the
// freelist, the database header), which the next capture's fsync must
// flush: fewer, larger batches write less of that. 32 rows every 8 ms
// measured best of 8/2 ms, 16/4 ms and 32/8 ms (cmd/tailhook-bench prune).
// A user's "clear bin" uses the larger deleteBatch: someone is waiting.
const (
	pruneBatch = 32
	prunePause = 8 * time.Millisecond
)

func pausePrune(ctx context.Context) error {
	t := time.NewTimer(prunePause)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PruneStats says what one Prune pass deleted.
type PruneStats struct {
	Requests int64 // requests over a bin's cap
	Bins     int64 // idle bins, with their requests
}

// Prune deletes requests beyond each bin's cap (the oldest first) and bins
// idle for longer than the retention. The pruner calls it periodically;
// tests call it directly.
func (db *DB) Prune(ctx context.Context) (PruneStats, error) {
	var st PruneStats
	if limit := db.opts.MaxRequests; limit > 0 {
		// seq rises by one per capture, so everything at or below seq-max is
		// beyond the cap without counting rows.
		rows, err := db.r.QueryContext(ctx, `SELECT b.id, b.seq - ? FROM bins b
			WHERE b.seq > ? AND EXISTS (SELECT 1 FROM requests r WHERE r.bin_id = b.id AND r.seq <= b.seq - ?)`, limit, limit, limit)
		if err != nil {
			return st, fmt.Errorf("find bins over cap: %w", err)
		}
		type over struct {
			id   string
			upTo int64
		}
		var bins []over
		for rows.Next() {
			var o over
			if err := rows.Scan(&o.id, &o.upTo); err != nil {
				rows.Close()
				return st, fmt.Errorf("find bins over cap: %w", err)
			}
			bins = append(bins, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return st, fmt.Errorf("find bins over cap: %w", err)
		}
		for _, o := range bins {
			for {
				n, err := db.deleteOldest(ctx, o.id, o.upTo, 0, pruneBatch, true)
				if err != nil {
					return st, fmt.Errorf("prune bin %s: %w", o.id, err)
				}
				st.Requests += n
				if n < pruneBatch {
					break
				}
				if err := pausePrune(ctx); err != nil {
					return st, err
				}
			}
		}
	}
	if db.opts.Retention > 0 {
		cutoff := db.opts.Now().Add(-db.opts.Retention).UnixMilli()
		rows, err := db.r.QueryContext(ctx, `SELECT id, seq FROM bins WHERE last_active_at < ?`, cutoff)
		if err != nil {
			return st, fmt.Errorf("find idle bins: %w", err)
		}
		type idle struct {
			id  string
			seq int64
		}
		var bins []idle
		for rows.Next() {
			var b idle
			if err := rows.Scan(&b.id, &b.seq); err != nil {
				rows.Close()
				return st, fmt.Errorf("find idle bins: %w", err)
			}
			bins = append(bins, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return st, fmt.Errorf("find idle bins: %w", err)
		}
		for _, b := range bins {
			id := b.id
			// Only what was there when the bin was found idle, and only while
			// it still is: a capture arriving now keeps the bin, its new
			// request and its history.
			for {
				n, err := db.deleteOldest(ctx, id, b.seq, cutoff, pruneBatch, true)
				if err != nil {
					return st, fmt.Errorf("empty idle bin %s: %w", id, err)
				}
				if n < pruneBatch {
					break
				}
				if err := pausePrune(ctx); err != nil {
					return st, err
				}
			}
			// Deleted only if still idle: a capture may have arrived meanwhile.
			err := db.writeBin(ctx, id, func(t *wtx) error {
				res, err := t.exec(`DELETE FROM bins WHERE id = ? AND last_active_at < ?`, id, cutoff)
				if err == nil {
					n, _ := res.RowsAffected()
					st.Bins += n
				}
				return err
			})
			if err != nil {
				return st, fmt.Errorf("delete idle bin %s: %w", id, err)
			}
		}
	}
	if st.Requests > 0 || st.Bins > 0 {
		db.log.Debug("pruned", "requests", st.Requests, "bins", st.Bins)
	}
	return st, nil
}

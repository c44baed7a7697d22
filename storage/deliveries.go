package storage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// AttachDeliveries sets the Delivery of each request that has an auto-forward
// job, in one query: list summaries leave it out, and the inspector's rows
// show it as a badge.
func (db *DB) AttachDeliveries(ctx context.Context, reqs []*Request) error {
	if len(reqs) == 0 {
		return nil
	}
	byPK := make(map[int64]*Request, len(reqs))
	args := make([]any, 0, len(reqs))
	for _, r := range reqs {
		if r.pk != 0 {
			byPK[r.pk] = r
			args = append(args, r.pk)
		}
	}
	if len(args) == 0 {
		return nil
	}
	rows, err := db.r.QueryContext(ctx, `SELECT d.request_pk, `+deliveryColumns+`
		FROM deliveries d JOIN requests r ON r.pk = d.request_pk
		WHERE d.request_pk IN (?`+strings.Repeat(",?", len(args)-1)+`)`, args...)
	if err != nil {
		return fmt.Errorf("attach deliveries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pk int64
		var d Delivery
		var next int64
		if err := rows.Scan(&pk, &d.ID, &d.BinID, &d.Seq, &d.URL, &d.State, &d.Attempts, &next, &d.LastStatus, &d.LastError); err != nil {
			return fmt.Errorf("attach deliveries: %w", err)
		}
		d.NextAt = time.UnixMilli(next).UTC()
		if r := byPK[pk]; r != nil {
			r.Delivery = &d
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("attach deliveries: %w", err)
	}
	return nil
}

// DeliveryJob is an auto-forward job with what it sends: the captured
// method, headers and body.
type DeliveryJob struct {
	Delivery
	Method string
	Header http.Header
	Body   []byte
}

// claimBytes bounds the bodies one ClaimDeliveries call holds in memory
// (it always returns at least one job when one is there).
const claimBytes = 16 << 20

// ClaimDeliveries reads up to limit of a bin's pending deliveries, oldest
// first (by capture order), with their requests, in one query. With dueOnly,
// only those due at now; else also the ones waiting for a retry, so that an
// in-order worker sees its head and knows how long to wait for it. Nothing
// is marked: one worker per bin reads its bin's jobs, and a delivery whose
// attempt was not yet recorded when the process died is read, and sent,
// again.
func (db *DB) ClaimDeliveries(ctx context.Context, binID string, now time.Time, dueOnly bool, limit int) ([]DeliveryJob, error) {
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT ` + deliveryColumns + `, r.method, r.headers, r.body
		FROM deliveries d JOIN requests r ON r.pk = d.request_pk
		WHERE d.bin_id = ? AND d.state = 'pending'`
	args := []any{binID}
	if dueOnly {
		q += ` AND d.next_at <= ?`
		args = append(args, now.UnixMilli())
	}
	q += ` ORDER BY d.id LIMIT ?`
	rows, err := db.r.QueryContext(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries of bin %s: %w", binID, err)
	}
	defer rows.Close()
	var (
		jobs  []DeliveryJob
		bytes int
	)
	for bytes < claimBytes && rows.Next() {
		var j DeliveryJob
		var next int64
		var headers []byte
		err := rows.Scan(&j.ID, &j.BinID, &j.Seq, &j.URL, &j.State, &j.Attempts, &next, &j.LastStatus, &j.LastError,
			&j.Method, &headers, &j.Body)
		if err != nil {
			return nil, fmt.Errorf("claim deliveries of bin %s: %w", binID, err)
		}
		j.NextAt = time.UnixMilli(next).UTC()
		if j.Header, err = decodeHeader(headers); err != nil {
			return nil, fmt.Errorf("claim deliveries: decode headers of %s: %w", RequestID(j.Seq), err)
		}
		bytes += len(j.Body)
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim deliveries of bin %s: %w", binID, err)
	}
	return jobs, nil
}

// NextDeliveryOf returns when the bin's earliest pending delivery is due,
// and false when it has none pending.
func (db *DB) NextDeliveryOf(ctx context.Context, binID string) (time.Time, bool, error) {
	var next *int64
	err := db.r.QueryRowContext(ctx, `SELECT min(next_at) FROM deliveries WHERE bin_id = ? AND state = 'pending'`, binID).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next delivery of bin %s: %w", binID, err)
	}
	if next == nil {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(*next).UTC(), true, nil
}

// PendingBins lists the bins that have pending deliveries.
func (db *DB) PendingBins(ctx context.Context) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT DISTINCT bin_id FROM deliveries WHERE state = 'pending'`)
	if err != nil {
		return nil, fmt.Errorf("bins with pending deliveries: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("bins with pending deliveries: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Attempt is the outcome of one delivery attempt, to record: the job's new
// state (next: when to try again, for pending) and the request's history entry.
type Attempt struct {
	Delivery Delivery
	Forward  Forward
	State    string
	Next     time.Time
}

// RecordAttempts stores the outcomes of several delivery attempts in one
// transaction, and returns once it has committed, without waiting for it to
// be durable: delivery is at least once, so losing the record of an attempt
// in a crash only means the delivery is made again. Attempts whose request
// was deleted meanwhile are skipped; found[i] says whether attempts[i] was
// recorded.
//
// It is a background write (see op.background): a batch of these never
// shares, or slows, a transaction of captures, and waits for no fsync.
func (db *DB) RecordAttempts(ctx context.Context, attempts []Attempt) (found []bool, err error) {
	found = make([]bool, len(attempts))
	err = db.writeBackground(ctx, func(t *wtx) error {
		for i, a := range attempts {
			var pk int64
			err := t.QueryRowContext(t.ctx, `UPDATE deliveries SET state = ?, attempts = ?, next_at = ?, last_status = ?, last_error = ?
				WHERE id = ? RETURNING request_pk`, a.State, a.Forward.Attempt, a.Next.UnixMilli(), a.Forward.Status, a.Forward.Error,
				a.Delivery.ID).Scan(&pk)
			if isNoRows(err) {
				continue // the request was deleted meanwhile
			}
			if err != nil {
				return err
			}
			if err := insertForward(t, pk, a.Forward); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			found[i] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record %d delivery attempts: %w", len(attempts), err)
	}
	return found, nil
}

package storage

import (
	"context"
	"database/sql"
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
	rows.Close()
	ds := make([]*Delivery, 0, len(reqs))
	for _, r := range reqs {
		ds = append(ds, r.Delivery)
	}
	return markBehind(ctx, db.r, ds)
}

// deliveryStmts are the auto-forward statements, prepared once: at a
// thousand deliveries a second, parsing them again each time would cost
// more than running them.
type deliveryStmts struct {
	queue    *sql.Stmt // writer: a capture's job
	record   *sql.Stmt // writer: an attempt's outcome
	history  *sql.Stmt // writer: an attempt's history entry
	claimAll *sql.Stmt // readers
	claimDue *sql.Stmt
	nextOf   *sql.Stmt
}

const claimQuery = `SELECT ` + deliveryColumns + `, r.method, r.headers, r.body
	FROM deliveries d JOIN requests r ON r.pk = d.request_pk
	WHERE d.bin_id = ? AND d.state = 'pending' AND d.next_at <= ? ORDER BY d.id LIMIT ?`

func (db *DB) prepareDeliveries(ctx context.Context) error {
	var err error
	prep := func(d *sql.DB, q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = d.PrepareContext(ctx, q)
		return s
	}
	s := &db.dstmts
	queue := `INSERT INTO deliveries (request_pk, bin_id, url, state, next_at) VALUES (?, ?, ?, 'pending', ?)`
	if db.pg {
		queue += ` RETURNING id` // pgx has no LastInsertId
	}
	s.queue = prep(db.w, queue)
	record := `UPDATE deliveries SET state = ?, attempts = ?, next_at = ?, last_status = ?, last_error = ?
		WHERE id = ? RETURNING request_pk`
	if db.pg {
		// Attempts are recorded only by the bin's lease holder: one whose
		// lease another instance took over (it stalled past the TTL) must
		// not overwrite the new holder's outcome.
		record = `UPDATE deliveries SET state = ?, attempts = ?, next_at = ?, last_status = ?, last_error = ?
		WHERE id = ? AND NOT EXISTS (SELECT 1 FROM delivery_leases l
			WHERE l.bin_id = deliveries.bin_id AND l.owner <> ? AND l.until >= ?)
		RETURNING request_pk`
	}
	s.record = prep(db.w, record)
	s.history = prep(db.w, `INSERT INTO forwards (request_pk, url, status, attempt, error, duration_ms, auto, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	s.claimAll = prep(db.r, strings.Replace(claimQuery, ` AND d.next_at <= ?`, ``, 1))
	s.claimDue = prep(db.r, claimQuery)
	s.nextOf = prep(db.r, `SELECT min(next_at) FROM deliveries WHERE bin_id = ? AND state = 'pending'`)
	if err != nil {
		return fmt.Errorf("prepare delivery statements: %w", err)
	}
	return nil
}

func (s *deliveryStmts) close() {
	for _, st := range []*sql.Stmt{s.queue, s.record, s.history, s.claimAll, s.claimDue, s.nextOf} {
		if st != nil {
			st.Close()
		}
	}
}

// DeliveryJob is an auto-forward job with what it sends: the captured
// method, headers and body.
type DeliveryJob struct {
	Delivery
	Method string
	Header http.Header
	// HeaderList is the header lines as received (see Request.HeaderList).
	HeaderList []HeaderLine
	Body       []byte
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
	var (
		rows *sql.Rows
		err  error
	)
	if dueOnly {
		rows, err = db.dstmts.claimDue.QueryContext(ctx, binID, now.UnixMilli(), limit)
	} else {
		rows, err = db.dstmts.claimAll.QueryContext(ctx, binID, limit)
	}
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
		j.HeaderList = takeList(j.Header)
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
	err := db.dstmts.nextOf.QueryRowContext(ctx, binID).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next delivery of bin %s: %w", binID, err)
	}
	if next == nil {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(*next).UTC(), true, nil
}

// PendingBins lists the bins that have pending deliveries (with
// PostgreSQL, those no other instance holds the lease of).
func (db *DB) PendingBins(ctx context.Context) ([]string, error) {
	q, args := `SELECT DISTINCT bin_id FROM deliveries WHERE state = 'pending'`, []any(nil)
	if db.pg {
		// Not those another instance is delivering.
		q = `SELECT DISTINCT d.bin_id FROM deliveries d LEFT JOIN delivery_leases l ON l.bin_id = d.bin_id
			WHERE d.state = 'pending' AND (l.bin_id IS NULL OR l.owner = ? OR l.until < ?)`
		args = []any{db.bus.origin, db.opts.Now().UnixMilli()}
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
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
		record, history := t.stmt(db.dstmts.record), t.stmt(db.dstmts.history)
		for i, a := range attempts {
			f := a.Forward
			var pk int64
			args := []any{a.State, f.Attempt, a.Next.UnixMilli(), f.Status, f.Error, a.Delivery.ID}
			if db.pg {
				args = append(args, db.bus.origin, t.now.UnixMilli())
			}
			err := record.QueryRowContext(t.ctx, args...).Scan(&pk)
			if isNoRows(err) {
				continue // the request was deleted meanwhile, and its job with it
			}
			if err != nil {
				return err
			}
			// The job's row is there, so its request is too (the job
			// goes with it): no need to check, as insertForward does.
			at := f.At
			if at.IsZero() {
				at = t.now
			}
			if _, err := history.ExecContext(t.ctx, pk, f.URL, f.Status, f.Attempt, f.Error, f.DurationMS, f.Auto, at.UnixMilli()); err != nil {
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

// deliveryLeaseTTL is how long a bin's outbox stays with the instance that
// leased it without a renewal: after a crash, another instance takes the
// bin's pending deliveries over once it has passed.
const deliveryLeaseTTL = 10 * time.Second

// LeaseDeliveries takes, or renews, this instance's lease on a bin's
// outbox, and reports whether it holds it. With several instances on one
// PostgreSQL database only the holder delivers a bin's jobs, so they go
// once each and in capture order; a lease left to expire is taken over.
// With SQLite the one process always holds it.
func (db *DB) LeaseDeliveries(ctx context.Context, binID string) (bool, error) {
	if !db.pg {
		return true, nil
	}
	now := db.opts.Now()
	res, err := db.w.ExecContext(ctx, `INSERT INTO delivery_leases (bin_id, owner, until) VALUES (?, ?, ?)
		ON CONFLICT (bin_id) DO UPDATE SET owner = excluded.owner, until = excluded.until
		WHERE delivery_leases.owner = excluded.owner OR delivery_leases.until < ?`,
		binID, db.bus.origin, now.Add(deliveryLeaseTTL).UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("lease deliveries of bin %s: %w", binID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("lease deliveries of bin %s: %w", binID, err)
	}
	return n == 1, nil
}

// ReleaseDeliveries gives up this instance's lease on a bin's outbox (its
// worker found nothing left to do), so that another instance whose capture
// adds a job need not wait for it to expire.
func (db *DB) ReleaseDeliveries(ctx context.Context, binID string) error {
	if !db.pg {
		return nil
	}
	if _, err := db.w.ExecContext(ctx, `DELETE FROM delivery_leases WHERE bin_id = ? AND owner = ?`, binID, db.bus.origin); err != nil {
		return fmt.Errorf("release deliveries of bin %s: %w", binID, err)
	}
	return nil
}

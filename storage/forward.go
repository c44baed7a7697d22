package storage

import (
	"context"
	"fmt"
	"time"
)

// Delivery states of an auto-forward job.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	DeliveryCancelled = "cancelled"
)

// Delivery is an auto-forward job: one captured request to one target URL.
type Delivery struct {
	ID         int64
	BinID      string
	Seq        int64
	URL        string
	State      string
	Attempts   int
	NextAt     time.Time
	LastStatus int
	LastError  string
	// Behind is the seq of the older pending delivery this one waits for
	// (deliveries of a bin go in capture order); 0 when it does not wait.
	Behind int64
}

// AddForward records a forwarding attempt in a request's history.
func (db *DB) AddForward(ctx context.Context, binID string, seq int64, f Forward) error {
	pk, err := db.requestPK(ctx, binID, seq)
	if err != nil {
		return err
	}
	err = db.write(ctx, func(t *wtx) error {
		return insertForward(t, pk, f)
	}, nil)
	if err != nil {
		return fmt.Errorf("record forward of %s: %w", RequestID(seq), err)
	}
	return nil
}

// insertForward adds a history entry, or returns ErrNotFound when the request
// was deleted since its pk was looked up.
func insertForward(t *wtx, pk int64, f Forward) error {
	at := f.At
	if at.IsZero() {
		at = t.now
	}
	return t.execOne(`INSERT INTO forwards (request_pk, url, status, attempt, error, duration_ms, auto, at)
		SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM requests WHERE pk = ?)`,
		pk, f.URL, f.Status, f.Attempt, f.Error, f.DurationMS, f.Auto, at.UnixMilli(), pk)
}

func forwards(ctx context.Context, q querier, pk int64) ([]Forward, error) {
	rows, err := q.QueryContext(ctx, `SELECT url, status, attempt, error, duration_ms, auto, at
		FROM forwards WHERE request_pk = ? ORDER BY id`, pk)
	if err != nil {
		return nil, fmt.Errorf("list forwards: %w", err)
	}
	defer rows.Close()
	fs := []Forward{}
	for rows.Next() {
		var f Forward
		var at int64
		if err := rows.Scan(&f.URL, &f.Status, &f.Attempt, &f.Error, &f.DurationMS, &f.Auto, &at); err != nil {
			return nil, fmt.Errorf("list forwards: %w", err)
		}
		f.At = time.UnixMilli(at).UTC()
		fs = append(fs, f)
	}
	return fs, rows.Err()
}

const deliveryColumns = `d.id, d.bin_id, r.seq, d.url, d.state, d.attempts, d.next_at, d.last_status, d.last_error`

func scanDelivery(row interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var next int64
	err := row.Scan(&d.ID, &d.BinID, &d.Seq, &d.URL, &d.State, &d.Attempts, &next, &d.LastStatus, &d.LastError)
	d.NextAt = time.UnixMilli(next).UTC()
	return d, err
}

// delivery returns a request's auto-forward job, or nil when it has none.
func delivery(ctx context.Context, q querier, pk int64) (*Delivery, error) {
	d, err := scanDelivery(q.QueryRowContext(ctx, `SELECT `+deliveryColumns+`
		FROM deliveries d JOIN requests r ON r.pk = d.request_pk WHERE d.request_pk = ?`, pk))
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get delivery: %w", err)
	}
	if err := markBehind(ctx, q, []*Delivery{&d}); err != nil {
		return nil, err
	}
	return &d, nil
}

// SetDeliveryState changes a request's auto-forward job and returns it as it
// is afterwards. DeliveryPending retries it: the job becomes pending, due at
// next, whatever its state. DeliveryCancelled cancels it if it is still
// pending; a job already delivered or failed keeps its outcome and is
// returned unchanged. Any other state is an error. ErrNotFound means the
// request does not exist or has no job.
func (db *DB) SetDeliveryState(ctx context.Context, binID string, seq int64, state string, next time.Time) (Delivery, error) {
	var (
		query string
		args  []any
	)
	switch state {
	case DeliveryPending:
		query, args = `UPDATE deliveries SET state = 'pending', next_at = ? WHERE request_pk = ?`, []any{next.UnixMilli()}
	case DeliveryCancelled:
		query = `UPDATE deliveries SET state = 'cancelled' WHERE request_pk = ? AND state = 'pending'`
	default:
		return Delivery{}, fmt.Errorf("update delivery: cannot set state %q", state)
	}
	pk, err := db.requestPK(ctx, binID, seq)
	if err != nil {
		return Delivery{}, fmt.Errorf("update delivery: %w", err)
	}
	var d *Delivery
	err = db.write(ctx, func(t *wtx) error {
		if _, err := t.exec(query, append(args, pk)...); err != nil {
			return err
		}
		// Read back in the writer's transaction: it also tells a missing job
		// from a cancel that found the job no longer pending.
		var err error
		d, err = delivery(t.ctx, t, pk)
		if err == nil && d == nil {
			return ErrNotFound
		}
		return err
	}, nil)
	if err != nil {
		return Delivery{}, fmt.Errorf("update delivery of %s: %w", RequestID(seq), err)
	}
	return *d, nil
}

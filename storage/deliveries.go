package storage

import (
	"context"
	"fmt"
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

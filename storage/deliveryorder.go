package storage

import (
	"context"
	"fmt"
)

// Auto-forward delivers a bin's captures in capture order: only a bin's
// oldest pending delivery is attempted, and the rest wait behind it. The
// page says so ("waiting behind #19") instead of leaving them silently
// queued.

// headSeq returns the seq of the bin's oldest pending delivery, 0 if none.
func headSeq(ctx context.Context, q querier, binID string) (int64, error) {
	var seq int64
	err := q.QueryRowContext(ctx, `SELECT r.seq FROM deliveries d JOIN requests r ON r.pk = d.request_pk
		WHERE d.bin_id = ? AND d.state = 'pending' ORDER BY d.id LIMIT 1`, binID).Scan(&seq)
	if isNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("head of bin %s's deliveries: %w", binID, err)
	}
	return seq, nil
}

// markBehind sets Behind on pending deliveries that wait for an older one.
func markBehind(ctx context.Context, q querier, ds []*Delivery) error {
	heads := map[string]int64{}
	for _, d := range ds {
		if d == nil || d.State != DeliveryPending {
			continue
		}
		head, ok := heads[d.BinID]
		if !ok {
			var err error
			if head, err = headSeq(ctx, q, d.BinID); err != nil {
				return err
			}
			heads[d.BinID] = head
		}
		if head != 0 && head != d.Seq {
			d.Behind = head
		}
	}
	return nil
}

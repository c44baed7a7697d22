package storage

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// On PostgreSQL a capture is usually one statement, committed on its own:
// the bin row's UPDATE takes the seq (and the lock that orders the bin's
// captures until commit), checks and advances the rate limit, and feeds the
// INSERT, the over-cap DELETE and the outbox row, all data-modifying CTEs of
// one statement. One round trip while the row is locked instead of four
// (BEGIN; SELECT … FOR UPDATE; INSERT; UPDATE; COMMIT): at most a few
// captures a second per bin are what a bin sees normally, but a hot bin's
// captures queue on its row for exactly that long.
//
// The answer's status is stored with the capture, and so chosen before the
// statement, from the cached bin: the statement only matches while the
// bin's response is still that one (response = $n). Anything else — a bin
// not cached, a scripted sequence (whose step depends on the count the
// statement would return), a changed response, the rate limit reached, a
// deleted bin — matches no row, and the capture goes the general way
// (submitPG), which decides and says which.

const oneStatementCapture = `WITH b AS (
	UPDATE bins SET seq = seq + 1, served = served + $2::bigint, last_active_at = $3::bigint,
		rate_tat = CASE WHEN $5::bigint > 0 THEN GREATEST(rate_tat, $4::bigint) + $5::bigint ELSE rate_tat END
	WHERE id = $1 AND response = $6
		AND ($5::bigint = 0 OR GREATEST(rate_tat, $4::bigint) - $4::bigint <= $7::bigint)
	RETURNING seq, served),
r AS (
	INSERT INTO requests (bin_id, seq, method, path, query, headers, size, truncated, remote_addr, proto, tls, received_at, verdict, body)
	SELECT $1, b.seq, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19 FROM b
	RETURNING pk, seq),
gone AS (
	DELETE FROM requests WHERE $20::bigint > 0 AND bin_id = $1 AND seq = (SELECT seq FROM b) - $20::bigint)`

const oneStatementSelect = `
SELECT r.pk, r.seq, b.served, 0::bigint FROM r, b`

const oneStatementDeliver = `,
d AS (
	INSERT INTO deliveries (request_pk, bin_id, url, state, next_at)
	SELECT r.pk, $1, $21, 'pending', $22::bigint FROM r
	RETURNING id)
SELECT r.pk, r.seq, b.served, d.id FROM r, b, d`

// captureOneStatement stores c in one statement when it can: ok false (and
// no error) means it did not, and nothing was written.
func (db *DB) captureOneStatement(ctx context.Context, c Capture, headers, verdict string, grows int64) (out Captured, ok bool, err error) {
	r := c.Request
	bin, err := db.CachedBin(ctx, r.BinID) // the web server's capture path has just read it
	if err != nil || bin.Response != nil && len(bin.Response.Sequence) > 0 {
		return Captured{}, false, nil
	}
	db.mu.RLock() // Close waits for every capture under way
	defer db.mu.RUnlock()
	if db.closed.Load() {
		return Captured{}, false, fmt.Errorf("capture to bin %s: %w", r.BinID, ErrClosed)
	}
	// Hooks in seq order, as op.capture says.
	mu := &db.captureLocks[fnv32(r.BinID)%uint32(len(db.captureLocks))]
	mu.Lock()
	defer mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()

	now := db.opts.Now()
	received := r.ReceivedAt
	if received.IsZero() {
		received = now
	}
	received = received.UTC().Truncate(time.Microsecond)
	answered, inc := r.Answered, int64(0)
	if answered.Status == 0 {
		// The bin's own answer (not a handshake's, a 401's or a 413's):
		// it counts towards the sequence, and a response without one
		// answers the same status every time.
		inc, answered.Status = 1, http.StatusOK
		if bin.Response != nil {
			answered.Status = bin.Response.Pick(1).Status
		}
	}
	var interval, tolerance int64
	if c.Rate.PerSecond > 0 {
		interval = int64(1e6 / c.Rate.PerSecond)
		tolerance = interval * int64(max(c.Rate.Burst, 1)-1)
	}
	q := oneStatementCapture + oneStatementSelect
	args := []any{r.BinID, inc, now.UnixMilli(), now.UnixMicro(), interval, bin.responseText, tolerance,
		r.Method, r.Path, r.Query, headers, r.Size, r.Truncated, r.RemoteAddr, r.Proto, r.TLS,
		received.UnixMicro(), encodeVerdictColumn(verdict, answered), r.Body, db.opts.MaxRequests}
	next := now.UTC().Truncate(time.Millisecond)
	if c.DeliverTo != "" {
		q = oneStatementCapture + oneStatementDeliver
		args = append(args, c.DeliverTo, next.UnixMilli())
	}
	var (
		pk, seq, served, delivery int64
	)
	start := time.Now()
	err = db.w.QueryRowContext(ctx, q, args...).Scan(&pk, &seq, &served, &delivery)
	if isNoRows(err) {
		return Captured{}, false, nil // the general way decides
	}
	if err != nil {
		return Captured{}, false, fmt.Errorf("capture to bin %s: %w", r.BinID, err)
	}
	db.stats.CommitNano.Add(int64(time.Since(start)))
	db.stats.Commits.Add(1)
	db.stats.Ops.Add(1)
	r.pk, r.Seq, r.ID = pk, seq, RequestID(seq)
	r.ReceivedAt, r.Answered = received, answered
	if c.DeliverTo != "" {
		r.Delivery = &Delivery{ID: delivery, BinID: r.BinID, Seq: seq, URL: c.DeliverTo, State: DeliveryPending, NextAt: next}
	}
	db.stats.Captures.Add(1)
	db.space.grown.Add(grows)
	if c.Durable != nil {
		c.Durable(r)
	}
	db.bus.announce(Event{Kind: EventCaptured, Bin: r.BinID, Seq: r.Seq})
	return Captured{Request: r, Served: served, Response: bin.Response}, true, nil
}

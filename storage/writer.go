package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// maxBatch bounds one group commit. The writer never waits for a batch to
// fill: it takes what is already queued, so a lone capture commits at once.
const maxBatch = 256

// op is one unit of work for the writer goroutine.
type op struct {
	fn    func(*wtx) error
	after func() // runs once the commit is durable, on the syncer goroutine
	done  chan error
	// bin names the bin whose row fn changes or deletes by SQL: its seq
	// counter is written out before fn runs and reloaded after.
	bin string
	// capture names the bin a capture op adds to. With PostgreSQL, this
	// instance's captures to one bin run one at a time, after hook
	// included, so that hooks run in seq order as with SQLite (the bin
	// row's lock orders them only until commit).
	capture string
	// atomic says fn writes nothing when it fails, so it needs no
	// savepoint of its own (a plain capture: one INSERT).
	atomic bool
	// background marks the pruner's work and auto-forward's attempt
	// records: nobody waits for them to be durable (lost in a crash, the
	// work is done again, the delivery made again), so it is committed in
	// batches of its own and acknowledged without an fsync; the next fsync
	// of a capture covers it. Captures never share its transaction, nor
	// wait for its fsync. A background op has no after hook.
	background bool
}

// wtx is the writer's transaction with the batch's clock reading.
type wtx struct {
	*sql.Tx
	ctx context.Context
	now time.Time
	db  *DB
	// counters are the seq counters of the bins this batch captured to, as
	// they will be once it commits; flushed to the bins table before COMMIT.
	counters map[string]*binCounter
	stmts    map[*sql.Stmt]*sql.Stmt
}

// binCounter is a bin's capture counter and current response, as of the
// last commit (in DB.counters) or of this batch (in wtx.counters).
type binCounter struct {
	seq, served int64
	// base is seq as this batch found it: the batch's captures are
	// base+1..seq, and flushing deletes what they pushed over the cap.
	base     int64
	response *Response // nil: the default answer
	dirty    bool      // changed in this batch, to be written out
	tat      int64     // pg: the rate limit's theoretical arrival time, unix µs
}

func (t *wtx) exec(query string, args ...any) (sql.Result, error) {
	return t.ExecContext(t.ctx, query, args...)
}

// execOne runs a statement that must change a row: ErrNotFound when it
// changed none (the bin, request or share is gone).
func (t *wtx) execOne(query string, args ...any) error {
	res, err := t.exec(query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

// stmt returns the prepared statement s bound to this transaction, once per
// batch rather than once per use.
func (t *wtx) stmt(s *sql.Stmt) *sql.Stmt {
	if ts := t.stmts[s]; ts != nil {
		return ts
	}
	ts := t.StmtContext(t.ctx, s)
	t.stmts[s] = ts
	return ts
}

// insertID runs an INSERT prepared as s and returns the new row's key: by
// RETURNING on PostgreSQL, whose driver has no LastInsertId.
func (t *wtx) insertID(s *sql.Stmt, args ...any) (int64, error) {
	if t.db.pg {
		var id int64
		err := t.stmt(s).QueryRowContext(t.ctx, args...).Scan(&id)
		return id, err
	}
	res, err := t.stmt(s).ExecContext(t.ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// counter returns bin's capture counter for this batch, reading it from the
// database the first time. Only the writer goroutine keeps counters, and it
// is the only writer, so the copy in memory is the truth between flushes.
func (t *wtx) counter(binID string) (*binCounter, error) {
	if c := t.counters[binID]; c != nil {
		return c, nil
	}
	c := new(binCounter)
	// With PostgreSQL every op is a transaction of its own, and the row
	// lock (the counter statement reads FOR UPDATE) serialises captures to
	// a bin across instances: the row is the truth, never a copy.
	if committed := t.db.counters[binID]; !t.db.pg && committed != nil {
		*c = *committed
		c.dirty = false
	} else {
		var response string
		dest := []any{&c.seq, &c.served, &response}
		if t.db.pg {
			dest = append(dest, &c.tat)
		}
		err := t.stmt(t.db.stmts.counter).QueryRowContext(t.ctx, binID).Scan(dest...)
		if isNoRows(err) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, fmt.Errorf("read seq: %w", err)
		}
		if response != "" {
			c.response = new(Response)
			if err := json.Unmarshal([]byte(response), c.response); err != nil {
				return nil, fmt.Errorf("decode response of bin %s: %w", binID, err)
			}
		}
	}
	c.base = c.seq
	t.counters[binID] = c
	return c, nil
}

// flush writes bin's counter out if this batch changed it, and forgets the
// copies in memory: the next capture reads the row again. Ops that change a
// bin's row by SQL run after a flush of that bin.
func (t *wtx) flush(binID string) error {
	c := t.counters[binID]
	delete(t.counters, binID)
	if !t.db.pg {
		delete(t.db.counters, binID) // the writer goroutine's own map
	}
	if c == nil || !c.dirty {
		return nil
	}
	return t.writeCounter(binID, c)
}

// writeCounter writes bin's counter out and deletes the requests this
// batch's captures pushed over the bin's cap, in the same transaction: the
// cap holds in every committed state, at any capture rate. Those are the
// seqs in (base-cap, seq-cap], one per capture, a range on the (bin_id, seq)
// index; forwards and deliveries go with them (ON DELETE CASCADE). A
// backlog from before (a lower cap since a restart) is the pruner's.
func (t *wtx) writeCounter(binID string, c *binCounter) error {
	args := []any{c.seq, c.served, t.now.UnixMilli(), binID}
	if t.db.pg {
		args = []any{c.seq, c.served, t.now.UnixMilli(), c.tat, binID}
	}
	_, err := t.stmt(t.db.stmts.setSeq).ExecContext(t.ctx, args...)
	if err != nil {
		return fmt.Errorf("write seq of bin %s: %w", binID, err)
	}
	if limit := t.db.opts.MaxRequests; limit > 0 && c.seq > limit {
		if _, err := t.stmt(t.db.stmts.overCap).ExecContext(t.ctx, binID, max(c.base-limit, 0), c.seq-limit); err != nil {
			return fmt.Errorf("delete requests over the cap of bin %s: %w", binID, err)
		}
	}
	return nil
}

// flushAll writes every changed counter out before the commit: one UPDATE
// per bin per batch instead of one per capture.
func (t *wtx) flushAll() error {
	for id, c := range t.counters {
		if !c.dirty {
			continue
		}
		if err := t.writeCounter(id, c); err != nil {
			return err
		}
	}
	return nil
}

// write runs fn in the writer goroutine and waits until its transaction has
// committed and is durable. after, if not nil, then runs on the syncer
// goroutine, in commit order. The caller's ctx only bounds the wait for a place in the
// queue: once queued, the op completes even if the caller gives up, because
// another request may share its transaction.
func (db *DB) write(ctx context.Context, fn func(*wtx) error, after func()) error {
	return db.submit(ctx, &op{fn: fn, after: after})
}

// writeBackground is write for the pruner's work and delivery records: see
// op.background.
func (db *DB) writeBackground(ctx context.Context, fn func(*wtx) error) error {
	return db.submit(ctx, &op{fn: fn, background: true})
}

// writeBin is write for an op that changes or deletes bin's row by SQL.
// Every such op must go through it, or flushAll overwrites its change with
// the counter kept in memory: TestBinRowsChangeOnlyInWriteBin checks that.
func (db *DB) writeBin(ctx context.Context, binID string, fn func(*wtx) error) error {
	return db.submit(ctx, &op{fn: fn, bin: binID})
}

// submit queues o for the writer and waits for its outcome.
func (db *DB) submit(ctx context.Context, o *op) error {
	if db.pg {
		return db.submitPG(ctx, o)
	}
	o.done = make(chan error, 1)
	db.mu.RLock()
	if db.closed.Load() {
		db.mu.RUnlock()
		return ErrClosed
	}
	select {
	case db.ops <- o:
	case <-ctx.Done():
		db.mu.RUnlock()
		return ctx.Err()
	}
	db.mu.RUnlock()
	return <-o.done
}

func (db *DB) writer() {
	defer db.wg.Done()
	defer close(db.syncq) // the syncer acknowledges what is left, then stops
	batch := make([]*op, 0, maxBatch)
	// Housekeeping (space.go) runs between batches when due, and on this
	// tick when the writer is idle.
	tick := time.NewTicker(spaceEvery)
	defer tick.Stop()
	for {
		db.maintain(false)
		if o := db.held; o != nil {
			db.held = nil
			batch = db.commit(db.fill(append(batch, o)))
			continue
		}
		select {
		case o := <-db.ops:
			batch = db.commit(db.fill(append(batch, o)))
		case <-tick.C:
		case <-db.closing:
			// Close holds the lock while closing, so nothing is being
			// enqueued now: drain what is left, in batches, then stop.
			for {
				if o := db.held; o != nil {
					db.held = nil
					batch = append(batch, o)
				}
				if batch = db.fill(batch); len(batch) == 0 {
					return
				}
				batch = db.commit(batch)
			}
		}
	}
}

// fill appends what is already queued to batch, up to maxBatch, without
// waiting for more. It stops at an op of the other kind (background or not)
// than the batch's first, which is held for the next batch.
func (db *DB) fill(batch []*op) []*op {
	for len(batch) < maxBatch && db.held == nil {
		select {
		case o := <-db.ops:
			batch = db.add(batch, o)
		default:
			return batch
		}
	}
	return batch
}

// add appends o to batch, or holds it for the next batch when it is not of
// the batch's kind.
func (db *DB) add(batch []*op, o *op) []*op {
	if len(batch) > 0 && o.background != batch[0].background {
		db.held = o
		return batch
	}
	return append(batch, o)
}

// commit runs one batch in one immediate transaction and returns batch
// emptied for reuse. The batch may grow while it runs (see commitBatch).
func (db *DB) commit(batch []*op) []*op {
	batch = db.commitBatch(batch)
	// Drop the references: a batch can hold 256 captures of up to 10 MiB
	// each, which must not live on until the next batch overwrites them.
	clear(batch)
	return batch[:0]
}

// commitBatch runs the ops of batch in one transaction, each non-atomic one
// inside a savepoint so that one failing op (a bin deleted a moment ago) does
// not undo the others' work, commits, and hands the batch to the syncer.
//
// The batch commits as soon as its ops have run, its writes overlapping any
// fsync that is running, unless an earlier commit still waits for the syncer
// to start the next fsync. Then the transaction stays open and takes in the
// ops that arrive meanwhile: they could not be made durable any sooner, and
// joining this commit costs them nothing, where a commit of their own would
// rewrite the same pages again.
func (db *DB) commitBatch(batch []*op) []*op {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := make([]error, 0, len(batch))
	finish := func(err error) {
		for len(errs) < len(batch) {
			errs = append(errs, nil)
		}
		for i, o := range batch {
			if errs[i] == nil {
				errs[i] = err
			}
			o.done <- errs[i]
		}
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		finish(fmt.Errorf("begin: %w", err))
		return batch
	}
	t := &wtx{Tx: tx, ctx: ctx, now: db.opts.Now(), db: db, counters: map[string]*binCounter{}, stmts: map[*sql.Stmt]*sql.Stmt{}}
	fail := func(err error) {
		tx.Rollback()
		clear(db.counters) // the database is the truth again
		clear(errs)        // nothing of this batch stays: every op gets err
		finish(err)
	}
	// run runs one op; an error it returns breaks the whole transaction.
	run := func(o *op) error {
		if o.bin != "" {
			if err := t.flush(o.bin); err != nil {
				return err
			}
		}
		if o.atomic {
			errs = append(errs, o.fn(t))
			return nil
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
			return fmt.Errorf("savepoint: %w", err)
		}
		err := o.fn(t)
		errs = append(errs, err)
		if err != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO op"); err != nil {
				return fmt.Errorf("rollback to savepoint: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE op"); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
		return nil
	}
	for {
		for len(errs) < len(batch) {
			if err := run(batch[len(errs)]); err != nil {
				fail(err)
				return batch
			}
		}
		if len(batch) >= maxBatch {
			break
		}
		if batch = db.fill(batch); len(errs) < len(batch) {
			continue
		}
		if db.waiting.Load() == 0 || db.held != nil || batch[0].background {
			break
		}
		select {
		case o := <-db.ops:
			batch = db.add(batch, o)
		case <-db.syncTook:
		}
	}
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		}
	}
	if ok == 0 {
		// Nothing to keep: no commit, no fsync.
		tx.Rollback()
		clear(db.counters)
		finish(nil)
		return batch
	}
	if err := t.flushAll(); err != nil {
		fail(err)
		return batch
	}
	start := time.Now()
	if err := tx.Commit(); err != nil {
		// Nothing of this batch is durable: every op fails, even those whose
		// own statements succeeded.
		clear(db.counters)
		clear(errs)
		finish(fmt.Errorf("commit: %w", err))
		return batch
	}
	for id, c := range t.counters {
		c.dirty = false
		c.base = c.seq
		db.counters[id] = c
	}
	for _, o := range batch {
		if o.bin != "" {
			db.bins.forget(o.bin)
		}
	}
	db.stats.CommitNano.Add(int64(time.Since(start)))
	db.stats.Commits.Add(1)
	db.stats.Ops.Add(int64(len(batch)))
	if n := int64(len(batch)); n > db.stats.MaxBatch.Load() {
		db.stats.MaxBatch.Store(n)
	}
	if batch[0].background {
		// Nobody waits for this to be durable: see op.background.
		for i, o := range batch {
			o.done <- errs[i]
		}
		return batch
	}
	// Committed, but not yet on disk: the syncer acknowledges the batch
	// after its fsync, while this goroutine goes on with the next one.
	db.waiting.Add(1)
	db.syncq <- &synced{ops: append([]*op(nil), batch...), errs: errs}
	return batch
}

// writerStmts are the hot statements, prepared once on the writer connection:
// the driver has no statement cache.
type writerStmts struct {
	counter *sql.Stmt
	setSeq  *sql.Stmt
	insert  *sql.Stmt
	oldest  *sql.Stmt // the pruner's delete, thousands of times in a row
	overCap *sql.Stmt // a batch's captures push as many requests over the cap
	binByID *sql.Stmt // on the reader pool
}

func (db *DB) prepare(ctx context.Context) error {
	var err error
	prep := func(d *sql.DB, q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = d.PrepareContext(ctx, q)
		return s
	}
	counter := `SELECT seq, served, response FROM bins WHERE id = ?`
	setSeq := `UPDATE bins SET seq = ?, served = ?, last_active_at = ? WHERE id = ?`
	insert := `INSERT INTO requests
		(bin_id, seq, method, path, query, headers, size, truncated, remote_addr, proto, tls, received_at, verdict, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	if db.pg {
		// The row lock that orders a bin's captures, held until commit.
		counter = `SELECT seq, served, response, rate_tat FROM bins WHERE id = ? FOR UPDATE`
		setSeq = `UPDATE bins SET seq = ?, served = ?, last_active_at = ?, rate_tat = ? WHERE id = ?`
		// pgx has no LastInsertId.
		insert += ` RETURNING pk`
	}
	db.stmts.counter = prep(db.w, counter)
	db.stmts.setSeq = prep(db.w, setSeq)
	db.stmts.insert = prep(db.w, insert)
	db.stmts.oldest = prep(db.w, `DELETE FROM requests WHERE pk IN
		(SELECT pk FROM requests WHERE bin_id = ? AND seq <= ? ORDER BY seq LIMIT ?)`)
	db.stmts.overCap = prep(db.w, `DELETE FROM requests WHERE bin_id = ? AND seq > ? AND seq <= ?`)
	db.stmts.binByID = prep(db.r, `SELECT `+binColumns+` FROM bins WHERE id = ?`)
	if err != nil {
		return fmt.Errorf("prepare statements: %w", err)
	}
	return nil
}

func (s *writerStmts) close() {
	for _, st := range []*sql.Stmt{s.counter, s.setSeq, s.insert, s.oldest, s.overCap, s.binByID} {
		if st != nil {
			st.Close()
		}
	}
}

// isNoRows reports whether err means a query matched nothing.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

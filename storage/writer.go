package storage

import (
	"context"
	"database/sql"
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
	after func() // runs after a successful commit, on the writer goroutine
	done  chan error
}

// wtx is the writer's transaction with the batch's clock reading.
type wtx struct {
	*sql.Tx
	ctx context.Context
	now time.Time
	db  *DB
}

func (t *wtx) exec(query string, args ...any) (sql.Result, error) {
	return t.ExecContext(t.ctx, query, args...)
}

func (t *wtx) stmt(s *sql.Stmt) *sql.Stmt { return t.StmtContext(t.ctx, s) }

// write runs fn in the writer goroutine and waits until its transaction has
// committed. after, if not nil, runs on the writer goroutine after the commit,
// in commit order. The caller's ctx only bounds the wait for a place in the
// queue: once queued, the op completes even if the caller gives up, because
// another request may share its transaction.
func (db *DB) write(ctx context.Context, fn func(*wtx) error, after func()) error {
	o := &op{fn: fn, after: after, done: make(chan error, 1)}
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
	batch := make([]*op, 0, maxBatch)
	for {
		select {
		case o := <-db.ops:
			batch = db.commit(db.fill(append(batch, o)))
		case <-db.closing:
			// Close holds the lock while closing, so nothing is being
			// enqueued now: drain what is left, in batches, then stop.
			for {
				if batch = db.fill(batch); len(batch) == 0 {
					return
				}
				batch = db.commit(batch)
			}
		}
	}
}

// fill appends what is already queued to batch, up to maxBatch, without
// waiting for more.
func (db *DB) fill(batch []*op) []*op {
	for len(batch) < maxBatch {
		select {
		case o := <-db.ops:
			batch = append(batch, o)
		default:
			return batch
		}
	}
	return batch
}

// commit runs one batch in one immediate transaction. Each op runs inside a
// savepoint so that one failing op (a bin deleted a moment ago) does not undo
// the others' work. It returns batch emptied for reuse.
func (db *DB) commit(batch []*op) []*op {
	// Drop the references when done: a batch can hold 256 captures of up to
	// 10 MiB each, which must not live on until the next batch overwrites them.
	defer clear(batch)
	db.commitBatch(batch)
	return batch[:0]
}

func (db *DB) commitBatch(batch []*op) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := make([]error, len(batch))
	finish := func(err error) {
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
		return
	}
	t := &wtx{Tx: tx, ctx: ctx, now: db.opts.Now(), db: db}
	single := len(batch) == 1
	for i, o := range batch {
		if single {
			errs[i] = o.fn(t)
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
			errs[i] = fmt.Errorf("savepoint: %w", err)
			continue
		}
		errs[i] = o.fn(t)
		if errs[i] != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO op"); err != nil {
				tx.Rollback()
				finish(fmt.Errorf("rollback to savepoint: %w", err))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE op"); err != nil {
			tx.Rollback()
			finish(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if single && errs[0] != nil {
		tx.Rollback()
		finish(nil)
		return
	}
	start := time.Now()
	if err := tx.Commit(); err != nil {
		// Nothing of this batch is durable: every op fails, even those whose
		// own statements succeeded.
		for i := range errs {
			errs[i] = nil
		}
		finish(fmt.Errorf("commit: %w", err))
		return
	}
	db.stats.CommitNano.Add(int64(time.Since(start)))
	db.stats.Commits.Add(1)
	db.stats.Ops.Add(int64(len(batch)))
	if n := int64(len(batch)); n > db.stats.MaxBatch.Load() {
		db.stats.MaxBatch.Store(n)
	}
	for i, o := range batch {
		if errs[i] == nil && o.after != nil {
			o.after()
		}
	}
	finish(nil)
}

// writerStmts are the hot statements, prepared once on the writer connection:
// the driver has no statement cache.
type writerStmts struct {
	nextSeq *sql.Stmt
	insert  *sql.Stmt
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
	// RETURNING must name exactly what Capture scans: database/sql refuses
	// a Scan with fewer destinations than columns.
	db.stmts.nextSeq = prep(db.w, `UPDATE bins SET seq = seq + 1, served = served + 1, last_active_at = ?
		WHERE id = ? RETURNING seq, served, response`)
	db.stmts.insert = prep(db.w, `INSERT INTO requests
		(bin_id, seq, method, path, query, headers, size, truncated, remote_addr, proto, tls, received_at, verdict, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	db.stmts.binByID = prep(db.r, `SELECT `+binColumns+` FROM bins WHERE id = ?`)
	if err != nil {
		return fmt.Errorf("prepare statements: %w", err)
	}
	return nil
}

func (s *writerStmts) close() {
	for _, st := range []*sql.Stmt{s.nextSeq, s.insert, s.binByID} {
		if st != nil {
			st.Close()
		}
	}
}

// isNoRows reports whether err means a query matched nothing.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

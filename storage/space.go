package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// ErrStorageFull is returned by Capture while the database is at its storage
// budget (Options.MaxStorage or Options.KeepFree). Nothing is stored; caps,
// retention and deletes free room, and captures are taken again then.
var ErrStorageFull = errors.New("storage budget reached")

// Maintenance pacing, all on the writer goroutine between batches.
const (
	// spaceEvery is how often the bytes in use are measured again. In
	// between, each committed capture adds its own size to the estimate, so
	// a burst cannot run far past the budget unseen.
	spaceEvery = 100 * time.Millisecond
	// vacuumPages is the most free pages one step hands back to the file
	// system (incremental_vacuum), one step per spaceEvery: up to 4 MiB
	// with 4 KiB pages, so 40 MiB/s after a large delete, each step a
	// short transaction of its own between two capture batches.
	vacuumPages = 1024
	// keepFreePages is the free pages kept inside the file for reuse, so
	// that steady churn (a bin at its cap) never shrinks and regrows the
	// file: at least this many, or 1/16 of the file.
	keepFreePages = 256
	// walTruncateAt is the WAL size over which the writer truncates it
	// once a checkpoint has caught up. SQLite restarts the WAL from its
	// start after a complete checkpoint and journal_size_limit trims it
	// then; this covers a WAL that grew while readers held old snapshots.
	walTruncateAt = 16 << 20
)

// space tracks the database's bytes in use against its budget. The writer
// goroutine measures; Capture reads two atomics.
type space struct {
	used   atomic.Int64 // bytes in use at the last measure, WAL included
	grown  atomic.Int64 // bytes captured since the last measure
	budget atomic.Int64 // 0: no budget
	full   atomic.Bool
	// writer goroutine only
	pageSize  int64
	last      time.Time
	lastTrunc time.Time
	warned    atomic.Bool // the budget was reached once: logged
}

// Full reports whether captures are refused now for the storage budget:
// the capture path asks before it reads a body it could not store.
func (db *DB) Full() bool { return db.overBudget() }

// overBudget reports whether a capture must be refused now.
func (db *DB) overBudget() bool {
	s := &db.space
	if s.full.Load() {
		return true
	}
	b := s.budget.Load()
	if used := s.used.Load() + s.grown.Load(); b > 0 && used >= b {
		db.budgetReached(used, b)
		return true
	}
	return false
}

// Space reports the bytes the database uses (pages holding data plus the
// WAL, as of at most spaceEvery ago, plus what was captured since) and its
// budget (0: none).
func (db *DB) Space() (used, budget int64) {
	return db.space.used.Load() + db.space.grown.Load(), db.space.budget.Load()
}

// maintain runs the writer's housekeeping when it is due: measures the
// bytes in use, hands free pages back to the file system a step at a time,
// and keeps the WAL small. It runs on the writer goroutine, between batches.
func (db *DB) maintain(force bool) {
	s := &db.space
	now := time.Now()
	if !force && now.Sub(s.last) < spaceEvery {
		return
	}
	s.last = now
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.measure(ctx, true); err != nil {
		db.log.Error("measure storage", "error", err)
	}
}

// measure reads the page counts and the WAL's size, and with vacuum set
// takes one paced step of incremental vacuum and WAL trimming.
func (db *DB) measure(ctx context.Context, vacuum bool) error {
	s := &db.space
	var pages, free int64
	if s.pageSize == 0 {
		if err := db.w.QueryRowContext(ctx, "PRAGMA page_size").Scan(&s.pageSize); err != nil {
			return fmt.Errorf("page size: %w", err)
		}
	}
	if err := db.w.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return fmt.Errorf("page count: %w", err)
	}
	if err := db.w.QueryRowContext(ctx, "PRAGMA freelist_count").Scan(&free); err != nil {
		return fmt.Errorf("freelist count: %w", err)
	}
	if keep := max(keepFreePages, pages/16); vacuum && free > keep {
		n := min(free-keep, vacuumPages)
		if _, err := db.w.ExecContext(ctx, fmt.Sprintf("PRAGMA incremental_vacuum(%d)", n)); err != nil {
			return fmt.Errorf("incremental vacuum: %w", err)
		}
		pages, free = pages-n, free-n
	}
	wal := fileSize(db.path + "-wal")
	// At the budget, the WAL's stale frames are the first room to win back.
	atBudget := s.full.Load() || (s.budget.Load() > 0 && (pages-free)*s.pageSize+wal >= s.budget.Load())
	if vacuum && wal > 0 && (wal > walTruncateAt && time.Since(s.lastTrunc) > time.Second || atBudget) {
		s.lastTrunc = time.Now()
		db.truncateWAL(ctx)
		wal = fileSize(db.path + "-wal")
	}
	used := (pages-free)*s.pageSize + wal
	budget := db.opts.MaxStorage
	if budget == 0 && db.opts.KeepFree > 0 {
		// What the file system has beyond the share kept free is room for
		// the database, and so are the free pages inside the file.
		if avail, total, ok := diskSpace(filepath.Dir(db.path)); ok {
			budget = max(1, used+free*s.pageSize+avail-int64(float64(total)*db.opts.KeepFree))
		}
	}
	db.measured(used, budget)
	return nil
}

// measured records a measure of the bytes in use against the budget, and
// logs when captures start or stop being refused for it.
func (db *DB) measured(used, budget int64) {
	s := &db.space
	s.used.Store(used)
	s.grown.Store(0)
	s.budget.Store(budget)
	full := budget > 0 && used >= budget
	if full != s.full.Load() {
		s.full.Store(full)
		if full {
			db.budgetReached(used, budget)
		} else {
			db.log.Info("storage below its budget again: captures are taken", "used_bytes", used, "budget_bytes", budget)
		}
	}
}

// budgetReached logs, the first time only, that the budget is reached.
func (db *DB) budgetReached(used, budget int64) {
	if db.space.warned.CompareAndSwap(false, true) {
		db.log.Warn("storage budget reached: captures are refused with 507 until caps, retention or deletes free room",
			"used_bytes", used, "budget_bytes", budget)
	}
}

// truncateWAL checkpoints the whole WAL and truncates it, but only if that
// can be done at once: it never waits for readers (a checkpoint that must
// wait is left to the next try), so captures queued behind it are not held.
func (db *DB) truncateWAL(ctx context.Context) {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err != nil {
		return
	}
	var busy, logPages, done int64
	err = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logPages, &done)
	if _, rerr := conn.ExecContext(ctx, "PRAGMA busy_timeout = 10000"); rerr != nil {
		db.log.Error("restore busy timeout", "error", rerr)
	}
	if err != nil {
		db.log.Debug("wal checkpoint", "error", err)
	}
}

// fileSize is the size of the file at path, 0 if it does not exist.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

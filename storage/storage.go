// Package storage keeps bins and their captured requests in SQLite, or in
// PostgreSQL for several instances (pg.go).
//
// All SQL of tailhook lives here. With SQLite, writes go through one goroutine that
// group-commits whatever is queued into one transaction, so many concurrent
// captures share one fsync while each is still acknowledged only after its
// commit. Reads use a separate pool of read-only connections.
package storage

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
)

// Errors callers can test for with errors.Is.
var (
	// ErrNotFound is returned when a bin, request or share does not exist.
	ErrNotFound = errors.New("not found")
	// ErrClosed is returned by writes submitted after Close began.
	ErrClosed = errors.New("database closed")
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// Options tune a DB. The zero value is usable.
type Options struct {
	// Now is the clock; tests inject a fake one. Defaults to time.Now.
	Now func() time.Time
	// MaxRequests is how many requests a bin keeps; older ones are pruned.
	// 0 means no limit.
	MaxRequests int64
	// Retention deletes bins idle for longer. 0 means never.
	Retention time.Duration
	// PruneEvery is how often the pruner looks for work. Defaults to 30 s.
	PruneEvery time.Duration
	// Log receives background errors (pruning). Defaults to slog.Default().
	Log *slog.Logger
	// MaxStorage is the bytes the database (pages holding data, plus the
	// WAL) may use; over it Capture returns ErrStorageFull. 0: see KeepFree.
	MaxStorage int64
	// KeepFree, when MaxStorage is 0, sets the budget to what leaves this
	// share (0.1 = 10 %) of the database's file system free, measured
	// again as it changes. 0 with MaxStorage 0: no budget.
	KeepFree float64

	// syncWAL replaces the WAL fsync in tests.
	syncWAL func(path string) error
}

// DB is tailhook's database: one writer connection owned by one goroutine, and
// a pool of readers on the same file.
type DB struct {
	path string // the SQLite file, or the PostgreSQL URL without its password
	// pg: the database is PostgreSQL, which other instances may share.
	pg      bool
	dsn     string // pg: the URL to connect with (password included: never log it)
	channel string // pg: the NOTIFY channel of this schema
	bus     *bus   // pg: events to and from the other instances
	// pg: this instance's captures to one bin, one at a time (op.capture);
	// striped, as bins are many.
	captureLocks [256]sync.Mutex
	w            *sql.DB // exactly one connection, used only by the writer goroutine
	r            *sql.DB // read-only pool
	opts         Options
	log          *slog.Logger

	ops     chan *op
	closing chan struct{}
	wg      sync.WaitGroup
	closed  atomic.Bool
	mu      sync.RWMutex // held for reading while submitting, so Close can wait for submitters

	closeOnce sync.Once
	closeErr  error

	syncq    chan *synced  // committed batches waiting for their fsync
	syncTook chan struct{} // the syncer took the waiting batches into an fsync
	waiting  atomic.Int64  // batches committed whose fsync has not started yet
	wal      walFile       // syncer goroutine only
	stmts    writerStmts
	dstmts   deliveryStmts
	counters map[string]*binCounter // committed seq counters; writer goroutine only
	held     *op                    // an op that starts the next batch; writer goroutine only
	bins     binCache               // bins for the capture path
	stats    Stats
	space    space // bytes in use and budget; see space.go
}

// Stats are counters about the write path, for metrics and benchmarks.
type Stats struct {
	Commits    atomic.Int64 // transactions committed
	Ops        atomic.Int64 // operations committed
	Captures   atomic.Int64 // requests captured
	CommitNano atomic.Int64 // total time spent in commits
	MaxBatch   atomic.Int64 // largest batch so far
	Syncs      atomic.Int64 // fsyncs of the WAL that acknowledged commits
	SyncNano   atomic.Int64 // total time spent in those fsyncs
}

// checkWritable fails with one clear sentence when the database file or its
// folder cannot be written: SQLite would otherwise open it, and fail later
// with a message about the WAL or a pragma.
func checkWritable(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("database file %s cannot be written (%w): tailhook needs to write it; check its permissions and that its volume is not mounted read-only", path, errors.Unwrap(err))
	}
	// SQLite creates its -wal and -shm files beside the database.
	dir := filepath.Dir(path)
	probe, err := os.CreateTemp(dir, ".tailhook-write-check-*")
	if err != nil {
		return fmt.Errorf("database folder %s cannot be written (%w): tailhook needs to create files in it; check its permissions and that its volume is not mounted read-only", dir, errors.Unwrap(err))
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// Open opens (creating if needed) the database at path, applies pending
// migrations and starts the writer and the pruner. A postgres:// or
// postgresql:// URL opens PostgreSQL instead of an SQLite file.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.PruneEvery <= 0 {
		opts.PruneEvery = 30 * time.Second
	}
	if IsPostgres(path) {
		return openPostgres(ctx, path, opts)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
	}
	if err := checkWritable(path); err != nil {
		return nil, err
	}
	// The DSN comes from our own code, but be strict anyway: a pragma typo
	// should fail loudly, not be ignored.
	sqlite.StrictPragmas(true)

	db := &DB{path: path, opts: opts, log: opts.Log, ops: make(chan *op, 1024), closing: make(chan struct{}), counters: map[string]*binCounter{}, syncq: make(chan *synced, 64), syncTook: make(chan struct{}, 1)}
	var err error
	// busy_timeout comes first so that the pragmas after it already wait for
	// locks instead of failing.
	//
	// Durability: a 2xx to a webhook sender means the request survives power
	// loss. synchronous=FULL would give that by fsyncing the WAL inside every
	// COMMIT, with the writer waiting. We run synchronous=NORMAL (SQLite then
	// syncs only around checkpoints) and fsync the WAL ourselves after each
	// commit, in the syncer goroutine, before acknowledging anything of it:
	// the same guarantee as FULL, but the writer starts the next batch while
	// the disk syncs the previous one, and one fsync can cover several
	// batches. See syncer.go.
	// _txlock=immediate: the writer takes the write lock at BEGIN, so it never
	// hits SQLITE_BUSY_SNAPSHOT upgrading a read transaction.
	//
	// auto_vacuum(INCREMENTAL) comes before journal_mode: it only takes on a
	// new file before its first page is written. It lets the writer hand
	// free pages back to the file system a step at a time (space.go); an
	// older file without it is converted once by convertAutoVacuum.
	// journal_size_limit trims the WAL each time it restarts from its start
	// after a complete checkpoint, so a burst's WAL does not stay on disk.
	// It sits above the ~4 MiB the WAL reaches between two automatic
	// checkpoints (1000 pages): a WAL trimmed below that would be extended
	// again every cycle, and a fsync of a file that grew costs more than
	// one of frames written in place.
	db.w, err = sql.Open("sqlite", dsn(path, "_txlock=immediate",
		"busy_timeout(10000)", "auto_vacuum(INCREMENTAL)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)",
		"journal_size_limit(16777216)"))
	if err != nil {
		return nil, fmt.Errorf("open writer: %w", err)
	}
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	db.w.SetConnMaxLifetime(0)
	db.w.SetConnMaxIdleTime(0)
	if err := db.w.PingContext(ctx); err != nil {
		db.w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := db.convertAutoVacuum(ctx); err != nil {
		db.w.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.w.Close()
		return nil, err
	}
	if err := db.measure(ctx, false); err != nil {
		db.w.Close()
		return nil, err
	}
	// query_only rather than mode=ro: a read-only open cannot create the WAL
	// index, and the writer already created the file.
	db.r, err = sql.Open("sqlite", dsn(path, "", "busy_timeout(10000)", "foreign_keys(1)", "query_only(1)"))
	if err != nil {
		db.w.Close()
		return nil, fmt.Errorf("open readers: %w", err)
	}
	n := max(4, runtime.NumCPU())
	db.r.SetMaxOpenConns(n)
	db.r.SetMaxIdleConns(n)
	if err := errors.Join(db.prepare(ctx), db.prepareDeliveries(ctx)); err != nil {
		db.stmts.close()
		db.dstmts.close()
		db.w.Close()
		db.r.Close()
		return nil, err
	}
	db.wg.Add(3)
	go db.writer()
	go db.syncer()
	go db.pruner()
	return db, nil
}

func dsn(path, extra string, pragmas ...string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	// The driver decodes the query with net/url, so escaping is safe.
	s := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	if extra != "" {
		s += "&" + extra
	}
	return s
}

// Path is the database file, or the PostgreSQL URL without its password.
func (db *DB) Path() string { return db.path }

// Shared reports whether other instances may share the database (PostgreSQL).
func (db *DB) Shared() bool { return db.pg }

// Stats returns the write-path counters.
func (db *DB) Stats() *Stats { return &db.stats }

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Close stops the pruner, lets the writer finish everything already queued,
// and closes the database. Writes submitted after Close get ErrClosed. Every
// call returns once the database is closed, with the same result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() { db.closeErr = db.close() })
	return db.closeErr
}

func (db *DB) close() error {
	db.closed.Store(true)
	db.mu.Lock() // waits for submitters that are enqueuing right now
	close(db.closing)
	db.mu.Unlock()
	db.wg.Wait()
	db.stmts.close()
	db.dstmts.close()
	if db.pg {
		return db.w.Close()
	}
	// A final checkpoint keeps the -wal file small for the next start.
	_, _ = db.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	return errors.Join(db.r.Close(), db.w.Close())
}

// convertAutoVacuum turns incremental auto-vacuum on for a database created
// without it (before this release): a VACUUM rewrites the whole file, once.
// It needs free disk space about the size of the database and cannot run
// inside a transaction, so it runs here, before anything else uses the file.
func (db *DB) convertAutoVacuum(ctx context.Context) error {
	var mode int
	if err := db.w.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return fmt.Errorf("read auto_vacuum: %w", err)
	}
	const incremental = 2
	if mode == incremental {
		return nil
	}
	start := time.Now()
	db.log.Info("converting the database to incremental auto-vacuum, once: this rewrites the whole file", "db", db.path, "bytes", fileSize(db.path))
	if _, err := db.w.ExecContext(ctx, "PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
		return fmt.Errorf("set auto_vacuum: %w", err)
	}
	if _, err := db.w.ExecContext(ctx, "VACUUM"); err != nil {
		return fmt.Errorf("convert to incremental auto-vacuum (needs free disk space about the database's size): %w", err)
	}
	if _, err := db.w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("checkpoint after vacuum: %w", err)
	}
	db.log.Info("database converted to incremental auto-vacuum", "db", db.path, "bytes", fileSize(db.path), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

func (db *DB) migrate(ctx context.Context) error {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/sqlite/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.applyMigration(ctx, conn.BeginTx, name, nil); err != nil {
			return err
		}
	}
	return nil
}

// applyMigration applies one migration unless it already was. The check is
// inside the transaction (begin's), so two processes opening the same new
// database cannot both apply it: SQLite's is immediate, and PostgreSQL's
// takes a lock first (lock, when set, runs before anything else in it).
func (db *DB) applyMigration(ctx context.Context, begin func(context.Context, *sql.TxOptions) (*sql.Tx, error), name string, lock func(context.Context, *sql.Tx) error) error {
	base := path.Base(name)
	src, err := migrationFS.ReadFile(name)
	if err != nil {
		return fmt.Errorf("read migration %s: %w", base, err)
	}
	tx, err := begin(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration %s: %w", base, err)
	}
	defer tx.Rollback()
	if lock != nil {
		if err := lock(ctx, tx); err != nil {
			return fmt.Errorf("lock for migration %s: %w", base, err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM migrations WHERE name = ?`, base).Scan(&n); err != nil {
		return fmt.Errorf("check migration %s: %w", base, err)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, string(src)); err != nil {
		return fmt.Errorf("apply migration %s: %w", base, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, base, db.opts.Now().UnixMilli()); err != nil {
		return fmt.Errorf("record migration %s: %w", base, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration %s: %w", base, err)
	}
	return nil
}

package storage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL is the engine for several tailhook instances on one database.
// The SQL of both engines is written once where it can be: in SQLite's
// dialect with ? placeholders, which pgConn rewrites to $1, $2… on its way
// to the server. What differs lives in pg_*.go (the write path, the event
// bus) and migrations/postgres.
//
// Writes do not go through the SQLite writer goroutine: each op is a
// transaction of its own on the pool, run by its caller. A capture takes its
// seq under the bin row's lock (SELECT … FOR UPDATE in the same
// transaction), so captures to one bin commit one after the other in seq
// order on every instance, and a reader that sees seq N sees every seq below
// it: resuming a stream from another instance leaves no gap.

// IsPostgres reports whether a --db value names a PostgreSQL database rather
// than an SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// redactDSN returns dsn without its password, for logs and errors.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}

// pgMaxConns bounds each instance's connections. Several instances share the
// server's max_connections (100 by default), and each also holds a listener.
const pgMaxConns = 16

func openPostgres(ctx context.Context, dsn string, opts Options) (*DB, error) {
	shown := redactDSN(dsn)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, fmt.Errorf("database URL %s is not valid", shown)
	}
	db := &DB{path: shown, pg: true, dsn: dsn, opts: opts, log: opts.Log, closing: make(chan struct{}), counters: map[string]*binCounter{}}
	db.w = sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	db.w.SetMaxOpenConns(pgMaxConns)
	db.w.SetMaxIdleConns(pgMaxConns)
	db.w.SetConnMaxIdleTime(5 * time.Minute)
	db.r = db.w
	fail := func(err error) (*DB, error) {
		db.w.Close()
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.w.PingContext(pctx); err != nil {
		// pgx lists each address it tried on a line of its own: one line
		// for the log and the terminal.
		msg := strings.NewReplacer(":\n\t", ": ", "\n\t", "; ", "\n", "; ").Replace(err.Error())
		return fail(fmt.Errorf("connect to %s: %s", shown, msg))
	}
	var version int
	var syncCommit, schema string
	err = db.w.QueryRowContext(pctx, `SELECT current_setting('server_version_num')::int, current_setting('synchronous_commit'), COALESCE(current_schema(), '')`).
		Scan(&version, &syncCommit, &schema)
	if err != nil {
		return fail(fmt.Errorf("read server settings of %s: %w", shown, err))
	}
	if version < 150000 {
		return fail(fmt.Errorf("%s runs PostgreSQL %d.%d: tailhook needs 15 or later", shown, version/10000, version%10000))
	}
	// A 2xx to a webhook sender means the capture is committed; with
	// synchronous_commit off, PostgreSQL acknowledges commits it may lose.
	if syncCommit == "off" {
		return fail(fmt.Errorf("%s has synchronous_commit=off: tailhook acknowledges a capture only once it is durable; set it to on (or local) for tailhook's role or database", shown))
	}
	if schema == "" {
		return fail(fmt.Errorf("%s has no schema to create tailhook's tables in: the first schema of search_path must exist", shown))
	}
	db.channel = channelOf(schema)
	if err := db.migratePG(pctx); err != nil {
		return fail(err)
	}
	if err := errors.Join(db.prepare(ctx), db.prepareDeliveries(ctx)); err != nil {
		db.stmts.close()
		db.dstmts.close()
		return fail(err)
	}
	if opts.MaxStorage == 0 && opts.KeepFree > 0 {
		db.log.Info("PostgreSQL: no storage budget unless --max-storage is set (the server's disk is not visible from here)")
	}
	if err := db.measurePG(pctx); err != nil {
		return fail(err)
	}
	db.bins.ttl = binCacheTTL
	db.bus = newBus(db)
	db.wg.Add(3)
	go db.pgHousekeeping()
	go db.pruner()
	go db.bus.run()
	return db, nil
}

// migratePG applies the PostgreSQL migrations, each in a transaction under an
// advisory lock: instances starting at once on an empty database apply each
// migration exactly once, the others wait and then find it applied.
func (db *DB) migratePG(ctx context.Context) error {
	names, err := fs.Glob(migrationFS, "migrations/postgres/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.applyMigration(ctx, db.w.BeginTx, name, lockMigrations); err != nil {
			return err
		}
	}
	return nil
}

// lockMigrations starts a migration's transaction on PostgreSQL: the lock
// is taken before the migrations table exists, so that its creation is
// serialised too; it is released at commit.
func lockMigrations(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.tailhook.migrate'))`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	return nil
}

// submitPG runs one op as a transaction of its own. As with the SQLite
// writer, once started it completes even if the caller gives up: its
// context only bounds the time, 30 s.
func (db *DB) submitPG(ctx context.Context, o *op) error {
	db.mu.RLock() // Close waits for every op under way
	defer db.mu.RUnlock()
	if db.closed.Load() {
		return ErrClosed
	}
	if o.capture != "" {
		mu := &db.captureLocks[fnv32(o.capture)%uint32(len(db.captureLocks))]
		mu.Lock()
		defer mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if o.background {
		// Nobody waits for the pruner's deletes or an attempt's record to
		// be durable (see op.background): skip the commit's WAL flush wait.
		if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
	}
	t := &wtx{Tx: tx, ctx: ctx, now: db.opts.Now(), db: db, counters: map[string]*binCounter{}, stmts: map[*sql.Stmt]*sql.Stmt{}}
	if err := o.fn(t); err != nil {
		return err
	}
	if err := t.flushAll(); err != nil {
		return err
	}
	start := time.Now()
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	db.stats.CommitNano.Add(int64(time.Since(start)))
	db.stats.Commits.Add(1)
	db.stats.Ops.Add(1)
	if o.bin != "" {
		db.bins.forget(o.bin)
		db.bus.announce(Event{Kind: EventBinChanged, Bin: o.bin})
	}
	if o.after != nil {
		o.after()
	}
	return nil
}

// pgConnector hands out pgConns.
type pgConnector struct{ driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{conn.(*stdlib.Conn)}, nil
}

// pgConn is pgx's database/sql connection with tailhook's SQL translated:
// ? placeholders become $n, and arguments are given the types the schema
// uses (flags are BIGINT; strings go as bytes, which PostgreSQL takes for
// TEXT and BYTEA columns alike, so a captured path that is not UTF-8 is
// stored exactly).
type pgConn struct{ *stdlib.Conn }

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(rebind(query))
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(query))
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(query), args)
}

func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	switch v := nv.Value.(type) {
	case bool:
		if v {
			nv.Value = int64(1)
		} else {
			nv.Value = int64(0)
		}
	case string:
		nv.Value = []byte(v)
	}
	return nil
}

// rebinds caches rebind's work: queries are a fixed set of constants and a
// few built from them, so the cache stays small; it is bounded anyway.
var rebinds struct {
	sync.RWMutex
	m map[string]string
}

// rebind turns SQLite's ? placeholders into PostgreSQL's $1, $2…, leaving
// string literals, quoted names and comments alone.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	rebinds.RLock()
	out, ok := rebinds.m[q]
	rebinds.RUnlock()
	if ok {
		return out
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			end := len(q) // unterminated: the server will say so
			if j := strings.IndexByte(q[i+1:], c); j >= 0 {
				end = i + j + 2
			}
			b.WriteString(q[i:end])
			i = end - 1
			continue
		case c == '-' && strings.HasPrefix(q[i:], "--"):
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			b.WriteString(q[i : i+j])
			i += j - 1
			continue
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	out = b.String()
	rebinds.Lock()
	if rebinds.m == nil || len(rebinds.m) > 4096 {
		rebinds.m = map[string]string{}
	}
	rebinds.m[q] = out
	rebinds.Unlock()
	return out
}

// rateLimit applies the bin's rate limit (GCRA) to one capture, with the
// state kept on the bin's row: the capture holds that row's lock already,
// so every instance sees the same limit for no extra statement. A capture
// refused here rolls back and leaves the state as it was.
func (t *wtx) rateLimit(c *binCounter, r Rate) error {
	if !t.db.pg || r.PerSecond <= 0 {
		return nil
	}
	now := t.now.UnixMicro()
	interval := int64(1e6 / r.PerSecond)
	tolerance := interval * int64(max(r.Burst, 1)-1)
	tat := max(c.tat, now)
	if tat-now > tolerance {
		return &RateLimitedError{RetryAfter: time.Duration(tat-now-tolerance) * time.Microsecond}
	}
	c.tat = tat + interval
	c.dirty = true
	return nil
}

// pgHousekeeping measures the bytes in use every few seconds, for the
// storage budget and the metrics.
func (db *DB) pgHousekeeping() {
	defer db.wg.Done()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-db.closing:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := db.measurePG(ctx); err != nil {
				db.log.Error("measure storage", "error", err)
			}
			cancel()
		}
	}
}

// measurePG reads the size of tailhook's tables and indexes. The budget is
// --max-storage alone: the server's file system is not visible from here.
func (db *DB) measurePG(ctx context.Context) error {
	var used int64
	err := db.r.QueryRowContext(ctx, `SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind = 'r'`).Scan(&used)
	if err != nil {
		return fmt.Errorf("measure storage: %w", err)
	}
	db.measured(used, db.opts.MaxStorage)
	return nil
}

// prunePG runs a prune pass on one instance at a time: under a session
// advisory lock, taken and released on the same connection (released on a
// pooled connection it would stay held by another).
func (db *DB) prunePG(ctx context.Context) error {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	defer conn.Close()
	const key = `hashtext(current_schema() || '.tailhook.prune')`
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(`+key+`)`).Scan(&got); err != nil {
		return fmt.Errorf("prune: lock: %w", err)
	}
	if !got {
		return nil // another instance is pruning
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock(`+key+`)`); err != nil {
			// The lock goes with the connection: drop it from the pool.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	_, perr := db.Prune(ctx)
	_, serr := db.PruneShares(ctx)
	return errors.Join(perr, serr)
}

// fnv32 hashes a bin id to one of the capture locks.
func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// channelOf names the NOTIFY channel of a schema: one per schema, so that
// tailhooks on different schemas of one database never hear each other.
// A channel name is an identifier (63 bytes at most): a long schema name
// goes in hashed.
func channelOf(schema string) string {
	if c := "tailhook." + schema; len(c) <= 63 {
		return c
	}
	h := sha256.Sum256([]byte(schema))
	return "tailhook." + hex.EncodeToString(h[:16])
}

package storage

import (
	"context"
	"fmt"
	"strings"
)

// Search keeps the plain scan of matchSQL (request.go) rather than an FTS5
// index: BenchmarkSearch and BenchmarkSearchFTS5 (search_test.go) measured,
// on 10 000 requests of ~1.3 KiB per bin, a worst case of ~35 ms for the scan
// against ~10 ms for an FTS5 trigram index, which cost ~90 µs of the single
// writer's time per capture, doubled the file and made common terms 40×
// slower (0.5 ms → 20 ms). The numbers are in docs/automation.md.

// Filter selects requests for the wait API: every set field must match.
type Filter struct {
	Method     string // exact method, ASCII case-insensitive
	PathPrefix string // the captured path starts with these bytes
	Query      string // as ListOptions.Query
}

// Matches reports whether r passes the filter, by the same rules as
// FirstMatchAfter applies in SQL.
func (f Filter) Matches(r *Request) bool {
	if f.Method != "" && foldASCII(f.Method) != foldASCII(r.Method) {
		return false
	}
	if !strings.HasPrefix(r.Path, f.PathPrefix) {
		return false
	}
	return r.Matches(f.Query)
}

// sql returns the filter's predicate (starting with " AND") and its
// arguments.
func (f Filter) sql() (string, []any) {
	var (
		q    string
		args []any
	)
	if f.Method != "" {
		q += ` AND lower(method) = ?`
		args = append(args, foldASCII(f.Method))
	}
	if f.PathPrefix != "" {
		// instr finds the first occurrence, so 1 means "starts with".
		q += ` AND instr(path, ?) = 1`
		args = append(args, f.PathPrefix)
	}
	if f.Query != "" {
		q += ` AND ` + matchSQL
		args = append(args, matchArgs(f.Query)...)
	}
	return q, args
}

// FirstMatchAfter returns the oldest whole request of a bin with seq > after
// that passes f, with its forwarding history, or ErrNotFound if there is none
// yet.
func (db *DB) FirstMatchAfter(ctx context.Context, binID string, after int64, f Filter) (*Request, error) {
	where, args := f.sql()
	var seq int64
	err := db.r.QueryRowContext(ctx, `SELECT seq FROM requests WHERE bin_id = ? AND seq > ?`+where+` ORDER BY seq LIMIT 1`,
		append([]any{binID, after}, args...)...).Scan(&seq)
	if isNoRows(err) {
		return nil, fmt.Errorf("no match after %d: %w", after, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("first match after %d: %w", after, err)
	}
	return db.Request(ctx, binID, seq)
}

// ExportOptions select a page of whole requests for an export.
type ExportOptions struct {
	After int64  // only seq > After
	UpTo  int64  // only seq <= UpTo; 0 means no bound
	Query string // as ListOptions.Query
	Limit int    // 1…500; 0 means 20: a page holds whole bodies
}

// ExportRequests returns a page of whole requests (bodies, no forwarding
// history), oldest first. Callers page with After = the last seq returned,
// and stop at a short page.
func (db *DB) ExportRequests(ctx context.Context, binID string, o ExportOptions) ([]*Request, error) {
	limit := o.Limit
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 500)
	q := `SELECT ` + summaryColumns + `, body FROM requests WHERE bin_id = ? AND seq > ?`
	args := []any{binID, o.After}
	if o.UpTo > 0 {
		q += ` AND seq <= ?`
		args = append(args, o.UpTo)
	}
	where, fargs := Filter{Query: o.Query}.sql()
	q += where + ` ORDER BY seq LIMIT ?`
	args = append(append(args, fargs...), limit)
	reqs, err := db.queryRequests(ctx, q, true, args...)
	if err != nil {
		return nil, fmt.Errorf("export requests: %w", err)
	}
	return reqs, nil
}

package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Search keeps the plain scan of matchSQL (request.go) rather than an FTS5
// index: BenchmarkSearch and BenchmarkSearchFTS5 (search_test.go) measured,
// on 10 000 requests of ~1.3 KiB per bin, a worst case of ~35 ms for the scan
// against ~10 ms for an FTS5 trigram index, which cost ~90 µs of the single
// writer's time per capture, doubled the file and made common terms 40×
// slower (0.5 ms → 20 ms). The numbers are in docs/automation.md.

// The search predicate, written once for SQL (matchSQL) and once for Go
// (Request.Matches), which TestSearchAgrees and FuzzSearchAgrees hold to
// the same answers. A query matches a request when, after folding ASCII
// letters (SQLite's lower(); foldASCII), its bytes occur in
//   - "METHOD path?query",
//   - a header name or one of its values, each as stored (valid UTF-8 as
//     sent, anything else escaped: escapeHeaderString), never across them
//     nor in the JSON that holds them,
//   - or the body.
// Matching is bytewise (instr on BLOBs): SQLite's instr on TEXT steps by
// characters and would miss what Go's strings.Contains finds.

// matchSQL is the search predicate in SQL; matchArgs gives its arguments.
// The headers column is JSON: a plain instr on its text finds candidates
// fast, json_each then decides on names and values alone, so that a query
// such as `":["` does not match the JSON's own punctuation.
const matchSQL = `(instr(CAST(lower(method || ' ' || path || '?' || query) AS BLOB), CAST(? AS BLOB)) > 0
	OR (instr(lower(headers), ?) > 0 AND EXISTS (SELECT 1 FROM json_each(requests.headers) AS h
		WHERE instr(CAST(lower(h.key) AS BLOB), CAST(? AS BLOB)) > 0
		OR EXISTS (SELECT 1 FROM json_each(h.value) AS v WHERE instr(CAST(lower(v.value) AS BLOB), CAST(? AS BLOB)) > 0)))
	OR instr(CAST(lower(body) AS BLOB), CAST(? AS BLOB)) > 0)`

func matchArgs(q string) []any {
	l := foldASCII(q)
	// The candidate test on the headers' JSON text needs the needle as JSON
	// writes it. A needle that is not valid UTF-8 has no such form (it can
	// still match inside a multi-byte character): every row is a candidate.
	j := ""
	if utf8.ValidString(l) {
		b, _ := json.Marshal(l) // escapes as appendJSONString does
		j = strings.TrimSuffix(strings.TrimPrefix(string(b), `"`), `"`)
	}
	return []any{l, j, l, l, l}
}

// Matches reports whether r matches the search query q: the Go side of
// matchSQL, used by live filters.
func (r *Request) Matches(q string) bool {
	if q == "" {
		return true
	}
	l := foldASCII(q)
	if strings.Contains(foldASCII(r.Method+" "+r.Path+"?"+r.Query), l) {
		return true
	}
	// The header lines are stored as "name:value" values of the header
	// named listKey (headerlist.go), which matchSQL searches like any other.
	for _, hl := range r.HeaderList {
		if strings.Contains(foldASCII(escapeHeaderString(hl.Name+":"+hl.Value)), l) {
			return true
		}
	}
	for name, vs := range r.Header {
		if strings.Contains(foldASCII(escapeHeaderString(name)), l) {
			return true
		}
		for _, v := range vs {
			if strings.Contains(foldASCII(escapeHeaderString(v)), l) {
				return true
			}
		}
	}
	return strings.Contains(foldASCII(string(r.Body)), l)
}

// Filter selects requests for live subscriptions (the wait API's filters,
// a page's search): every set field must match.
type Filter struct {
	Method     string // exact method, ASCII case-insensitive
	PathPrefix string // the captured path starts with these bytes
	Query      string // as ListOptions.Query
}

// Matches reports whether r passes the filter, by the same rules as
// Backlog applies in SQL.
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
	if db.pg && o.Query != "" {
		before := int64(0)
		if o.UpTo > 0 {
			before = o.UpTo + 1
		}
		reqs, err := db.scanMatching(ctx, db.r, binID, o.After, before, false, Filter{Query: o.Query}, limit, true)
		if err != nil {
			return nil, fmt.Errorf("export requests: %w", err)
		}
		return reqs, nil
	}
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

// Backlog returns what a live subscriber of a bin has not seen yet: up to
// limit whole requests with seq > after that pass f, oldest first, and upTo,
// the seq through which the answer is complete (the bin's counter, or the
// last request's seq when the page is full). Both come from one snapshot,
// so a subscriber may skip to upTo without missing a capture. ErrNotFound
// means the bin is gone.
func (db *DB) Backlog(ctx context.Context, binID string, after int64, f Filter, limit int) ([]*Request, int64, error) {
	if limit <= 0 {
		// SQLite reads a negative LIMIT as "no limit": a whole bin of
		// 10 MiB bodies would be read into memory at once.
		limit = 100
	}
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("backlog: %w", err)
	}
	defer tx.Rollback()
	var upTo int64
	err = tx.QueryRowContext(ctx, `SELECT seq FROM bins WHERE id = ?`, binID).Scan(&upTo)
	if isNoRows(err) {
		return nil, 0, fmt.Errorf("backlog of bin %s: %w", binID, ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("backlog: %w", err)
	}
	if db.pg && f != (Filter{}) {
		reqs, err := db.scanMatching(ctx, tx, binID, after, upTo+1, false, f, limit, true)
		if err != nil {
			return nil, 0, fmt.Errorf("backlog: %w", err)
		}
		if len(reqs) == limit {
			upTo = reqs[len(reqs)-1].Seq
		}
		return reqs, upTo, nil
	}
	where, args := f.sql()
	rows, err := tx.QueryContext(ctx, `SELECT `+summaryColumns+`, body FROM requests WHERE bin_id = ? AND seq > ? AND seq <= ?`+
		where+` ORDER BY seq LIMIT ?`, append(append([]any{binID, after, upTo}, args...), limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("backlog: %w", err)
	}
	defer rows.Close()
	var reqs []*Request
	for rows.Next() {
		r, err := scanRequest(rows, true)
		if err != nil {
			return nil, 0, fmt.Errorf("backlog: %w", err)
		}
		reqs = append(reqs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("backlog: %w", err)
	}
	if len(reqs) == limit {
		upTo = reqs[len(reqs)-1].Seq
	}
	return reqs, upTo, nil
}

// pgCandidateSQL narrows scanMatching to the requests that may match a
// search, in the server, so that the others' bodies never cross the
// connection. Bytes become characters one to one (LATIN1 maps every byte to
// the code point of its value), and lower() under the C collation folds
// ASCII letters only: a substring test on those is exactly matchSQL's on
// method, path, query and body. For headers it is matchSQL's candidate test
// (the needle as JSON writes it, in the JSON text), a superset that
// Request.Matches then decides on.
// Text holds no NUL: bytes with one are a candidate without a test (CASE
// keeps convert_from from seeing them), and a needle with one is left to
// Request.Matches alone.
const pgCandidateSQL = `(CASE WHEN position('\x00'::bytea IN method || path || query) > 0 THEN true
		ELSE strpos(lower((convert_from(method, 'LATIN1') || ' ' || convert_from(path, 'LATIN1') || '?' || convert_from(query, 'LATIN1')) COLLATE "C"), ?) > 0 END
	OR CASE WHEN position('\x00'::bytea IN body) > 0 THEN true
		ELSE strpos(lower(convert_from(body, 'LATIN1') COLLATE "C"), ?) > 0 END
	OR strpos(lower(headers COLLATE "C"), ?) > 0)`

// pgCandidateArgs gives pgCandidateSQL's arguments; ok is false when the
// query cannot narrow anything in SQL.
func pgCandidateArgs(q string) (args []any, ok bool) {
	margs := matchArgs(q) // folded needle, and its JSON form
	l, j := margs[0].(string), margs[1].(string)
	if strings.IndexByte(l, 0) >= 0 {
		return nil, false
	}
	return []any{latin1(l), latin1(l), j}, true
}

// latin1 reads s's bytes as LATIN1, as convert_from(…, 'LATIN1') does.
func latin1(s string) string {
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return string(r)
}

// scanMatchPage is how many whole requests scanMatching reads at a time:
// with 10 MiB bodies, 80 MiB at most in memory.
const scanMatchPage = 8

// scanMatching is search on PostgreSQL: it reads a bin's requests with
// after < seq < before (before 0: no bound), in seq order (newest first with
// desc), a page at a time, and keeps up to limit of those f matches, by
// Filter.Matches, the Go side of matchSQL. PostgreSQL has no bytewise,
// ASCII-only case folding over BYTEA to write matchSQL with, and one
// predicate in Go gives both engines the same answers by construction, at
// the cost of reading the bin's bodies: the same scan SQLite does, over the
// connection. Bodies are dropped unless withBody.
func (db *DB) scanMatching(ctx context.Context, q querier, binID string, after, before int64, desc bool, f Filter, limit int, withBody bool) ([]*Request, error) {
	var out []*Request
	for {
		query := `SELECT ` + summaryColumns + `, body FROM requests WHERE bin_id = ? AND seq > ?`
		args := []any{binID, after}
		if before > 0 {
			query += ` AND seq < ?`
			args = append(args, before)
		}
		if cargs, ok := pgCandidateArgs(f.Query); ok && f.Query != "" {
			query += ` AND ` + pgCandidateSQL
			args = append(args, cargs...)
		}
		if desc {
			query += ` ORDER BY seq DESC LIMIT ?`
		} else {
			query += ` ORDER BY seq LIMIT ?`
		}
		rows, err := q.QueryContext(ctx, query, append(args, scanMatchPage)...)
		if err != nil {
			return nil, err
		}
		n := 0
		for rows.Next() {
			r, err := scanRequest(rows, true)
			if err != nil {
				rows.Close()
				return nil, err
			}
			n++
			if desc {
				before = r.Seq
			} else {
				after = r.Seq
			}
			if !f.Matches(r) {
				continue
			}
			if !withBody {
				r.Body = nil
			}
			out = append(out, r)
			if len(out) == limit {
				rows.Close()
				return out, nil
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if n < scanMatchPage {
			return out, nil
		}
	}
}

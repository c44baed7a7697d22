package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Request is one captured HTTP request, byte-exact.
type Request struct {
	ID         string // "req_" + seq: unique within its bin
	BinID      string
	Seq        int64 // 1, 2, 3… per bin, in capture order
	Method     string
	Path       string      // after /b/{bin}, as sent on the wire: "" or starting with "/"
	Query      string      // raw query string
	Header     http.Header // never nil when read back
	Body       []byte      // nil in list summaries; empty, not nil, for an empty or truncated body
	Size       int64
	Truncated  bool // the body was over the size limit; Capture does not keep it
	RemoteAddr string
	Proto      string
	TLS        bool
	ReceivedAt time.Time // UTC, to the microsecond; Capture fills in a zero one
	Verdict    *Verdict  // nil when the bin had no signature check set
	// Answered is what the sender got. Capture fills a zero Status with the
	// bin's configured answer; the capture path sets it for answers of its
	// own (a handshake, 401 for an invalid signature, 413).
	Answered Answered
	Forwards []Forward
	Delivery *Delivery // the auto-forward job, if any
	// HeaderList is every header line as received, in wire order and
	// spelling; nil when it was not recorded (see headerlist.go).
	HeaderList []HeaderLine

	pk int64
}

// Verdict is the outcome of a signature check, as stored with a request.
type Verdict struct {
	Provider string          `json:"provider"`
	Valid    bool            `json:"valid"`
	Reason   string          `json:"reason"`
	Details  json.RawMessage `json:"details,omitempty"`
}

// Answered is the answer a capture's sender got.
type Answered struct {
	Status int `json:"status"`
	// Handshake names the provider whose setup handshake tailhook answered.
	Handshake string `json:"handshake,omitempty"`
}

// verdictColumn is what the requests.verdict column holds: the verdict (nil
// when the bin had none set) and the answer. The answer shares the column so
// that it is read with the summary columns, before the body (a column added
// after the body would make every summary read the body's overflow pages).
type verdictColumn struct {
	*Verdict
	Answered *Answered `json:"answered,omitempty"`
}

// encodeVerdictColumn is built by hand around the marshalled verdict: it runs
// in the writer for every capture.
func encodeVerdictColumn(verdict string, a Answered) string {
	var b strings.Builder
	if verdict == "" {
		b.WriteString(`{"answered":{"status":`)
	} else {
		b.WriteString(verdict[:len(verdict)-1])
		b.WriteString(`,"answered":{"status":`)
	}
	b.WriteString(strconv.Itoa(a.Status))
	if a.Handshake != "" {
		// Provider ids are [a-z0-9-]; quoted anyway so that no id can break the JSON.
		b.WriteString(`,"handshake":`)
		b.WriteString(strconv.Quote(a.Handshake))
	}
	b.WriteString(`}}`)
	return b.String()
}

// Forward is one forwarding attempt of a request, manual or automatic.
type Forward struct {
	URL        string
	Status     int
	Attempt    int
	Error      string
	DurationMS int64
	Auto       bool
	At         time.Time
}

// RequestID is the public id of the request with the given seq.
func RequestID(seq int64) string { return "req_" + strconv.FormatInt(seq, 10) }

// ParseRequestID returns the seq of a request id, or ErrNotFound.
func ParseRequestID(id string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimPrefix(id, "req_"), 10, 64)
	if err != nil || n <= 0 || !strings.HasPrefix(id, "req_") {
		return 0, fmt.Errorf("request %q: %w", id, ErrNotFound)
	}
	return n, nil
}

// Capture is a request to store, with what must be written along with it.
type Capture struct {
	Request *Request // BinID and the captured fields set; Seq and ID are assigned
	// DeliverTo, when set, queues an auto-forward job to this URL in the same
	// transaction, so that a crash cannot lose it.
	DeliverTo string
	// Durable, when set, is called with the stored request once it is
	// durable (committed and fsynced): on the syncer goroutine, in commit
	// (and so per-bin seq) order, before Capture returns. It must not block
	// and must not write to the database: the write path waits for it. The
	// web server publishes its live event here.
	Durable func(*Request)
	// Rate, when set, is the bin's rate limit, enforced in the capture's
	// transaction across every instance sharing the database (PostgreSQL;
	// a single SQLite process limits in memory, before storage). Over it,
	// Capture fails with a *RateLimitedError and stores nothing.
	Rate Rate
}

// Rate is a rate limit: PerSecond captures a second, in bursts of up to Burst.
type Rate struct {
	PerSecond float64
	Burst     int
}

// RateLimitedError is Capture's error for a capture over its bin's Rate.
type RateLimitedError struct {
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("rate limit reached, retry after %s", e.RetryAfter)
}

// Captured is the outcome of a stored capture.
type Captured struct {
	Request *Request
	// Served counts the bin's answers since its response was last set,
	// including this one: it picks the step of a scripted sequence.
	Served int64
	// Response is the bin's configured answer as it was in the capture's own
	// transaction (nil: the default), so a concurrent change cannot pair a
	// new response with an old count.
	Response *Response
}

// Capture stores a request durably: it returns only after the transaction
// holding it has committed. ErrNotFound means the bin does not exist.
//
// Capture assigns c.Request's ID and Seq, sets ReceivedAt to what is stored
// (UTC, microseconds; the commit's clock when zero) and drops the body of a
// truncated capture, so that the Request handed to c.Durable and returned
// here is exactly what a later read gives back.
func (db *DB) Capture(ctx context.Context, c Capture) (Captured, error) {
	r := c.Request
	if r.Header == nil {
		r.Header = http.Header{} // what a read gives back
	}
	undo := withList(r.Header, r.HeaderList) // headerlist.go
	headers, err := encodeHeader(r.Header)
	undo()
	if err != nil {
		return Captured{}, fmt.Errorf("capture to bin %s: %w", r.BinID, err)
	}
	var verdict string
	if r.Verdict != nil {
		j, err := json.Marshal(r.Verdict)
		if err != nil {
			return Captured{}, fmt.Errorf("encode verdict: %w", err)
		}
		verdict = string(j)
	}
	if r.Truncated {
		// The contract: a truncated capture keeps its metadata, never a
		// partial body, in storage and in its live event alike.
		r.Body = []byte{}
	}
	if r.Body == nil {
		// nil would bind as NULL; and the live copy should read as empty
		// exactly like the stored one does.
		r.Body = []byte{}
	}
	body := r.Body
	if db.overBudget() {
		return Captured{}, fmt.Errorf("capture to bin %s: %w", r.BinID, ErrStorageFull)
	}
	// What this capture adds to the bytes in use until the writer measures
	// again: its row, roughly.
	grows := int64(len(body) + len(headers) + len(verdict) + len(r.Path) + len(r.Query) + 128)
	if db.pg {
		out, ok, err := db.captureOneStatement(ctx, c, headers, verdict, grows)
		if ok || err != nil {
			return out, err
		}
	}
	var out Captured
	o := &op{atomic: c.DeliverTo == "", capture: r.BinID, fn: func(t *wtx) error {
		if r.ReceivedAt.IsZero() {
			r.ReceivedAt = t.now
		}
		// Stored as unix µs: truncate now so the live copy equals the stored one.
		r.ReceivedAt = r.ReceivedAt.UTC().Truncate(time.Microsecond)
		bc, err := t.counter(r.BinID)
		if err != nil {
			return err
		}
		seq := bc.seq + 1
		// Only the bin's own answers step through its scripted sequence; a
		// handshake, a 401 or a 413 is tailhook's answer, not the bin's.
		served := bc.served
		if r.Answered.Status == 0 {
			served++
			r.Answered.Status = http.StatusOK
			if bc.response != nil {
				r.Answered.Status = bc.response.Pick(served).Status
			}
		}
		if err := t.rateLimit(bc, c.Rate); err != nil {
			return err
		}
		r.pk, err = t.insertID(db.stmts.insert, r.BinID, seq, r.Method, r.Path, r.Query, headers,
			r.Size, r.Truncated, r.RemoteAddr, r.Proto, r.TLS, r.ReceivedAt.UnixMicro(), encodeVerdictColumn(verdict, r.Answered), body)
		if err != nil {
			return fmt.Errorf("insert request: %w", err)
		}
		r.Seq, r.ID = seq, RequestID(seq)
		if c.DeliverTo != "" {
			next := t.now.UTC().Truncate(time.Millisecond)
			id, err := t.insertID(db.dstmts.queue, r.pk, r.BinID, c.DeliverTo, next.UnixMilli())
			if err != nil {
				return fmt.Errorf("queue delivery: %w", err)
			}
			r.Delivery = &Delivery{ID: id, BinID: r.BinID, Seq: r.Seq, URL: c.DeliverTo, State: DeliveryPending, NextAt: next}
		}
		// Counted only once every statement has succeeded: a failed op
		// leaves the counter as it found it.
		bc.seq, bc.served, bc.dirty = seq, served, true
		out = Captured{Request: r, Served: bc.served, Response: bc.response}
		return nil
	}, after: func() {
		db.stats.Captures.Add(1)
		db.space.grown.Add(grows)
		if c.Durable != nil {
			c.Durable(r)
		}
		db.bus.announce(Event{Kind: EventCaptured, Bin: r.BinID, Seq: r.Seq})
	}}
	err = db.submit(ctx, o)
	if err != nil {
		return Captured{}, fmt.Errorf("capture to bin %s: %w", r.BinID, err)
	}
	return out, nil
}

// encodeHeader stores a header as a JSON object of arrays, which keeps it
// readable and searchable with instr. JSON strings cannot hold arbitrary
// bytes (encoding/json turns invalid UTF-8 into U+FFFD), yet HTTP header
// values may carry raw obs-text bytes such as Latin-1. So a name or value that
// is not valid UTF-8 is stored as NUL + the string with each invalid byte as
// %XX and each '%' as %25: exact, and its readable part still matches a
// search. A valid string that starts with NUL (which no HTTP client can send)
// is escaped the same way, so decoding never guesses.
//
// It writes exactly what encoding/json writes for the escaped
// map[string][]string (names sorted, the same string escapes), without
// building that map: it runs for every capture.
func encodeHeader(h http.Header) (string, error) {
	names := make([]string, 0, len(h))
	size := 2
	for name, vs := range h {
		names = append(names, name)
		size += len(name) + 8
		for _, v := range vs {
			size += len(v) + 3
		}
	}
	escaped := make(map[string]string) // names that needed escaping, by escaped form
	for i, name := range names {
		if e := escapeHeaderString(name); e != name {
			escaped[e] = name
			names[i] = e
		}
	}
	slices.Sort(names)
	b := make([]byte, 0, size)
	b = append(b, '{')
	for i, name := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, name)
		b = append(b, ':')
		orig := name
		if o, ok := escaped[name]; ok {
			orig = o
		}
		vs := h[orig]
		if vs == nil {
			b = append(b, "null"...)
			continue
		}
		b = append(b, '[')
		for j, v := range vs {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, escapeHeaderString(v))
		}
		b = append(b, ']')
	}
	b = append(b, '}')
	return string(b), nil
}

// appendJSONString appends s as encoding/json writes a string: HTML-safe,
// with U+2028 and U+2029 escaped. s is valid UTF-8 (escapeHeaderString).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func escapeHeaderString(s string) string {
	if utf8.ValidString(s) && !strings.HasPrefix(s, "\x00") {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+8)
	b = append(b, 0)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1, s[i] == '%':
			b = append(b, '%', hex[s[i]>>4], hex[s[i]&15])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}

func unescapeHeaderString(s string) (string, error) {
	if !strings.HasPrefix(s, "\x00") {
		return s, nil
	}
	s = s[1:]
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("bad escape in stored header %q", s)
		}
		n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("bad escape in stored header %q", s)
		}
		b = append(b, byte(n))
		i += 2
	}
	return string(b), nil
}

func decodeHeader(j []byte) (http.Header, error) {
	var m map[string][]string
	if err := json.Unmarshal(j, &m); err != nil {
		return nil, err
	}
	h := make(http.Header, len(m))
	for name, vs := range m {
		n, err := unescapeHeaderString(name)
		if err != nil {
			return nil, err
		}
		for i, v := range vs {
			if vs[i], err = unescapeHeaderString(v); err != nil {
				return nil, err
			}
		}
		h[n] = vs
	}
	return h, nil
}

const summaryColumns = `pk, bin_id, seq, method, path, query, headers, size, truncated, remote_addr, proto, tls, received_at, verdict`

func scanRequest(row interface{ Scan(...any) error }, withBody bool) (*Request, error) {
	var (
		r        Request
		headers  []byte
		verdict  string
		received int64
	)
	dest := []any{&r.pk, &r.BinID, &r.Seq, &r.Method, &r.Path, &r.Query, &headers, &r.Size, &r.Truncated,
		&r.RemoteAddr, &r.Proto, &r.TLS, &received, &verdict}
	if withBody {
		dest = append(dest, &r.Body)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	r.ID = RequestID(r.Seq)
	r.ReceivedAt = time.UnixMicro(received).UTC()
	var err error
	if r.Header, err = decodeHeader(headers); err != nil {
		return nil, fmt.Errorf("decode headers of %s: %w", r.ID, err)
	}
	r.HeaderList = takeList(r.Header)
	if verdict != "" {
		var col verdictColumn
		if err := json.Unmarshal([]byte(verdict), &col); err != nil {
			return nil, fmt.Errorf("decode verdict of %s: %w", r.ID, err)
		}
		if col.Verdict != nil && col.Provider != "" {
			r.Verdict = col.Verdict
		}
		if col.Answered != nil {
			r.Answered = *col.Answered
		}
	}
	if withBody && r.Body == nil {
		r.Body = []byte{}
	}
	return &r, nil
}

// ListOptions select a page of a bin's requests.
type ListOptions struct {
	Limit  int    // clamped to 1…500; 0 means 50
	Before int64  // only requests with a smaller seq; 0 means from the newest
	Query  string // case-insensitive substring of method, path, query, headers or body
}

// ListRequests returns a page of a bin's requests, newest first, without
// bodies, and whether older ones exist.
func (db *DB) ListRequests(ctx context.Context, binID string, o ListOptions) ([]*Request, bool, error) {
	limit := o.Limit
	switch {
	case limit <= 0:
		limit = 50
	case limit > 500:
		limit = 500
	}
	var (
		reqs []*Request
		err  error
	)
	if db.pg && o.Query != "" {
		reqs, err = db.scanMatching(ctx, db.r, binID, 0, o.Before, true, Filter{Query: o.Query}, limit+1, false)
	} else {
		q := `SELECT ` + summaryColumns + ` FROM requests WHERE bin_id = ?`
		args := []any{binID}
		if o.Before > 0 {
			q += ` AND seq < ?`
			args = append(args, o.Before)
		}
		if o.Query != "" {
			q += ` AND ` + matchSQL
			args = append(args, matchArgs(o.Query)...)
		}
		q += ` ORDER BY seq DESC LIMIT ?`
		args = append(args, limit+1)
		reqs, err = db.queryRequests(ctx, q, false, args...)
	}
	if err != nil {
		return nil, false, fmt.Errorf("list requests: %w", err)
	}
	more := len(reqs) > limit
	if more {
		reqs = reqs[:limit]
	}
	return reqs, more, nil
}

// foldASCII lower-cases ASCII letters only and leaves every other byte as it
// is, exactly like SQLite's built-in lower(); strings.ToLower would also fold
// non-ASCII letters and rewrite invalid UTF-8, so Go and SQL would disagree.
func foldASCII(s string) string {
	i := strings.IndexFunc(s, func(c rune) bool { return 'A' <= c && c <= 'Z' })
	if i < 0 {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if c := b[i]; 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// querier is what the read helpers need: the reader pool or a read
// transaction on it.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (db *DB) queryRequests(ctx context.Context, q string, withBody bool, args ...any) ([]*Request, error) {
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var reqs []*Request
	for rows.Next() {
		r, err := scanRequest(rows, withBody)
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, r)
	}
	return reqs, rows.Err()
}

// Request returns one whole request with its forwarding history, or ErrNotFound.
func (db *DB) Request(ctx context.Context, binID string, seq int64) (*Request, error) {
	// One read transaction, so the request, its history and its delivery
	// come from the same snapshot even while they are being written.
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("get request: %w", err)
	}
	defer tx.Rollback()
	row := tx.QueryRowContext(ctx, `SELECT `+summaryColumns+`, body FROM requests WHERE bin_id = ? AND seq = ?`, binID, seq)
	r, err := scanRequest(row, true)
	if isNoRows(err) {
		return nil, fmt.Errorf("request %s: %w", RequestID(seq), ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get request: %w", err)
	}
	if r.Forwards, err = forwards(ctx, tx, r.pk); err != nil {
		return nil, err
	}
	if r.Delivery, err = delivery(ctx, tx, r.pk); err != nil {
		return nil, err
	}
	return r, nil
}

// DeleteRequest deletes one request, or returns ErrNotFound.
func (db *DB) DeleteRequest(ctx context.Context, binID string, seq int64) error {
	err := db.write(ctx, func(t *wtx) error {
		return t.execOne(`DELETE FROM requests WHERE bin_id = ? AND seq = ?`, binID, seq)
	}, nil)
	if err != nil {
		return fmt.Errorf("delete request %s: %w", RequestID(seq), err)
	}
	return nil
}

// ClearRequests deletes every request of a bin captured before the call, in
// small transactions, or returns ErrNotFound.
func (db *DB) ClearRequests(ctx context.Context, binID string) error {
	// Bound the work by the newest seq now: under a steady stream of
	// captures, "until a batch comes back short" might never end.
	b, err := db.Bin(ctx, binID)
	if err != nil {
		return fmt.Errorf("clear bin: %w", err)
	}
	for {
		n, err := db.deleteOldest(ctx, binID, b.Seq, 0, deleteBatch, false)
		if err != nil {
			return fmt.Errorf("clear bin %s: %w", binID, err)
		}
		if n < deleteBatch {
			return nil
		}
	}
}

// deleteOldest deletes up to limit of a bin's requests with
// seq <= upTo, oldest first, in one transaction. With idleBefore > 0 it
// deletes nothing unless the bin was last active before that unix ms time,
// checked in the same transaction: a bin that retention is emptying keeps
// its history when a capture wakes it up halfway. background says the
// pruner does it, which does not wait for an fsync (see op.background).
func (db *DB) deleteOldest(ctx context.Context, binID string, upTo, idleBefore int64, limit int, background bool) (int64, error) {
	var n int64
	fn := func(t *wtx) error {
		n = 0
		if idleBefore > 0 {
			if c := t.counters[binID]; c != nil && c.dirty {
				return nil // captured to in this very batch: awake
			}
			var idle bool
			err := t.QueryRowContext(t.ctx, `SELECT last_active_at < ? FROM bins WHERE id = ?`, idleBefore, binID).Scan(&idle)
			if isNoRows(err) || (err == nil && !idle) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		res, err := t.stmt(db.stmts.oldest).ExecContext(t.ctx, binID, upTo, limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	}
	var err error
	if background {
		err = db.writeBackground(ctx, fn)
	} else {
		err = db.write(ctx, fn, nil)
	}
	return n, err
}

// requestPK finds the internal key of a request.
func (db *DB) requestPK(ctx context.Context, binID string, seq int64) (int64, error) {
	var pk int64
	err := db.r.QueryRowContext(ctx, `SELECT pk FROM requests WHERE bin_id = ? AND seq = ?`, binID, seq).Scan(&pk)
	if isNoRows(err) {
		return 0, fmt.Errorf("request %s: %w", RequestID(seq), ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("find request %s: %w", RequestID(seq), err)
	}
	return pk, nil
}

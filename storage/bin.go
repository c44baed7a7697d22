package storage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Bin is a capture endpoint with its settings.
type Bin struct {
	ID           string
	Name         string
	TokenHash    []byte
	Owner        string // browser id of the session that created it; "" for API-created bins
	CreatedAt    time.Time
	LastActiveAt time.Time
	Seq          int64     // the seq of the newest capture (0 when none yet)
	Response     *Response // nil: the default answer
	Signature    *SignatureConfig
	Forwarding   Forwarding
	ReplayURL    string // the last manual forward target

	// responseText is the response column as read: PostgreSQL's one-statement
	// capture (pg_capture.go) checks, in that statement, that the answer it
	// chose from the cached bin is still the bin's.
	responseText string
}

// Response is what a bin answers to captures.
type Response struct {
	Status   int               `json:"status"`
	Headers  map[string]string `json:"headers"`
	Body     string            `json:"body"`
	DelayMS  int               `json:"delay_ms"`
	Sequence []ResponseStep    `json:"sequence,omitempty"`
	// CORS answers preflights and adds Access-Control-Allow-* to every
	// answer, for senders that run in a browser.
	CORS bool `json:"cors,omitempty"`
}

// ResponseStep is one scripted answer, given Times times before the next step.
// Unset fields inherit the base Response's.
type ResponseStep struct {
	Status  int               `json:"status"`
	Times   int               `json:"times"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    *string           `json:"body,omitempty"`
	DelayMS *int              `json:"delay_ms,omitempty"`
}

// Answer is the response chosen for one capture.
type Answer struct {
	Status  int
	Headers map[string]string
	Body    string
	Delay   time.Duration
}

// Pick returns the answer for the n-th capture (1-based) since the response
// was set: the sequence steps first, in order, each Times times, then the
// base response. A step inherits the base status, headers, body and delay it
// does not set.
func (r *Response) Pick(n int64) Answer {
	a := Answer{Status: r.Status, Headers: r.Headers, Body: r.Body, Delay: time.Duration(r.DelayMS) * time.Millisecond}
	if a.Status == 0 {
		a.Status = 200
	}
	for _, s := range r.Sequence {
		// A step with no (or a negative) count is skipped; a negative one
		// must not push the later steps back.
		times := int64(max(s.Times, 0))
		if n <= times {
			if s.Status != 0 {
				a.Status = s.Status
			}
			if s.Headers != nil {
				a.Headers = s.Headers
			}
			if s.Body != nil {
				a.Body = *s.Body
			}
			if s.DelayMS != nil {
				a.Delay = time.Duration(*s.DelayMS) * time.Millisecond
			}
			return a
		}
		n -= times
	}
	return a
}

// SignatureConfig is the provider and parameters (secret included) every
// capture of a bin is verified with.
type SignatureConfig struct {
	Provider string            `json:"provider"` // "" when only the handshake settings are set
	Params   map[string]string `json:"params"`
	// Handshakes: answer providers' setup handshakes (nil: the default, on).
	Handshakes *bool `json:"handshakes,omitempty"`
	// RejectInvalid: answer 401 to a capture whose verdict is invalid (nil:
	// the provider's default, on for discord and xero).
	RejectInvalid *bool `json:"reject_invalid,omitempty"`
}

// HandshakesOn reports whether a bin with settings s answers handshakes; a
// bin without settings does.
func (s *SignatureConfig) HandshakesOn() bool {
	return s == nil || s.Handshakes == nil || *s.Handshakes
}

// RejectsInvalid reports whether an invalid verdict is answered 401.
func (s *SignatureConfig) RejectsInvalid() bool {
	if s == nil || s.Provider == "" {
		return false
	}
	if s.RejectInvalid != nil {
		return *s.RejectInvalid
	}
	return s.Provider == "discord" || s.Provider == "xero"
}

// Forwarding is a bin's auto-forward target.
type Forwarding struct {
	URL     string
	Enabled bool
	Mode    string // ForwardInOrder or ForwardIndependent
}

// Auto-forward modes of a bin.
const (
	// ForwardInOrder delivers a bin's captures one at a time, in capture
	// order: a delivery waiting for a retry holds back the later ones.
	ForwardInOrder = "in_order"
	// ForwardIndependent delivers up to a few of a bin's captures at once,
	// in no particular order; a retrying one holds back no other.
	ForwardIndependent = "independent"
)

const binColumns = `id, name, token_hash, owner, created_at, last_active_at, seq, response, signature, forward_url, forward_on, replay_url, forward_mode`

func scanBin(row interface{ Scan(...any) error }) (Bin, error) {
	var (
		b               Bin
		created, active int64
		response, sig   string
		fwdOn           bool
	)
	err := row.Scan(&b.ID, &b.Name, &b.TokenHash, &b.Owner, &created, &active, &b.Seq, &response, &sig,
		&b.Forwarding.URL, &fwdOn, &b.ReplayURL, &b.Forwarding.Mode)
	if err != nil {
		return Bin{}, err
	}
	b.responseText = response
	b.CreatedAt = time.UnixMilli(created).UTC()
	b.LastActiveAt = time.UnixMilli(active).UTC()
	b.Forwarding.Enabled = fwdOn
	if response != "" {
		b.Response = new(Response)
		if err := json.Unmarshal([]byte(response), b.Response); err != nil {
			return Bin{}, fmt.Errorf("decode response of bin %s: %w", b.ID, err)
		}
	}
	if sig != "" {
		b.Signature = new(SignatureConfig)
		if err := json.Unmarshal([]byte(sig), b.Signature); err != nil {
			return Bin{}, fmt.Errorf("decode signature of bin %s: %w", b.ID, err)
		}
	}
	return b, nil
}

// newID returns n random bytes as lower-case base32 without padding:
// URL-safe, case-insensitive and unguessable.
func newID(n int) string {
	return idEncoding.EncodeToString(randBytes(n))
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// CheckToken reports whether token is the bin's token, in constant time.
func (b *Bin) CheckToken(token string) bool {
	return token != "" && subtle.ConstantTimeCompare(hashToken(token), b.TokenHash) == 1
}

// CreateBin creates a bin and returns it with its token. The token is only
// ever returned here and by NewToken: the database keeps a hash of it.
func (db *DB) CreateBin(ctx context.Context, name, owner string) (Bin, string, error) {
	token := newToken()
	var b Bin
	err := db.write(ctx, func(t *wtx) error {
		b = Bin{ID: newID(16), Name: name, TokenHash: hashToken(token), Owner: owner,
			CreatedAt: t.now.UTC().Truncate(time.Millisecond), LastActiveAt: t.now.UTC().Truncate(time.Millisecond),
			Forwarding: Forwarding{Mode: ForwardInOrder}}
		_, err := t.exec(`INSERT INTO bins (id, name, token_hash, owner, created_at, last_active_at) VALUES (?, ?, ?, ?, ?, ?)`,
			b.ID, b.Name, b.TokenHash, b.Owner, b.CreatedAt.UnixMilli(), b.LastActiveAt.UnixMilli())
		return err
	}, nil)
	if err != nil {
		return Bin{}, "", fmt.Errorf("create bin: %w", err)
	}
	return b, token, nil
}

// NewToken gives the bin a new token and returns the bin with it; the old
// token stops working at once. A bin made in a browser gets its first
// usable token this way (the one it was created with was never shown).
func (db *DB) NewToken(ctx context.Context, id string) (Bin, string, error) {
	token := newToken()
	b, err := db.updateBin(ctx, id, `token_hash = ?`, hashToken(token))
	if err != nil {
		return Bin{}, "", err
	}
	return b, token, nil
}

func newToken() string { return base64.RawURLEncoding.EncodeToString(randBytes(32)) }

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// Bin returns the bin with the given id, or ErrNotFound.
func (db *DB) Bin(ctx context.Context, id string) (Bin, error) {
	b, err := scanBin(db.stmts.binByID.QueryRowContext(ctx, id))
	if isNoRows(err) {
		return Bin{}, fmt.Errorf("bin %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Bin{}, fmt.Errorf("get bin: %w", err)
	}
	return b, nil
}

// BinsByOwner returns the bins a browser created or was given (login link,
// token form), newest first (at most 200).
func (db *DB) BinsByOwner(ctx context.Context, owner string) ([]Bin, error) {
	if owner == "" {
		return nil, nil
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+binColumns+` FROM bins WHERE owner = ?
		OR id IN (SELECT bin_id FROM bin_browsers WHERE browser = ?) ORDER BY created_at DESC, `+db.insertOrder()+` DESC LIMIT 200`, owner, owner)
	if err != nil {
		return nil, fmt.Errorf("list bins: %w", err)
	}
	defer rows.Close()
	var bins []Bin
	for rows.Next() {
		b, err := scanBin(rows)
		if err != nil {
			return nil, fmt.Errorf("list bins: %w", err)
		}
		bins = append(bins, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list bins: %w", err)
	}
	return bins, nil
}

// deleteBatch bounds how many requests one write transaction deletes, so that
// deleting or pruning a large bin never holds captures up for long.
const deleteBatch = 1000

// DeleteBin deletes a bin with all its requests, or returns ErrNotFound. A
// large bin is emptied in small transactions first so that captures to other
// bins keep flowing.
func (db *DB) DeleteBin(ctx context.Context, id string) error {
	if err := db.ClearRequests(ctx, id); err != nil {
		return fmt.Errorf("delete bin: %w", err)
	}
	// Whatever was captured meanwhile goes with the bin (ON DELETE CASCADE).
	err := db.writeBin(ctx, id, func(t *wtx) error {
		return t.execOne(`DELETE FROM bins WHERE id = ?`, id)
	})
	if err != nil {
		return fmt.Errorf("delete bin %s: %w", id, err)
	}
	return nil
}

// updateBin runs one UPDATE on a bin and returns the bin as it is afterwards.
func (db *DB) updateBin(ctx context.Context, id, set string, args ...any) (Bin, error) {
	err := db.writeBin(ctx, id, func(t *wtx) error {
		return t.execOne(`UPDATE bins SET `+set+`, last_active_at = ? WHERE id = ?`, append(args, t.now.UnixMilli(), id)...)
	})
	if err != nil {
		return Bin{}, fmt.Errorf("update bin %s: %w", id, err)
	}
	return db.Bin(ctx, id)
}

// SetResponse sets what the bin answers (nil restores the default) and
// restarts its sequence.
func (db *DB) SetResponse(ctx context.Context, id string, r *Response) (Bin, error) {
	var text string
	if r != nil {
		j, err := json.Marshal(r)
		if err != nil {
			return Bin{}, fmt.Errorf("encode response: %w", err)
		}
		text = string(j)
	}
	return db.updateBin(ctx, id, `response = ?, served = 0`, text)
}

// SetSignature sets (or, with nil, removes) the bin's signature check.
func (db *DB) SetSignature(ctx context.Context, id string, s *SignatureConfig) (Bin, error) {
	var text string
	if s != nil {
		j, err := json.Marshal(s)
		if err != nil {
			return Bin{}, fmt.Errorf("encode signature: %w", err)
		}
		text = string(j)
	}
	return db.updateBin(ctx, id, `signature = ?`, text)
}

// SetForwarding sets the bin's auto-forward target.
func (db *DB) SetForwarding(ctx context.Context, id string, f Forwarding) (Bin, error) {
	mode := f.Mode
	switch mode {
	case "":
		mode = ForwardInOrder
	case ForwardInOrder, ForwardIndependent:
	default:
		return Bin{}, fmt.Errorf("set forwarding of bin %s: unknown mode %q", id, mode)
	}
	return db.updateBin(ctx, id, `forward_url = ?, forward_on = ?, forward_mode = ?`, f.URL, f.Enabled, mode)
}

// SetName renames the bin.
func (db *DB) SetName(ctx context.Context, id, name string) (Bin, error) {
	return db.updateBin(ctx, id, `name = ?`, name)
}

// SetReplayURL remembers the last manual forward target of a bin.
func (db *DB) SetReplayURL(ctx context.Context, id, u string) error {
	_, err := db.updateBin(ctx, id, `replay_url = ?`, u)
	return err
}

// Setting returns a server-wide value, or ErrNotFound.
func (db *DB) Setting(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := db.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if isNoRows(err) {
		return nil, fmt.Errorf("setting %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get setting %s: %w", key, err)
	}
	if v == nil {
		v = []byte{} // an empty BLOB reads back as nil; it was stored, though
	}
	return v, nil
}

// SettingOrInit returns the value of key, storing init() first if there is
// none yet. Concurrent callers all get the one value that was stored.
func (db *DB) SettingOrInit(ctx context.Context, key string, init func() []byte) ([]byte, error) {
	var v []byte
	err := db.write(ctx, func(t *wtx) error {
		if db.pg {
			// Instances starting at once: one runs init, the others
			// wait here and then read its value.
			if _, err := t.exec(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.tailhook.setting.' || ?))`, key); err != nil {
				return err
			}
		}
		err := t.QueryRowContext(t.ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
		if !isNoRows(err) {
			return err
		}
		if v = init(); v == nil {
			v = []byte{} // nil binds as NULL, which the column refuses
		}
		// Whatever happens, every caller reads the one value stored.
		if _, err := t.exec(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, v); err != nil {
			return err
		}
		return t.QueryRowContext(t.ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("setting %s: %w", key, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// insertOrder is the column that breaks ties between bins or shares created
// in the same millisecond: insertion order, SQLite's rowid, and an identity
// column of its own on PostgreSQL, whose rows have none.
func (db *DB) insertOrder() string {
	if db.pg {
		return "ord"
	}
	return "rowid"
}

// BinSeqs returns the newest seq of each of the bins that still exist.
func (db *DB) BinSeqs(ctx context.Context, ids []string) (map[string]int64, error) {
	out := make(map[string]int64, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), 500)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		ids = ids[n:]
		rows, err := db.r.QueryContext(ctx, `SELECT id, seq FROM bins WHERE id IN (?`+strings.Repeat(",?", n-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("read seqs of bins: %w", err)
		}
		for rows.Next() {
			var id string
			var seq int64
			if err := rows.Scan(&id, &seq); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read seqs of bins: %w", err)
			}
			out[id] = seq
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read seqs of bins: %w", err)
		}
	}
	return out, nil
}

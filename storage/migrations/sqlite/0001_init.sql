-- Bins are the unit of ownership: a capture URL, its token and its settings.
CREATE TABLE bins (
    id             TEXT PRIMARY KEY,
    name           TEXT    NOT NULL DEFAULT '',
    token_hash     BLOB    NOT NULL,
    owner          TEXT    NOT NULL DEFAULT '',  -- browser id from the session cookie, '' for API-created bins
    created_at     INTEGER NOT NULL,             -- unix ms
    last_active_at INTEGER NOT NULL,             -- unix ms; retention deletes bins idle for too long
    seq            INTEGER NOT NULL DEFAULT 0,   -- the last seq handed out; captures take seq+1
    response       TEXT    NOT NULL DEFAULT '',  -- JSON storage.Response, '' = default
    served         INTEGER NOT NULL DEFAULT 0,   -- answers given since the response was set (drives the sequence)
    signature      TEXT    NOT NULL DEFAULT '',  -- JSON storage.SignatureConfig, '' = none
    forward_url    TEXT    NOT NULL DEFAULT '',  -- auto-forward target
    forward_on     INTEGER NOT NULL DEFAULT 0,
    replay_url     TEXT    NOT NULL DEFAULT ''   -- last manual forward target, remembered for the UI
);
CREATE INDEX bins_owner ON bins(owner) WHERE owner <> '';
CREATE INDEX bins_last_active ON bins(last_active_at);

-- Captured requests. body is last so that summaries never read its overflow pages.
CREATE TABLE requests (
    pk          INTEGER PRIMARY KEY AUTOINCREMENT,
    bin_id      TEXT    NOT NULL REFERENCES bins(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    method      TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    query       TEXT    NOT NULL,
    headers     TEXT    NOT NULL,   -- JSON object of arrays, canonical names
    size        INTEGER NOT NULL,
    truncated   INTEGER NOT NULL,
    remote_addr TEXT    NOT NULL,
    proto       TEXT    NOT NULL,
    tls         INTEGER NOT NULL,
    received_at INTEGER NOT NULL,   -- unix µs: the contract shows microseconds
    verdict     TEXT    NOT NULL DEFAULT '',  -- JSON storage.Verdict, '' = bin had no signature set
    body        BLOB    NOT NULL
);
CREATE UNIQUE INDEX requests_bin_seq ON requests(bin_id, seq);

-- Every forwarding attempt, manual or automatic, for the request's history.
CREATE TABLE forwards (
    id          INTEGER PRIMARY KEY,
    request_pk  INTEGER NOT NULL REFERENCES requests(pk) ON DELETE CASCADE,
    url         TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    error       TEXT    NOT NULL,
    duration_ms INTEGER NOT NULL,
    auto        INTEGER NOT NULL,
    at          INTEGER NOT NULL    -- unix ms
);
CREATE INDEX forwards_request ON forwards(request_pk);

-- Auto-forward jobs, written in the capture's own transaction so a crash loses none.
CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY,
    request_pk  INTEGER NOT NULL UNIQUE REFERENCES requests(pk) ON DELETE CASCADE,
    bin_id      TEXT    NOT NULL,
    url         TEXT    NOT NULL,   -- the full target: forward url + sub-path + query
    state       TEXT    NOT NULL,   -- pending, delivered, failed, cancelled
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,   -- unix ms
    last_status INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX deliveries_pending ON deliveries(next_at) WHERE state = 'pending';

-- Read-only share links; the id is the secret.
CREATE TABLE shares (
    id         TEXT PRIMARY KEY,
    bin_id     TEXT    NOT NULL REFERENCES bins(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX shares_bin ON shares(bin_id);

-- Small server-wide values, e.g. the session cookie keys.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

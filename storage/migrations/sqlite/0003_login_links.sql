-- Single-use login links: opening one in any browser adds the bin to that
-- browser. Only a hash of the link's secret is kept, like a bin's token.
CREATE TABLE login_links (
    hash       BLOB PRIMARY KEY,             -- sha256 of the secret in the link
    bin_id     TEXT    NOT NULL REFERENCES bins(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,             -- unix ms
    expires_at INTEGER NOT NULL              -- unix ms
);
CREATE INDEX login_links_bin ON login_links(bin_id);

-- Bins a browser was given (login link or token form) beside those it
-- created (bins.owner). The browser id comes from the session cookie.
CREATE TABLE bin_browsers (
    bin_id   TEXT    NOT NULL REFERENCES bins(id) ON DELETE CASCADE,
    browser  TEXT    NOT NULL,
    added_at INTEGER NOT NULL,               -- unix ms
    PRIMARY KEY (browser, bin_id)
) WITHOUT ROWID;
CREATE INDEX bin_browsers_bin ON bin_browsers(bin_id);

package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"net/http"

	"github.com/gorilla/sessions"
	"github.com/tailhook-dev/tailhook/storage"
)

const (
	sessionCookie = "tailhook_session"
	// sessionMaxAge is also enforced server-side (store.MaxAge), so a stolen
	// cookie does not stay valid forever. Visiting a page renews it.
	sessionMaxAge = 30 * 24 * 60 * 60
)

// sessionStore wraps gorilla/sessions. The cookie holds only a random browser id;
// which bins a browser owns is kept in the database.
type sessionStore struct {
	store *sessions.CookieStore
}

func newSessions(ctx context.Context, db *storage.DB, key string) (*sessionStore, error) {
	var seed []byte
	if key != "" {
		seed = []byte(key)
	} else {
		var err error
		// Generated once and kept: keys made at every start would log every
		// browser out on restart.
		seed, err = db.SettingOrInit(ctx, "session_key", func() []byte {
			b := make([]byte, 64)
			rand.Read(b)
			return b
		})
		if err != nil {
			return nil, fmt.Errorf("session key: %w", err)
		}
	}
	// Separate keys for signing and encryption, derived from one secret.
	hashKey := sha512.Sum512(append([]byte("tailhook session hash\x00"), seed...))
	blockKey := sha256.Sum256(append([]byte("tailhook session block\x00"), seed...))
	store := sessions.NewCookieStore(hashKey[:], blockKey[:])
	store.MaxAge(sessionMaxAge)
	return &sessionStore{store: store}, nil
}

// browserID returns the id of the browser that sent r, or "" if it has none
// (or a cookie we cannot read, e.g. after a key change: treated as none).
func (ss *sessionStore) browserID(r *http.Request) string {
	// store.New rather than store.Get: Get goes through gorilla's
	// per-request registry, which is not safe for concurrent use.
	sess, err := ss.store.New(r, sessionCookie)
	if err != nil || sess.IsNew {
		return ""
	}
	id, _ := sess.Values["browser"].(string)
	return id
}

// ensureBrowserID returns the browser's id, giving it one if it has none,
// and renews the cookie. It sets a header, so call it before writing a body.
func (ss *sessionStore) ensureBrowserID(w http.ResponseWriter, r *http.Request, secure bool) (string, error) {
	sess, _ := ss.store.New(r, sessionCookie)
	id, _ := sess.Values["browser"].(string)
	if id == "" {
		b := make([]byte, 16)
		rand.Read(b)
		id = fmt.Sprintf("%x", b)
		sess.Values["browser"] = id
	}
	// v1.4.0's defaults (Secure, SameSite=None, no HttpOnly) break plain-HTTP
	// self-hosting and expose the cookie to script: set every field.
	sess.Options = &sessions.Options{Path: "/", MaxAge: sessionMaxAge, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	if err := ss.store.Save(r, w, sess); err != nil {
		return "", fmt.Errorf("save session: %w", err)
	}
	return id, nil
}

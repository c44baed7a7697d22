package web

import (
	"context"

	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tailhook-dev/tailhook/forward"
	"github.com/tailhook-dev/tailhook/signature"
)

// keyCache fetches the certificates and key sets that PayPal, AWS SNS and
// Google sign with, from the hosts signature.KeyURL allows, through a
// forwarding client that refuses private addresses whatever
// --allow-private-forwarding says, and keeps each until it expires.
type keyCache struct {
	// fetch gets url's body and how long it may be kept; tests replace it
	// (they never reach the internet).
	fetch func(ctx context.Context, url string) ([]byte, time.Duration, error)

	mu      sync.Mutex
	entries map[string]keyEntry
}

type keyEntry struct {
	body    []byte
	err     error
	expires time.Time
}

const (
	keyFetchTimeout = 5 * time.Second
	keyMaxAge       = 24 * time.Hour
	keyDefaultAge   = time.Hour
	keyErrorAge     = time.Minute // a failure is retried after this
	keyMaxEntries   = 256
)

func newKeyCache() *keyCache {
	client := forward.New(forward.Options{ConnectTimeout: keyFetchTimeout, Timeout: keyFetchTimeout, MaxResponseBody: 256 << 10})
	return &keyCache{entries: map[string]keyEntry{}, fetch: func(ctx context.Context, url string) ([]byte, time.Duration, error) {
		res := client.Do(ctx, forward.Request{Method: http.MethodGet, URL: url, Header: http.Header{"User-Agent": {"tailhook"}}})
		if res.Err != nil {
			return nil, 0, res.Err
		}
		if res.Status != http.StatusOK || res.BodyTruncated {
			return nil, 0, fmt.Errorf("%s answered %d", url, res.Status)
		}
		return res.Body, maxAge(res.Header.Get("Cache-Control")), nil
	}}
}

// maxAge reads Cache-Control's max-age, within [1 min, 24 h].
func maxAge(cc string) time.Duration {
	for _, d := range strings.Split(cc, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(strings.ToLower(d)), "max-age="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				return min(max(time.Duration(n)*time.Second, time.Minute), keyMaxAge)
			}
		}
	}
	return keyDefaultAge
}

// get returns url's body from the cache or the network.
func (k *keyCache) get(ctx context.Context, url string, now time.Time) ([]byte, error) {
	k.mu.Lock()
	e, ok := k.entries[url]
	k.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.body, e.err
	}
	// Fetched outside the lock: one slow host must not hold up the others.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keyFetchTimeout)
	defer cancel()
	body, age, err := k.fetch(ctx, url)
	e = keyEntry{body: body, err: err, expires: now.Add(age)}
	if err != nil {
		e.expires = now.Add(keyErrorAge)
	}
	k.mu.Lock()
	if len(k.entries) >= keyMaxEntries {
		for u, old := range k.entries {
			if !now.Before(old.expires) || len(k.entries) >= keyMaxEntries {
				delete(k.entries, u)
			}
		}
	}
	k.entries[url] = e
	k.mu.Unlock()
	return body, err
}

// withKey adds the fetched certificate or key set a verdict needs to params
// (a copy); on failure the verdict's reason says what could not be fetched.
func (s *Server) withKey(ctx context.Context, provider string, params map[string]string, in signature.Input) (map[string]string, error) {
	u, err := signature.KeyURL(provider, params, in)
	if err != nil || u == "" {
		return params, err
	}
	body, err := s.keys.get(ctx, u, time.Now())
	if err != nil {
		return params, fmt.Errorf("could not fetch %s: %w", u, err)
	}
	out := make(map[string]string, len(params)+1)
	for k, v := range params {
		out[k] = v
	}
	out[signature.FetchedKey] = string(body)
	return out, nil
}

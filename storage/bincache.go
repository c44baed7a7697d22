package storage

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// binCacheMax bounds the bins kept in memory; past it the cache starts over.
const binCacheMax = 10_000

// binCache keeps bins as the capture path needs them, so that a capture does
// not cost a query to find its bin. Entries are dropped by the writer when a
// bin's row changes; the epoch stops a read that raced with such a change
// from putting the old row back.
type binCache struct {
	mu    sync.RWMutex
	m     map[string]cachedBin
	epoch atomic.Uint64
	// ttl, when set, bounds how long an entry is trusted. With PostgreSQL,
	// other instances change bins too: their events drop entries at once,
	// and the ttl is the backstop for an event that was lost.
	ttl time.Duration
}

type cachedBin struct {
	Bin
	at time.Time
}

// binCacheTTL is the ttl with PostgreSQL: a setting changed on one instance
// applies on all within it even when its event is lost.
const binCacheTTL = 750 * time.Millisecond

func (c *binCache) get(id string) (Bin, bool) {
	c.mu.RLock()
	b, ok := c.m[id]
	c.mu.RUnlock()
	if ok && c.ttl > 0 && time.Since(b.at) > c.ttl {
		return Bin{}, false
	}
	return b.Bin, ok
}

func (c *binCache) put(b Bin, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch.Load() != epoch {
		return // a bin changed while this one was read: it may be stale
	}
	if c.m == nil || len(c.m) >= binCacheMax {
		c.m = make(map[string]cachedBin)
	}
	c.m[b.ID] = cachedBin{Bin: b, at: time.Now()}
}

// forgetAll drops every bin: changes may have been missed.
func (c *binCache) forgetAll() {
	c.mu.Lock()
	c.epoch.Add(1)
	clear(c.m)
	c.mu.Unlock()
}

// forget drops a bin whose row changed. It runs on the writer goroutine
// after the commit.
func (c *binCache) forget(id string) {
	c.mu.Lock()
	c.epoch.Add(1)
	delete(c.m, id)
	c.mu.Unlock()
}

// CachedBin returns a bin for the capture path: its settings (response,
// signature, forwarding) are current, but Seq and LastActiveAt may be behind.
// Anything that shows or compares those must use Bin. It returns ErrNotFound
// like Bin. With PostgreSQL, other instances' changes reach it through the
// event bus, and its ttl bounds how stale a missed one leaves it.
func (db *DB) CachedBin(ctx context.Context, id string) (Bin, error) {
	if b, ok := db.bins.get(id); ok {
		return b, nil
	}
	epoch := db.bins.epoch.Load()
	b, err := db.Bin(ctx, id)
	if err != nil {
		return Bin{}, err
	}
	db.bins.put(b, epoch)
	return b, nil
}

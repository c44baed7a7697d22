package storage

import (
	"context"
	"sync"
	"sync/atomic"
)

// binCacheMax bounds the bins kept in memory; past it the cache starts over.
const binCacheMax = 10_000

// binCache keeps bins as the capture path needs them, so that a capture does
// not cost a query to find its bin. Entries are dropped by the writer when a
// bin's row changes; the epoch stops a read that raced with such a change
// from putting the old row back.
type binCache struct {
	mu    sync.RWMutex
	m     map[string]Bin
	epoch atomic.Uint64
}

func (c *binCache) get(id string) (Bin, bool) {
	c.mu.RLock()
	b, ok := c.m[id]
	c.mu.RUnlock()
	return b, ok
}

func (c *binCache) put(b Bin, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch.Load() != epoch {
		return // a bin changed while this one was read: it may be stale
	}
	if c.m == nil || len(c.m) >= binCacheMax {
		c.m = make(map[string]Bin)
	}
	c.m[b.ID] = b
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
// like Bin. With several processes on one database (not supported with
// SQLite) the cache would need invalidating across them.
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

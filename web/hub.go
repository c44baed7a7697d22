package web

import (
	"log/slog"
	"sync"

	"github.com/tailhook-dev/tailhook/storage"
)

// Hub fans captured requests out to whoever listens live: event streams,
// pages, long polls. The database calls Publish once a capture is durable,
// from its write path and in seq order, so Publish never blocks.
type Hub struct {
	log  *slog.Logger
	live *live // the event streams (live.go)

	mu        sync.Mutex
	listeners map[string]map[*listener]struct{} // by bin id
	closed    bool
}

type listener struct {
	fn func(*storage.Request)
}

// NewHub returns a hub with no listeners.
func NewHub(log *slog.Logger) *Hub {
	return &Hub{log: log, live: newLive(log), listeners: map[string]map[*listener]struct{}{}}
}

// Publish hands a committed capture to the bin's listeners and streams.
// Nothing here waits on a viewer: it runs on the database's write path.
func (h *Hub) Publish(r *storage.Request) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	ls := make([]*listener, 0, len(h.listeners[r.BinID]))
	for l := range h.listeners[r.BinID] {
		ls = append(ls, l)
	}
	h.mu.Unlock()
	for _, l := range ls {
		l.fn(r)
	}
	h.live.publish(r)
}

// Listen calls fn for every capture of the bin until the returned function
// is called. fn must not block.
func (h *Hub) Listen(binID string, fn func(*storage.Request)) (stop func()) {
	l := &listener{fn: fn}
	h.mu.Lock()
	if h.listeners[binID] == nil {
		h.listeners[binID] = map[*listener]struct{}{}
	}
	h.listeners[binID][l] = struct{}{}
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.listeners[binID], l)
		if len(h.listeners[binID]) == 0 {
			delete(h.listeners, binID)
		}
		h.mu.Unlock()
	}
}

// Removed tells the pages showing a bin that request id was deleted, every
// request when id is "*", or the bin itself when id is "bin".
func (h *Hub) Removed(binID, id string) {
	h.live.removed(binID, id)
}

// Notice tells the bin's open streams of a change to what authorises them
// (bin deleted, token replaced, share revoked): each checks its credential
// again at once and ends if it no longer works.
func (h *Hub) Notice(binID string, n Notice) {
	h.live.notify(binID, n)
}

// Close ends every event stream; clients reconnect to the next server and
// resume from the database. It is safe to call more than once.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.live.close()
}

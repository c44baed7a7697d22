package web

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tailhook-dev/tailhook/storage"
)

// The hub is the one event bus of the server: whatever changes a bin is
// published here once, after it is committed, and every live consumer (the
// API stream, the page streams, the wait API, and so the relay) reads it
// through one Subscription. A capture reaches a browser's socket in three
// hand-offs: handler → writer goroutine → syncer goroutine (which publishes
// here) → the stream's own handler goroutine, which writes the socket.

// EventKind says what happened to a bin.
type EventKind int

const (
	// Captured: request Seq was stored. Request is its content when this
	// process has it; nil (an event from another instance: "bin X has seq
	// N") makes the subscription read it from the database.
	Captured EventKind = iota
	// Removed: request Seq was deleted.
	Removed
	// Cleared: every request of the bin was deleted.
	Cleared
	// BinDeleted: the bin is gone; its streams end.
	BinDeleted
	// ForwardChanged: request Seq's forwarding history or auto-forward
	// state changed. Request, when set, is the request as it is now.
	ForwardChanged
	// ShareRevoked: share link Share was revoked; its streams end.
	ShareRevoked
	// CredentialChanged: the bin's token was replaced; streams opened with
	// the old one end.
	CredentialChanged
)

// Event is one change to a bin. Publishers build a fresh one each time.
type Event struct {
	Kind    EventKind
	Bin     string
	Seq     int64
	Share   string           // ShareRevoked
	Request *storage.Request // Captured, ForwardChanged: may be nil

	memo *memo // renderings shared by the subscribers of one Publish
}

// Subscription limits: a subscriber that falls further behind stops getting
// live captures and reads them from the database instead.
const (
	subQueue      = 256      // events waiting for one subscriber
	subQueueBytes = 32 << 20 // captured bodies waiting for one subscriber
	backlogPage   = 16       // stored requests read at a time on a catch-up
)

// errSlow ends a subscription whose queue of non-capture events overflowed:
// what it missed cannot be read back, so its client starts over.
var errSlow = errors.New("subscriber too slow")

// errClosed is returned by Next once the hub has closed.
var errClosed = errors.New("server shutting down")

// Hub fans events out to subscriptions, by bin. Publish never blocks: it
// runs on the database's write path.
type Hub struct {
	load backlogFunc // where subscriptions read what they missed

	mu     sync.RWMutex
	subs   map[string]map[*Subscription]struct{}
	closed bool

	cutoffs atomic.Int64 // subscribers that fell behind, for metrics

	seenMu sync.Mutex
	seenAt map[string]int64 // the newest capture published, per watched bin
}

// NewHub returns a hub without subscribers whose subscriptions read stored
// captures through load (storage.DB.Backlog).
func NewHub(load backlogFunc) *Hub {
	return &Hub{load: load, subs: map[string]map[*Subscription]struct{}{}, seenAt: map[string]int64{}}
}

// watched lists the bins that have subscribers.
func (h *Hub) watched() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	ids := make([]string, 0, len(h.subs))
	for id := range h.subs {
		ids = append(ids, id)
	}
	return ids
}

// seen is the newest seq published for a watched bin (0: none yet).
func (h *Hub) seen(bin string) int64 {
	h.seenMu.Lock()
	defer h.seenMu.Unlock()
	return h.seenAt[bin]
}

// Publish hands ev to every subscription of its bin without waiting on any.
func (h *Hub) Publish(ev Event) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	subs := h.subs[ev.Bin]
	if len(subs) == 0 {
		return // the common case of a capture: nobody watches its bin
	}
	if ev.Kind == Captured {
		h.seenMu.Lock()
		h.seenAt[ev.Bin] = max(h.seenAt[ev.Bin], ev.Seq)
		h.seenMu.Unlock()
	}
	ev.memo = &memo{}
	for s := range subs {
		s.offer(ev)
	}
}

// Close ends every subscription; it is safe to call more than once.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, ss := range h.subs {
		for s := range ss {
			s.mu.Lock()
			s.closed = true
			s.mu.Unlock()
			s.signal()
		}
	}
}

// subscribers counts open subscriptions, for metrics and tests.
func (h *Hub) subscribers(binID string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if binID != "" {
		return len(h.subs[binID])
	}
	n := 0
	for _, ss := range h.subs {
		n += len(ss)
	}
	return n
}

// Subscription is one consumer's view of a bin: Next yields every stored
// capture after the starting point that passes the filter, then live ones,
// each exactly once and in seq order, and the bin's other events as they
// come. Content always comes from the database on a gap: a capture whose
// event was dropped, came without content, or arrived out of order.
type Subscription struct {
	h      *Hub
	bin    string
	filter storage.Filter
	stop   func() bool // of the AfterFunc that closes it with its ctx; under h.mu

	mu      sync.Mutex
	queue   []Event
	bytes   int64
	lost    bool // live captures were dropped: catch up from the database
	overrun bool // other events were dropped: errSlow
	closed  bool
	wake    chan struct{}

	// Owned by the reader (Next).
	last    int64              // every capture through last has been dealt with
	backlog []*storage.Request // read from the database, not yet yielded
	upTo    int64              // the backlog read is complete through upTo
	catchUp bool               // read the database before the next live event
	taken   []Event            // live events taken from queue, not yet handled
}

// backlogFunc reads what a subscription missed: storage.DB.Backlog.
type backlogFunc func(ctx context.Context, binID string, after int64, f storage.Filter, limit int) ([]*storage.Request, int64, error)

// Subscribe starts a subscription of bin's captures after seq after that
// pass f, and of its other events, until ctx ends or Close. It registers
// before anything is read, so nothing committed later is missed.
func (h *Hub) Subscribe(ctx context.Context, bin string, after int64, f storage.Filter) *Subscription {
	s := &Subscription{h: h, bin: bin, filter: f, last: after, catchUp: true, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.closed = true
		return s
	}
	if h.subs[bin] == nil {
		h.subs[bin] = map[*Subscription]struct{}{}
	}
	h.subs[bin][s] = struct{}{}
	s.stop = context.AfterFunc(ctx, s.Close)
	return s
}

// Close unsubscribes; it is safe to call more than once.
func (s *Subscription) Close() {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	if s.stop != nil {
		// Under h.mu, which Subscribe holds while it sets stop: the
		// AfterFunc may run Close before Subscribe has returned.
		s.stop()
	}
	delete(s.h.subs[s.bin], s)
	if len(s.h.subs[s.bin]) == 0 {
		delete(s.h.subs, s.bin)
		s.h.seenMu.Lock()
		delete(s.h.seenAt, s.bin)
		s.h.seenMu.Unlock()
	}
}

// offer queues ev for the subscriber without blocking. A capture that does
// not fit is dropped and read from the database later; anything else that
// does not fit ends the subscription.
func (s *Subscription) offer(ev Event) {
	s.mu.Lock()
	switch {
	case s.closed || s.overrun:
	case ev.Kind == Captured && (s.lost || len(s.queue) >= subQueue || s.bytes+ev.size() > subQueueBytes):
		if !s.lost {
			s.lost = true
			s.h.cutoffs.Add(1)
		}
	case len(s.queue) >= 4*subQueue:
		s.overrun = true
		s.h.cutoffs.Add(1)
	default:
		s.queue = append(s.queue, ev)
		s.bytes += ev.size()
	}
	s.mu.Unlock()
	s.signal()
}

func (s *Subscription) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (ev Event) size() int64 {
	if ev.Kind == Captured && ev.Request != nil {
		return int64(len(ev.Request.Body))
	}
	return 0
}

// Last is the newest seq the subscription has dealt with: yielded, or
// passed over by the filter. A client resumes after it.
func (s *Subscription) Last() int64 { return s.last }

// Pending reports whether TryNext may have something (it may still find
// only events it passes over): false means wait for Ready.
func (s *Subscription) Pending() bool {
	if len(s.backlog) > 0 || len(s.taken) > 0 || s.catchUp {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) > 0 || s.lost || s.overrun || s.closed
}

// Next returns the next event: a capture (Kind Captured, Request set), or
// another event of the bin. It blocks until there is one or ctx ends.
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	for {
		ev, ok, err := s.TryNext(ctx)
		if ok || err != nil {
			return ev, err
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// Ready is signalled when live events arrive: then TryNext has something.
func (s *Subscription) Ready() <-chan struct{} { return s.wake }

// TryNext is Next without waiting for live events: ok is false when there
// is none yet. It may read the database (ctx bounds that).
func (s *Subscription) TryNext(ctx context.Context) (ev Event, ok bool, err error) {
	for {
		if len(s.backlog) > 0 {
			r := s.backlog[0]
			s.backlog[0] = nil
			s.backlog = s.backlog[1:]
			if r.Seq > s.last {
				s.last = r.Seq
				return Event{Kind: Captured, Bin: s.bin, Seq: r.Seq, Request: r}, true, nil
			}
			continue
		}
		// The backlog read was complete through upTo: what it did not
		// return there did not pass the filter.
		s.last = max(s.last, s.upTo)
		if s.catchUp {
			reqs, upTo, err := s.h.load(ctx, s.bin, s.last, s.filter, backlogPage)
			if err != nil {
				return Event{}, false, fmt.Errorf("catch up: %w", err)
			}
			s.backlog, s.upTo = reqs, upTo
			// A full page is complete only through its last request.
			s.catchUp = len(reqs) == backlogPage
			continue
		}
		if len(s.taken) == 0 {
			s.mu.Lock()
			s.taken, s.queue = s.queue, s.taken[:0]
			s.bytes = 0
			lost, overrun, closed := s.lost, s.overrun, s.closed
			s.lost = false
			s.mu.Unlock()
			switch {
			case closed:
				return Event{}, false, errClosed
			case overrun:
				return Event{}, false, errSlow
			case lost:
				// Read what was dropped; the queued captures are older or
				// repeat it, and are passed over.
				s.catchUp = true
				continue
			}
		}
		if len(s.taken) > 0 {
			ev := s.taken[0]
			s.taken[0] = Event{}
			s.taken = s.taken[1:]
			if s.accept(ev) {
				return ev, true, nil
			}
			continue
		}
		return Event{}, false, nil
	}
}

// accept decides on a live event: a capture is yielded when it is the next
// one, passed over when already dealt with or filtered out, and read from
// the database when one before it is missing or it has no content.
func (s *Subscription) accept(ev Event) bool {
	switch ev.Kind {
	case Captured:
		switch {
		case ev.Seq <= s.last:
			return false
		case ev.Seq > s.last+1 || ev.Request == nil:
			s.catchUp = true
			return false
		}
		s.last = ev.Seq
		return s.filter.Matches(ev.Request)
	case ForwardChanged:
		// Not seen yet: its capture, when yielded, is read as it is now.
		return ev.Seq <= s.last
	}
	return true
}

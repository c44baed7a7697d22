package web

import (
	"context"
	"time"

	"github.com/tailhook-dev/tailhook/storage"
)

// Several instances on one PostgreSQL database (storage.DB.Shared) hear of
// each other's changes through storage's event bus (LISTEN/NOTIFY), which
// carries ids only. This file turns those into hub events: a capture made
// elsewhere becomes "bin X has seq N" (Event.Request nil), which makes each
// subscription read it from the database, so a lost or late notification
// can delay an event, never skip or repeat one.

// eventNames are the hub's events as the bus carries them. Captured is
// announced by storage itself, after its commit.
var eventNames = map[EventKind]string{
	Removed:           "removed",
	Cleared:           "cleared",
	BinDeleted:        "deleted",
	ForwardChanged:    "forward",
	ShareRevoked:      "share-revoked",
	CredentialChanged: "credential",
}

// eventKinds reads eventNames back.
var eventKinds = func() map[string]EventKind {
	m := make(map[string]EventKind, len(eventNames))
	for k, n := range eventNames {
		m[n] = k
	}
	return m
}()

// watchEvery is how often the bins someone watches are compared with the
// database: how a bin deleted by a retention pass (which publishes
// nothing) ends its streams, and with PostgreSQL the backstop for lost
// notifications.
const watchEvery = time.Second

// publish hands ev to this instance's hub and tells the other instances.
func (s *Server) publish(ev Event) {
	s.hub.Publish(ev)
	if name, ok := eventNames[ev.Kind]; ok {
		s.db.Announce(storage.Event{Kind: name, Bin: ev.Bin, Seq: ev.Seq, Ref: ev.Share})
	}
}

// fromOtherInstance turns an event of another instance into hub events.
func (s *Server) fromOtherInstance(e storage.Event) {
	switch e.Kind {
	case storage.EventCaptured:
		s.hub.Publish(Event{Kind: Captured, Bin: e.Bin, Seq: e.Seq})
		return
	case storage.EventResync:
		s.checkWatched(s.baseCtx)
		// A replaced token or a revoked share may be among what was lost,
		// and the bins' seqs do not show it: every stream checks its
		// credential again now, not at its periodic re-check (15 s), so
		// that it still ends within the contract's 2 s.
		for _, id := range s.hub.watched() {
			s.hub.Publish(Event{Kind: CredentialChanged, Bin: id})
		}
		return
	}
	kind, ok := eventKinds[e.Kind]
	if !ok {
		return // a newer instance's event this one does not know
	}
	s.hub.Publish(Event{Kind: kind, Bin: e.Bin, Seq: e.Seq, Share: e.Ref})
	if kind == ForwardChanged {
		// Retried or cancelled elsewhere: a job may be ours to send, if
		// we hold the bin's lease. Only then: every attempt recorded
		// anywhere is announced, and starting a worker here for each
		// would have it ask for a lease another instance holds, five
		// times a second.
		s.deliverer.wake(e.Bin)
	}
}

// watch compares the watched bins with the database every watchEvery.
// With SQLite it only looks for bins that are gone (deleted by retention):
// there every capture is published here, after its fsync, and a capture
// read back from a committed seq could reach a viewer before it is durable.
func (s *Server) watch(ctx context.Context) {
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.checkWatched(ctx)
		}
	}
}

// checkWatched reads the newest seq of every bin with subscribers: a bin
// ahead of what the hub has seen gets a "bin X has seq N" event, and a bin
// that is gone ends its streams.
func (s *Server) checkWatched(ctx context.Context) {
	bins := s.hub.watched()
	if len(bins) == 0 {
		return
	}
	seqs, err := s.db.BinSeqs(ctx, bins)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("compare watched bins with the database", "error", err)
		}
		return
	}
	for _, id := range bins {
		seq, ok := seqs[id]
		switch {
		case !ok:
			s.hub.Publish(Event{Kind: BinDeleted, Bin: id})
		case seq > s.hub.seen(id) && s.db.Shared():
			s.hub.Publish(Event{Kind: Captured, Bin: id, Seq: seq})
		}
	}
}

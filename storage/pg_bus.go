package storage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// The event bus between instances sharing a PostgreSQL database: LISTEN and
// NOTIFY on one channel per schema. A notification carries ids only (what
// happened, to which bin, which seq); every instance reads content from the
// database, so a lost notification delays an event but never loses data.
// Notifications are sent after commit, never inside the capture's
// transaction: NOTIFY takes a lock that every committing NOTIFY in the
// database queues on, which measured −66 % capture throughput.

// Event kinds storage itself announces. Others (a request deleted, a share
// revoked…) are the web server's, carried as they are.
const (
	// EventCaptured: Bin has a new capture, Seq.
	EventCaptured = "captured"
	// EventBinChanged: Bin's row changed (settings, token, name) or was
	// deleted. Every instance has already forgotten its cached copy when
	// the handler sees it.
	EventBinChanged = "bin"
	// EventResync: events from other instances may have been lost (the
	// listener reconnected, its queue overflowed, or another instance could
	// not send some). Whoever waits for events should look at the database
	// again.
	EventResync = "resync"
)

// Event is something another instance did, as ids only.
type Event struct {
	Kind string
	Bin  string
	Seq  int64
	Ref  string // e.g. a share's id
}

const (
	busQueue      = 4096                  // events waiting to be sent, or to be handled
	busPayloadMax = 7000                  // bytes per NOTIFY (PostgreSQL's limit is 8000)
	busIdlePing   = 5 * time.Second       // a silent listener checks its connection this often
	busRetryMin   = 50 * time.Millisecond // first wait before reconnecting
	busRetryMax   = 1 * time.Second       // longest wait between reconnects
	busPingLimit  = 3 * time.Second       // a ping slower than this means a dead connection
	busConnectMax = 5 * time.Second       // one connection attempt
)

// bus sends this instance's events and hands other instances' to a handler.
type bus struct {
	db     *DB
	origin string // this instance, so that it skips its own notifications
	out    chan Event
	in     chan Event
	lost   atomic.Bool // in overflowed: a resync is due
	// dropped: one of this instance's events never went out (out was
	// full, or NOTIFY kept failing); the next notification asks every
	// other instance for a resync.
	dropped atomic.Bool
	mu      sync.Mutex
	fn      func(Event)
	// Stats, for tests and metrics.
	Sent, Received, Dropped, Reconnects atomic.Int64
}

func newBus(db *DB) *bus {
	return &bus{db: db, origin: newID(8), out: make(chan Event, busQueue), in: make(chan Event, busQueue)}
}

// OnEvent sets the handler of events from other instances (and of
// EventResync). It runs on one goroutine, in arrival order, and must not
// block for long: events queue behind it. With SQLite there are none.
func (db *DB) OnEvent(fn func(Event)) {
	if db.bus == nil {
		return
	}
	db.bus.mu.Lock()
	db.bus.fn = fn
	db.bus.mu.Unlock()
}

// Announce tells the other instances about e, after the change it describes
// has committed. It never blocks: when the queue is full the event is
// dropped, and the others find the change at their next resync. With
// SQLite it does nothing.
func (db *DB) Announce(e Event) {
	if db.bus != nil {
		db.bus.announce(e)
	}
}

func (b *bus) announce(e Event) {
	if b == nil {
		return
	}
	select {
	case b.out <- e:
	default:
		b.Dropped.Add(1)
		b.dropped.Store(true)
	}
}

// run sends, listens and dispatches until the database closes.
func (b *bus) run() {
	defer b.db.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-b.db.closing
		cancel()
	}()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); b.send(ctx) }()
	go func() { defer wg.Done(); b.listen(ctx) }()
	go func() { defer wg.Done(); b.dispatch(ctx) }()
	wg.Wait()
}

// send packs queued events into as few NOTIFYs as fit, one at a time: under
// load one notification carries many events.
func (b *bus) send(ctx context.Context) {
	var buf strings.Builder
	for {
		var e Event
		select {
		case e = <-b.out:
		case <-ctx.Done():
			return
		}
		buf.Reset()
		n := 0
		if b.dropped.Swap(false) {
			// What the others missed is not known: they look at the
			// database again (and end streams whose credential went).
			buf.WriteString(b.encode(Event{Kind: EventResync}))
			n++
		}
		for {
			line := b.encode(e)
			if buf.Len()+len(line) > busPayloadMax && buf.Len() > 0 {
				b.notify(ctx, buf.String(), n)
				buf.Reset()
				n = 0
			}
			buf.WriteString(line)
			n++
			more := false
			select {
			case e = <-b.out:
				more = true
			default:
			}
			if !more {
				break
			}
		}
		b.notify(ctx, buf.String(), n)
	}
}

// notify sends one payload, trying a few times over about a second before
// it gives up on it (and asks for a resync with the next one).
func (b *bus) notify(ctx context.Context, payload string, n int) {
	wait := 100 * time.Millisecond
	for try := 1; ; try++ {
		nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := b.db.w.ExecContext(nctx, `SELECT pg_notify(?, ?)`, b.db.channel, payload)
		cancel()
		if err == nil {
			b.Sent.Add(int64(n))
			return
		}
		if ctx.Err() != nil {
			return
		}
		if try == 3 {
			b.db.log.Warn("announce to other instances", "error", err, "events", n)
			b.Dropped.Add(int64(n))
			b.dropped.Store(true)
			return
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		wait *= 2
	}
}

// encode writes one event as a line: origin, kind, bin, seq, ref, separated
// by spaces. Bin ids, kinds and refs are tailhook's own tokens (no spaces).
func (b *bus) encode(e Event) string {
	return b.origin + " " + e.Kind + " " + e.Bin + " " + strconv.FormatInt(e.Seq, 10) + " " + e.Ref + "\n"
}

func decodeEvents(payload string, skip string) []Event {
	var es []Event
	for line := range strings.SplitSeq(payload, "\n") {
		f := strings.Split(line, " ")
		if len(f) != 5 || f[0] == skip {
			continue
		}
		seq, _ := strconv.ParseInt(f[3], 10, 64)
		es = append(es, Event{Kind: f[1], Bin: f[2], Seq: seq, Ref: f[4]})
	}
	return es
}

// listen holds one connection of its own on LISTEN, outside the pool:
// reconnecting fast (from 50 ms, never more than 1 s apart) after any
// error, pinging when silent so that a dead connection is noticed within
// seconds, and asking for a resync after every (re)connect, since whatever
// was sent meanwhile is gone.
func (b *bus) listen(ctx context.Context) {
	wait := busRetryMin
	for ctx.Err() == nil {
		err := b.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		b.Reconnects.Add(1)
		b.db.log.Warn("listening to other instances: reconnecting", "error", err, "in", wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		wait = min(wait*2, busRetryMax)
		if err == nil {
			wait = busRetryMin
		}
	}
}

func (b *bus) listenOnce(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, busConnectMax)
	conn, err := pgx.Connect(cctx, b.db.dsn)
	cancel()
	if err != nil {
		return errors.New(strings.ReplaceAll(err.Error(), b.db.dsn, b.db.path))
	}
	defer func() {
		// A dead server must not hold Close up.
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.Close(cctx)
		cancel()
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{b.db.channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	b.lost.Store(true) // anything sent before LISTEN took effect is gone
	b.wake()
	for {
		wctx, cancel := context.WithTimeout(ctx, busIdlePing)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) && !pgconnTimeout(err) {
				return fmt.Errorf("wait for notification: %w", err)
			}
			pctx, cancel := context.WithTimeout(ctx, busPingLimit)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping: %w", err)
			}
			continue
		}
		for _, e := range decodeEvents(n.Payload, b.origin) {
			b.Received.Add(1)
			if e.Kind == EventResync {
				// Another instance lost some of its events.
				b.lost.Store(true)
				continue
			}
			if e.Kind == EventBinChanged {
				// Before anyone hears of it: a capture after the event
				// must not find the old settings in the cache.
				b.db.bins.forget(e.Bin)
			}
			select {
			case b.in <- e:
			default:
				b.lost.Store(true) // never block the listener
			}
		}
		if b.lost.Load() {
			b.wake()
		}
	}
}

// pgconnTimeout reports whether err is a timeout of the connection's read,
// which leaves it usable (pgconn closes it on any other error).
func pgconnTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// wake makes sure the dispatcher runs to deliver a pending resync.
func (b *bus) wake() {
	select {
	case b.in <- Event{Kind: ""}:
	default:
	}
}

// dispatch hands events to the handler, one at a time, and a resync when
// events may have been lost.
func (b *bus) dispatch(ctx context.Context) {
	for {
		var e Event
		select {
		case e = <-b.in:
		case <-ctx.Done():
			return
		}
		b.mu.Lock()
		fn := b.fn
		b.mu.Unlock()
		if b.lost.CompareAndSwap(true, false) {
			// A bin's change may be among what was lost.
			b.db.bins.forgetAll()
			if fn != nil {
				fn(Event{Kind: EventResync})
			}
		}
		if e.Kind != "" && fn != nil {
			fn(e)
		}
	}
}

// BusStats are the event bus's counters (all 0 with SQLite): events sent to
// and received from other instances, events dropped (never sent), and
// reconnects of the listener.
type BusStats struct {
	Sent, Received, Dropped, Reconnects int64
}

// BusStats reads the event bus's counters.
func (db *DB) BusStats() BusStats {
	if db.bus == nil {
		return BusStats{}
	}
	b := db.bus
	return BusStats{Sent: b.Sent.Load(), Received: b.Received.Load(), Dropped: b.Dropped.Load(), Reconnects: b.Reconnects.Load()}
}

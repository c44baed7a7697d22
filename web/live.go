package web

// The live streams. This is the only file that knows r3labs/sse: it is used
// as a fan-out only, and everything the contract needs that it gets wrong is
// done here (see NOTES.md §1):
//
//   - Replay is off; the event id is the request's seq, and a reconnecting
//     client's backlog comes from SQLite.
//   - Two servers: the JSON stream of the API (one-line data) and the HTML
//     stream of the pages (SplitData, for multi-line fragments).
//   - The library writes into a gate, never to the network. The gate queues
//     whole frames for a writer goroutine of its own, so a stalled client
//     never blocks the library's stream goroutine, other clients, or the
//     capture path. A client that falls behind or misses a write deadline is
//     cut off, and resumes from the database when it reconnects.
//   - Streams are created when their first client comes and removed when the
//     last one has left (removing a stream with clients leaks goroutines).
//   - A stream is one bin seen one way: the API's JSON, the owner's rows, or
//     a share link's read-only rows, each optionally filtered by a search.
//     A capture a filter does not match is published as a "skip" event
//     that moves the client's position without being written, so a
//     filtered client resumes without re-reading what it skipped.
//   - A request whose forwarding changed is sent again as "row-update" (the
//     re-rendered row) or, on the API stream, "forward"; a deleted one is
//     "removed" on the pages' streams. These events carry no id: the
//     client's resume position stays its newest capture.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/r3labs/sse/v2"
	"github.com/tailhook-dev/tailhook/storage"
	"github.com/tailhook-dev/tailhook/views"
)

// streamKind tells the two event streams apart.
type streamKind int

const (
	apiStream    streamKind = iota // JSON, /api/bins/{bin}/events
	pageStream                     // rendered rows, for the inspector
	sharedStream                   // rendered read-only rows, for a share link
	streamKinds                    // how many kinds there are
)

const (
	// liveWriteTimeout is how long one write to a client may take before
	// the client is cut off.
	liveWriteTimeout = 10 * time.Second
	// liveHeartbeat is how often an idle stream sends a comment line; the
	// contract asks for at most 30 s.
	liveHeartbeat = 20 * time.Second

	// backlogPage is how many stored requests a resuming stream reads at a
	// time; each may carry a body of up to --max-body.
	backlogPage = 16
	// maxPendingFrames and maxPendingBytes bound what a client may have
	// queued and not yet written before it is cut off.
	maxPendingFrames = 256
	maxPendingBytes  = 32 << 20
	// dispatchQueue and maxDispatchBytes bound the captures waiting to be
	// rendered for viewers; beyond them the bin's viewers are cut off and
	// resume from the database, instead of the capture path waiting.
	dispatchQueue    = 1024
	maxDispatchBytes = 64 << 20
	// reconnectMS is the retry time suggested to EventSource clients.
	reconnectMS = 1500
)

// live fans captured requests out to the event streams of the API and the
// pages.
type live struct {
	log     *slog.Logger
	servers [streamKinds]*sse.Server

	// Tunables, set before the first stream; tests shorten them.
	writeTimeout time.Duration
	heartbeat    time.Duration

	ctx    context.Context // cancelled by close: every stream ends
	cancel context.CancelFunc

	mu      sync.Mutex
	streams map[streamKey]*streamState

	queue       chan *storage.Request
	queuedBytes atomic.Int64
	wg          sync.WaitGroup

	// Row updates: requests whose forwarding changed, coalesced.
	rows     rowHooks
	watching map[string]*rowWatch // by bin, under mu
	rowsMu   sync.Mutex
	changed  map[rowChange]struct{}
	rowsWake chan struct{}

	// Counters, for tests and metrics.
	dropped atomic.Int64 // captures whose viewers had to be cut off
}

type streamKey struct {
	kind  streamKind
	bin   string
	share string // sharedStream: the link, which renders the rows' links
	q     string // the search filter, "" for none
}

// name is the library's stream id; the library only uses it as a key.
func (k streamKey) name() string { return k.bin + "\x00" + k.share + "\x00" + k.q }

// scope is whose rows the stream renders.
func (k streamKey) scope() views.Scope {
	if k.kind == sharedStream {
		return views.Scope{ShareID: k.share}
	}
	return views.Scope{BinID: k.bin}
}

// rowHooks connect the streams to forwarding changes: load reads a request
// whole, watch calls fn whenever one of a bin's requests changes.
type rowHooks struct {
	load  func(ctx context.Context, binID string, seq int64) (*storage.Request, error)
	watch func(binID string, fn func(seq int64)) (stop func())
}

// rowWatch is a bin's subscription to forwarding changes, shared by its
// streams.
type rowWatch struct {
	n    int
	stop func()
}

type rowChange struct {
	bin string
	seq int64
}

// streamState is one bin's stream of one kind and its open connections.
type streamState struct {
	conns map[*liveConn]struct{}
}

func newLive(log *slog.Logger) *live {
	l := &live{log: log, writeTimeout: liveWriteTimeout, heartbeat: liveHeartbeat, streams: map[streamKey]*streamState{},
		queue: make(chan *storage.Request, dispatchQueue), watching: map[string]*rowWatch{},
		changed: map[rowChange]struct{}{}, rowsWake: make(chan struct{}, 1)}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	for i := range l.servers {
		srv := sse.New()
		srv.AutoReplay = false // in-memory replay: unbounded, wrong ids, lost on restart
		srv.AutoStream = false // streams exist only while we count clients on them
		srv.BufferSize = 64
		srv.SplitData = streamKind(i) != apiStream
		srv.Headers = map[string]string{"X-Accel-Buffering": "no", "Cache-Control": "no-store"}
		l.servers[i] = srv
	}
	l.wg.Add(2)
	go l.dispatch()
	go l.rowWorker()
	return l
}

// setRowHooks connects forwarding changes to the streams; the server calls
// it once, before serving.
func (l *live) setRowHooks(h rowHooks) {
	l.mu.Lock()
	l.rows = h
	l.mu.Unlock()
}

// close ends every stream and stops the dispatcher. Connections end through
// their contexts, so the library unsubscribes them cleanly.
func (l *live) close() {
	l.cancel()
	l.wg.Wait()
}

// publish hands a committed capture to the viewers of its bin. It never
// blocks: it runs on the database's write path (its syncer goroutine).
func (l *live) publish(r *storage.Request) {
	if len(l.keysOf(r.BinID)) == 0 || l.ctx.Err() != nil {
		// Anyone who connects later reads this request from the database.
		return
	}
	size := int64(len(r.Body))
	if l.queuedBytes.Add(size) > maxDispatchBytes {
		l.queuedBytes.Add(-size)
		l.drop(r.BinID)
		return
	}
	select {
	case l.queue <- r:
	default:
		l.queuedBytes.Add(-size)
		l.drop(r.BinID)
	}
}

// drop cuts off every viewer of a bin because one of its events could not
// be delivered; they reconnect with Last-Event-ID and read it from SQLite.
func (l *live) drop(binID string) {
	l.dropped.Add(1)
	l.log.Warn("live: viewers too slow, cutting them off to resume from the database", "bin", binID)
	for _, k := range l.keysOf(binID) {
		l.kick(k)
	}
}

func (l *live) kick(k streamKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st := l.streams[k]; st != nil {
		for c := range st.conns {
			c.cancel()
		}
	}
}

// keysOf lists the streams of a bin.
func (l *live) keysOf(binID string) []streamKey {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ks []streamKey
	for k := range l.streams {
		if k.bin == binID {
			ks = append(ks, k)
		}
	}
	return ks
}

// dispatch renders each capture once per way of showing it and publishes
// the same bytes to every viewer, in seq order.
func (l *live) dispatch() {
	defer l.wg.Done()
	for {
		select {
		case <-l.ctx.Done():
			return
		case r := <-l.queue:
			l.queuedBytes.Add(-int64(len(r.Body)))
			rendered := map[streamKey][]byte{} // by kind and share: q does not change a row
			for _, k := range l.keysOf(r.BinID) {
				l.send(k, r, rendered)
			}
		}
	}
}

func (l *live) send(k streamKey, r *storage.Request, rendered map[streamKey][]byte) {
	ev := &sse.Event{ID: []byte(strconv.FormatInt(r.Seq, 10))}
	if r.Matches(k.q) {
		rk := streamKey{kind: k.kind, share: k.share}
		data, ok := rendered[rk]
		if !ok {
			var err error
			if data, err = renderEvent(k, r); err != nil {
				l.log.Error("live: render event", "bin", r.BinID, "seq", r.Seq, "error", err)
				l.kick(k)
				return
			}
			rendered[rk] = data
		}
		// A fresh Event every time: the library changes the one it is given.
		ev.Event, ev.Data = []byte("request"), data
	} else {
		ev.Event, ev.Data = []byte(skipEvent), []byte("-")
	}
	l.mu.Lock()
	// Under the lock, so the stream cannot be removed in between.
	ok := l.streams[k] == nil || l.servers[k.kind].TryPublish(k.name(), ev)
	l.mu.Unlock()
	if !ok {
		l.dropped.Add(1)
		l.kick(k)
	}
}

// skipEvent moves a filtered client past a capture it does not show; the
// client never sees it.
const skipEvent = "skip"

// renderEvent is the data of a request's event: the contract's JSON on one
// line, or the row the inspector shows.
func renderEvent(k streamKey, r *storage.Request) ([]byte, error) {
	if k.kind == apiStream {
		// encoding/json escapes line breaks, U+2028 and U+2029: one line.
		return json.Marshal(toRequestJSON(r, true))
	}
	return renderRow(k.scope(), r)
}

// renderRow is a request's row for the page streams.
func renderRow(sc views.Scope, r *storage.Request) ([]byte, error) {
	var buf bytes.Buffer
	if err := views.RequestRow(sc, r, false).Render(context.Background(), &buf); err != nil {
		return nil, err
	}
	// A bare CR would end a line of the event stream; in HTML it is just
	// white space.
	return bytes.ReplaceAll(buf.Bytes(), []byte("\r"), []byte("&#13;")), nil
}

// forwardEventJSON is the data of the API stream's "forward" event.
type forwardEventJSON struct {
	Seq      int64          `json:"seq"`
	Delivery *deliveryJSON  `json:"delivery"`
	Forwards *[]forwardJSON `json:"forwards"`
}

// rowChanged notes that a request's forwarding changed. It never blocks:
// changes are coalesced and sent by rowWorker.
func (l *live) rowChanged(binID string, seq int64) {
	l.rowsMu.Lock()
	l.changed[rowChange{binID, seq}] = struct{}{}
	l.rowsMu.Unlock()
	select {
	case l.rowsWake <- struct{}{}:
	default:
	}
}

// watchRows subscribes a bin to forwarding changes while it has streams.
func (l *live) watchRows(binID string) (release func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.watching[binID]
	if w == nil {
		w = &rowWatch{stop: func() {}}
		if l.rows.watch != nil {
			w.stop = l.rows.watch(binID, func(seq int64) { l.rowChanged(binID, seq) })
		}
		l.watching[binID] = w
	}
	w.n++
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if w.n--; w.n == 0 {
			w.stop()
			delete(l.watching, binID)
		}
	}
}

// rowWorker sends each changed request to the bin's streams: the row again
// (event row-update) to pages whose filter it matches, the forwarding state
// (event forward) to API clients.
func (l *live) rowWorker() {
	defer l.wg.Done()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-l.rowsWake:
		}
		l.rowsMu.Lock()
		batch := l.changed
		l.changed = map[rowChange]struct{}{}
		l.rowsMu.Unlock()
		for ch := range batch {
			l.sendRowUpdate(ch)
		}
	}
}

func (l *live) sendRowUpdate(ch rowChange) {
	l.mu.Lock()
	load := l.rows.load
	conns := map[streamKey][]*liveConn{}
	for k, st := range l.streams {
		if k.bin == ch.bin {
			for c := range st.conns {
				conns[k] = append(conns[k], c)
			}
		}
	}
	l.mu.Unlock()
	if load == nil || len(conns) == 0 {
		return
	}
	r, err := load(l.ctx, ch.bin, ch.seq)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) && l.ctx.Err() == nil {
			l.log.Error("live: load changed request", "bin", ch.bin, "seq", ch.seq, "error", err)
		}
		return
	}
	for k, cs := range conns {
		var f []byte
		switch {
		case k.kind == apiStream:
			j := toRequestJSON(r, true)
			data, err := json.Marshal(forwardEventJSON{Seq: r.Seq, Delivery: j.Delivery, Forwards: j.Forwards})
			if err != nil {
				continue
			}
			f = eventFrame("", "forward", data)
		case r.Matches(k.q):
			data, err := renderRow(k.scope(), r)
			if err != nil {
				l.log.Error("live: render row", "bin", r.BinID, "seq", r.Seq, "error", err)
				continue
			}
			f = eventFrame("", "row-update", data)
		default:
			continue
		}
		for _, c := range cs {
			c.enqueue(f)
		}
	}
}

// removed tells the pages showing a bin that a request was deleted (its
// id), all of them ("*": the bin was cleared), or the bin itself ("bin"),
// so that every tab, not only the one that deleted, drops the rows. The
// event has no id: a client's resume position stays its newest capture.
// API streams carry captures only and get nothing.
func (l *live) removed(binID, id string) {
	f := eventFrame("", "removed", []byte(id))
	var cs []*liveConn
	l.mu.Lock()
	for k, st := range l.streams {
		if k.bin == binID && k.kind != apiStream {
			for c := range st.conns {
				cs = append(cs, c)
			}
		}
	}
	l.mu.Unlock()
	for _, c := range cs {
		c.enqueue(f)
	}
}

// eventFrame formats an event-stream frame the way the library does: id
// (when not ""), data lines, event.
func eventFrame(id, event string, data []byte) []byte {
	var b bytes.Buffer
	if id != "" {
		b.WriteString("id: " + id + "\n")
	}
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		b.WriteString("data: ")
		b.Write(line)
		b.WriteString("\n")
	}
	b.WriteString("event: " + event + "\n\n")
	return b.Bytes()
}

// frame formats one request as an event-stream frame, the way the library
// frames live events.
func frame(k streamKey, r *storage.Request) ([]byte, error) {
	data, err := renderEvent(k, r)
	if err != nil {
		return nil, err
	}
	return eventFrame(strconv.FormatInt(r.Seq, 10), "request", data), nil
}

// backlogFunc reads stored requests of the bin with seq > after, oldest
// first, at most limit of them.
type backlogFunc func(ctx context.Context, after int64, limit int) ([]*storage.Request, error)

// streamRequest is an authorised request for a bin's stream.
type streamRequest struct {
	kind  streamKind
	binID string
	share string // sharedStream: the link
	q     string // search filter
	// after is the last seq the client has: it gets every stored request
	// after it, then live ones.
	after   int64
	backlog backlogFunc
	// until, when set, ends the stream then (a share link's expiry); check
	// says whether the credential that opened the stream still works: it
	// is asked on every notice for the bin (a token replaced, the bin
	// deleted, a share revoked) and every recheckEvery. errBinGone ends an
	// API stream with a "deleted" event.
	until time.Time
	check func(ctx context.Context) error
}

// recheckEvery is how often a stream checks its credential without a
// notice: changes made where no notice is sent (retention deleting a bin,
// another instance) still end it.
var recheckEvery = 15 * time.Second

// errBinGone is what a stream's check returns once its bin is deleted.
var errBinGone = errors.New("bin deleted")

// Notice is a change to a bin that its open streams must act on at once.
type Notice int

const (
	// NoticeBinDeleted: the bin is gone; the API stream sends "deleted"
	// and every stream ends.
	NoticeBinDeleted Notice = iota + 1
	// NoticeCredentialChanged: the bin's token was replaced; streams
	// opened with the old one end.
	NoticeCredentialChanged
	// NoticeShareRevoked: a share link of the bin was revoked; its
	// streams end.
	NoticeShareRevoked
)

func (n Notice) String() string {
	switch n {
	case NoticeBinDeleted:
		return "bin deleted"
	case NoticeCredentialChanged:
		return "credential changed"
	case NoticeShareRevoked:
		return "share revoked"
	}
	return "notice " + strconv.Itoa(int(n))
}

// notify makes every stream of the bin that the notice concerns check its
// credential again. It never blocks.
func (l *live) notify(binID string, n Notice) {
	var cs []*liveConn
	l.mu.Lock()
	for k, st := range l.streams {
		if k.bin != binID || n == NoticeShareRevoked && k.kind != sharedStream {
			continue
		}
		for c := range st.conns {
			cs = append(cs, c)
		}
	}
	l.mu.Unlock()
	l.log.Debug("live: notice", "bin", binID, "notice", n.String(), "streams", len(cs))
	for _, c := range cs {
		select {
		case c.recheck <- struct{}{}:
		default: // one is pending already
		}
	}
}

func (sr streamRequest) key() streamKey {
	return streamKey{kind: sr.kind, bin: sr.binID, share: sr.share, q: sr.q}
}

// serve streams a bin's events to one client until it leaves, falls behind,
// or the server shuts down. The caller has authorised the request.
func (l *live) serve(w http.ResponseWriter, r *http.Request, sr streamRequest) {
	if l.ctx.Err() != nil {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stopOnClose := context.AfterFunc(l.ctx, cancel)
	defer stopOnClose()

	c := &liveConn{
		l: l, w: w, rc: http.NewResponseController(w), kind: sr.kind, sr: sr,
		ctx: ctx, cancel: cancel,
		started: make(chan struct{}), out: make(chan []byte, maxPendingFrames), done: make(chan struct{}),
		recheck: make(chan struct{}, 1),
	}
	if sr.check != nil {
		// The credential was checked before this stream was registered:
		// check once more, so a change in between is not missed.
		c.recheck <- struct{}{}
	}
	k := sr.key()
	release := l.watchRows(sr.binID)
	defer release()
	l.mu.Lock()
	st := l.streams[k]
	if st == nil {
		st = &streamState{conns: map[*liveConn]struct{}{}}
		l.streams[k] = st
		l.servers[sr.kind].CreateStream(k.name())
	}
	st.conns[c] = struct{}{}
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(st.conns, c)
		if len(st.conns) == 0 {
			// The library has unsubscribed this client before ServeHTTP
			// returned, so the stream has no subscribers left.
			delete(l.streams, k)
			l.servers[sr.kind].RemoveStream(k.name())
		}
		l.mu.Unlock()
	}()

	go c.run()
	// The library must see only what we decide: the stream comes from the
	// authorised path, never from the client's query, and Last-Event-ID
	// (which it would reject unless numeric) is handled by us.
	r2 := r.Clone(ctx)
	r2.URL.RawQuery = "stream=" + url.QueryEscape(k.name())
	r2.Header.Del("Last-Event-ID")
	l.servers[sr.kind].ServeHTTP(c, r2)
	cancel()
	<-c.done
}

// liveConn is one client's stream. It is the http.ResponseWriter the library
// writes to: the library's goroutine only buffers frames, and run writes
// them to the network under a deadline.
type liveConn struct {
	l      *live
	w      http.ResponseWriter
	rc     *http.ResponseController
	kind   streamKind
	sr     streamRequest
	ctx    context.Context
	cancel context.CancelFunc

	// Used by the library's goroutine only.
	buf     bytes.Buffer
	flushed bool

	recheck chan struct{} // a notice came: check the credential again
	started chan struct{} // closed on the library's first Flush
	out     chan []byte   // whole frames for run
	pending atomic.Int64  // bytes in out
	dead    atomic.Bool
	done    chan struct{} // closed when run returns
}

var _ http.Flusher = (*liveConn)(nil)

func (c *liveConn) Header() http.Header { return c.w.Header() }

func (c *liveConn) WriteHeader(code int) { c.w.WriteHeader(code) }

func (c *liveConn) Write(p []byte) (int, error) {
	if c.dead.Load() {
		return 0, errors.New("stream closed")
	}
	return c.buf.Write(p)
}

// Flush ends a frame. The library flushes exactly once per frame, and first
// right after it has subscribed the client: from then on no live event can
// be missed, so that is when run reads the backlog.
func (c *liveConn) Flush() {
	if !c.flushed {
		c.flushed = true
		close(c.started)
		return
	}
	f := bytes.Clone(c.buf.Bytes())
	c.buf.Reset()
	if len(f) > 0 {
		c.enqueue(f)
	}
}

// enqueue queues a whole frame for run. It never blocks: a client too far
// behind is cut off. The library's goroutine and rowWorker both call it.
func (c *liveConn) enqueue(f []byte) {
	if c.dead.Load() {
		return
	}
	if c.pending.Add(int64(len(f))) > maxPendingBytes && len(c.out) > 0 {
		c.fail("too far behind")
		return
	}
	select {
	case c.out <- f:
	default:
		c.fail("too far behind")
	}
}

// fail cuts the client off: its context ends, the library unsubscribes it,
// and the client reconnects with Last-Event-ID.
func (c *liveConn) fail(why string) {
	if c.dead.CompareAndSwap(false, true) {
		c.l.log.Info("live: client cut off", "bin", c.sr.binID, "reason", why)
		c.cancel()
	}
}

// run writes the stream: the backlog from the database, then live frames,
// dropping those the backlog already covered, with a heartbeat when idle.
func (c *liveConn) run() {
	defer close(c.done)
	select {
	case <-c.started:
	case <-c.ctx.Done():
		return
	}
	last := c.sr.after
	if err := c.write([]byte("retry: " + strconv.Itoa(reconnectMS) + "\n\n")); err != nil {
		return
	}
	if err := c.catchUp(&last, 0); err != nil {
		return
	}
	tick := time.NewTicker(c.l.heartbeat)
	defer tick.Stop()
	var batch bytes.Buffer
	var expire, recheck <-chan time.Time
	if !c.sr.until.IsZero() {
		t := time.NewTimer(time.Until(c.sr.until))
		defer t.Stop()
		expire = t.C
	}
	if c.sr.check != nil {
		t := time.NewTicker(recheckEvery)
		defer t.Stop()
		recheck = t.C
	}
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-expire:
			c.end("expired")
			return
		case <-recheck:
			if !c.stillValid() {
				return
			}
		case <-c.recheck:
			if !c.stillValid() {
				return
			}
		case <-tick.C:
			if err := c.write([]byte(": keep-alive\n\n")); err != nil {
				return
			}
		case f := <-c.out:
			// Frames that queued up while the last write ran go out in
			// one write: a busy stream costs one syscall per batch, not
			// per event.
			batch.Reset()
		drain:
			for {
				c.pending.Add(-int64(len(f)))
				if err := c.take(f, &last, &batch); err != nil {
					return
				}
				if batch.Len() >= maxWriteBatch {
					break
				}
				select {
				case f = <-c.out:
				default:
					break drain
				}
			}
			if batch.Len() > 0 {
				if err := c.write(batch.Bytes()); err != nil {
					return
				}
			}
		}
	}
}

// maxWriteBatch bounds how many bytes of queued frames one write sends.
const maxWriteBatch = 256 << 10

// take adds a live frame to batch unless the backlog already sent it, first
// filling any gap before it from the database, and advances *last.
func (c *liveConn) take(f []byte, last *int64, batch *bytes.Buffer) error {
	seq, ok := frameSeq(f)
	if ok && seq <= *last {
		return nil // already sent from the backlog
	}
	if ok && seq > *last+1 {
		// An event did not reach us (a full queue somewhere): fill the
		// gap from the database first, after what is already batched.
		if batch.Len() > 0 {
			if err := c.write(batch.Bytes()); err != nil {
				return err
			}
			batch.Reset()
		}
		if err := c.catchUp(last, seq-1); err != nil {
			return err
		}
	}
	if ok && bytes.HasSuffix(f, []byte("\nevent: "+skipEvent+"\n\n")) {
		*last = seq // not shown by this client's filter
		return nil
	}
	batch.Write(f)
	if ok {
		*last = seq
	}
	return nil
}

// stillValid asks the stream's check whether its credential still works.
// When it does not, it sends what is queued (a page's "removed" event),
// then on an API stream whose bin is gone a "deleted" event, and ends the
// stream.
func (c *liveConn) stillValid() bool {
	err := c.sr.check(c.ctx)
	if err == nil {
		return true
	}
	if c.ctx.Err() != nil {
		return false
	}
	var tail bytes.Buffer
	for {
		select {
		case f := <-c.out:
			c.pending.Add(-int64(len(f)))
			if _, ok := frameSeq(f); !ok { // captures would be resumed anyway
				tail.Write(f)
			}
			continue
		default:
		}
		break
	}
	if errors.Is(err, errBinGone) && c.kind == apiStream {
		data, _ := json.Marshal(map[string]string{"bin": c.sr.binID})
		tail.Write(eventFrame("", "deleted", data))
	}
	if tail.Len() > 0 {
		c.write(tail.Bytes()) // best effort: the stream ends either way
	}
	c.end(err.Error())
	return false
}

// end closes a stream that may not go on (an expired share link).
func (c *liveConn) end(why string) {
	if c.dead.CompareAndSwap(false, true) {
		c.l.log.Info("live: stream ended", "reason", why)
		c.cancel()
	}
}

// catchUp writes stored requests after *last, up to seq upTo (0: all), and
// advances *last. Rows are read a page at a time and closed before any
// write, so a slow client never holds a read transaction open.
func (c *liveConn) catchUp(last *int64, upTo int64) error {
	var page bytes.Buffer
	for {
		reqs, err := c.sr.backlog(c.ctx, *last, backlogPage)
		if err != nil {
			if c.ctx.Err() == nil {
				c.l.log.Error("live: read backlog", "bin", c.sr.binID, "error", err)
			}
			c.fail("backlog")
			return err
		}
		done := len(reqs) < backlogPage
		for _, r := range reqs {
			if upTo > 0 && r.Seq > upTo {
				done = true
				break
			}
			if !r.Matches(c.sr.q) {
				*last = r.Seq
				continue
			}
			f, err := frame(c.sr.key(), r)
			if err != nil {
				c.fail("render")
				return err
			}
			page.Write(f)
			*last = r.Seq
		}
		// One write per page of the backlog.
		if page.Len() > 0 {
			if err := c.write(page.Bytes()); err != nil {
				return err
			}
			page.Reset()
		}
		if done {
			return nil
		}
	}
}

// write sends one frame under a fresh deadline, which also lifts the
// server's write timeout for this long-lived response.
func (c *liveConn) write(f []byte) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	c.rc.SetWriteDeadline(time.Now().Add(c.l.writeTimeout))
	_, err := c.w.Write(f)
	if err == nil {
		err = c.rc.Flush()
	}
	if err != nil {
		c.fail("write: " + err.Error())
	}
	return err
}

// frameSeq reads the id of a frame the library wrote ("id: N\n…").
func frameSeq(f []byte) (int64, bool) {
	rest, ok := bytes.CutPrefix(f, []byte("id: "))
	if !ok {
		return 0, false
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	n, err := strconv.ParseInt(string(line), 10, 64)
	return n, err == nil
}

// lastEventID is where a client resumes: the Last-Event-ID header, which
// EventSource sends on reconnecting, else ?last_event_id=. Anything that is
// not a number counts as absent: an error would stop EventSource for good.
func lastEventID(r *http.Request) (int64, bool) {
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("last_event_id")} {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			return n, true
		}
	}
	return 0, false
}

// connCount is how many clients a bin's stream of one kind has, for tests.
func (l *live) connCount(kind streamKind, binID string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k, st := range l.streams {
		if k.kind == kind && k.bin == binID {
			n += len(st.conns)
		}
	}
	return n
}

// streamsOpen counts a bin's streams, ours and the library's, for tests:
// none once every client has left.
func (l *live) streamsOpen(binID string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k := range l.streams {
		if k.bin == binID {
			n++
			if l.servers[k.kind].StreamExists(k.name()) {
				n++
			}
		}
	}
	if l.watching[binID] != nil {
		n++
	}
	return n
}

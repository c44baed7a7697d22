package web

// The live streams, and the one place that knows the event-stream format.
// Each stream is a Subscription of the hub (hub.go) written to the socket
// by the stream's own handler goroutine:
//
//   - The event id is the request's seq. A reconnecting client sends
//     Last-Event-ID and its Subscription reads what it missed from SQLite,
//     then goes on with live events, each exactly once and in order.
//   - Three kinds of stream show a bin: the API's JSON (event "request",
//     one line of data), the owner's rows and a share link's read-only
//     rows (both rendered HTML), each page stream optionally filtered by a
//     search. A capture a filter passes over still moves the client's
//     resume position, with a frame that has only an id.
//   - A request whose forwarding changed is sent again: "row-update" (the
//     re-rendered row) or, on the API stream, "forward"; deleted ones are
//     "removed" on the pages' streams. These events carry no id.
//   - A client that falls behind loses nothing: its Subscription stops
//     queueing captures for it and reads them from SQLite when it catches
//     up. A write that takes longer than liveWriteTimeout ends the stream.
//   - A stream ends when its credential stops working (bin deleted, token
//     replaced, share revoked or expired) and when the server shuts down.
//
// r3labs/sse is tailhook's SSE client (relay/); the server writes frames
// here, where a Subscription's ordering and resume rules are kept.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tailhook-dev/tailhook/storage"
	"github.com/tailhook-dev/tailhook/views"
)

// streamKind tells the three event streams apart.
type streamKind int

const (
	apiStream    streamKind = iota // JSON, /api/bins/{bin}/events
	pageStream                     // rendered rows, for the inspector
	sharedStream                   // rendered read-only rows, for a share link
)

const (
	// liveWriteTimeout is how long one write to a client may take before
	// the stream ends.
	liveWriteTimeout = 10 * time.Second
	// liveHeartbeat is how often a stream sends a comment line; the
	// contract asks for at most 30 s.
	liveHeartbeat = 20 * time.Second
	// maxWriteBatch bounds how many bytes of queued frames one write sends.
	maxWriteBatch = 256 << 10
	// reconnectMS is the retry time suggested to EventSource clients.
	reconnectMS = 1500
)

// recheckEvery is how often a stream checks its credential without an
// event saying it changed: what sends no event (retention deleting a bin, a
// share link expiring by the database's clock) still ends it.
var recheckEvery = 15 * time.Second

// streamRequest is an authorised request for a bin's stream.
type streamRequest struct {
	kind  streamKind
	bin   storage.Bin
	share string // sharedStream: the link
	q     string // page streams: the search filter
	// until, when set, ends the stream then (a share link's expiry).
	until time.Time
	// authorize checks again that the credential that opened the stream
	// still works; it is asked when the bin's credentials change.
	authorize func(ctx context.Context) error
}

// stream serves a bin's events to one client until it leaves, its
// credential stops working, or the server shuts down. Without Last-Event-ID
// it starts at the bin's newest request as of now, so even a "live only"
// client misses nothing captured after its request arrived.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, sr streamRequest) error {
	if s.baseCtx.Err() != nil {
		return errShuttingDown
	}
	after, ok := lastEventID(r)
	if !ok || after > sr.bin.Seq {
		after = sr.bin.Seq
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.baseCtx, cancel)()
	sub := s.hub.Subscribe(ctx, sr.bin.ID, after, storage.Filter{Query: sr.q})
	defer sub.Close()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	out := &sseWriter{w: w, rc: http.NewResponseController(w), timeout: s.liveWriteTimeout}
	out.field("retry", strconv.Itoa(reconnectMS))
	out.end()
	// The credential was checked before the subscription began: check
	// once more, so that a change in between is not missed.
	if !s.stillValid(ctx, out, sr) {
		return nil
	}

	tick := time.NewTicker(s.heartbeat)
	defer tick.Stop()
	recheck := time.NewTicker(recheckEvery)
	defer recheck.Stop()
	var expire <-chan time.Time
	if !sr.until.IsZero() {
		t := time.NewTimer(time.Until(sr.until))
		defer t.Stop()
		expire = t.C
	}
	sent := after // the newest id the client has
	for {
		// Everything ready goes out in few writes: a busy stream costs
		// one syscall per batch, not per event.
		for sub.Pending() && out.buf.Len() < maxWriteBatch {
			ev, ok, err := sub.TryNext(ctx)
			if err != nil {
				if errors.Is(err, storage.ErrNotFound) {
					s.writeEvent(ctx, out, sr, Event{Kind: BinDeleted, Bin: sr.bin.ID})
					out.flush()
				}
				s.streamEnded(sr, err)
				return nil
			}
			if !ok {
				break
			}
			if !s.writeEvent(ctx, out, sr, ev) {
				out.flush()
				return nil
			}
		}
		if last := sub.Last(); last > sent {
			if out.id != last {
				out.field("id", strconv.FormatInt(last, 10)) // passed over by the filter
				out.end()
			}
			sent = last
		}
		if out.buf.Len() > 0 {
			if err := out.flush(); err != nil {
				return nil
			}
			continue
		}
		select {
		case <-sub.Ready():
		case <-ctx.Done():
			return nil
		case <-expire:
			return nil
		case <-recheck.C:
			if !s.stillValid(ctx, out, sr) {
				return nil
			}
		case <-tick.C:
			out.comment("keep-alive")
		}
	}
}

// writeEvent adds ev's frames to out; false ends the stream.
func (s *Server) writeEvent(ctx context.Context, out *sseWriter, sr streamRequest, ev Event) bool {
	api := sr.kind == apiStream
	switch ev.Kind {
	case Captured:
		data, err := ev.memo.get(memoKey{sr.kind, sr.share, "request"}, func() ([]byte, error) { return renderCapture(sr, ev.Request) })
		if err != nil {
			s.log.Error("live: render event", "bin", ev.Bin, "seq", ev.Seq, "error", err)
			return false
		}
		out.event(strconv.FormatInt(ev.Seq, 10), "request", data)
	case Removed, Cleared:
		if !api {
			id := "*"
			if ev.Kind == Removed {
				id = storage.RequestID(ev.Seq)
			}
			out.event("", "removed", []byte(id))
		}
	case ForwardChanged:
		req := ev.Request
		if req == nil {
			var err error
			if req, err = s.db.Request(ctx, ev.Bin, ev.Seq); err != nil {
				return errors.Is(err, storage.ErrNotFound) || ctx.Err() != nil
			}
		}
		if api {
			j := toRequestJSON(req, true)
			data, err := json.Marshal(forwardEventJSON{Seq: req.Seq, Delivery: j.Delivery, Forwards: j.Forwards})
			if err == nil {
				out.event("", "forward", data)
			}
		} else if req.Matches(sr.q) {
			data, err := ev.memo.get(memoKey{sr.kind, sr.share, "row-update"}, func() ([]byte, error) { return renderRow(sr.scope(), req) })
			if err != nil {
				s.log.Error("live: render row", "bin", ev.Bin, "seq", ev.Seq, "error", err)
				return true
			}
			out.event("", "row-update", data)
		}
	case BinDeleted:
		if api {
			out.event("", "deleted", []byte(`{"bin":"`+sr.bin.ID+`"}`))
		} else {
			out.event("", "removed", []byte("bin"))
		}
		return false
	case ShareRevoked:
		return ev.Share != sr.share
	case CredentialChanged:
		return s.stillValid(ctx, out, sr)
	}
	return true
}

// stillValid checks the stream's credential again. When it no longer works
// the stream ends, after a "deleted" event if the bin is gone.
func (s *Server) stillValid(ctx context.Context, out *sseWriter, sr streamRequest) bool {
	err := sr.authorize(ctx)
	if err == nil || ctx.Err() != nil {
		return err == nil
	}
	if errors.Is(err, errBinGone) || errors.Is(err, storage.ErrNotFound) && s.binGone(ctx, sr.bin.ID) {
		s.writeEvent(ctx, out, sr, Event{Kind: BinDeleted, Bin: sr.bin.ID})
	}
	out.flush()
	return false
}

// streamEnded logs why a subscription ended, when that is worth a line.
func (s *Server) streamEnded(sr streamRequest, err error) {
	switch {
	case errors.Is(err, errSlow):
		s.log.Info("live: client too far behind, ending its stream", "bin", sr.bin.ID)
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, errClosed), errors.Is(err, context.Canceled):
	default:
		s.log.Error("live: read backlog", "bin", sr.bin.ID, "error", err)
	}
}

// binGone reports whether a bin no longer exists (a share link's check
// cannot tell a revoked link from a deleted bin).
func (s *Server) binGone(ctx context.Context, binID string) bool {
	_, err := s.db.Bin(ctx, binID)
	return errors.Is(err, storage.ErrNotFound)
}

// scope is whose rows a page stream renders.
func (sr streamRequest) scope() views.Scope {
	if sr.kind == sharedStream {
		return views.Scope{ShareID: sr.share}
	}
	return views.Scope{BinID: sr.bin.ID}
}

// renderCapture is the data of a capture's event: the contract's JSON on
// one line, or the row the inspector shows.
func renderCapture(sr streamRequest, r *storage.Request) ([]byte, error) {
	if sr.kind == apiStream {
		// encoding/json escapes line breaks, U+2028 and U+2029: one line.
		return json.Marshal(toRequestJSON(r, true))
	}
	return renderRow(sr.scope(), r)
}

// renderRow is a request's row for the page streams.
func renderRow(sc views.Scope, r *storage.Request) ([]byte, error) {
	var buf bytes.Buffer
	if err := views.RequestRow(sc, r, false).Render(context.Background(), &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// memo keeps what one published event rendered, so that a hundred
// viewers of a bin render its row once. Events read from the database have
// none, and render for themselves.
type memo struct {
	mu sync.Mutex
	m  map[memoKey][]byte
}

type memoKey struct {
	kind  streamKind
	share string // a shared row links to its share
	event string
}

func (m *memo) get(k memoKey, render func() ([]byte, error)) ([]byte, error) {
	if m == nil {
		return render()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := m.m[k]; ok {
		return b, nil
	}
	b, err := render()
	if err != nil {
		return nil, err
	}
	if m.m == nil {
		m.m = map[memoKey][]byte{}
	}
	m.m[k] = b
	return b, nil
}

// sseWriter frames events (the WHATWG "server-sent events" format) into a
// buffer and writes them to the client in batches, each write under a
// fresh deadline, which also lifts the server's write timeout for this
// long-lived response.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	buf     bytes.Buffer
	id      int64 // the last id framed
}

// event frames one event. id and name are ours, never a sender's bytes;
// data may hold anything: each of its lines becomes a data line, so a line
// break of any kind (CR, LF, CRLF) cannot end the frame early.
func (o *sseWriter) event(id, name string, data []byte) {
	if id != "" {
		o.field("id", id)
		o.id, _ = strconv.ParseInt(id, 10, 64)
	}
	o.field("event", name)
	for len(data) > 0 {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			o.field("data", string(data))
			break
		}
		o.field("data", string(data[:i]))
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
		if len(data) == 0 {
			o.field("data", "") // the line break was the data's last byte
		}
	}
	o.end()
}

func (o *sseWriter) field(name, value string) {
	o.buf.WriteString(name)
	o.buf.WriteString(": ")
	o.buf.WriteString(value)
	o.buf.WriteByte('\n')
}

func (o *sseWriter) comment(text string) { o.buf.WriteString(": " + text + "\n\n") }

func (o *sseWriter) end() { o.buf.WriteByte('\n') }

// flush writes what is buffered.
func (o *sseWriter) flush() error {
	o.rc.SetWriteDeadline(time.Now().Add(o.timeout))
	_, err := o.w.Write(o.buf.Bytes())
	if err == nil {
		err = o.rc.Flush()
	}
	o.buf.Reset()
	return err
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

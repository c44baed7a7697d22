package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"github.com/tailhook-dev/tailhook/forward"
	"github.com/tailhook-dev/tailhook/storage"
)

// deliverConcurrency bounds auto-forward deliveries in flight across bins.
// Within a bin, deliveries go one at a time, in capture order.
const deliverConcurrency = 4

// retryDelay is the auto-forward retry schedule; tests shorten it.
var retryDelay = forward.NextDelay

// deliverer runs auto-forward jobs. Jobs live in SQLite (written in the
// capture's own transaction), so pending ones survive a restart; the worker
// only decides when to send them. It never touches the capture path: a dead
// target costs a slot here, nothing more.
type deliverer struct {
	db     *storage.DB
	client *forward.Client
	log    *slog.Logger
	notify func(ctx context.Context, binID string, seq int64) // forwarding of a request changed
	now    func() time.Time
	metric *Metrics

	wake chan struct{}
	done chan string // bin id of a finished delivery

	mu   sync.Mutex
	busy map[string]bool // bins with a delivery in flight
}

func newDeliverer(db *storage.DB, client *forward.Client, log *slog.Logger, metric *Metrics, notify func(context.Context, string, int64)) *deliverer {
	return &deliverer{db: db, client: client, log: log, metric: metric, notify: notify, now: time.Now,
		wake: make(chan struct{}, 1), done: make(chan string, deliverConcurrency), busy: map[string]bool{}}
}

// kick makes the worker look for due jobs now. It never blocks.
func (d *deliverer) kick() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run is the worker loop; it returns when ctx ends and in-flight deliveries
// have finished (they are cut short by ctx too, and stay pending).
func (d *deliverer) run(ctx context.Context) {
	var inflight sync.WaitGroup
	defer inflight.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-timer.C:
		case bin := <-d.done:
			d.mu.Lock()
			delete(d.busy, bin)
			d.mu.Unlock()
		}
		next := d.dispatch(ctx, &inflight)
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(next)
	}
}

// dispatch starts every due job it has room for and says how long to sleep.
func (d *deliverer) dispatch(ctx context.Context, inflight *sync.WaitGroup) time.Duration {
	const idle = time.Minute // a safety net; kicks and completions wake us sooner
	due, err := d.db.DueDeliveries(ctx, d.now(), 256)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("auto-forward: list due deliveries", "error", err)
		}
		return 5 * time.Second
	}
	// DueDeliveries gives at most one job per bin, its oldest pending one:
	// a bin's deliveries go in capture order.
	d.mu.Lock()
	for _, job := range due {
		if len(d.busy) >= deliverConcurrency {
			break
		}
		if d.busy[job.BinID] {
			continue
		}
		d.busy[job.BinID] = true
		inflight.Add(1)
		go func(job storage.Delivery) {
			defer inflight.Done()
			d.deliver(ctx, job)
			d.done <- job.BinID
		}(job)
	}
	d.mu.Unlock()
	next, ok, err := d.db.NextDeliveryAt(ctx)
	if err != nil || !ok {
		return idle
	}
	return min(max(time.Until(next), 10*time.Millisecond), idle)
}

// deliver makes one attempt and records it with the job's new state.
func (d *deliverer) deliver(ctx context.Context, job storage.Delivery) {
	req, err := d.db.Request(ctx, job.BinID, job.Seq)
	if errors.Is(err, storage.ErrNotFound) {
		return // deleted meanwhile: its job went with it
	}
	if err != nil {
		d.log.Error("auto-forward: load request", "bin", job.BinID, "seq", job.Seq, "error", err)
		return
	}
	attempt := job.Attempts + 1
	res := d.client.Do(ctx, forward.Request{Method: req.Method, URL: job.URL, Header: spelledHeader(req), Body: req.Body})
	if ctx.Err() != nil {
		return // shutting down: the job stays pending and runs after restart
	}
	d.metric.forwarded(true, res.Status, res.Err)
	state, next := storage.DeliveryFailed, d.now()
	switch {
	case res.Err == nil && res.Status < 400:
		state = storage.DeliveryDelivered
	default:
		if delay, retry := retryDelay(attempt, res, nil); retry {
			state, next = storage.DeliveryPending, d.now().Add(delay)
		}
	}
	f := storage.Forward{URL: job.URL, Status: res.Status, Attempt: attempt, Error: errText(res.Err),
		DurationMS: res.Duration.Milliseconds(), Auto: true, At: d.now()}
	if err := d.db.RecordAttempt(context.WithoutCancel(ctx), job, f, state, next); err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			d.log.Error("auto-forward: record attempt", "bin", job.BinID, "seq", job.Seq, "error", err)
		}
		return
	}
	d.log.Debug("auto-forward attempt", "bin", job.BinID, "seq", job.Seq, "url", job.URL, "status", res.Status,
		"attempt", attempt, "state", state, "error", f.Error)
	d.notify(ctx, job.BinID, job.Seq)
}

// checkTarget refuses an auto-forward target whose host resolves to an
// address the forwarder would refuse, so the user hears it when setting it
// rather than on every capture. The dial-time guard still decides each time.
func (s *Server) checkTarget(ctx context.Context, raw string) error {
	if s.cfg.AllowPrivateForwarding {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", forward.ErrInvalidURL, err)
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return fmt.Errorf("cannot resolve %s: %v", host, err)
		}
	}
	for _, a := range addrs {
		if forward.Refused(a) {
			return fmt.Errorf("%w: %s resolves to %s", forward.ErrRefused, host, a)
		}
	}
	return nil
}

// forwardChanged tells a bin's live viewers that a request's forwarding
// changed. The request is read once here, not once per viewer.
func (s *Server) forwardChanged(ctx context.Context, binID string, seq int64) {
	if s.hub.subscribers(binID) == 0 {
		return
	}
	req, err := s.db.Request(context.WithoutCancel(ctx), binID, seq)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			s.log.Error("live: load changed request", "bin", binID, "seq", seq, "error", err)
		}
		return
	}
	s.hub.Publish(Event{Kind: ForwardChanged, Bin: binID, Seq: seq, Request: req})
}

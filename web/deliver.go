package web

import (
	"context"
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

// A bin's deliveries run on a worker of its own (see binWorker): a slow or
// dead target costs only its own bin's slots, never another bin's.
const (
	// independentSlots bounds the deliveries in flight per bin in
	// independent mode; in order, a bin has one.
	independentSlots = 8
	// claimBatch is how many pending deliveries a worker reads at once,
	// with their requests, in one query.
	claimBatch = 128
	// recordBatch is how many attempts go into one write: recorded in
	// batches, the bookkeeping of a delivery costs a fraction of a commit
	// and no fsync of its own.
	recordBatch = 32
	// rescanEvery is a safety net: kicks start workers as soon as there is
	// work; a periodic scan picks up anything a kick missed.
	rescanEvery = time.Minute
)

// retryDelay is the auto-forward retry schedule; tests shorten it.
var retryDelay = forward.NextDelay

// deliverer runs auto-forward jobs. Jobs live in SQLite (written in the
// capture's own transaction), so pending ones survive a restart; the
// deliverer only decides when to send them. It never touches the capture
// path: its attempt records are background writes, which never share a
// transaction of captures nor wait for an fsync.
//
// Each bin with pending deliveries has one worker goroutine. In order, it
// reads the bin's next jobs with their requests in one query, sends them one
// after another and records their outcomes in batches; it reads again only
// once those records have committed, so it never sends a job twice unless
// the process died before its record committed (at least once, never lost).
// Independent, it sends up to independentSlots at once.
type deliverer struct {
	db     *storage.DB
	client *forward.Client
	log    *slog.Logger
	notify func(binID string, seq int64)
	now    func() time.Time
	metric *Metrics // nil: not counted

	wake chan struct{} // rescan the database for bins with pending jobs

	mu      sync.Mutex
	ctx     context.Context // the run's; nil before run starts
	stopped bool
	workers sync.WaitGroup
	bins    map[string]*binWorker // bins with a worker running
}

// binWorker is the handle of a bin's worker goroutine.
type binWorker struct {
	wake chan struct{} // there may be new or changed jobs
}

func newDeliverer(db *storage.DB, client *forward.Client, log *slog.Logger, notify func(string, int64)) *deliverer {
	return &deliverer{db: db, client: client, log: log, notify: notify, now: time.Now,
		wake: make(chan struct{}, 1), bins: map[string]*binWorker{}}
}

// kick tells the deliverer that binID has new or changed jobs: it wakes the
// bin's worker, or starts one. It never blocks.
func (d *deliverer) kick(binID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil {
		// Not running yet: run scans the database when it starts.
		return
	}
	d.startLocked(binID)
}

// startLocked wakes or starts bin's worker; d.mu is held.
func (d *deliverer) startLocked(binID string) {
	if d.stopped {
		return
	}
	if w := d.bins[binID]; w != nil {
		select {
		case w.wake <- struct{}{}:
		default:
		}
		return
	}
	w := &binWorker{wake: make(chan struct{}, 1)}
	d.bins[binID] = w
	d.workers.Add(1)
	go func() {
		defer d.workers.Done()
		d.work(d.ctx, binID, w)
	}()
}

// retire removes bin's worker when it found nothing to do, unless it was
// woken meanwhile; it reports whether the worker should stop.
func (d *deliverer) retire(binID string, w *binWorker) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case <-w.wake:
		return false // a kick came after the worker's last read
	default:
	}
	delete(d.bins, binID)
	return true
}

// run starts a worker for every bin with pending jobs, then rescans now and
// then; it returns when ctx ends and the workers have stopped (a delivery
// cut short stays pending and is made after a restart).
func (d *deliverer) run(ctx context.Context) {
	d.mu.Lock()
	d.ctx = ctx
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.stopped = true
		d.mu.Unlock()
		d.workers.Wait()
	}()
	tick := time.NewTicker(rescanEvery)
	defer tick.Stop()
	for {
		bins, err := d.db.PendingBins(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.Error("auto-forward: list bins with pending deliveries", "error", err)
		}
		d.mu.Lock()
		for _, id := range bins {
			d.startLocked(id)
		}
		d.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-tick.C:
		}
	}
}

// work is a bin's worker: it delivers the bin's due jobs until none is
// pending, sleeping while the next one waits for its retry.
func (d *deliverer) work(ctx context.Context, binID string, w *binWorker) {
	for ctx.Err() == nil {
		independent := false
		if bin, err := d.db.Bin(ctx, binID); err == nil {
			independent = bin.Forwarding.Mode == storage.ForwardIndependent
		}
		var (
			wait time.Duration
			more bool
			err  error
		)
		if independent {
			wait, more, err = d.drainIndependent(ctx, binID)
		} else {
			wait, more, err = d.drainInOrder(ctx, binID)
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			d.log.Error("auto-forward", "bin", binID, "error", err)
			wait, more = 5*time.Second, true
		}
		if !more {
			if d.retire(binID, w) {
				return
			}
			continue
		}
		if wait <= 0 {
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// drainInOrder delivers a batch of the bin's jobs in capture order. It
// reports how long to wait before the next batch (0: go on at once) and
// whether any job is still pending.
func (d *deliverer) drainInOrder(ctx context.Context, binID string) (wait time.Duration, more bool, err error) {
	// The head of the bin's queue first, alone: while it waits for a
	// retry, every capture wakes this worker, and the answer must be cheap.
	jobs, err := d.db.ClaimDeliveries(ctx, binID, d.now(), false, 1)
	if err != nil || len(jobs) == 0 {
		return 0, false, err
	}
	if wait := jobs[0].NextAt.Sub(d.now()); wait > 0 {
		return wait, true, nil
	}
	if jobs, err = d.db.ClaimDeliveries(ctx, binID, d.now(), false, claimBatch); err != nil || len(jobs) == 0 {
		return 0, false, err
	}
	rec := d.newRecorder(ctx)
	defer func() {
		if rerr := rec.wait(); err == nil {
			err = rerr
		}
	}()
	for _, job := range jobs {
		// A job retried by hand may be due later than the ones behind it,
		// which wait for it.
		if wait := job.NextAt.Sub(d.now()); wait > 0 {
			return wait, true, nil
		}
		a, ok := d.attempt(ctx, job)
		if !ok {
			return 0, true, nil // shutting down: the job stays pending
		}
		rec.add(a)
		if a.State == storage.DeliveryPending {
			// A retry is due later; the jobs behind it wait for it.
			return a.Next.Sub(d.now()), true, nil
		}
	}
	return 0, true, nil
}

// drainIndependent delivers a batch of the bin's due jobs, up to
// independentSlots at a time, in no particular order.
func (d *deliverer) drainIndependent(ctx context.Context, binID string) (wait time.Duration, more bool, err error) {
	jobs, err := d.db.ClaimDeliveries(ctx, binID, d.now(), true, claimBatch)
	if err != nil {
		return 0, false, err
	}
	if len(jobs) == 0 {
		next, ok, err := d.db.NextDeliveryOf(ctx, binID)
		if err != nil || !ok {
			return 0, false, err
		}
		return max(next.Sub(d.now()), 10*time.Millisecond), true, nil
	}
	rec := d.newRecorder(ctx)
	defer func() {
		if rerr := rec.wait(); err == nil {
			err = rerr
		}
	}()
	queue := make(chan storage.DeliveryJob)
	var wg sync.WaitGroup
	for range min(independentSlots, len(jobs)) {
		wg.Go(func() {
			for job := range queue {
				if a, ok := d.attempt(ctx, job); ok {
					rec.add(a)
				}
			}
		})
	}
	for _, job := range jobs {
		queue <- job
	}
	close(queue)
	wg.Wait()
	return 0, true, nil
}

// attempt sends one job and says what to record. ok is false when ctx ended
// meanwhile: nothing is recorded and the job stays pending.
func (d *deliverer) attempt(ctx context.Context, job storage.DeliveryJob) (storage.Attempt, bool) {
	attempt := job.Attempts + 1
	res := d.client.Do(ctx, forward.Request{Method: job.Method, URL: job.URL, Header: job.Header, Body: job.Body})
	if ctx.Err() != nil {
		return storage.Attempt{}, false
	}
	d.metric.forwarded(true, res.Status, res.Err)
	now := d.now()
	state, next := storage.DeliveryFailed, now
	switch {
	case res.Err == nil && res.Status < 400:
		state = storage.DeliveryDelivered
	default:
		if delay, retry := retryDelay(attempt, res, nil); retry {
			state, next = storage.DeliveryPending, now.Add(delay)
		}
	}
	f := storage.Forward{URL: job.URL, Status: res.Status, Attempt: attempt, Error: errText(res.Err),
		DurationMS: res.Duration.Milliseconds(), Auto: true, At: now}
	d.log.Debug("auto-forward attempt", "bin", job.BinID, "seq", job.Seq, "url", job.URL, "status", res.Status,
		"attempt", attempt, "state", state, "error", f.Error)
	return storage.Attempt{Delivery: job.Delivery, Forward: f, State: state, Next: next}, true
}

// recorder writes attempts in batches, one batch at a time and in order, on
// a goroutine of its own, so that sending goes on while a batch commits.
type recorder struct {
	d     *deliverer
	ctx   context.Context
	mu    sync.Mutex
	batch []storage.Attempt
	queue chan []storage.Attempt
	done  chan struct{}
	err   error // the first failed write; read after done
}

func (d *deliverer) newRecorder(ctx context.Context) *recorder {
	r := &recorder{d: d, ctx: context.WithoutCancel(ctx), queue: make(chan []storage.Attempt, 4), done: make(chan struct{})}
	go r.loop()
	return r
}

// add queues a to be recorded; it blocks only while several batches are
// already waiting for the writer.
func (r *recorder) add(a storage.Attempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batch = append(r.batch, a)
	if len(r.batch) >= recordBatch {
		r.queue <- r.batch
		r.batch = nil
	}
}

// wait records what is left and returns once every batch has committed:
// the worker reads the bin's jobs again only after that. An error means some
// attempts were not recorded: their jobs stay pending and are sent again.
func (r *recorder) wait() error {
	r.mu.Lock()
	if len(r.batch) > 0 {
		r.queue <- r.batch
		r.batch = nil
	}
	r.mu.Unlock()
	close(r.queue)
	<-r.done
	return r.err
}

func (r *recorder) loop() {
	defer close(r.done)
	for batch := range r.queue {
		found, err := r.d.db.RecordAttempts(r.ctx, batch)
		if err != nil {
			// The jobs stay pending and are sent again: at least once.
			if r.err == nil {
				r.err = err
			}
			continue
		}
		for i, a := range batch {
			if found[i] {
				r.d.notify(a.Delivery.BinID, a.Delivery.Seq)
			}
		}
	}
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

// forwardListeners tell live viewers that a request's forwarding history
// changed, so its badge can update.
type forwardListeners struct {
	mu   sync.Mutex
	byID map[string]map[*func(int64)]struct{}
}

func (l *forwardListeners) listen(binID string, fn func(seq int64)) (stop func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byID == nil {
		l.byID = map[string]map[*func(int64)]struct{}{}
	}
	if l.byID[binID] == nil {
		l.byID[binID] = map[*func(int64)]struct{}{}
	}
	l.byID[binID][&fn] = struct{}{}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.byID[binID], &fn)
		if len(l.byID[binID]) == 0 {
			delete(l.byID, binID)
		}
	}
}

func (l *forwardListeners) publish(binID string, seq int64) {
	l.mu.Lock()
	fns := make([]func(int64), 0, len(l.byID[binID]))
	for fn := range l.byID[binID] {
		fns = append(fns, *fn)
	}
	l.mu.Unlock()
	for _, fn := range fns {
		fn(seq)
	}
}

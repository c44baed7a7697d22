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
	"sync/atomic"
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
	// sharedRescanEvery is the scan with several instances: it also finds
	// the bins whose lease another instance gave back or let expire.
	sharedRescanEvery = time.Second
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
	notify func(ctx context.Context, binID string, seq int64) // forwarding of a request changed
	now    func() time.Time
	metric *Metrics

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

func newDeliverer(db *storage.DB, client *forward.Client, log *slog.Logger, metric *Metrics, notify func(context.Context, string, int64)) *deliverer {
	return &deliverer{db: db, client: client, log: log, metric: metric, notify: notify, now: time.Now, bins: map[string]*binWorker{}}
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

// wake wakes bin's worker if this instance runs one. Unlike kick it never
// starts one: another instance's delivery news concerns this one only when
// it holds the bin's lease, and then its worker is running.
func (d *deliverer) wake(binID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if w := d.bins[binID]; w != nil {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
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
	ctx := d.ctx
	go func() {
		defer d.workers.Done()
		d.work(ctx, binID, w)
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

// run starts a worker for every bin with pending jobs (those of the last run
// included), then rescans now and then; it returns when ctx ends and the workers have stopped (a delivery
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
	every := rescanEvery
	if d.db.Shared() {
		// Other instances give leases back and die: look often.
		every = sharedRescanEvery
	}
	tick := time.NewTicker(every)
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
		case <-tick.C:
		}
	}
}

// pass is what one round of a bin's worker found.
type pass struct {
	idle bool          // no job is pending: the worker may stop
	wait time.Duration // before the next round; a kick cuts it short
	// linger says wait is a pause that lets new jobs gather, so that the
	// next round's read and records serve several: kicks do not cut it
	// short. A round that found a full batch goes on at once.
	linger bool
	// headWaits says the bin's oldest job waits for a retry (in order).
	headWaits bool
}

// lingerFor is the pause after a round that emptied the bin's queue:
// under a steady stream of captures, the next round then claims, and
// records, many jobs at once rather than one.
const lingerFor = 5 * time.Millisecond

// giveWay is how long a worker pauses after a round of deliveries during
// which requests were captured, as a multiple of the round's time: captures
// come first. On a small machine a delivery (the HTTP exchange, the target's
// share of the CPU, the read, the record) costs over half what a capture
// does, so a bin that delivered as fast as it captured would take a third
// of the capture rate. Pausing, its deliveries take at most 1/(1+giveWay)
// of the time while captures go on (measured: the capture rate with
// auto-forward on stays above 0.7× the rate with it off), and catch up at
// full speed once they stop. The pause is at most maxGiveWay: a round that
// was slow because its target was is no reason to wait long.
const (
	giveWay    = 8
	maxGiveWay = 500 * time.Millisecond
)

// work is a bin's worker: it delivers the bin's due jobs until none is
// pending, sleeping while the next one waits for its retry.
//
// With several instances it delivers under the bin's lease, and gives the
// lease back before it retires: were the release still under way once the
// worker had left d.bins, the next kick's worker on this instance could
// renew the lease (same owner) just before that release deleted it, and
// deliver without one: its records refused, each job sent again and again
// until a renewal took the lease anew, and another instance free to take
// the bin meanwhile.
func (d *deliverer) work(ctx context.Context, binID string, w *binWorker) {
	if !d.db.Shared() {
		// Until idle and not kicked since, or shutting down.
		for d.deliver(ctx, binID, w) && !d.retire(binID, w) {
		}
		return
	}
	for {
		lctx, release, ok := d.lease(ctx, binID)
		if !ok {
			d.unregister(binID, w)
			return
		}
		idle := d.deliver(lctx, binID, w)
		release() // returns once the lease is given back
		if !idle {
			// Shutting down, or the lease was lost: another instance
			// delivers the bin now.
			d.unregister(binID, w)
			return
		}
		if d.retire(binID, w) {
			return
		}
		// Kicked while giving the lease back: take it again.
	}
}

// deliver runs rounds of the bin's jobs until none is pending (true) or
// ctx ends (false).
func (d *deliverer) deliver(ctx context.Context, binID string, w *binWorker) bool {
	var last pass
	stats := d.db.Stats()
	for ctx.Err() == nil {
		captures, start := stats.Captures.Load(), time.Now()
		independent := false
		if bin, err := d.db.Bin(ctx, binID); err == nil {
			independent = bin.Forwarding.Mode == storage.ForwardIndependent
		}
		var (
			p   pass
			err error
		)
		if independent {
			p, err = d.drainIndependent(ctx, binID, w)
		} else {
			p, err = d.drainInOrder(ctx, binID, last.headWaits)
		}
		if ctx.Err() != nil {
			return false
		}
		if err != nil {
			d.log.Error("auto-forward", "bin", binID, "error", err)
			p = pass{wait: 5 * time.Second, headWaits: true}
		}
		last = p
		if busy := time.Since(start); !p.idle && p.wait <= lingerFor && stats.Captures.Load() != captures {
			p.wait, p.linger = max(p.wait, min(giveWay*busy, maxGiveWay)), true
		}
		if p.idle {
			return true
		}
		if p.wait <= 0 {
			continue
		}
		t := time.NewTimer(p.wait)
		wake := w.wake
		if p.linger {
			wake = nil
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
	return false
}

// unregister removes bin's worker w, which stops without a retire (a
// later kick starts a new one).
func (d *deliverer) unregister(binID string, w *binWorker) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.bins[binID] == w {
		delete(d.bins, binID)
	}
}

// Leases, with several instances on one PostgreSQL database: only the
// instance holding a bin's lease delivers its jobs, so each goes once and in
// capture order; a worker that cannot get it leaves the bin to its holder.
const (
	leaseRenewEvery = 3 * time.Second        // well inside storage's 10 s lease
	leaseTries      = 5                      // a holder about to let go: try again
	leaseRetry      = 200 * time.Millisecond // between tries
)

// lease takes bin's lease and keeps renewing it; the context it returns
// ends when release is called or the lease is lost (a renewal failed:
// another instance may be sending now). release gives the lease back and
// returns once that is done. ok is false when another instance holds it:
// the worker stops, and the periodic scan tries again later.
func (d *deliverer) lease(ctx context.Context, binID string) (lctx context.Context, release func(), ok bool) {
	for try := 0; ; try++ {
		got, err := d.db.LeaseDeliveries(ctx, binID)
		if err != nil && ctx.Err() == nil {
			d.log.Error("auto-forward: lease", "bin", binID, "error", err)
		}
		if got {
			break
		}
		if try == leaseTries || ctx.Err() != nil {
			return ctx, nil, false
		}
		select {
		case <-time.After(leaseRetry):
		case <-ctx.Done():
		}
	}
	lctx, cancel := context.WithCancel(ctx)
	released := make(chan struct{})
	go func() {
		defer close(released)
		t := time.NewTicker(leaseRenewEvery)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				if err := d.db.ReleaseDeliveries(rctx, binID); err != nil {
					d.log.Warn("auto-forward: release lease", "bin", binID, "error", err)
				}
				rcancel()
				return
			case <-t.C:
				if got, err := d.db.LeaseDeliveries(lctx, binID); !got && lctx.Err() == nil {
					d.log.Warn("auto-forward: lease lost; another instance takes the bin over", "bin", binID, "error", err)
					cancel()
				}
			}
		}
	}()
	return lctx, func() { cancel(); <-released }, true
}

// drainInOrder delivers a batch of the bin's jobs in capture order.
// headWaits says the last round left the oldest job waiting for a retry.
func (d *deliverer) drainInOrder(ctx context.Context, binID string, headWaits bool) (p pass, err error) {
	if headWaits {
		// While the head waits, every capture wakes this worker: look at
		// the head alone, which is cheap, before reading a whole batch.
		jobs, err := d.db.ClaimDeliveries(ctx, binID, d.now(), false, 1)
		if err != nil || len(jobs) == 0 {
			return pass{idle: len(jobs) == 0}, err
		}
		if wait := jobs[0].NextAt.Sub(d.now()); wait > 0 {
			return pass{wait: wait, headWaits: true}, nil
		}
	}
	jobs, err := d.db.ClaimDeliveries(ctx, binID, d.now(), false, claimBatch)
	if err != nil || len(jobs) == 0 {
		return pass{idle: len(jobs) == 0}, err
	}
	rec := d.newRecorder(ctx)
	defer func() {
		if rerr := rec.wait(); err == nil {
			err = rerr
		}
	}()
	for _, job := range jobs {
		// The oldest job holds back the rest until it is due (a job
		// retried by hand may also be due later than the ones behind it).
		if wait := job.NextAt.Sub(d.now()); wait > 0 {
			return pass{wait: wait, headWaits: true}, nil
		}
		a, ok := d.attempt(ctx, job)
		if !ok {
			return pass{}, nil // shutting down: the job stays pending
		}
		rec.add(a)
		if a.State == storage.DeliveryPending {
			// A retry is due later; the jobs behind it wait for it.
			return pass{wait: a.Next.Sub(d.now()), headWaits: true}, nil
		}
	}
	if len(jobs) < claimBatch {
		return pass{wait: lingerFor, linger: true}, nil
	}
	return pass{}, nil
}

// drainIndependent delivers up to claimBatch of the bin's due jobs, up to
// independentSlots at a time, in no particular order: a slot that frees
// takes the next due job at once, so one slow delivery holds up no other.
func (d *deliverer) drainIndependent(ctx context.Context, binID string, w *binWorker) (p pass, err error) {
	var (
		// taken holds every job sent in this round: a read of the bin's
		// due jobs still sees those whose records have not committed yet
		// (or did, after the read began), and none is due again within
		// the round.
		taken     = map[int64]bool{}
		unsettled atomic.Int64 // taken jobs whose records have not committed
		slots     = make(chan struct{}, independentSlots)
		freed     = make(chan struct{}, independentSlots)
		wg        sync.WaitGroup
		sent      int
	)
	rec := d.newRecorder(ctx)
	rec.settled = func(storage.Attempt) { unsettled.Add(-1) }
	defer func() {
		wg.Wait()
		if rerr := rec.wait(); err == nil {
			err = rerr
		}
	}()
	for sent < claimBatch && ctx.Err() == nil {
		jobs, err := d.db.ClaimDeliveries(ctx, binID, d.now(), true, claimBatch+int(unsettled.Load()))
		if err != nil {
			return pass{}, err
		}
		fresh := jobs[:0]
		for _, job := range jobs {
			if !taken[job.ID] && len(fresh) < claimBatch-sent {
				fresh = append(fresh, job)
			}
		}
		if len(fresh) == 0 {
			if len(slots) == 0 {
				break // nothing due, nothing in flight
			}
			// Record what is done, then wait for a slot to free or for
			// new jobs.
			rec.flush()
			select {
			case <-freed:
			case <-w.wake:
			case <-ctx.Done():
			}
			continue
		}
		for _, job := range fresh {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return pass{}, nil // shutting down: the jobs stay pending
			}
			taken[job.ID] = true
			unsettled.Add(1)
			sent++
			wg.Go(func() {
				defer func() {
					<-slots
					select {
					case freed <- struct{}{}:
					default:
					}
				}()
				if a, ok := d.attempt(ctx, job); ok {
					rec.add(a)
				} else {
					unsettled.Add(-1)
				}
			})
		}
	}
	if sent == claimBatch {
		return pass{}, nil
	}
	if sent > 0 {
		return pass{wait: lingerFor, linger: true}, nil
	}
	next, ok, err := d.db.NextDeliveryOf(ctx, binID)
	if err != nil || !ok {
		return pass{idle: !ok}, err
	}
	return pass{wait: max(next.Sub(d.now()), 10*time.Millisecond)}, nil
}

// attempt sends one job and says what to record. ok is false when ctx ended
// meanwhile: nothing is recorded and the job stays pending.
func (d *deliverer) attempt(ctx context.Context, job storage.DeliveryJob) (storage.Attempt, bool) {
	attempt := job.Attempts + 1
	// Sent with the header lines in the order and spelling they came in.
	res := d.client.Do(ctx, forward.Request{Method: job.Method, URL: job.URL, Header: job.Header, Fields: fieldsOf(job.HeaderList), Body: job.Body})
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
	if d.log.Enabled(ctx, slog.LevelDebug) {
		d.log.Debug("auto-forward attempt", "bin", job.BinID, "seq", job.Seq, "url", job.URL, "status", res.Status,
			"attempt", attempt, "state", state, "error", f.Error)
	}
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
	// settled, if set, is called for each attempt once its write is over,
	// committed or not.
	settled func(storage.Attempt)
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

// flush queues what is gathered without waiting for a full batch.
func (r *recorder) flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.batch) > 0 {
		r.queue <- r.batch
		r.batch = nil
	}
}

// wait records what is left and returns once every batch has committed:
// the worker reads the bin's jobs again only after that. An error means some
// attempts were not recorded: their jobs stay pending and are sent again.
func (r *recorder) wait() error {
	r.flush()
	close(r.queue)
	<-r.done
	return r.err
}

func (r *recorder) loop() {
	defer close(r.done)
	for batch := range r.queue {
		found, err := r.d.db.RecordAttempts(r.ctx, batch)
		if err != nil {
			// The jobs stay pending and are sent again, after the
			// worker's pause: at least once. Not settled, so that this
			// round does not send them again at once.
			if r.err == nil {
				r.err = err
			}
			continue
		}
		for i, a := range batch {
			if r.settled != nil {
				r.settled(a)
			}
			if found[i] {
				r.d.notify(r.ctx, a.Delivery.BinID, a.Delivery.Seq)
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

// forwardChanged tells a bin's live viewers, on every instance, that a
// request's forwarding changed. The request is read once here, not once per
// viewer.
func (s *Server) forwardChanged(ctx context.Context, binID string, seq int64) {
	if s.hub.subscribers(binID) == 0 {
		// No viewer here; the other instances' viewers still hear of it.
		s.db.Announce(storage.Event{Kind: eventNames[ForwardChanged], Bin: binID, Seq: seq})
		return
	}
	req, err := s.db.Request(context.WithoutCancel(ctx), binID, seq)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			s.log.Error("live: load changed request", "bin", binID, "seq", seq, "error", err)
		}
		return
	}
	s.publish(Event{Kind: ForwardChanged, Bin: binID, Seq: seq, Request: req})
}

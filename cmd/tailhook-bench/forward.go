package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The forward scenario measures auto-forward against a no-op target that
// runs in this process and counts what it gets:
//   - capture rate into a bin with auto-forward on (in order, delivering
//     while the load runs) against a bin with it off, alternating rounds;
//   - the drain rate of each mode: a burst of --forward-burst captures is
//     held back at the target until all are stored, then let through;
//   - each time, every acknowledged capture's deliveries: lost, duplicated,
//     out of capture order (in order only).
//
// Each capture posts to /b/{bin}/f/{n} with a number n unique in the run;
// the answer's id gives n's seq, and the target sees /{label}/f/{n}.

// forwardReport is what the forward scenario measured.
type forwardReport struct {
	Conns    int            `json:"conns"`
	OffRPS   float64        `json:"capture_off_requests_per_s"`
	OnRPS    float64        `json:"capture_on_requests_per_s"`
	Ratio    float64        `json:"capture_on_over_off"`
	OnErrors int            `json:"capture_errors"`
	On       deliveryCheck  `json:"capture_on_deliveries"`
	Drains   []*drainReport `json:"drains"`
}

// drainReport is one mode's burst.
type drainReport struct {
	Mode        string        `json:"mode"`
	Supported   bool          `json:"supported"`
	Captures    int           `json:"captures"`
	CaptureRPS  float64       `json:"capture_requests_per_s"`
	PerSecond   float64       `json:"deliveries_per_s"`
	Deliveries  deliveryCheck `json:"deliveries"`
	Unsupported string        `json:"unsupported,omitempty"`
}

// deliveryCheck compares what the target got with what was acknowledged.
type deliveryCheck struct {
	Expected   int     `json:"expected"`
	Delivered  int     `json:"delivered"`
	Lost       int     `json:"lost"`
	Duplicated int     `json:"duplicated"`
	OutOfOrder int     `json:"out_of_order"`
	DrainS     float64 `json:"drain_s"`
}

func (c deliveryCheck) ok() bool { return c.Lost == 0 && c.Duplicated == 0 && c.OutOfOrder == 0 }

// fwdTarget is the in-process no-op target.
type fwdTarget struct {
	srv  *http.Server
	addr string

	mu     sync.Mutex
	labels map[string]*tally
	gates  map[string]chan struct{} // closed: let through
}

// tally is what one label got: n in arrival order, and when.
type tally struct {
	order []int64
	first time.Time
	last  time.Time
}

func startFwdTarget() (*fwdTarget, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ft := &fwdTarget{addr: ln.Addr().String(), labels: map[string]*tally{}, gates: map[string]chan struct{}{}}
	ft.srv = &http.Server{Handler: http.HandlerFunc(ft.serve), ReadHeaderTimeout: 10 * time.Second}
	go ft.srv.Serve(ln)
	return ft, nil
}

func (ft *fwdTarget) serve(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	// /{label}/f/{n}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) != 3 || parts[1] != "f" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	n, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	ft.mu.Lock()
	gate := ft.gates[parts[0]]
	ft.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	now := time.Now()
	ft.mu.Lock()
	t := ft.labels[parts[0]]
	if t == nil {
		t = &tally{first: now}
		ft.labels[parts[0]] = t
	}
	t.order = append(t.order, n)
	t.last = now
	ft.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (ft *fwdTarget) close() { ft.srv.Close() }

func (ft *fwdTarget) hold(label string) {
	ft.mu.Lock()
	ft.gates[label] = make(chan struct{})
	ft.mu.Unlock()
}

func (ft *fwdTarget) release(label string) {
	ft.mu.Lock()
	close(ft.gates[label])
	ft.mu.Unlock()
}

// snapshot is a copy of label's tally.
func (ft *fwdTarget) snapshot(label string) tally {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	t := ft.labels[label]
	if t == nil {
		return tally{}
	}
	return tally{order: append([]int64(nil), t.order...), first: t.first, last: t.last}
}

// waitDrain waits until label got every n in acked (at most timeout), then
// checks what it got: seq order is capture order.
func (ft *fwdTarget) waitDrain(ctx context.Context, label string, acked map[int64]int64, inOrder bool, timeout time.Duration) (deliveryCheck, tally) {
	start := time.Now()
	deadline := start.Add(timeout)
	var t tally
	for {
		t = ft.snapshot(label)
		seen := map[int64]bool{}
		for _, n := range t.order {
			seen[n] = true
		}
		missing := 0
		for n := range acked {
			if !seen[n] {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Late duplicates show up a little after the last first delivery.
	time.Sleep(200 * time.Millisecond)
	t = ft.snapshot(label)
	c := deliveryCheck{Expected: len(acked), DrainS: time.Since(start).Seconds()}
	count := map[int64]int{}
	var maxSeq int64
	for _, n := range t.order {
		seq, ok := acked[n]
		count[n]++
		if !ok {
			continue // stored, but its answer did not reach the load
		}
		if count[n] > 1 {
			c.Duplicated++
			continue
		}
		c.Delivered++
		if inOrder {
			if seq < maxSeq {
				c.OutOfOrder++
			}
			maxSeq = max(maxSeq, seq)
		}
	}
	for n := range acked {
		if count[n] == 0 {
			c.Lost++
		}
	}
	return c, t
}

// fwdLoad posts to /b/{bin}/f/{n} from conns connections until d has passed
// or total captures were acknowledged (0: no limit), and returns the seq of
// every acknowledged n.
func fwdLoad(ctx context.Context, t target, bin string, next *atomic.Int64, conns int, d time.Duration, total int64, body []byte) (loadResult, map[int64]int64) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu    sync.Mutex
		acked = map[int64]int64{}
		res   loadResult
		wg    sync.WaitGroup
		done  atomic.Int64
	)
	start := time.Now()
	for range conns {
		wg.Go(func() {
			var w worker
			defer func() { w.conn.close() }()
			for ctx.Err() == nil && (total == 0 || done.Load() < total) {
				if w.conn == nil {
					c, err := dial(context.WithoutCancel(ctx), t)
					if err != nil {
						w.fail(0, err)
						time.Sleep(50 * time.Millisecond)
						continue
					}
					w.conn = c
				}
				n := next.Add(1)
				t0 := time.Now()
				status, b, err := w.conn.do("POST", "/b/"+bin+"/f/"+strconv.FormatInt(n, 10), jsonHeader, body, true)
				lat := time.Since(t0)
				if err != nil {
					w.conn.close()
					w.conn = nil
					w.fail(0, err)
					continue
				}
				var id struct{ ID string }
				if status < 200 || status > 299 || json.Unmarshal(b, &id) != nil || !strings.HasPrefix(id.ID, "req_") {
					w.fail(status, fmt.Errorf("status %d: %s", status, trimBody(b)))
					continue
				}
				seq, _ := strconv.ParseInt(strings.TrimPrefix(id.ID, "req_"), 10, 64)
				done.Add(1)
				w.res.OK++
				w.res.Lat = append(w.res.Lat, lat)
				mu.Lock()
				acked[n] = seq
				mu.Unlock()
			}
			mu.Lock()
			res.merge(w.res)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res, acked
}

// setForwarding turns a bin's auto-forward on; mode "" leaves it out of the
// request (servers before the mode existed refuse the field).
func setForwarding(ctx context.Context, t target, bin, token, url, mode string) (int, string, error) {
	a := &apiClient{t: t}
	defer a.close()
	body := map[string]any{"url": url, "enabled": true}
	if mode != "" {
		body["mode"] = mode
	}
	j, _ := json.Marshal(body)
	status, b, _, err := a.call(ctx, "PUT", "/api/bins/"+bin+"/forwarding", token, j)
	return status, trimBody(b), err
}

func (b *bench) forward(ctx context.Context, t target) (*forwardReport, error) {
	ft, err := startFwdTarget()
	if err != nil {
		return nil, err
	}
	defer ft.close()
	rep := &forwardReport{Conns: b.cfg.ForwardConns}
	var next atomic.Int64
	slice := b.cfg.Duration / time.Duration(b.cfg.Rounds)

	off, _, err := newBin(ctx, t)
	if err != nil {
		return nil, err
	}
	on, onToken, err := newBin(ctx, t)
	if err != nil {
		return nil, err
	}
	if status, body, err := setForwarding(ctx, t, on, onToken, "http://"+ft.addr+"/on", ""); err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("turn auto-forward on: %d %s %v", status, body, err)
	}
	var offRes, onRes loadResult
	onAcked := map[int64]int64{}
	for round := range b.cfg.Rounds {
		b.logf("forward round %d/%d: capture with auto-forward off, %d conns, %s", round+1, b.cfg.Rounds, b.cfg.ForwardConns, slice)
		r, _ := fwdLoad(ctx, t, off, &next, b.cfg.ForwardConns, slice, 0, b.body)
		offRes.merge(r)
		b.logf("forward round %d/%d: capture with auto-forward on (in order)", round+1, b.cfg.Rounds)
		r, acked := fwdLoad(ctx, t, on, &next, b.cfg.ForwardConns, slice, 0, b.body)
		onRes.merge(r)
		for n, seq := range acked {
			onAcked[n] = seq
		}
		// Let the deliveries catch up, so that they do not weigh on the
		// next round with auto-forward off.
		b.logf("forward round %d/%d: waiting for %d deliveries", round+1, b.cfg.Rounds, len(onAcked))
		ft.waitDrain(ctx, "on", onAcked, true, 5*time.Minute)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	rep.OffRPS, rep.OnRPS, rep.OnErrors = offRes.rps(), onRes.rps(), offRes.Errors+onRes.Errors
	if rep.OffRPS > 0 {
		rep.Ratio = rep.OnRPS / rep.OffRPS
	}
	rep.On, _ = ft.waitDrain(ctx, "on", onAcked, true, time.Second)

	for _, mode := range []string{"in_order", "independent"} {
		d := &drainReport{Mode: mode}
		rep.Drains = append(rep.Drains, d)
		bin, token, err := newBin(ctx, t)
		if err != nil {
			return nil, err
		}
		label := "burst-" + mode
		ft.hold(label)
		m := mode
		if mode == "in_order" {
			m = "" // the default, so that older servers run it too
		}
		status, body, err := setForwarding(ctx, t, bin, token, "http://"+ft.addr+"/"+label, m)
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK {
			d.Unsupported = fmt.Sprintf("status %d: %s", status, body)
			b.logf("forward: %s mode not supported: %s", mode, d.Unsupported)
			ft.release(label)
			continue
		}
		d.Supported = true
		b.logf("forward: %s, a burst of %d captures held at the target", mode, b.cfg.ForwardBurst)
		r, acked := fwdLoad(ctx, t, bin, &next, b.cfg.ForwardConns, 5*time.Minute, int64(b.cfg.ForwardBurst), b.body)
		d.Captures, d.CaptureRPS = len(acked), r.rps()
		// The worker has its first delivery (or first few) waiting at
		// the gate now; from here the target answers at once.
		time.Sleep(500 * time.Millisecond)
		released := time.Now()
		ft.release(label)
		c, tl := ft.waitDrain(ctx, label, acked, mode == "in_order", 10*time.Minute)
		d.Deliveries = c
		if took := tl.last.Sub(released); took > 0 {
			d.PerSecond = float64(c.Delivered) / took.Seconds()
		}
		b.logf("forward: %s delivered %d in %.2f s: %.0f/s", mode, c.Delivered, tl.last.Sub(released).Seconds(), d.PerSecond)
	}
	return rep, nil
}

func (r *forwardReport) text(w io.Writer) {
	fmt.Fprintf(w, "\nAuto-forward: %d connections, a no-op target in the load process\n", r.Conns)
	fmt.Fprintf(w, "capture, auto-forward off: %.0f/s; on (in order): %.0f/s; on/off %.2f× (%d errors)\n", r.OffRPS, r.OnRPS, r.Ratio, r.OnErrors)
	fmt.Fprintf(w, "  deliveries of those: %s\n", r.On.text(true))
	for _, d := range r.Drains {
		if !d.Supported {
			fmt.Fprintf(w, "drain, %s: not supported (%s)\n", d.Mode, d.Unsupported)
			continue
		}
		fmt.Fprintf(w, "drain, %s: %.0f deliveries/s (a burst of %d captured at %.0f/s, held, then let through)\n", d.Mode, d.PerSecond, d.Captures, d.CaptureRPS)
		fmt.Fprintf(w, "  %s\n", d.Deliveries.text(d.Mode == "in_order"))
	}
}

func (c deliveryCheck) text(inOrder bool) string {
	verdict := "OK"
	if !c.ok() {
		verdict = "FAILED"
	}
	order := "n/a"
	if inOrder {
		order = strconv.Itoa(c.OutOfOrder)
	}
	return fmt.Sprintf("%s — %d expected, %d delivered, %d lost, %d duplicated, %s out of order", verdict, c.Expected, c.Delivered, c.Lost, c.Duplicated, order)
}

package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// clusterReport is tailhook on PostgreSQL (--db postgres://…) with one and
// with two instances on the same database, alternating in the same run.
type clusterReport struct {
	Conns int `json:"conns"`
	Bins  int `json:"bins"`
	// Captures per second into one bin (every capture takes that bin's row
	// lock) and across Bins bins, through one instance and through two.
	OneBinOne  float64 `json:"one_bin_one_instance_rps"`
	OneBinTwo  float64 `json:"one_bin_two_instances_rps"`
	ManyBinOne float64 `json:"many_bins_one_instance_rps"`
	ManyBinTwo float64 `json:"many_bins_two_instances_rps"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	// Live: captured through one instance, received on a stream of the
	// other, at --rate requests/s.
	Live   latency    `json:"cross_instance_live_latency"`
	Events eventCheck `json:"cross_instance_events"`
}

const clusterBins = 16

// cluster starts a second tailhook on the first one's database and
// compares the capture rate through one instance with the rate through
// both (the load split between them), for one hot bin and for many, then
// measures the time from a capture on one instance to its event on the
// other's stream.
func (b *bench) cluster(ctx context.Context, t target) (*clusterReport, error) {
	if !isPostgres(b.cfg.DB) {
		return nil, fmt.Errorf("the cluster scenario needs --db postgres://…")
	}
	second, err := startTailhook(ctx, b.bin, b.dir, b.cfg.DB, b.serverFlags("--max-requests", "1000000000")...)
	if err != nil {
		return nil, err
	}
	b.extra = append(b.extra, second)
	t2 := target{scheme: "http", host: second.addr}
	b.logf("second tailhook on %s, same database", second.addr)
	rep := &clusterReport{Conns: b.cfg.Conns, Bins: clusterBins}
	bins := make([]string, clusterBins)
	for i := range bins {
		if bins[i], _, err = newBin(ctx, t); err != nil {
			return nil, err
		}
	}
	slice := b.cfg.Duration / time.Duration(b.cfg.Rounds)
	// run drives paths through targets for one slice, the connections
	// shared out evenly, and returns captures per second.
	run := func(targets []target, paths []string) float64 {
		var (
			mu  sync.Mutex
			all loadResult
			wg  sync.WaitGroup
		)
		n := len(targets) * len(paths)
		conns := max(1, b.cfg.Conns/n)
		for _, tg := range targets {
			for _, p := range paths {
				wg.Go(func() {
					r := closedLoop(ctx, tg, p, conns, slice, b.body)
					mu.Lock()
					all.OK += r.OK
					all.Errors += r.Errors
					if all.FirstErr == "" {
						all.FirstErr = r.FirstErr
					}
					mu.Unlock()
				})
			}
		}
		wg.Wait()
		rep.Errors += all.Errors
		if rep.FirstError == "" {
			rep.FirstError = all.FirstErr
		}
		return float64(all.OK) / slice.Seconds()
	}
	one, both := []target{t}, []target{t, t2}
	hot := []string{"/b/" + bins[0] + "/cluster"}
	var many []string
	for _, id := range bins {
		many = append(many, "/b/"+id+"/cluster")
	}
	var r [4]float64
	for round := range b.cfg.Rounds {
		b.logf("round %d/%d: one bin, 1 then 2 instances; %d bins, 1 then 2 instances; %s each", round+1, b.cfg.Rounds, clusterBins, slice)
		r[0] += run(one, hot)
		r[1] += run(both, hot)
		r[2] += run(one, many)
		r[3] += run(both, many)
	}
	n := float64(b.cfg.Rounds)
	rep.OneBinOne, rep.OneBinTwo, rep.ManyBinOne, rep.ManyBinTwo = r[0]/n, r[1]/n, r[2]/n, r[3]/n

	// Cross-instance live latency: stream on the second, captures on the first.
	b.logf("cluster live: captures through one instance, the stream on the other")
	lr, err := b.liveVia(ctx, t, t2, 1)
	if err != nil {
		return nil, err
	}
	rep.Errors += lr.Errors
	rep.Live, rep.Events = lr.Live, lr.Events
	return rep, nil
}

func (r *clusterReport) text(w io.Writer) {
	fmt.Fprintf(w, "\ncluster (PostgreSQL, %d conns, same run)\n", r.Conns)
	fmt.Fprintf(w, "  one bin:     1 instance %8.0f/s   2 instances %8.0f/s\n", r.OneBinOne, r.OneBinTwo)
	fmt.Fprintf(w, "  %2d bins:     1 instance %8.0f/s   2 instances %8.0f/s\n", r.Bins, r.ManyBinOne, r.ManyBinTwo)
	fmt.Fprintf(w, "  cross-instance live: p50 %.1f ms  p99 %.1f ms  max %.1f ms (n=%d); events lost %d, duplicated %d, out of order %d\n",
		r.Live.P50Ms, r.Live.P99Ms, r.Live.MaxMs, r.Live.N, r.Events.Lost, r.Events.Duplicated, r.Events.OutOfOrder)
	if r.Errors > 0 {
		fmt.Fprintf(w, "  errors: %d (first: %s)\n", r.Errors, r.FirstError)
	}
}

package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	_ "github.com/tailhook-dev/tailhook/storage" // registers the "sqlite" driver
)

// soakReport is a long closed-loop run into one capped bin, sampled over time:
// does anything grow that should stay flat?
type soakReport struct {
	Cap      int64        `json:"cap"`
	Conns    int          `json:"conns"`
	Seconds  float64      `json:"seconds"`
	Requests int          `json:"requests"`
	Errors   int          `json:"errors"`
	Statuses map[int]int  `json:"error_statuses,omitempty"`
	RPS      float64      `json:"requests_per_s"`
	Samples  []soakSample `json:"samples"`
	// After the load: the bin's count and the database's size at once, and
	// MaxKept / MaxDBMiB over the whole run.
	KeptAfter  int64   `json:"kept_after"`
	DBMiBAfter float64 `json:"db_mib_after"`
	MaxKept    int64   `json:"max_kept"`
	MaxDBMiB   float64 `json:"max_db_mib"`
}

// soakSample is one interval of the soak run.
type soakSample struct {
	T      float64 `json:"t_s"`
	RPS    float64 `json:"requests_per_s"`
	P99Ms  float64 `json:"p99_ms"`
	DBMiB  float64 `json:"db_mib"`  // file + WAL
	WALMiB float64 `json:"wal_mib"` // of which WAL
	RSSMiB float64 `json:"rss_mib"`
	Kept   int64   `json:"kept"` // requests in the bin
}

// soak runs its own tailhook with --max-requests --soak-cap and captures
// into one bin at full speed (closed loop, --conns) for --soak-duration,
// sampling every --soak-sample.
func (b *bench) soak(ctx context.Context) (*soakReport, error) {
	db := filepath.Join(b.dir, "soak.db")
	th, err := startTailhook(ctx, b.bin, b.dir, db, b.serverFlags("--max-requests", strconv.FormatInt(b.cfg.SoakCap, 10))...)
	if err != nil {
		return nil, err
	}
	b.extra = append(b.extra, th)
	t := target{scheme: "http", host: th.addr}
	bin, _, err := newBin(ctx, t)
	if err != nil {
		return nil, err
	}
	// A reader of its own on the file, to count what the bin keeps.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "query_only(1)")
	rdb, err := sql.Open("sqlite", "file:"+(&url.URL{Path: db}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	defer rdb.Close()
	rdb.SetMaxOpenConns(1)
	kept := func() int64 {
		var n int64
		if err := rdb.QueryRowContext(ctx, `SELECT count(*) FROM requests WHERE bin_id = ?`, bin).Scan(&n); err != nil {
			b.logf("soak: count: %v", err)
			return -1
		}
		return n
	}

	rep := &soakReport{Cap: b.cfg.SoakCap, Conns: b.cfg.Conns}
	lctx, stop := context.WithTimeout(ctx, b.cfg.SoakDuration)
	defer stop()
	var mu sync.Mutex
	var window []time.Duration // latencies of the current interval
	var total loadResult
	var wg sync.WaitGroup
	path := "/b/" + bin + "/soak"
	start := time.Now()
	for range b.cfg.Conns {
		wg.Go(func() {
			w := &worker{}
			defer func() {
				w.conn.close()
				mu.Lock()
				w.res.Lat = nil
				total.merge(w.res)
				mu.Unlock()
			}()
			for lctx.Err() == nil {
				n := len(w.res.Lat)
				w.send(lctx, t, path, b.body)
				if len(w.res.Lat) > n {
					mu.Lock()
					window = append(window, w.res.Lat[n])
					mu.Unlock()
					w.res.Lat = w.res.Lat[:0] // only the window keeps them
				}
			}
		})
	}
	b.logf("soak: %d connections into a bin capped at %d for %s, sampling every %s", b.cfg.Conns, b.cfg.SoakCap, b.cfg.SoakDuration, b.cfg.SoakSample)
	sample := func(at time.Time, d time.Duration) soakSample {
		mu.Lock()
		lat := window
		window = nil
		mu.Unlock()
		slices.Sort(lat)
		st := th.stats()
		size := th.dbSize()
		s := soakSample{
			T:      at.Sub(start).Seconds(),
			RPS:    float64(len(lat)) / d.Seconds(),
			P99Ms:  float64(percentile(lat, 99)) / 1e6,
			DBMiB:  mib(size),
			WALMiB: mib(fileBytes(db + "-wal")),
			RSSMiB: mib(st.RSS),
			Kept:   kept(),
		}
		rep.MaxKept = max(rep.MaxKept, s.Kept)
		rep.MaxDBMiB = max(rep.MaxDBMiB, s.DBMiB)
		b.logf("soak: t=%.0fs %.0f/s p99 %.2f ms, db %.1f MiB (WAL %.1f), RSS %.1f MiB, kept %d",
			s.T, s.RPS, s.P99Ms, s.DBMiB, s.WALMiB, s.RSSMiB, s.Kept)
		return s
	}
	tick := time.NewTicker(b.cfg.SoakSample)
	last := start
	for running := true; running; {
		select {
		case <-lctx.Done():
			running = false
		case now := <-tick.C:
			rep.Samples = append(rep.Samples, sample(now, now.Sub(last)))
			last = now
		}
	}
	tick.Stop()
	wg.Wait()
	rep.Seconds = time.Since(start).Seconds()
	rep.Requests, rep.Errors, rep.Statuses = total.OK, total.Errors, total.Statuses
	rep.RPS = float64(total.OK) / rep.Seconds
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	rep.KeptAfter = kept()
	rep.DBMiBAfter = mib(th.dbSize())
	rep.MaxKept = max(rep.MaxKept, rep.KeptAfter)
	rep.MaxDBMiB = max(rep.MaxDBMiB, rep.DBMiBAfter)
	return rep, nil
}

func (s *soakReport) text(w io.Writer, body int) {
	fmt.Fprintf(w, "\nSoak: %d connections, %d B bodies, one bin capped at %d, %.0f s: %d captured (%.0f/s), %d errors\n",
		s.Conns, body, s.Cap, s.Seconds, s.Requests, s.RPS, s.Errors)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "t s\trequests/s\tp99 ms\tDB+WAL MiB\tWAL MiB\tRSS MiB\tkept\t")
	for _, p := range s.Samples {
		fmt.Fprintf(tw, "%.0f\t%.0f\t%.2f\t%.1f\t%.1f\t%.1f\t%d\t\n", p.T, p.RPS, p.P99Ms, p.DBMiB, p.WALMiB, p.RSSMiB, p.Kept)
	}
	tw.Flush()
	fmt.Fprintf(w, "right after the load: the bin keeps %d (cap %d), database %.1f MiB; at most %d kept and %.1f MiB during the run\n",
		s.KeptAfter, s.Cap, s.DBMiBAfter, s.MaxKept, s.MaxDBMiB)
}

// fileBytes is the size of the file at path, 0 if it does not exist.
func fileBytes(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

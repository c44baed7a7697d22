package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// bench holds a run's servers and settings.
type bench struct {
	cfg    config
	log    io.Writer
	body   []byte
	epoch0 time.Time

	dir      string
	ownDir   bool
	bin      string // tailhook binary
	baseline *child
	th       *child // the tailhook of the capture, subscribers and live scenarios
	thTarget target
	extra    []*child
}

func (b *bench) setup(ctx context.Context) error {
	var err error
	b.dir = b.cfg.Dir
	if b.dir == "" {
		if b.dir, err = os.MkdirTemp("", "tailhook-bench-"); err != nil {
			return err
		}
		b.ownDir = true
	} else if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return err
	}
	if b.cfg.URL != "" {
		b.thTarget, _ = parseTarget(b.cfg.URL)
		return nil
	}
	b.bin = b.cfg.Tailhook
	if b.bin == "" {
		b.logf("building tailhook")
		if b.bin, err = buildTailhook(ctx, b.dir); err != nil {
			return err
		}
	}
	if b.baseline, err = startBaseline(ctx, b.dir); err != nil {
		return err
	}
	b.logf("baseline on %s", b.baseline.addr)
	return nil
}

func (b *bench) teardown() {
	for _, c := range append([]*child{b.th, b.baseline}, b.extra...) {
		if c != nil {
			if err := c.stop(); err != nil {
				b.logf("%s: %v", c.name, err)
			}
		}
	}
	if b.ownDir {
		os.RemoveAll(b.dir)
	}
}

// tailhook starts (once) the server of the first three scenarios.
func (b *bench) tailhook(ctx context.Context) (target, error) {
	if b.cfg.URL != "" || b.th != nil {
		return b.thTarget, nil
	}
	// A cap far above what a run captures: these scenarios measure capture,
	// the prune scenario measures pruning.
	var err error
	db := filepath.Join(b.dir, "capture.db")
	if b.cfg.DB != "" {
		db = b.cfg.DB
	}
	b.th, err = startTailhook(ctx, b.bin, b.dir, db, b.serverFlags("--max-requests", "1000000000")...)
	if err != nil {
		return target{}, err
	}
	b.thTarget = target{scheme: "http", host: b.th.addr}
	b.logf("tailhook on %s", b.th.addr)
	return b.thTarget, nil
}

func (b *bench) serverFlags(extra ...string) []string {
	if b.cfg.Pprof {
		extra = append(extra, "--pprof")
	}
	return extra
}

func (b *bench) scenario(ctx context.Context, name string, rep *report) error {
	t, err := b.tailhook(ctx)
	if err != nil {
		return err
	}
	switch name {
	case "capture":
		r, err := b.capture(ctx, t, b.th, 0)
		rep.Capture = r
		return err
	case "subscribers":
		r, err := b.capture(ctx, t, b.th, b.cfg.Subscribers)
		rep.CaptureSubscribers = r
		return err
	case "live":
		for _, n := range []int{1, b.cfg.Subscribers} {
			r, err := b.live(ctx, t, n)
			if err != nil {
				return err
			}
			rep.Live = append(rep.Live, r)
		}
		return nil
	case "big":
		r, err := b.big(ctx)
		rep.Big = r
		return err
	case "prune":
		r, err := b.prune(ctx)
		rep.Prune = r
		return err
	case "forward":
		r, err := b.forward(ctx, t)
		rep.Forward = r
		return err
	case "cluster":
		r, err := b.cluster(ctx, t)
		rep.Cluster = r
		return err
	case "soak":
		r, err := b.soak(ctx)
		rep.Soak = r
		return err
	}
	return fmt.Errorf("unknown scenario")
}

// newBin creates a bin through the API.
func newBin(ctx context.Context, t target) (id, token string, err error) {
	a := &apiClient{t: t}
	defer a.close()
	status, body, _, err := a.call(ctx, "POST", "/api/bins", "", []byte(`{"name":"tailhook-bench"}`))
	if err != nil {
		return "", "", err
	}
	if status != http.StatusCreated {
		return "", "", fmt.Errorf("create bin: status %d: %s", status, trimBody(body))
	}
	var bin struct{ ID, Token string }
	if err := json.Unmarshal(body, &bin); err != nil {
		return "", "", fmt.Errorf("create bin: %w", err)
	}
	return bin.ID, bin.Token, nil
}

// lastSeq is the bin's newest seq, 0 when it is empty.
func lastSeq(ctx context.Context, t target, bin, token string) (int64, error) {
	a := &apiClient{t: t}
	defer a.close()
	status, body, _, err := a.call(ctx, "GET", "/api/bins/"+bin+"/requests?limit=1", token, nil)
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return 0, fmt.Errorf("list requests: status %d: %s", status, trimBody(body))
	}
	var list struct{ Requests []struct{ Seq int64 } }
	if err := json.Unmarshal(body, &list); err != nil {
		return 0, err
	}
	if len(list.Requests) == 0 {
		return 0, nil
	}
	return list.Requests[0].Seq, nil
}

// scrape reads the counters of tailhook's /metrics.
func scrape(ctx context.Context, t target) map[string]float64 {
	a := &apiClient{t: t}
	defer a.close()
	status, body, _, err := a.call(ctx, "GET", "/metrics", "", nil)
	m := map[string]float64{}
	if err != nil || status != http.StatusOK {
		return m
	}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			m[name] = f
		}
	}
	return m
}

// side is one server's figures in a capture run.
type side struct {
	Requests    int            `json:"requests"`
	Errors      int            `json:"errors"`
	Statuses    map[int]int    `json:"error_statuses,omitempty"`
	FirstError  string         `json:"first_error,omitempty"`
	RPS         float64        `json:"requests_per_s"`
	Latency     latency        `json:"latency"`
	CPUPerReqUs float64        `json:"cpu_per_request_us,omitempty"`
	CPUUtil     float64        `json:"cpu_cores_used,omitempty"`
	RSSMiB      float64        `json:"rss_mib,omitempty"`
	PeakRSSMiB  float64        `json:"peak_rss_mib,omitempty"`
	Extra       map[string]any `json:"extra,omitempty"`
}

func newSide(r loadResult, before, after procStats) side {
	s := side{Requests: r.OK, Errors: r.Errors, Statuses: r.Statuses, FirstError: r.FirstErr, RPS: r.rps(), Latency: summarize(r.Lat)}
	if cpu := after.CPU - before.CPU; cpu > 0 && r.OK > 0 {
		s.CPUPerReqUs = float64(cpu) / 1e3 / float64(r.OK)
		s.CPUUtil = float64(cpu) / float64(r.Elapsed)
	}
	s.RSSMiB, s.PeakRSSMiB = mib(after.RSS), mib(after.PeakRSS)
	return s
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// captureReport compares tailhook with the baseline under closed-loop load.
type captureReport struct {
	Conns        int         `json:"conns"`
	Subscribers  int         `json:"subscribers"`
	Baseline     *side       `json:"baseline,omitempty"`
	Tailhook     side        `json:"tailhook"`
	Ratio        float64     `json:"ratio,omitempty"`
	DBMiB        float64     `json:"db_mib,omitempty"`
	MeanBatch    float64     `json:"mean_commit_batch,omitempty"`
	MeanCommitMs float64     `json:"mean_commit_ms,omitempty"`
	MeanFsyncMs  float64     `json:"mean_fsync_ms,omitempty"`
	Events       *eventCheck `json:"events,omitempty"`
}

// capture drives the baseline and tailhook alternately, subs live streams
// open on tailhook's bin.
func (b *bench) capture(ctx context.Context, t target, th *child, subs int) (*captureReport, error) {
	bin, token, err := newBin(ctx, t)
	if err != nil {
		return nil, err
	}
	var subscribers []*subscriber
	sctx, stopSubs := context.WithCancel(ctx)
	var swg sync.WaitGroup
	defer func() { stopSubs(); swg.Wait() }()
	if subs > 0 {
		b.logf("opening %d subscribers", subs)
		subscribers, err = b.subscribe(sctx, &swg, t, bin, token, 0, subs, false)
		if err != nil {
			return nil, err
		}
	}
	rep := &captureReport{Conns: b.cfg.Conns, Subscribers: subs}
	slice := b.cfg.Duration / time.Duration(b.cfg.Rounds)
	path := "/b/" + bin + "/bench"
	var base, thRes loadResult
	var thBefore, thAfter procStats
	var baseBefore, baseAfter procStats
	m0 := scrape(ctx, t)
	for round := range b.cfg.Rounds {
		if b.baseline != nil {
			s0 := b.baseline.stats()
			b.logf("round %d/%d: baseline, %d conns, %s", round+1, b.cfg.Rounds, b.cfg.Conns, slice)
			r := closedLoop(ctx, target{scheme: "http", host: b.baseline.addr}, path, b.cfg.Conns, slice, b.body)
			s1 := b.baseline.stats()
			baseBefore.CPU, baseAfter.CPU = baseBefore.CPU+s0.CPU, baseAfter.CPU+s1.CPU
			baseAfter.RSS, baseAfter.PeakRSS = s1.RSS, s1.PeakRSS
			base.merge(r)
		}
		s0 := th.stats()
		b.logf("round %d/%d: tailhook, %d conns, %d subscribers, %s", round+1, b.cfg.Rounds, b.cfg.Conns, subs, slice)
		r := closedLoop(ctx, t, path, b.cfg.Conns, slice, b.body)
		s1 := th.stats()
		thBefore.CPU, thAfter.CPU = thBefore.CPU+s0.CPU, thAfter.CPU+s1.CPU
		thAfter.RSS, thAfter.PeakRSS = s1.RSS, s1.PeakRSS
		thRes.merge(r)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	m1 := scrape(ctx, t)
	rep.Tailhook = newSide(thRes, thBefore, thAfter)
	if b.baseline != nil {
		bs := newSide(base, baseBefore, baseAfter)
		rep.Baseline = &bs
		if bs.RPS > 0 {
			rep.Ratio = rep.Tailhook.RPS / bs.RPS
		}
	}
	if th != nil {
		rep.DBMiB = mib(th.dbSize())
	}
	if commits := m1["tailhook_commits_total"] - m0["tailhook_commits_total"]; commits > 0 {
		rep.MeanBatch = (m1["tailhook_commit_ops_total"] - m0["tailhook_commit_ops_total"]) / commits
		rep.MeanCommitMs = (m1["tailhook_commit_seconds_total"] - m0["tailhook_commit_seconds_total"]) / commits * 1e3
	}
	if syncs := m1["tailhook_fsyncs_total"] - m0["tailhook_fsyncs_total"]; syncs > 0 {
		rep.MeanFsyncMs = (m1["tailhook_fsync_seconds_total"] - m0["tailhook_fsync_seconds_total"]) / syncs * 1e3
	}
	if subs > 0 {
		ec, err := b.settle(ctx, t, bin, token, subscribers)
		if err != nil {
			return nil, err
		}
		rep.Events = &ec
	}
	return rep, nil
}

// subscribe opens n subscribers on a bin and waits until all are subscribed.
func (b *bench) subscribe(ctx context.Context, wg *sync.WaitGroup, t target, bin, token string, base int64, n int, measure bool) ([]*subscriber, error) {
	subs := make([]*subscriber, n)
	for i := range subs {
		s := newSubscriber(t, bin, token, base, measure, b.epoch0)
		subs[i] = s
		wg.Go(func() { s.run(ctx) })
	}
	timeout := time.After(30 * time.Second)
	for _, s := range subs {
		select {
		case <-s.ready:
		case <-timeout:
			s.mu.Lock()
			err := s.err
			s.mu.Unlock()
			return nil, fmt.Errorf("subscribers not ready within 30 s (is GET /api/bins/{bin}/events there?): %v", err)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return subs, nil
}

// settle waits until every subscriber has caught up with the bin's newest
// seq (at most 60 s) and checks what they got.
func (b *bench) settle(ctx context.Context, t target, bin, token string, subs []*subscriber) (eventCheck, error) {
	final, err := lastSeq(ctx, t, bin, token)
	if err != nil {
		return eventCheck{}, err
	}
	start := time.Now()
	deadline := start.Add(60 * time.Second)
	for _, s := range subs {
		s.waitFor(final, time.Until(deadline))
	}
	ec := check(subs, final)
	ec.CatchUpS = time.Since(start).Seconds()
	if !ec.ok() {
		b.logf("EVENTS: %d lost, %d duplicated, %d out of order over %d subscribers", ec.Lost, ec.Duplicated, ec.OutOfOrder, ec.Subscribers)
	}
	return ec, nil
}

// liveReport is the time from POST sent to SSE event received.
type liveReport struct {
	Subscribers int        `json:"subscribers"`
	Rate        float64    `json:"rate"`
	Sent        int        `json:"sent"`
	Errors      int        `json:"errors"`
	FirstError  string     `json:"first_error,omitempty"`
	Post        latency    `json:"post_latency"`
	Live        latency    `json:"live_latency"`
	Events      eventCheck `json:"events"`
}

func (b *bench) live(ctx context.Context, t target, n int) (*liveReport, error) {
	return b.liveVia(ctx, t, t, n)
}

// liveVia is live with the captures sent to t and the n subscribers on
// stream, which may be another instance on the same database.
func (b *bench) liveVia(ctx context.Context, t, stream target, n int) (*liveReport, error) {
	bin, token, err := newBin(ctx, t)
	if err != nil {
		return nil, err
	}
	sctx, stopSubs := context.WithCancel(ctx)
	var swg sync.WaitGroup
	defer func() { stopSubs(); swg.Wait() }()
	subs, err := b.subscribe(sctx, &swg, stream, bin, token, 0, n, true)
	if err != nil {
		return nil, err
	}
	b.logf("live: %.0f requests/s for %s, %d subscribers", b.cfg.Rate, b.cfg.LiveDuration, n)
	r := openLoop(ctx, t, "/b/"+bin+"/live", 16, b.cfg.Rate, b.cfg.LiveDuration, b.body, b.epoch0, nil)
	ec, err := b.settle(ctx, stream, bin, token, subs)
	if err != nil {
		return nil, err
	}
	var lat []time.Duration
	for _, s := range subs {
		s.mu.Lock()
		lat = append(lat, s.lat...)
		s.mu.Unlock()
	}
	return &liveReport{Subscribers: n, Rate: b.cfg.Rate, Sent: r.OK + r.Errors, Errors: r.Errors, FirstError: r.FirstErr,
		Post: summarize(r.Lat), Live: summarize(lat), Events: ec}, nil
}

// bigReport is a bin holding many requests.
type bigReport struct {
	Requests      int64   `json:"requests"`
	PrefillS      float64 `json:"prefill_s"`
	EmptyRPS      float64 `json:"empty_bin_requests_per_s"`
	BigRPS        float64 `json:"big_bin_requests_per_s"`
	Ratio         float64 `json:"ratio"`
	BigCapture    latency `json:"big_bin_capture_latency"`
	List          latency `json:"list_latency"`
	Detail        latency `json:"detail_latency"`
	Inspector     latency `json:"inspector_latency"`
	InspectorKiB  float64 `json:"inspector_kib"`
	RSSMiB        float64 `json:"rss_mib"`
	PeakRSSMiB    float64 `json:"peak_rss_mib"`
	DBMiB         float64 `json:"db_mib"`
	RequestErrors int     `json:"request_errors"`
}

func (b *bench) big(ctx context.Context) (*bigReport, error) {
	db := filepath.Join(b.dir, "big.db")
	b.logf("big: prefilling %d requests", b.cfg.Prefill)
	p, err := prefill(ctx, db, b.cfg.Prefill, b.body)
	if err != nil {
		return nil, err
	}
	b.logf("big: prefilled in %s", p.Took.Round(time.Millisecond))
	th, err := startTailhook(ctx, b.bin, b.dir, db, b.serverFlags("--max-requests", "1000000000")...)
	if err != nil {
		return nil, err
	}
	b.extra = append(b.extra, th)
	t := target{scheme: "http", host: th.addr}
	empty, _, err := newBin(ctx, t)
	if err != nil {
		return nil, err
	}
	rep := &bigReport{Requests: p.N, PrefillS: p.Took.Seconds()}
	slice := b.cfg.Duration / time.Duration(b.cfg.Rounds)
	var er, br loadResult
	for round := range b.cfg.Rounds {
		b.logf("big round %d/%d: empty bin, then the big bin", round+1, b.cfg.Rounds)
		er.merge(closedLoop(ctx, t, "/b/"+empty+"/bench", b.cfg.Conns, slice, b.body))
		br.merge(closedLoop(ctx, t, "/b/"+p.ID+"/bench", b.cfg.Conns, slice, b.body))
	}
	rep.EmptyRPS, rep.BigRPS, rep.BigCapture = er.rps(), br.rps(), summarize(br.Lat)
	if rep.EmptyRPS > 0 {
		rep.Ratio = rep.BigRPS / rep.EmptyRPS
	}
	rep.RequestErrors = er.Errors + br.Errors
	newest := p.N + int64(br.OK)
	a := &apiClient{t: t}
	defer a.close()
	timed := func(n int, path func(i int) string) (latency, int, error) {
		var lat []time.Duration
		var size int
		for i := range n {
			status, body, d, err := a.call(ctx, "GET", path(i), p.Token, nil)
			if err != nil {
				return latency{}, 0, err
			}
			if status != http.StatusOK {
				return latency{}, 0, fmt.Errorf("GET %s: status %d: %s", path(i), status, trimBody(body))
			}
			lat = append(lat, d)
			size = len(body)
		}
		return summarize(lat), size, nil
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	b.logf("big: list, detail and inspector timings")
	if rep.List, _, err = timed(400, func(i int) string {
		q := "/api/bins/" + p.ID + "/requests?limit=50"
		if i%2 == 1 { // a page deep in the bin
			q += "&before=req_" + strconv.FormatInt(1+rnd.Int64N(newest), 10)
		}
		return q
	}); err != nil {
		return nil, err
	}
	if rep.Detail, _, err = timed(400, func(int) string {
		return "/api/bins/" + p.ID + "/requests/req_" + strconv.FormatInt(1+rnd.Int64N(p.N), 10)
	}); err != nil {
		return nil, err
	}
	var size int
	if rep.Inspector, size, err = timed(50, func(int) string { return "/bins/" + p.ID }); err != nil {
		return nil, err
	}
	rep.InspectorKiB = float64(size) / 1024
	st := th.stats()
	rep.RSSMiB, rep.PeakRSSMiB, rep.DBMiB = mib(st.RSS), mib(st.PeakRSS), mib(th.dbSize())
	return rep, nil
}

// pruneReport is capture latency before and while the pruner works.
type pruneReport struct {
	Rows         int64   `json:"rows"`
	Cap          int64   `json:"cap"`
	Rate         float64 `json:"rate"`
	Before       latency `json:"before_latency"`
	During       latency `json:"during_latency"`
	PruneS       float64 `json:"prune_s"`
	Finished     bool    `json:"finished"`
	Errors       int     `json:"errors"`
	FirstError   string  `json:"first_error,omitempty"`
	P99RatioDurB float64 `json:"p99_during_over_before"`
}

func (b *bench) prune(ctx context.Context) (*pruneReport, error) {
	db := filepath.Join(b.dir, "prune.db")
	b.logf("prune: prefilling %d requests", b.cfg.PruneRows)
	p, err := prefill(ctx, db, b.cfg.PruneRows, b.body)
	if err != nil {
		return nil, err
	}
	th, err := startTailhook(ctx, b.bin, b.dir, db, b.serverFlags("--max-requests", strconv.FormatInt(b.cfg.PruneCap, 10))...)
	if err != nil {
		return nil, err
	}
	b.extra = append(b.extra, th)
	t := target{scheme: "http", host: th.addr}
	empty, _, err := newBin(ctx, t)
	if err != nil {
		return nil, err
	}
	// The server prunes every 30 s, the first time 30 s after it started.
	// Watch two requests of the big bin: the oldest goes first, the last
	// one over the cap goes last.
	var mu sync.Mutex
	var started, finished time.Duration
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() {
		a := &apiClient{t: t}
		defer a.close()
		gone := func(seq int64) bool {
			status, _, _, err := a.call(lctx, "GET", "/api/bins/"+p.ID+"/requests/req_"+strconv.FormatInt(seq, 10), p.Token, nil)
			return err == nil && status == http.StatusNotFound
		}
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-tick.C:
			}
			now := time.Since(b.epoch0)
			mu.Lock()
			s, f := started, finished
			mu.Unlock()
			switch {
			case s == 0 && gone(1):
				mu.Lock()
				started = now
				mu.Unlock()
			case s != 0 && f == 0 && gone(p.N-b.cfg.PruneCap):
				mu.Lock()
				finished = now
				mu.Unlock()
			case f != 0 && now-f > 5*time.Second:
				stop() // a few seconds after, for the tail of the last window
				return
			}
		}
	})
	type sample struct{ sent, lat time.Duration }
	var samples []sample
	b.logf("prune: capturing %.0f requests/s into another bin; pruning starts about 30 s after the server", b.cfg.PruneRate)
	r := openLoop(lctx, t, "/b/"+empty+"/bench", 32, b.cfg.PruneRate, b.cfg.PruneTimeout, b.body, b.epoch0,
		func(sent, lat time.Duration) {
			mu.Lock()
			samples = append(samples, sample{sent, lat})
			mu.Unlock()
		})
	stop()
	wg.Wait()
	rep := &pruneReport{Rows: p.N, Cap: b.cfg.PruneCap, Rate: b.cfg.PruneRate, Errors: r.Errors, FirstError: r.FirstErr}
	var before, during []time.Duration
	for _, s := range samples {
		switch {
		case started == 0 || s.sent < started-time.Second:
			before = append(before, s.lat)
		case finished == 0 || s.sent <= finished:
			during = append(during, s.lat)
		}
	}
	rep.Before, rep.During = summarize(before), summarize(during)
	if started != 0 && finished != 0 {
		rep.Finished = true
		rep.PruneS = (finished - started).Seconds()
	}
	if rep.Before.P99Ms > 0 {
		rep.P99RatioDurB = rep.During.P99Ms / rep.Before.P99Ms
	}
	return rep, nil
}

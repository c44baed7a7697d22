package web

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/tailhook-dev/tailhook/storage"
)

// Metrics are the counters served at GET /metrics in the Prometheus text
// format. They live in their own registry, so two servers in one process
// (tests) never collide. Write-path figures are read from storage.Stats at
// scrape time: the hot path pays nothing for them. A nil *Metrics counts
// nothing, so parts built without one (tests) need no special case.
type Metrics struct {
	reg          *prometheus.Registry
	captureBytes prometheus.Counter
	forwards     *prometheus.CounterVec
	serverErrors prometheus.Counter
}

// newMetrics registers tailhook's metrics, plus the Go runtime's and the
// process's (CPU, RSS), for the given database and hub.
func newMetrics(db *storage.DB, hub *Hub) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		captureBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tailhook_capture_body_bytes_total",
			Help: "Body bytes of stored captures.",
		}),
		forwards: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tailhook_forward_attempts_total",
			Help: "Forwarding attempts, by kind (manual, auto) and outcome (ok: a response below 400; failed: anything else).",
		}, []string{"kind", "outcome"}),
		serverErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tailhook_http_server_errors_total",
			Help: "Answers with a 5xx status.",
		}),
	}
	st := db.Stats()
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.captureBytes, m.forwards, m.serverErrors,
		counter("tailhook_captures_total", "Captured requests committed to the database.",
			func() float64 { return float64(st.Captures.Load()) }),
		counter("tailhook_commits_total", "Write transactions committed, each group-committing many operations.",
			func() float64 { return float64(st.Commits.Load()) }),
		counter("tailhook_commit_ops_total", "Write operations committed; divided by tailhook_commits_total it is the mean batch size.",
			func() float64 { return float64(st.Ops.Load()) }),
		counter("tailhook_commit_seconds_total", "Time spent committing; divided by tailhook_commits_total it is the mean commit latency.",
			func() float64 { return float64(st.CommitNano.Load()) / 1e9 }),
		counter("tailhook_fsyncs_total", "fsyncs of the write-ahead log; each one makes every commit before it durable and acknowledges those.",
			func() float64 { return float64(st.Syncs.Load()) }),
		counter("tailhook_fsync_seconds_total", "Time spent in those fsyncs; divided by tailhook_fsyncs_total it is the mean fsync latency.",
			func() float64 { return float64(st.SyncNano.Load()) / 1e9 }),
		gauge("tailhook_commit_batch_max", "Largest group commit so far, in operations.",
			func() float64 { return float64(st.MaxBatch.Load()) }),
		gauge("tailhook_storage_bytes", "Bytes the database uses: pages holding data plus the write-ahead log.",
			func() float64 { used, _ := db.Space(); return float64(used) }),
		gauge("tailhook_storage_budget_bytes", "Bytes the database may use (--max-storage, or what leaves 10 % of its file system free); over it captures get 507. 0: no budget.",
			func() float64 { _, budget := db.Space(); return float64(budget) }),
		gauge("tailhook_live_subscribers", "Open live subscriptions (event streams of the API, inspector and shared pages, and waits).",
			func() float64 { return float64(hub.subscribers("")) }),
		counter("tailhook_live_cutoffs_total", "Times a live subscriber fell behind and was cut off from live events (it resumes from the database).",
			func() float64 { return float64(hub.cutoffs.Load()) }),
	)
	if db.Shared() {
		bus := func(name, help string, f func(storage.BusStats) int64) prometheus.Collector {
			return counter(name, help, func() float64 { return float64(f(db.BusStats())) })
		}
		m.reg.MustRegister(
			bus("tailhook_cluster_events_sent_total", "Events told to the other instances on the database (LISTEN/NOTIFY).",
				func(s storage.BusStats) int64 { return s.Sent }),
			bus("tailhook_cluster_events_received_total", "Events heard from the other instances.",
				func(s storage.BusStats) int64 { return s.Received }),
			bus("tailhook_cluster_events_dropped_total", "Events never sent (queue full, or NOTIFY failing); the others resync.",
				func(s storage.BusStats) int64 { return s.Dropped }),
			bus("tailhook_cluster_listener_reconnects_total", "Reconnects of the connection that listens to the other instances.",
				func(s storage.BusStats) int64 { return s.Reconnects }),
		)
	}
	return m
}

// handler serves the registry in the Prometheus text format.
func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// captured counts a stored capture's body.
func (m *Metrics) captured(bodyBytes int) {
	if m != nil {
		m.captureBytes.Add(float64(bodyBytes))
	}
}

// forwarded counts one forwarding attempt; auto is an auto-forward delivery.
func (m *Metrics) forwarded(auto bool, status int, err error) {
	if m == nil {
		return
	}
	kind, outcome := "manual", "ok"
	if auto {
		kind = "auto"
	}
	if err != nil || status >= 400 {
		outcome = "failed"
	}
	m.forwards.WithLabelValues(kind, outcome).Inc()
}

// answered counts an answer's status.
func (m *Metrics) answered(status int) {
	if m != nil && status >= 500 {
		m.serverErrors.Inc()
	}
}

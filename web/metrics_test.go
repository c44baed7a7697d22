package web

import (
	"net/http"
	"strings"
	"testing"
)

func TestMetrics(t *testing.T) {
	a := newTestApp(t)
	b := a.newBin()
	for range 3 {
		if res := a.do("POST", "/b/"+b.ID+"/x", "", nil, "12345"); res.StatusCode != http.StatusOK {
			t.Fatalf("capture: %d %s", res.StatusCode, res.body)
		}
	}
	res := a.do("GET", "/metrics", "", nil, "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", res.StatusCode, res.body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want the text format", ct)
	}
	body := string(res.body)
	for _, want := range []string{
		"tailhook_captures_total 3\n",
		"tailhook_capture_body_bytes_total 15\n",
		"tailhook_live_subscribers 0\n",
		"tailhook_http_server_errors_total 0\n",
		"tailhook_commit_batch_max ",
		"tailhook_storage_bytes ",
		"tailhook_storage_budget_bytes ",
		"tailhook_commit_seconds_total ",
		"tailhook_commit_ops_total ",
		"tailhook_commits_total ",
		"process_resident_memory_bytes ",
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestMetricsForwardAttempts(t *testing.T) {
	a := newTestApp(t)
	m := a.srv.metrics
	m.forwarded(false, 200, nil)
	m.forwarded(true, 503, nil)
	m.forwarded(true, 0, http.ErrHandlerTimeout)
	body := string(a.do("GET", "/metrics", "", nil, "").body)
	for _, want := range []string{
		`tailhook_forward_attempts_total{kind="manual",outcome="ok"} 1`,
		`tailhook_forward_attempts_total{kind="auto",outcome="failed"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	var nilMetrics *Metrics
	nilMetrics.forwarded(true, 200, nil) // must not panic
	nilMetrics.captured(1)
	nilMetrics.answered(500)
}

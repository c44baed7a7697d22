package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/tailhook-dev/tailhook/storage"
	"github.com/tailhook-dev/tailhook/web"
)

// TestAgainstURL runs the capture, subscribers and live scenarios briefly
// against an in-process tailhook, the way --url drives a running one, and
// checks the report: every request answered, every event seen once, in
// order. It asserts no speed.
func TestAgainstURL(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "t.db"), storage.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(ctx, web.Config{Version: "test"}, db, log)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Config.RegisterOnShutdown(srv.Close)
	ts.Start()
	t.Cleanup(func() {
		ts.CloseClientConnections()
		srv.Close()
		ts.Close()
		db.Close()
	})

	var out, errs bytes.Buffer
	err = run(ctx, []string{"--url", ts.URL, "--json", "--conns", "4", "--duration", "300ms", "--rounds", "1",
		"--subscribers", "3", "--rate", "50", "--live-duration", "300ms", "--dir", t.TempDir()}, &out, &errs)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errs.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out.String())
	}
	if rep.Capture == nil || rep.Capture.Tailhook.Requests == 0 || rep.Capture.Tailhook.Errors != 0 || rep.Capture.Baseline != nil {
		t.Errorf("capture = %+v, want requests, no errors and no baseline with --url", rep.Capture)
	}
	c := rep.CaptureSubscribers
	if c == nil || c.Events == nil || !c.Events.ok() || c.Events.Expected != int64(c.Tailhook.Requests) || c.Events.Subscribers != 3 {
		t.Errorf("capture with subscribers = %+v, events %+v; want every request's event once, in order", c, c.Events)
	}
	if len(rep.Live) != 2 {
		t.Fatalf("live runs = %d, want 2 (1 and 3 subscribers)", len(rep.Live))
	}
	for _, l := range rep.Live {
		if l.Errors != 0 || !l.Events.ok() || l.Live.N != l.Sent*l.Subscribers || l.Sent == 0 {
			t.Errorf("live = %+v, want every event timed once per subscriber", l)
		}
	}
}

func TestPayload(t *testing.T) {
	for _, n := range []int{0, 40, 1024} {
		b := payload(n)
		if !json.Valid(b) || (n >= 32 && len(b) != n) {
			t.Errorf("payload(%d) = %d bytes, valid %v", n, len(b), json.Valid(b))
		}
	}
}

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i))
	}
	if p := percentile(s, 50); p != 50 {
		t.Errorf("p50 = %d, want 50", p)
	}
	if p := percentile(s, 99); p != 99 {
		t.Errorf("p99 = %d, want 99", p)
	}
	if p := percentile(nil, 99); p != 0 {
		t.Errorf("p99 of nothing = %d", p)
	}
}

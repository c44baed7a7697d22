package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tailhook-dev/tailhook/storage"
)

// benchPayload is a 1 KiB JSON webhook body.
var benchPayload = func() []byte {
	head := `{"id":"evt_1NqKx2","type":"payment_intent.succeeded","data":{"object":{"amount":1999,"note":"`
	tail := `"}}}`
	return []byte(head + strings.Repeat("x", 1024-len(head)-len(tail)) + tail)
}()

// BenchmarkCaptureHandler sends 1 KiB JSON captures through the real
// handler (middleware, bin lookup, body read, group commit into SQLite,
// fsync of the WAL, live event, answer) from 16×GOMAXPROCS goroutines, without the
// network. It also reports the mean group-commit batch.
func BenchmarkCaptureHandler(b *testing.B) {
	a := newTestApp(b)
	bin := a.newBin()
	h := a.srv.Handler()
	st := a.db.Stats()
	commits, ops := st.Commits.Load(), st.Ops.Load()
	b.SetBytes(int64(len(benchPayload)))
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/b/"+bin.ID+"/stripe?attempt=1", bytes.NewReader(benchPayload))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Stripe-Signature", "t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Errorf("capture: %d %s", w.Code, w.Body)
				return
			}
		}
	})
	b.StopTimer()
	if c := st.Commits.Load() - commits; c > 0 {
		b.ReportMetric(float64(st.Ops.Load()-ops)/float64(c), "ops/commit")
	}
}

func benchStoredRequest() *storage.Request {
	return &storage.Request{
		ID: "req_17", BinID: "bin123", Seq: 17, Method: "POST", Path: "/stripe", Query: "attempt=1",
		Header: http.Header{
			"Host":             {"hooks.example.com"},
			"Content-Type":     {"application/json; charset=utf-8"},
			"User-Agent":       {"Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
			"Stripe-Signature": {"t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"},
			"Content-Length":   {"1024"},
		},
		Body: benchPayload, Size: int64(len(benchPayload)), RemoteAddr: "203.0.113.9:52344", Proto: "HTTP/1.1",
		ReceivedAt: time.Date(2026, 11, 27, 10, 0, 0, 123456000, time.UTC),
		Verdict:    &storage.Verdict{Provider: "stripe", Valid: true, Reason: "signature matches"},
	}
}

// BenchmarkEncodeRequestJSON is the data of one API live event: done once
// per capture, whatever the number of subscribers.
func BenchmarkEncodeRequestJSON(b *testing.B) {
	r := benchStoredRequest()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(toRequestJSON(r, true)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderRow is the data of one inspector live event (the rendered
// request row), also done once per capture.
func BenchmarkRenderRow(b *testing.B) {
	r := benchStoredRequest()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := renderCapture(streamRequest{kind: pageStream, bin: storage.Bin{ID: r.BinID}}, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInspectorPage renders the inspector of a bin holding 200
// requests, through the handler and the database.
func BenchmarkInspectorPage(b *testing.B) {
	a := newTestApp(b)
	bin := a.newBin()
	h := a.srv.Handler()
	for range 200 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/b/"+bin.ID+"/x", bytes.NewReader(benchPayload)))
		if w.Code != http.StatusOK {
			b.Fatalf("capture: %d", w.Code)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/bins/"+bin.ID, nil)
		req.Header.Set("Authorization", "Bearer "+bin.Token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("inspector: %d %s", w.Code, w.Body)
		}
	}
}

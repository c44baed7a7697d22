package storage

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchBody is a 1 KiB JSON webhook payload.
var benchBody = func() []byte {
	head := `{"id":"evt_1NqKx2","type":"payment_intent.succeeded","data":{"object":{"amount":1999,"currency":"usd","note":"`
	tail := `"}}}`
	return []byte(head + strings.Repeat("x", 1024-len(head)-len(tail)) + tail)
}()

func benchRequest(binID string) *Request {
	return &Request{
		BinID:  binID,
		Method: "POST",
		Path:   "/stripe",
		Query:  "attempt=1",
		Header: http.Header{
			"Host":             {"hooks.example.com"},
			"Content-Type":     {"application/json; charset=utf-8"},
			"User-Agent":       {"Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
			"Stripe-Signature": {"t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"},
			"Content-Length":   {"1024"},
		},
		Body:       benchBody,
		Size:       int64(len(benchBody)),
		RemoteAddr: "203.0.113.9:52344",
		Proto:      "HTTP/1.1",
		ReceivedAt: time.Now(),
	}
}

// BenchmarkCapture measures durable captures (synchronous=FULL, each one
// acknowledged after its group commit) from a fixed number of concurrent
// capturers. It runs exactly that many goroutines rather than
// b.RunParallel, whose goroutine count is a multiple of GOMAXPROCS and so
// cannot express "one capturer". It reports captures/s and the average
// number of operations per commit.
func BenchmarkCapture(b *testing.B) {
	for _, capturers := range []int{1, 8, 32, 64} {
		b.Run(fmt.Sprintf("capturers=%d", capturers), func(b *testing.B) {
			db := mustOpenDB(b, Options{})
			ctx := context.Background()
			bins := make([]string, 4)
			for i := range bins {
				bins[i] = mustCreateBin(b, db, "", "").ID
			}
			st := db.Stats()
			commits, ops, commitNano := st.Commits.Load(), st.Ops.Load(), st.CommitNano.Load()
			syncs, syncNano := st.Syncs.Load(), st.SyncNano.Load()
			b.SetBytes(int64(len(benchBody)))
			b.ResetTimer()
			start := time.Now()
			var (
				next atomic.Int64
				wg   sync.WaitGroup
			)
			for g := range capturers {
				wg.Go(func() {
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						if _, err := db.Capture(ctx, Capture{Request: benchRequest(bins[(g+int(i))%len(bins)])}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			commits, ops, commitNano = st.Commits.Load()-commits, st.Ops.Load()-ops, st.CommitNano.Load()-commitNano
			syncs, syncNano = st.Syncs.Load()-syncs, st.SyncNano.Load()-syncNano
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "captures/s")
			if commits > 0 {
				b.ReportMetric(float64(ops)/float64(commits), "ops/commit")
				b.ReportMetric(float64(commitNano)/float64(commits)/1e3, "µs/commit")
			}
			if syncs > 0 {
				b.ReportMetric(float64(syncNano)/float64(syncs)/1e3, "µs/fsync")
			}
		})
	}
}

// BenchmarkListRequests reads pages of a bin holding 10 000 requests of
// 1 KiB (the default --max-requests), next to a second bin as large.
func BenchmarkListRequests(b *testing.B) {
	db := mustOpenDB(b, Options{})
	ctx := context.Background()
	bin := mustCreateBin(b, db, "", "").ID
	other := mustCreateBin(b, db, "", "").ID
	const n = 10000
	for _, id := range []string{bin, other} {
		var wg sync.WaitGroup
		var next atomic.Int64
		for range 64 {
			wg.Go(func() {
				for next.Add(1) <= n {
					if _, err := db.Capture(ctx, Capture{Request: benchRequest(id)}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	for _, bc := range []struct {
		name string
		o    ListOptions
	}{
		{"newest-50", ListOptions{}},
		{"deep-page-50", ListOptions{Before: n / 2}},
		{"oldest-page-50", ListOptions{Before: 51}},
		{"newest-500", ListOptions{Limit: 500}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			want := min(bc.o.Limit, 500)
			if want == 0 {
				want = 50
			}
			for b.Loop() {
				got, _, err := db.ListRequests(ctx, bin, bc.o)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != want {
					b.Fatalf("%d requests, want %d", len(got), want)
				}
			}
		})
	}
	b.Run("Backlog-100", func(b *testing.B) {
		for b.Loop() {
			if got, err := requestsAfter(db, ctx, bin, n/2, 100); err != nil || len(got) != 100 {
				b.Fatalf("%d, %v", len(got), err)
			}
		}
	})
	b.Run("Request", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.Request(ctx, bin, n/2); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRetention empties an idle bin of 10 000 requests of 1 KiB (the
// default --max-requests) with Prune, as retention does, while one capturer
// keeps capturing into another bin. It reports the rows deleted per second
// and the capturer's p99 during the delete and before it.
func BenchmarkRetention(b *testing.B) {
	const n = 10000
	for b.Loop() {
		b.StopTimer()
		clock := newFakeClock()
		db := mustOpenDB(b, Options{Now: clock.Now, Retention: time.Hour})
		ctx := context.Background()
		idle := mustCreateBin(b, db, "", "").ID
		busy := mustCreateBin(b, db, "", "").ID
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for next.Add(1) <= n {
					if _, err := db.Capture(ctx, Capture{Request: benchRequest(idle)}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		// One capturer, paced like a steady sender, the whole time.
		var mu sync.Mutex
		var lat []time.Duration
		stop := make(chan struct{})
		var cw sync.WaitGroup
		cw.Go(func() {
			t := time.NewTicker(2 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				start := time.Now()
				if _, err := db.Capture(ctx, Capture{Request: benchRequest(busy)}); err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				lat = append(lat, time.Since(start))
				mu.Unlock()
			}
		})
		time.Sleep(time.Second)
		mu.Lock()
		before := len(lat)
		mu.Unlock()
		clock.Advance(2 * time.Hour)
		mustCapture(b, db, benchRequest(busy)) // busy stays awake
		b.StartTimer()
		start := time.Now()
		st, err := db.Prune(ctx)
		took := time.Since(start)
		b.StopTimer()
		close(stop)
		cw.Wait()
		if err != nil || st.Bins != 1 {
			b.Fatalf("Prune = %+v, %v", st, err)
		}
		p99 := func(s []time.Duration) float64 {
			s = append([]time.Duration(nil), s...)
			slices.Sort(s)
			return float64(s[min(len(s)-1, len(s)*99/100)]) / 1e6
		}
		b.ReportMetric(float64(n)/took.Seconds(), "rows/s")
		b.ReportMetric(p99(lat[:before]), "p99-ms-before")
		b.ReportMetric(p99(lat[before:]), "p99-ms-during")
		db.Close()
		b.StartTimer()
	}
}

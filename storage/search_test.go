package storage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// searchFixture fills a bin with n realistic webhook captures: JSON bodies of
// about 1 KiB, a dozen headers. Exactly one request (the middle one) holds
// the word "needle-7f3a" in its body, and one holds "X-Rare-Header".
func searchFixture(tb testing.TB, db *DB, binID string, n int) {
	tb.Helper()
	filler := strings.Repeat(`{"sku":"SKU-0000","qty":1,"price":1999,"currency":"usd"},`, 14)
	const workers = 32
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				r := newRequest(binID)
				r.Path = fmt.Sprintf("/stripe/events/%d", i%17)
				r.Query = fmt.Sprintf("attempt=%d&source=ci", i%5)
				r.Header = http.Header{
					"Host":             {"hooks.example.com"},
					"User-Agent":       {"Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
					"Content-Type":     {"application/json; charset=utf-8"},
					"Accept":           {"*/*; q=0.5, application/xml"},
					"Cache-Control":    {"no-cache"},
					"Stripe-Signature": {fmt.Sprintf("t=1700000000,v1=%064x", i)},
					"X-Request-Id":     {fmt.Sprintf("req_%08x", i*7919)},
					"X-Forwarded-For":  {"203.0.113.9"},
				}
				extra := ""
				if i == n/2 {
					extra = `,"note":"needle-7f3a"`
				}
				if i == n/3 {
					r.Header.Set("X-Rare-Header", "1")
				}
				r.Body = fmt.Appendf(nil, `{"id":"evt_%08x","type":"payment_intent.succeeded","items":[%s{}]%s}`, i*104729, filler, extra)
				r.Size = int64(len(r.Body))
				if _, err := db.Capture(context.Background(), Capture{Request: r}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatalf("fixture: %v", err)
	}
}

// BenchmarkSearch measures q on a bin of 10 000 requests, the contract's
// default --max-requests. A rare or absent needle has to look at every
// request of the bin; a common one stops after the first page.
func BenchmarkSearch(b *testing.B) {
	db := mustOpenDB(b, Options{})
	bin := mustCreateBin(b, db, "", "")
	// A second full bin, so the search must also keep to its own bin.
	other := mustCreateBin(b, db, "", "")
	searchFixture(b, db, bin.ID, 10000)
	searchFixture(b, db, other.ID, 10000)
	ctx := context.Background()
	for _, bc := range []struct {
		name, q string
		want    int
	}{
		{"rare-body", "NEEDLE-7f3a", 1},
		{"rare-header", "x-rare-header", 1},
		{"absent", "no-such-text-anywhere", 0},
		{"common", "payment_intent", 50},
		{"short", "zz", 0},
		{"none", "", 50},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				got, _, err := db.ListRequests(ctx, bin.ID, ListOptions{Query: bc.q, Limit: 50})
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != bc.want {
					b.Fatalf("q=%q: %d results, want %d", bc.q, len(got), bc.want)
				}
			}
		})
	}
}

// BenchmarkSearchFTS5 measures the alternative to the scan: an FTS5 trigram
// index over the same text, used to narrow candidates before the exact
// predicate. It reports what the index would cost on the write path too.
func BenchmarkSearchFTS5(b *testing.B) {
	sqliteOnly(b)
	db := mustOpenDB(b, Options{})
	bin := mustCreateBin(b, db, "", "")
	other := mustCreateBin(b, db, "", "")
	searchFixture(b, db, bin.ID, 10000)
	searchFixture(b, db, other.ID, 10000)
	ctx := context.Background()
	if _, err := db.w.ExecContext(ctx, `CREATE VIRTUAL TABLE requests_fts USING fts5(doc, content='', contentless_delete=1, tokenize='trigram')`); err != nil {
		b.Fatal(err)
	}
	// Index the 20 000 rows once, in one statement: the best case for the
	// write path, reported per row.
	start := time.Now()
	if _, err := db.w.ExecContext(ctx, `INSERT INTO requests_fts(rowid, doc) SELECT pk,
		method || ' ' || path || '?' || query || char(10) || headers || char(10) || CAST(substr(body, 1, 65536) AS TEXT) FROM requests`); err != nil {
		b.Fatal(err)
	}
	perRow := time.Since(start) / 20000
	b.Logf("FTS5 trigram indexing: %v per request", perRow)
	for _, bc := range []struct {
		name, q string
		want    int
	}{
		{"rare-body", "NEEDLE-7f3a", 1},
		{"rare-header", "x-rare-header", 1},
		{"absent", "no-such-text-anywhere", 0},
		{"common", "payment_intent", 50},
	} {
		b.Run(bc.name, func(b *testing.B) {
			args := append([]any{bin.ID, `"` + bc.q + `"`, bin.ID}, matchArgs(bc.q)...)
			for b.Loop() {
				got, err := db.queryRequests(ctx, `SELECT `+summaryColumns+` FROM requests WHERE bin_id = ?
					AND pk IN (SELECT rowid FROM requests_fts WHERE requests_fts MATCH ?
						UNION ALL SELECT pk FROM requests WHERE bin_id = ? AND size > 65536)
					AND `+matchSQL+` ORDER BY seq DESC LIMIT 51`, false, args...)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(perRow.Microseconds()), "index-µs/request")
				if n := min(len(got), 50); n != bc.want {
					b.Fatalf("q=%q: %d results, want %d", bc.q, n, bc.want)
				}
			}
		})
	}
}

func TestBacklogFilter(t *testing.T) {
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "", "")
	add := func(method, path, body string) int64 {
		r := newRequest(bin.ID)
		r.Method, r.Path, r.Body = method, path, []byte(body)
		return mustCapture(t, db, r).Request.Seq
	}
	a := add("POST", "/github/push", `{"ref":"main"}`)
	b := add("GET", "/github/ping", ``)
	c := add("POST", "/stripe", `{"type":"Charge.Succeeded"}`)
	d := add("post", "/github/push", `{"ref":"dev"}`)
	for _, tc := range []struct {
		name  string
		after int64
		f     Filter
		want  int64 // 0: none
	}{
		{"anything", 0, Filter{}, a},
		{"after", a, Filter{}, b},
		{"method folds case", a, Filter{Method: "Post"}, c},
		{"path prefix", a, Filter{PathPrefix: "/github/"}, b},
		{"prefix is not substring", 0, Filter{PathPrefix: "/push"}, 0},
		{"q", 0, Filter{Query: "charge.succeeded"}, c},
		{"all filters", b, Filter{Method: "POST", PathPrefix: "/github", Query: "DEV"}, d},
		{"none after the last", d, Filter{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := firstMatchAfter(db, ctx, bin.ID, tc.after, tc.f)
			if tc.want == 0 {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("got %v, %v; want ErrNotFound", got, err)
				}
				return
			}
			if err != nil || got.Seq != tc.want || got.Body == nil {
				t.Fatalf("got %v, %v; want seq %d", got, err, tc.want)
			}
			// The live check agrees with the stored one.
			all, _ := requestsAfter(db, ctx, bin.ID, tc.after, 100)
			for _, r := range all {
				if tc.f.Matches(r) {
					if r.Seq != tc.want {
						t.Errorf("Filter.Matches picks %d first, want %d", r.Seq, tc.want)
					}
					break
				}
			}
		})
	}
}

func TestExportRequests(t *testing.T) {
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "", "")
	captureMany(t, db, bin.ID, 45)
	var got []int64
	after := int64(0)
	for {
		page, err := db.ExportRequests(ctx, bin.ID, ExportOptions{After: after, UpTo: 40, Query: "BODY 1", Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			if r.Body == nil {
				t.Fatalf("%s has no body", r.ID)
			}
			got = append(got, r.Seq)
			after = r.Seq
		}
		if len(page) < 3 {
			break
		}
	}
	// Bodies "body 1", "body 10"…"body 19" were captured in an order chosen
	// by the workers; check the count, the order and the bound.
	if len(got) == 0 || !slices.IsSorted(got) || got[len(got)-1] > 40 {
		t.Fatalf("exported %v", got)
	}
	for _, seq := range got {
		r, _ := db.Request(ctx, bin.ID, seq)
		if !strings.Contains(string(r.Body), "body 1") {
			t.Errorf("%d does not match: %q", seq, r.Body)
		}
	}
}

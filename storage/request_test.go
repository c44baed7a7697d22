package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// checkSameRequest compares every stored field of got with want. Body is
// compared byte for byte, and an empty body must come back empty, not nil.
func checkSameRequest(t *testing.T, label string, got, want *Request, withBody bool) {
	t.Helper()
	type fields struct {
		ID, BinID, Method, Path, Query, RemoteAddr, Proto string
		Seq, Size                                         int64
		Truncated, TLS                                    bool
		ReceivedAt                                        time.Time
	}
	f := func(r *Request) fields {
		return fields{r.ID, r.BinID, r.Method, r.Path, r.Query, r.RemoteAddr, r.Proto, r.Seq, r.Size, r.Truncated, r.TLS, r.ReceivedAt}
	}
	if f(got) != f(want) {
		t.Errorf("%s: fields\n got %+v\nwant %+v", label, f(got), f(want))
	}
	if !reflect.DeepEqual(got.Header, want.Header) {
		t.Errorf("%s: header\n got %q\nwant %q", label, got.Header, want.Header)
	}
	if !reflect.DeepEqual(got.Verdict, want.Verdict) {
		t.Errorf("%s: verdict = %+v, want %+v", label, got.Verdict, want.Verdict)
	}
	switch {
	case !withBody:
		if got.Body != nil {
			t.Errorf("%s: summary has a body of %d bytes", label, len(got.Body))
		}
	case got.Body == nil:
		t.Errorf("%s: body is nil, want %d bytes, non-nil", label, len(want.Body))
	case !bytes.Equal(got.Body, want.Body):
		t.Errorf("%s: body = %q, want %q", label, got.Body, want.Body)
	}
}

func TestCaptureAssignsSeqPerBin(t *testing.T) {
	db := mustOpenDB(t, Options{})
	a, b := mustCreateBin(t, db, "a", ""), mustCreateBin(t, db, "b", "")
	for i, tc := range []struct {
		bin  string
		want int64
	}{{a.ID, 1}, {a.ID, 2}, {b.ID, 1}, {a.ID, 3}, {b.ID, 2}} {
		c := mustCapture(t, db, newRequest(tc.bin))
		if c.Request.Seq != tc.want || c.Request.ID != RequestID(tc.want) {
			t.Errorf("capture %d: seq %d id %q, want %d", i, c.Request.Seq, c.Request.ID, tc.want)
		}
	}
	got, err := db.Bin(context.Background(), a.ID)
	if err != nil || got.Seq != 3 {
		t.Errorf("bin a Seq = %d, %v; want 3", got.Seq, err)
	}
}

func TestCaptureStoresEveryFieldByteExact(t *testing.T) {
	var live []*Request
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "", "")

	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	details := json.RawMessage(`{"signed":"t=1,v1=abc"}`)
	cases := []struct {
		name string
		edit func(*Request)
	}{
		{"all 256 byte values", func(r *Request) { r.Body = allBytes; r.Size = 256 }},
		{"empty body", func(r *Request) { r.Body = []byte{}; r.Size = 0 }},
		{"nil body", func(r *Request) { r.Body = nil; r.Size = 0 }},
		{"invalid UTF-8 everywhere", func(r *Request) {
			r.Method = "M\xffTHOD"
			r.Path = "/caf\xe9/%ZZ//a/../b"
			r.Query = "q=\xff\xfe&x=%00&=&&"
			r.Body = []byte("caf\xe9 \xc3\x28 \xed\xa0\x80")
			r.RemoteAddr = "[::1]:1"
		}},
		{"headers: repeated values, raw bytes, empty values", func(r *Request) {
			r.Header = http.Header{
				"Host":                   {"example.com:8080"},
				"X-Order":                {"3", "1", "2", "1"},
				"X-Latin1":               {"caf\xe9", "\xff\xfe\x80"},
				"X-Empty":                {"", ""},
				"X-Nul-Prefixed":         {"\x00b64 lookalike", "\x00"},
				"X-Json":                 {`{"a":"<b>&</b>"}`, "\u2028"},
				"X-Bin\xff":              {"name not UTF-8"},
				"Transfer-Encoding":      {"chunked"},
				"Content-Type":           {"text/plain; charset=ISO-8859-1"},
				"X-Very-Long-Header":     {strings.Repeat("v", 10000)},
				"X-Unicode-\u00e9\u00e8": {"\U0001F600"},
			}
		}},
		{"nil header comes back empty", func(r *Request) { r.Header = nil }},
		{"HTTP/2 over TLS with a verdict", func(r *Request) {
			r.Proto = "HTTP/2.0"
			r.TLS = true
			r.Verdict = &Verdict{Provider: "stripe", Valid: false, Reason: "timestamp outside tolerance", Details: details}
		}},
		{"nanoseconds are cut to the stored microseconds", func(r *Request) {
			r.ReceivedAt = time.Date(2026, 1, 2, 3, 4, 5, 999999999, time.FixedZone("CET", 3600))
		}},
		{"HEAD with no body", func(r *Request) { r.Method = "HEAD"; r.Body = nil; r.Size = 0; r.Path = "" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest(bin.ID)
			tc.edit(r)
			want := *r
			want.Header = r.Header.Clone()
			if want.Header == nil {
				want.Header = http.Header{}
			}
			want.Body = bytes.Clone(r.Body)
			if want.Body == nil {
				want.Body = []byte{}
			}
			want.ReceivedAt = r.ReceivedAt.UTC().Truncate(time.Microsecond)

			c, err := db.Capture(ctx, Capture{Request: r, Durable: func(r *Request) { live = append(live, r) }})
			if err != nil {
				t.Fatal(err)
			}
			want.Seq, want.ID = c.Request.Seq, c.Request.ID

			checkSameRequest(t, "returned by Capture", c.Request, &want, true)
			if last := live[len(live)-1]; last != c.Request {
				t.Errorf("Durable got a different request")
			}
			got, err := db.Request(ctx, bin.ID, c.Request.Seq)
			if err != nil {
				t.Fatal(err)
			}
			checkSameRequest(t, "Request", got, &want, true)
			if got.Forwards == nil || len(got.Forwards) != 0 || got.Delivery != nil {
				t.Errorf("Request: forwards %v delivery %v, want empty and nil", got.Forwards, got.Delivery)
			}
			after, err := requestsAfter(db, ctx, bin.ID, c.Request.Seq-1, 1)
			if err != nil || len(after) != 1 {
				t.Fatalf("Backlog: %d, %v", len(after), err)
			}
			checkSameRequest(t, "Backlog", after[0], &want, true)
			list, _, err := db.ListRequests(ctx, bin.ID, ListOptions{Limit: 1})
			if err != nil || len(list) != 1 {
				t.Fatalf("ListRequests: %d, %v", len(list), err)
			}
			checkSameRequest(t, "ListRequests", list[0], &want, false)
		})
	}
}

func TestCaptureTruncated(t *testing.T) {
	var live *Request
	db := mustOpenDB(t, Options{})
	bin := mustCreateBin(t, db, "", "")
	r := newRequest(bin.ID)
	r.Truncated = true
	r.Size = 50 << 20
	r.Body = []byte("the first bytes before the cut")
	c, err := db.Capture(context.Background(), Capture{Request: r, Durable: func(r *Request) { live = r }})
	if err != nil {
		t.Fatal(err)
	}
	if len(live.Body) != 0 || len(c.Request.Body) != 0 {
		t.Errorf("a truncated capture kept %d body bytes for its live event", len(live.Body))
	}
	got, err := db.Request(context.Background(), bin.ID, c.Request.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Truncated || got.Size != 50<<20 || got.Body == nil || len(got.Body) != 0 {
		t.Errorf("stored: truncated=%v size=%d body=%q (nil %v), want true, %d, empty", got.Truncated, got.Size, got.Body, got.Body == nil, 50<<20)
	}
}

func TestCaptureZeroReceivedAtUsesClock(t *testing.T) {
	clock := newFakeClock()
	db := mustOpenDB(t, Options{Now: clock.Now})
	bin := mustCreateBin(t, db, "", "")
	r := newRequest(bin.ID)
	r.ReceivedAt = time.Time{}
	c := mustCapture(t, db, r)
	if !c.Request.ReceivedAt.Equal(clock.Now()) {
		t.Errorf("ReceivedAt = %v, want the clock's %v", c.Request.ReceivedAt, clock.Now())
	}
}

func TestCaptureUnknownBin(t *testing.T) {
	db := mustOpenDB(t, Options{})
	_, err := db.Capture(context.Background(), Capture{Request: newRequest("nosuchbin")})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

// A capture to a bin deleted a moment ago shares its transaction with good
// captures. Its failure must stay its own.
func TestCaptureUnknownBinDoesNotPoisonBatch(t *testing.T) {
	sqliteOnly(t)
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	good := mustCreateBin(t, db, "good", "")
	gone := mustCreateBin(t, db, "gone", "")
	mustCapture(t, db, newRequest(gone.ID))
	if err := db.DeleteBin(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}

	release := blockWriter(t, db)
	const n = 60 // well under maxBatch: all of them go into one transaction
	type result struct {
		bin string
		err error
	}
	results := make(chan result, n)
	for i := range n {
		bin := good.ID
		if i%3 == 1 {
			bin = gone.ID
		}
		go func() {
			_, err := db.Capture(ctx, Capture{Request: newRequest(bin), DeliverTo: "http://example.com/x"})
			results <- result{bin, err}
		}()
	}
	waitQueued(t, db, n)
	commits := db.Stats().Commits.Load()
	release()

	var okCount int
	for range n {
		res := <-results
		switch {
		case res.bin == good.ID && res.err != nil:
			t.Errorf("capture to the good bin failed: %v", res.err)
		case res.bin == gone.ID && !errors.Is(res.err, ErrNotFound):
			t.Errorf("capture to the deleted bin: err = %v, want ErrNotFound", res.err)
		case res.bin == good.ID:
			okCount++
		}
	}
	if got := db.Stats().Commits.Load() - commits; got != 2 { // the blocker's, then the batch's
		t.Logf("the captures took %d commits; the test meant them to share one", got-1)
	}
	list, _, err := db.ListRequests(ctx, good.ID, ListOptions{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != okCount || list[0].Seq != int64(okCount) {
		t.Errorf("good bin has %d requests (newest seq %d), want %d with no gap", len(list), list[0].Seq, okCount)
	}
	var queued int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM deliveries WHERE bin_id = ?`, good.ID).Scan(&queued); err != nil || queued != okCount {
		t.Errorf("%d deliveries queued (%v), want %d: one per stored capture", queued, err, okCount)
	}
	var orphans int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM requests WHERE bin_id = ?`, gone.ID).Scan(&orphans); err != nil || orphans != 0 {
		t.Errorf("%d requests stored for the deleted bin (%v)", orphans, err)
	}
}

func TestListRequests(t *testing.T) {
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "", "")
	other := mustCreateBin(t, db, "", "")
	captureMany(t, db, bin.ID, 1200)
	captureMany(t, db, other.ID, 10)

	t.Run("newest first, limit clamped", func(t *testing.T) {
		for _, tc := range []struct{ limit, want int }{{0, 50}, {-3, 50}, {1, 1}, {500, 500}, {501, 500}, {100000, 500}} {
			got, more, err := db.ListRequests(ctx, bin.ID, ListOptions{Limit: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want || !more {
				t.Errorf("limit %d: %d requests (more %v), want %d and more", tc.limit, len(got), more, tc.want)
			}
			for i, r := range got {
				if r.Seq != int64(1200-i) || r.BinID != bin.ID {
					t.Fatalf("limit %d: item %d is %s seq %d, want seq %d", tc.limit, i, r.BinID, r.Seq, 1200-i)
				}
			}
		}
	})

	t.Run("Before pages without gaps or duplicates", func(t *testing.T) {
		for _, limit := range []int{1, 7, 50, 500} {
			var all []int64
			before := int64(0)
			pages := 0
			for {
				page, more, err := db.ListRequests(ctx, bin.ID, ListOptions{Limit: limit, Before: before})
				if err != nil {
					t.Fatal(err)
				}
				pages++
				all = append(all, seqs(page)...)
				if !more {
					break
				}
				before = page[len(page)-1].Seq
			}
			if len(all) != 1200 {
				t.Fatalf("limit %d: %d requests over %d pages, want 1200", limit, len(all), pages)
			}
			for i, s := range all {
				if s != int64(1200-i) {
					t.Fatalf("limit %d: position %d has seq %d, want %d", limit, i, s, 1200-i)
				}
			}
			if want := (1200 + limit - 1) / limit; pages != want {
				t.Errorf("limit %d: %d pages, want %d (no empty last page)", limit, pages, want)
			}
		}
	})

	t.Run("Before the oldest and unknown bin", func(t *testing.T) {
		got, more, err := db.ListRequests(ctx, bin.ID, ListOptions{Before: 1})
		if err != nil || len(got) != 0 || more {
			t.Errorf("before 1: %d, more %v, %v", len(got), more, err)
		}
		got, more, err = db.ListRequests(ctx, "nosuchbin", ListOptions{})
		if err != nil || len(got) != 0 || more {
			t.Errorf("unknown bin: %d, more %v, %v", len(got), more, err)
		}
	})
}

func TestListRequestsSearch(t *testing.T) {
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "", "")
	add := func(edit func(*Request)) int64 {
		r := newRequest(bin.ID)
		r.Method, r.Path, r.Query, r.Body = "GET", "/plain", "", []byte("nothing to see")
		r.Header = http.Header{"Host": {"h"}}
		edit(r)
		return mustCapture(t, db, r).Request.Seq
	}
	method := add(func(r *Request) { r.Method = "DELETE" })
	path := add(func(r *Request) { r.Path = "/Stripe/Events" })
	query := add(func(r *Request) { r.Query = "Token=ABC&x=1" })
	hname := add(func(r *Request) { r.Header.Set("X-Custom-Thing", "1") })
	hvalue := add(func(r *Request) { r.Header.Add("X-Note", `say "Hello" <World> & c:\dir`) })
	body := add(func(r *Request) { r.Body = []byte(`{"type":"Payment.Succeeded","name":"Grüße ÄÖ"}`) })
	binary := add(func(r *Request) { r.Body = []byte("\x00\x01 NEEDLE-in-binary \xff") })
	latin1 := add(func(r *Request) { r.Header.Set("X-Latin1", "Caf\xe9") })

	for _, tc := range []struct {
		q    string
		want []int64 // newest first
	}{
		{"delete", []int64{method}},
		{"DELETE", []int64{method}},
		{"stripe/events", []int64{path}},
		{"token=abc", []int64{query}},
		{"x-custom-thing", []int64{hname}},
		{"X-CUSTOM", []int64{hname}},
		{`"hello" <world>`, []int64{hvalue}},
		{`c:\dir`, []int64{hvalue}},
		{"& C", []int64{hvalue}},
		{"payment.succeeded", []int64{body}},
		{"PAYMENT", []int64{body}},
		{"Grüße ÄÖ", []int64{body}}, // exact non-ASCII text always matches
		{"grüße", []int64{body}},    // ASCII letters fold; ü is as typed
		{"needle-IN-binary", []int64{binary}},
		{"caf", []int64{latin1}}, // the readable part of a header with raw bytes
		{"no such text", nil},
	} {
		t.Run(tc.q, func(t *testing.T) {
			got, more, err := db.ListRequests(ctx, bin.ID, ListOptions{Query: tc.q})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(seqs(got), tc.want) || more {
				t.Errorf("search %q = %v (more %v), want %v", tc.q, seqs(got), more, tc.want)
			}
			// The live filter must agree with the stored search.
			all, err := requestsAfter(db, ctx, bin.ID, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			var live []int64
			for _, r := range slices.Backward(all) {
				if r.Matches(tc.q) {
					live = append(live, r.Seq)
				}
			}
			if !slices.Equal(live, tc.want) {
				t.Errorf("Matches(%q) picks %v, want %v", tc.q, live, tc.want)
			}
		})
	}

	t.Run("combines with limit and before", func(t *testing.T) {
		for range 5 {
			add(func(r *Request) { r.Body = []byte("findme") })
		}
		p1, more, err := db.ListRequests(ctx, bin.ID, ListOptions{Query: "FINDME", Limit: 3})
		if err != nil || len(p1) != 3 || !more {
			t.Fatalf("page 1: %v more %v %v", seqs(p1), more, err)
		}
		p2, more, err := db.ListRequests(ctx, bin.ID, ListOptions{Query: "FINDME", Limit: 3, Before: p1[2].Seq})
		if err != nil || len(p2) != 2 || more {
			t.Fatalf("page 2: %v more %v %v", seqs(p2), more, err)
		}
		if p2[0].Seq >= p1[2].Seq {
			t.Errorf("pages overlap: %v then %v", seqs(p1), seqs(p2))
		}
	})

	if !(&Request{}).Matches("") {
		t.Error("an empty query must match everything")
	}
}

func TestBacklog(t *testing.T) {
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "", "")
	captureMany(t, db, bin.ID, 150)

	got, upTo, err := db.Backlog(ctx, bin.ID, 2, Filter{}, 3)
	if err != nil || upTo != 5 {
		t.Fatalf("after 2, limit 3: complete through %d, %v; want 5 (a full page)", upTo, err)
	}
	if _, upTo, err := db.Backlog(ctx, bin.ID, 2, Filter{Query: "body 149"}, 3); err != nil || upTo != 150 {
		t.Errorf("filtered: complete through %d, %v; want the whole bin, 150", upTo, err)
	}
	if _, _, err := db.Backlog(ctx, "nope", 0, Filter{}, 3); !errors.Is(err, ErrNotFound) {
		t.Errorf("a missing bin: %v, want ErrNotFound", err)
	}
	if !slices.Equal(seqs(got), []int64{3, 4, 5}) {
		t.Errorf("after 2, limit 3 = %v, want [3 4 5] oldest first", seqs(got))
	}
	for _, r := range got {
		if !bytes.HasPrefix(r.Body, []byte("body ")) {
			t.Errorf("seq %d: body %q, want the whole request", r.Seq, r.Body)
		}
	}
	if got, err = requestsAfter(db, ctx, bin.ID, 150, 10); err != nil || len(got) != 0 {
		t.Errorf("after the newest: %v, %v", seqs(got), err)
	}
	if got, err = requestsAfter(db, ctx, bin.ID, 0, 0); err != nil || len(got) != 100 || got[0].Seq != 1 {
		t.Errorf("limit 0: %d requests from %v, %v; want the default 100 from seq 1", len(got), seqs(got[:1]), err)
	}
	if got, err = requestsAfter(db, ctx, bin.ID, 0, -1); err != nil || len(got) != 100 {
		t.Errorf("limit -1: %d requests, %v; want 100, not the whole bin", len(got), err)
	}
}

func TestRequestWithForwards(t *testing.T) {
	clock := newFakeClock()
	db := mustOpenDB(t, Options{Now: clock.Now})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "", "")
	seq := mustCapture(t, db, newRequest(bin.ID)).Request.Seq

	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	first := Forward{URL: "http://a.example/x", Status: 502, Attempt: 1, Error: "", DurationMS: 12, At: at}
	second := Forward{URL: "http://b.example/y", Status: 0, Attempt: 2, Error: "connection refused", DurationMS: 3, Auto: true}
	for _, f := range []Forward{first, second} {
		if err := db.AddForward(ctx, bin.ID, seq, f); err != nil {
			t.Fatal(err)
		}
	}
	second.At = clock.Now() // a zero At is the commit's time

	got, err := db.Request(ctx, bin.ID, seq)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Forwards, []Forward{first, second}) {
		t.Errorf("forwards\n got %+v\nwant %+v", got.Forwards, []Forward{first, second})
	}
	if err := db.AddForward(ctx, bin.ID, seq+1, first); !errors.Is(err, ErrNotFound) {
		t.Errorf("forward of a missing request: err = %v, want ErrNotFound", err)
	}
	if _, err := db.Request(ctx, bin.ID, seq+1); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing request: err = %v, want ErrNotFound", err)
	}
	if _, err := db.Request(ctx, "nosuchbin", seq); !errors.Is(err, ErrNotFound) {
		t.Errorf("request of a missing bin: err = %v, want ErrNotFound", err)
	}
}

func TestRequestIDs(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want int64
		ok   bool
	}{{"req_1", 1, true}, {"req_9007199254740993", 9007199254740993, true}, {"req_0", 0, false}, {"req_-1", 0, false},
		{"1", 0, false}, {"req_", 0, false}, {"req_1x", 0, false}, {"REQ_1", 0, false}, {"", 0, false}} {
		got, err := ParseRequestID(tc.id)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("ParseRequestID(%q) = %d, %v", tc.id, got, err)
		}
		if !tc.ok && !errors.Is(err, ErrNotFound) {
			t.Errorf("ParseRequestID(%q): err = %v, want ErrNotFound", tc.id, err)
		}
		if tc.ok && RequestID(got) != tc.id {
			t.Errorf("RequestID(%d) = %q, want %q", got, RequestID(got), tc.id)
		}
	}
}

func TestDeleteRequest(t *testing.T) {
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "", "")
	captureMany(t, db, bin.ID, 3)
	if err := db.AddForward(ctx, bin.ID, 2, Forward{URL: "http://x"}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteRequest(ctx, bin.ID, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Request(ctx, bin.ID, 2); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted request: err = %v, want ErrNotFound", err)
	}
	if err := db.DeleteRequest(ctx, bin.ID, 2); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: err = %v, want ErrNotFound", err)
	}
	if err := db.DeleteRequest(ctx, "nosuchbin", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete in a missing bin: err = %v, want ErrNotFound", err)
	}
	list, _, _ := db.ListRequests(ctx, bin.ID, ListOptions{})
	if !slices.Equal(seqs(list), []int64{3, 1}) {
		t.Errorf("left: %v, want [3 1]", seqs(list))
	}
	var forwards int
	db.r.QueryRowContext(ctx, `SELECT count(*) FROM forwards`).Scan(&forwards)
	if forwards != 0 {
		t.Errorf("%d forwards outlived their request", forwards)
	}
	// A seq is never handed out twice, not even after a delete: live-stream
	// clients resume by seq.
	if c := mustCapture(t, db, newRequest(bin.ID)); c.Request.Seq != 4 {
		t.Errorf("next seq = %d, want 4", c.Request.Seq)
	}
}

func TestClearRequests(t *testing.T) {
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "", "")
	other := mustCreateBin(t, db, "", "")
	const n = 2*deleteBatch + 345
	captureMany(t, db, bin.ID, n)
	captureMany(t, db, other.ID, 5)

	commits := db.Stats().Commits.Load()
	if err := db.ClearRequests(ctx, bin.ID); err != nil {
		t.Fatal(err)
	}
	if got := db.Stats().Commits.Load() - commits; got < 3 {
		t.Errorf("cleared %d rows in %d transactions, want batches of at most %d", n, got, deleteBatch)
	}
	if list, more, err := db.ListRequests(ctx, bin.ID, ListOptions{}); err != nil || len(list) != 0 || more {
		t.Errorf("after clear: %d requests, more %v, %v", len(list), more, err)
	}
	if list, _, _ := db.ListRequests(ctx, other.ID, ListOptions{}); len(list) != 5 {
		t.Errorf("other bin lost requests: %d left", len(list))
	}
	if c := mustCapture(t, db, newRequest(bin.ID)); c.Request.Seq != n+1 {
		t.Errorf("seq after clear = %d, want %d", c.Request.Seq, n+1)
	}
	if err := db.ClearRequests(ctx, "nosuchbin"); !errors.Is(err, ErrNotFound) {
		t.Errorf("clear a missing bin: err = %v, want ErrNotFound", err)
	}
}

// Clearing stops at what existed when it began, so a steady stream of
// captures cannot keep it going for ever.
func TestClearRequestsDuringCaptures(t *testing.T) {
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "", "")
	captureMany(t, db, bin.ID, deleteBatch+10)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := db.Capture(ctx, Capture{Request: newRequest(bin.ID)}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	err := db.ClearRequests(ctx, bin.ID)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := requestsAfter(db, ctx, bin.ID, 0, 1); len(got) > 0 && got[0].Seq <= deleteBatch+10 {
		t.Errorf("seq %d, captured before the clear, survived it", got[0].Seq)
	}
}

// encodeHeaderReference is what encodeHeader must write, byte for byte: the
// escaped header as encoding/json writes a map[string][]string.
func encodeHeaderReference(h http.Header) string {
	m := make(map[string][]string, len(h))
	for name, vs := range h {
		var out []string
		if vs != nil {
			out = make([]string, len(vs))
			for i, v := range vs {
				out[i] = escapeHeaderString(v)
			}
		}
		m[escapeHeaderString(name)] = out
	}
	j, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(j)
}

func TestEncodeHeaderMatchesEncodingJSON(t *testing.T) {
	tests := []http.Header{
		{},
		{"Content-Type": {"application/json"}, "X-Empty": {}, "X-Nil": nil, "X-Blank": {""}},
		{"X-Html": {`<script>alert("x")</script> & more`}, "X-Seps": {"a\u2028b\u2029c"}},
		{"X-Ctl": {"\x00\x01\b\f\n\r\t\x1f\x7f\\\"/"}},
		{"X-Latin1": {"caf\xe9"}, "X-\xff": {"ok"}, "X-Pct": {"100%"}},
		{"B": {"2"}, "A": {"1", "1b"}, "a": {"lower"}, "\x00nul": {"\x00v"}},
		{"X-Emoji": {"snow ☃ and 😀"}, "X-Bad": {"\xed\xa0\x80", "\xc3"}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune{0, 1, 8, 9, 10, 12, 13, 31, ' ', '"', '\\', '/', '<', '>', '&', '%', 'a', 'Z', 0x7f, 0xe9, 0x2028, 0x2029, 0x2603, 0x1F600}
	for range 500 {
		h := http.Header{}
		for range rng.IntN(5) {
			str := func() string {
				var b []byte
				for range rng.IntN(12) {
					if rng.IntN(6) == 0 {
						b = append(b, byte(rng.IntN(256))) // raw, maybe invalid UTF-8
					} else {
						b = utf8.AppendRune(b, alphabet[rng.IntN(len(alphabet))])
					}
				}
				return string(b)
			}
			name := str()
			for range rng.IntN(3) {
				h[name] = append(h[name], str())
			}
		}
		tests = append(tests, h)
	}
	for _, h := range tests {
		got, err := encodeHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if want := encodeHeaderReference(h); got != want {
			t.Fatalf("header %q:\n got %s\nwant %s", h, got, want)
		}
		back, err := decodeHeader([]byte(got))
		if err != nil {
			t.Fatalf("decode %s: %v", got, err)
		}
		for name, vs := range h {
			if len(vs) != len(back[name]) {
				t.Fatalf("header %q came back as %q", h, back)
			}
			for i := range vs {
				if vs[i] != back[name][i] {
					t.Fatalf("header %q came back as %q", h, back)
				}
			}
		}
	}
}

func BenchmarkEncodeHeader(b *testing.B) {
	h := benchRequest("b").Header
	for b.Loop() {
		if _, err := encodeHeader(h); err != nil {
			b.Fatal(err)
		}
	}
}

package storage

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestDeliveries(t *testing.T) {
	clock := newFakeClock()
	db := mustOpenDB(t, Options{Now: clock.Now})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "", "")
	now := clock.Now()

	if _, ok, err := db.NextDeliveryOf(ctx, bin.ID); ok || err != nil {
		t.Fatalf("NextDeliveryOf with none pending = %v, %v", ok, err)
	}
	// due reads the bin's jobs due at now, as its auto-forward worker does.
	due := func(now time.Time) []Delivery {
		t.Helper()
		jobs, err := db.ClaimDeliveries(ctx, bin.ID, now, true, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ds []Delivery
		for _, j := range jobs {
			ds = append(ds, j.Delivery)
		}
		return ds
	}
	record := func(d Delivery, f Forward, state string, next time.Time) error {
		t.Helper()
		found, err := db.RecordAttempts(ctx, []Attempt{{Delivery: d, Forward: f, State: state, Next: next}})
		if err == nil && !found[0] {
			err = ErrNotFound
		}
		return err
	}
	plain := mustCapture(t, db, newRequest(bin.ID)) // no DeliverTo: no job
	c, err := db.Capture(ctx, Capture{Request: newRequest(bin.ID), DeliverTo: "http://target.example/hook?a=1"})
	if err != nil {
		t.Fatal(err)
	}
	want := Delivery{BinID: bin.ID, Seq: c.Request.Seq, URL: "http://target.example/hook?a=1", State: DeliveryPending, NextAt: now}
	d := c.Request.Delivery
	if d == nil || d.ID == 0 {
		t.Fatalf("Capture returned delivery %+v, want one with its id", d)
	}
	want.ID = d.ID
	if *d != want {
		t.Errorf("Capture's delivery\n got %+v\nwant %+v", *d, want)
	}
	if got, _ := db.Request(ctx, bin.ID, c.Request.Seq); got.Delivery == nil || *got.Delivery != want {
		t.Errorf("Request's delivery = %+v, want %+v", got.Delivery, want)
	}
	if got, _ := db.Request(ctx, bin.ID, plain.Request.Seq); got.Delivery != nil {
		t.Errorf("request without auto-forward has delivery %+v", got.Delivery)
	}

	ds := due(now)
	if len(ds) != 1 || ds[0] != want {
		t.Fatalf("due at now = %+v; want [%+v]", ds, want)
	}
	if ds := due(now.Add(-time.Millisecond)); len(ds) != 0 {
		t.Errorf("due before its time: %+v", ds)
	}
	if at, ok, err := db.NextDeliveryOf(ctx, bin.ID); !ok || err != nil || !at.Equal(now) {
		t.Errorf("NextDeliveryOf = %v, %v, %v; want %v", at, ok, err, now)
	}

	// Attempt 1 fails: retry in 5 s, recorded in the history.
	retryAt := now.Add(5 * time.Second)
	f1 := Forward{URL: want.URL, Status: 503, Attempt: 1, Error: "", DurationMS: 7, Auto: true, At: now}
	if err := record(ds[0], f1, DeliveryPending, retryAt); err != nil {
		t.Fatal(err)
	}
	if ds := due(now.Add(4 * time.Second)); len(ds) != 0 {
		t.Errorf("due before the retry time: %+v", ds)
	}
	if at, ok, _ := db.NextDeliveryOf(ctx, bin.ID); !ok || !at.Equal(retryAt) {
		t.Errorf("NextDeliveryOf = %v, %v; want %v", at, ok, retryAt)
	}
	ds = due(retryAt)
	if len(ds) != 1 || ds[0].Attempts != 1 || ds[0].LastStatus != 503 {
		t.Fatalf("after attempt 1: %+v", ds)
	}

	// Attempt 2 succeeds.
	f2 := Forward{URL: want.URL, Status: 200, Attempt: 2, DurationMS: 3, Auto: true, At: retryAt}
	if err := record(ds[0], f2, DeliveryDelivered, retryAt); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.NextDeliveryOf(ctx, bin.ID); ok {
		t.Error("a delivered job is still pending")
	}
	got, _ := db.Request(ctx, bin.ID, c.Request.Seq)
	if got.Delivery.State != DeliveryDelivered || got.Delivery.Attempts != 2 || got.Delivery.LastStatus != 200 {
		t.Errorf("delivery after success: %+v", got.Delivery)
	}
	if len(got.Forwards) != 2 || got.Forwards[0] != f1 || got.Forwards[1] != f2 {
		t.Errorf("history = %+v, want both attempts", got.Forwards)
	}

	// Cancelling a delivered job keeps its outcome; retrying makes it due.
	d2, err := db.SetDeliveryState(ctx, bin.ID, c.Request.Seq, DeliveryCancelled, time.Time{})
	if err != nil || d2.State != DeliveryDelivered {
		t.Errorf("cancel a delivered job = %+v, %v; want it unchanged", d2, err)
	}
	later := now.Add(time.Hour)
	d2, err = db.SetDeliveryState(ctx, bin.ID, c.Request.Seq, DeliveryPending, later)
	if err != nil || d2.State != DeliveryPending || !d2.NextAt.Equal(later) {
		t.Errorf("retry = %+v, %v", d2, err)
	}
	if ds := due(later); len(ds) != 1 {
		t.Errorf("retried job not due: %+v", ds)
	}
	d2, err = db.SetDeliveryState(ctx, bin.ID, c.Request.Seq, DeliveryCancelled, time.Time{})
	if err != nil || d2.State != DeliveryCancelled {
		t.Errorf("cancel a pending job = %+v, %v", d2, err)
	}
	if _, ok, _ := db.NextDeliveryOf(ctx, bin.ID); ok {
		t.Error("a cancelled job is still pending")
	}

	if _, err := db.SetDeliveryState(ctx, bin.ID, c.Request.Seq, "retry", later); err == nil {
		t.Error(`state "retry" accepted; only the Delivery* states are`)
	}
	if _, err := db.SetDeliveryState(ctx, bin.ID, plain.Request.Seq, DeliveryPending, later); !errors.Is(err, ErrNotFound) {
		t.Errorf("request without a job: err = %v, want ErrNotFound", err)
	}
	if _, err := db.SetDeliveryState(ctx, bin.ID, 99, DeliveryPending, later); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing request: err = %v, want ErrNotFound", err)
	}

	// A request deleted while its delivery was in flight.
	c3, err := db.Capture(ctx, Capture{Request: newRequest(bin.ID), DeliverTo: "http://x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteRequest(ctx, bin.ID, c3.Request.Seq); err != nil {
		t.Fatal(err)
	}
	if err := record(*c3.Request.Delivery, f1, DeliveryDelivered, now); !errors.Is(err, ErrNotFound) {
		t.Errorf("attempt for a deleted request: err = %v, want ErrNotFound", err)
	}
}

// ClaimDeliveries reads a bin's pending jobs with what they send, in capture
// order; RecordAttempts records several outcomes at once and skips a job
// whose request is gone.
func TestClaimAndRecordDeliveries(t *testing.T) {
	clock := newFakeClock()
	db := mustOpenDB(t, Options{Now: clock.Now})
	ctx := context.Background()
	bin, other := mustCreateBin(t, db, "", ""), mustCreateBin(t, db, "", "")
	now := clock.Now()
	var jobs []Delivery
	for i := range 3 {
		r := newRequest(bin.ID)
		r.Body = []byte{'a' + byte(i)}
		c, err := db.Capture(ctx, Capture{Request: r, DeliverTo: "http://t.example/" + string(rune('a'+i))})
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, *c.Request.Delivery)
	}
	mustCapture(t, db, newRequest(bin.ID)) // no job
	if _, err := db.Capture(ctx, Capture{Request: newRequest(other.ID), DeliverTo: "http://t.example/o"}); err != nil {
		t.Fatal(err)
	}
	got, err := db.ClaimDeliveries(ctx, bin.ID, now, true, 10)
	if err != nil || len(got) != 3 {
		t.Fatalf("ClaimDeliveries = %d jobs, %v; want 3", len(got), err)
	}
	want := newRequest(bin.ID)
	for i, j := range got {
		if j.Delivery != jobs[i] || string(j.Body) != string(rune('a'+i)) || j.Method != want.Method || j.Header.Get("Content-Type") != want.Header.Get("Content-Type") {
			t.Errorf("job %d = %+v, want %+v with its request", i, j, jobs[i])
		}
	}
	if got, _ := db.ClaimDeliveries(ctx, bin.ID, now, true, 2); len(got) != 2 || got[1].ID != jobs[1].ID {
		t.Errorf("limit 2: %+v", got)
	}

	// The first is delivered, the second waits 5 s for a retry; the
	// request of the third is deleted meanwhile.
	retry := now.Add(5 * time.Second)
	if err := db.DeleteRequest(ctx, bin.ID, jobs[2].Seq); err != nil {
		t.Fatal(err)
	}
	f := func(status, attempt int) Forward {
		return Forward{URL: "http://t.example/", Status: status, Attempt: attempt, Auto: true, At: now}
	}
	// With PostgreSQL only the holder of the bin's lease records attempts.
	if got, err := db.LeaseDeliveries(ctx, bin.ID); !got || err != nil {
		t.Fatalf("LeaseDeliveries = %v, %v", got, err)
	}
	found, err := db.RecordAttempts(ctx, []Attempt{
		{Delivery: jobs[0], Forward: f(200, 1), State: DeliveryDelivered, Next: now},
		{Delivery: jobs[1], Forward: f(503, 1), State: DeliveryPending, Next: retry},
		{Delivery: jobs[2], Forward: f(200, 1), State: DeliveryDelivered, Next: now},
	})
	if err != nil || !slices.Equal(found, []bool{true, true, false}) {
		t.Fatalf("RecordAttempts = %v, %v; want [true true false]", found, err)
	}
	if got, _ := db.ClaimDeliveries(ctx, bin.ID, now, true, 10); len(got) != 0 {
		t.Errorf("due now after the attempts: %+v", got)
	}
	if got, _ := db.ClaimDeliveries(ctx, bin.ID, now, false, 10); len(got) != 1 || got[0].ID != jobs[1].ID || got[0].Attempts != 1 || !got[0].NextAt.Equal(retry) {
		t.Errorf("pending after the attempts: %+v", got)
	}
	if at, ok, err := db.NextDeliveryOf(ctx, bin.ID); !ok || err != nil || !at.Equal(retry) {
		t.Errorf("NextDeliveryOf = %v, %v, %v; want %v", at, ok, err, retry)
	}
	if bins, err := db.PendingBins(ctx); err != nil || len(bins) != 2 {
		t.Errorf("PendingBins = %v, %v; want both bins", bins, err)
	}
	r, _ := db.Request(ctx, bin.ID, jobs[0].Seq)
	if r.Delivery.State != DeliveryDelivered || len(r.Forwards) != 1 || r.Forwards[0] != f(200, 1) {
		t.Errorf("first request after its attempt: %+v, %+v", r.Delivery, r.Forwards)
	}
}

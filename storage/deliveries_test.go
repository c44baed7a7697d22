package storage

import (
	"context"
	"testing"
)

func TestAttachDeliveries(t *testing.T) {
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "", "")
	mustCapture(t, db, newRequest(bin.ID))
	c, err := db.Capture(ctx, Capture{Request: newRequest(bin.ID), DeliverTo: "http://target.example/x"})
	if err != nil {
		t.Fatal(err)
	}
	reqs, _, err := db.ListRequests(ctx, bin.ID, ListOptions{})
	if err != nil || len(reqs) != 2 {
		t.Fatalf("list: %v %d", err, len(reqs))
	}
	if err := db.AttachDeliveries(ctx, reqs); err != nil {
		t.Fatal(err)
	}
	if reqs[1].Delivery != nil {
		t.Errorf("request without a job got %+v", reqs[1].Delivery)
	}
	if d := reqs[0].Delivery; d == nil || *d != *c.Request.Delivery {
		t.Errorf("delivery %+v, want %+v", d, c.Request.Delivery)
	}
	if err := db.AttachDeliveries(ctx, nil); err != nil {
		t.Error(err)
	}
}

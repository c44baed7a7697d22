package storage

import (
	"context"
	"net/http"
	"reflect"
	"testing"
)

func TestHeaderListRoundTrip(t *testing.T) {
	db := mustOpenDB(t, Options{})
	ctx := context.Background()
	bin := mustCreateBin(t, db, "", "")
	lines := []HeaderLine{{"Host", "h"}, {"zeta", "z"}, {"X-Latin1", "caf\xe9"}, {"X-Nul", "\x00odd"}, {"X-Empty", ""}, {"X-Colon", "a:b: c"}, {"Zeta", "second"}}
	r := newRequest(bin.ID)
	r.Header = http.Header{"Host": {"h"}, "Zeta": {"z", "second"}, "X-Latin1": {"caf\xe9"}}
	r.HeaderList = lines
	mustCapture(t, db, r)
	if _, ok := r.Header[""]; ok {
		t.Fatal("the list was left in the caller's header")
	}
	plain := newRequest(bin.ID)
	mustCapture(t, db, plain)

	got, err := db.Request(ctx, bin.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.HeaderList, lines) {
		t.Errorf("HeaderList = %q, want %q", got.HeaderList, lines)
	}
	if _, ok := got.Header[""]; ok || !reflect.DeepEqual(got.Header, r.Header) {
		t.Errorf("Header = %q", got.Header)
	}
	list, _, err := db.ListRequests(ctx, bin.ID, ListOptions{Limit: 10})
	if err != nil || len(list) != 2 || !reflect.DeepEqual(list[1].HeaderList, lines) || list[0].HeaderList != nil {
		t.Errorf("summaries: %v %v", list, err)
	}
	// Search still sees the values, and only once per request.
	found, _, err := db.ListRequests(ctx, bin.ID, ListOptions{Limit: 10, Query: "second"})
	if err != nil || len(found) != 1 {
		t.Errorf("search: %d, %v", len(found), err)
	}
}

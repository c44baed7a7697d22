package web

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAutoForwardWaitingBehind: rows blocked behind a failing delivery say
// which one they wait for, in the list and in the details.
func TestAutoForwardWaitingBehind(t *testing.T) {
	a := newTestApp(t)
	c, binID := a.browserBin("order")
	tg := newTarget(t, func(n int, w http.ResponseWriter) { w.WriteHeader(503) }) // retried after 1 s, 5 s, …
	if code, _, body := send(t, c, "PUT", a.ts.URL+"/api/bins/"+binID+"/forwarding", http.Header{"Content-Type": {"application/json"}},
		`{"url":"`+tg.URL+`","enabled":true}`); code != 200 {
		t.Fatalf("PUT forwarding: %d %s", code, body)
	}
	for range 3 {
		a.do("POST", "/b/"+binID+"/x", "", nil, "x")
	}
	tg.waitFor(t, 1, 5*time.Second)
	doc, _ := a.page(c, "/bins/"+binID+"?req=req_3", 200)
	for _, id := range []string{"req_2", "req_3"} {
		if got := doc.Find(`[data-request-id="` + id + `"] .dlv`).Text(); got != "→ waiting behind #1" {
			t.Errorf("%s row: %q", id, got)
		}
	}
	if got := doc.Find(`[data-request-id="req_1"] .dlv`).Text(); strings.Contains(got, "behind") {
		t.Errorf("req_1 row: %q", got)
	}
	if doc.Find(`#delivery-req_3 [data-behind="1"]`).Length() != 1 {
		t.Error("the details do not say what req_3 waits for")
	}
	// Cancelling the head lets the next one go first.
	if code, _, body := send(t, c, "POST", a.ts.URL+"/api/bins/"+binID+"/requests/req_1/delivery/cancel", nil, ""); code != 200 {
		t.Fatalf("cancel: %d %s", code, body)
	}
	doc, _ = a.page(c, "/bins/"+binID+"?req=req_3", 200)
	if got := doc.Find(`[data-request-id="req_3"] .dlv`).Text(); got != "→ waiting behind #2" {
		t.Errorf("after cancelling #1, req_3 row: %q", got)
	}
}

package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tailhook-dev/tailhook/storage"
)

// TestOverLimitCaptureShown: a 413 capture says why it has no body, marks
// its row and offers no download.
func TestOverLimitCaptureShown(t *testing.T) {
	a := newTestApp(t, func(c *Config, _ *storage.Options) { c.MaxBody = 10 << 20 })
	c, binID := a.browserBin("big")
	res, err := http.Post(a.ts.URL+"/b/"+binID+"/up", "application/octet-stream", strings.NewReader(strings.Repeat("x", 11<<20)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("capture: %d", res.StatusCode)
	}
	doc, _ := a.page(c, "/bins/"+binID+"?req=req_1", 200)
	if got := doc.Find(`#body-not-stored`).Text(); got != "not stored: over the 10 MiB limit" {
		t.Errorf("body label %q", got)
	}
	if n := doc.Find(`#detail a[download]`).Length(); n != 0 {
		t.Errorf("%d download links for a body that was not stored", n)
	}
	if doc.Find(`[data-request-id="req_1"] [data-truncated]`).Length() != 1 {
		t.Error("the row is not marked")
	}
	if strings.Contains(doc.Find(`#detail`).Text(), "No body.") {
		t.Error(`a body that was not stored is shown as "No body."`)
	}
}

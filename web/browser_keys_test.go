package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/tailhook-dev/tailhook/storage"
)

// TestBrowserUndoDelete: Delete hides the request at once and sends the
// DELETE only when the undo note times out; Undo brings the row back.
func TestBrowserUndoDelete(t *testing.T) {
	a := newTestApp(t)
	ctx := newBrowser(t)
	captureURL := newBinPage(t, a, ctx)
	sendCaptures(t, captureURL, 3, false)
	binID := strings.TrimPrefix(captureURL, a.ts.URL+"/b/")
	count := func() int {
		c, _ := a.browserBinCount(binID)
		return c
	}
	step(t, ctx, 5*time.Second, "delete req_2, then undo",
		chromedp.WaitVisible(chromedp.CSS(`#request-list [data-request-id="req_3"]`)),
		chromedp.Click(chromedp.CSS(`#request-list [data-request-id="req_2"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_2"]`)),
		chromedp.Click(chromedp.CSS(`#detail [data-delete]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#request-list [data-request-id="req_2"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#undo-delete`)),
		chromedp.Click(chromedp.CSS(`#undo-delete`)),
		chromedp.WaitVisible(chromedp.CSS(`#request-list [data-request-id="req_2"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_2"]`)),
	)
	if got := evalIn[string](t, ctx, `Array.from(document.querySelectorAll('#request-list .req')).map(r => r.dataset.requestId).join(' ')`); got != "req_3 req_2 req_1" {
		t.Fatalf("rows after undo: %s", got)
	}
	time.Sleep(300 * time.Millisecond)
	if n := count(); n != 3 {
		t.Fatalf("an undone delete reached the server: %d requests", n)
	}
	step(t, ctx, 10*time.Second, "delete req_1 for good",
		chromedp.Click(chromedp.CSS(`#request-list [data-request-id="req_1"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_1"]`)),
		chromedp.Click(chromedp.CSS(`#detail [data-delete]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#undo-note`)),
	)
	eventually(t, 5*time.Second, "the delete sent after the undo note", func() bool { return count() == 2 })
}

// TestBrowserKeyboard: ? lists the shortcuts, o loads older requests, f
// toggles follow-newest; the theme toggle cycles system, light, dark.
func TestBrowserKeyboard(t *testing.T) {
	a := newTestApp(t)
	ctx := newBrowser(t)
	captureURL := newBinPage(t, a, ctx)
	sendCaptures(t, captureURL, listPage+3, true)
	step(t, ctx, 10*time.Second, "reload with a full page",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#older [data-older]`)),
		chromedp.KeyEvent("?"),
		chromedp.WaitVisible(chromedp.CSS(`#shortcuts`)),
	)
	if txt := evalIn[string](t, ctx, `document.querySelector('#shortcuts').textContent`); !strings.Contains(txt, "load older requests") {
		t.Fatalf("shortcuts: %q", txt)
	}
	step(t, ctx, 10*time.Second, "close it, load older with o, follow with f",
		chromedp.KeyEvent(kb.Escape),
		chromedp.WaitNotVisible(chromedp.CSS(`#shortcuts`)),
		chromedp.KeyEvent("o"),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#request-list .req').length === `+itoa(listPage+3)),
		chromedp.KeyEvent("f"),
		chromedp.Poll[chromedp.Void](`document.querySelector('#follow-newest').checked`),
	)
	for _, want := range []string{"light", "dark", "system"} {
		step(t, ctx, 5*time.Second, "theme "+want, chromedp.Click(chromedp.CSS(`#theme-toggle`)))
		attr := evalIn[string](t, ctx, `document.documentElement.getAttribute('data-theme') || 'system'`)
		bg := evalIn[string](t, ctx, `getComputedStyle(document.body).backgroundColor`)
		if attr != want {
			t.Fatalf("theme %q, want %q", attr, want)
		}
		if want == "dark" && bg != "rgb(13, 16, 22)" || want == "light" && bg != "rgb(246, 247, 249)" {
			t.Errorf("%s theme: background %s", want, bg)
		}
	}
}

// browserBinCount is the number of requests the bin holds, read from the
// database.
func (a *testApp) browserBinCount(binID string) (int, error) {
	reqs, _, err := a.db.ListRequests(context.Background(), binID, storage.ListOptions{Limit: 500})
	return len(reqs), err
}

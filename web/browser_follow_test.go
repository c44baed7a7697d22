package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func sendCaptures(t *testing.T, captureURL string, n int, concurrent bool) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		do := func() {
			res, err := http.Post(captureURL+"/n"+strconv.Itoa(i), "text/plain", strings.NewReader("x"))
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
		}
		if concurrent {
			wg.Go(do)
		} else {
			do()
		}
	}
	wg.Wait()
}

func openDetail(t *testing.T, ctx context.Context) string {
	t.Helper()
	return evalIn[string](t, ctx, `(function () { var d = document.querySelector('#detail [data-detail-id]'); return d ? d.getAttribute('data-detail-id') : ''; })()`)
}

// TestBrowserAutoOpen: a burst of requests into an empty inspector opens the
// first one to arrive, every time; "follow newest" opens each new one, and
// is remembered across reloads.
func TestBrowserAutoOpen(t *testing.T) {
	a := newTestApp(t)
	ctx := newBrowser(t)
	captureURL := newBinPage(t, a, ctx)
	sendCaptures(t, captureURL, 5, false)
	step(t, ctx, 5*time.Second, "five rows arrive",
		chromedp.WaitVisible(chromedp.CSS(`#request-list [data-request-id="req_5"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id]`)),
		chromedp.Sleep(300*time.Millisecond),
	)
	if got := openDetail(t, ctx); got != "req_1" {
		t.Fatalf("auto-open chose %s, want req_1 (the first to arrive)", got)
	}
	sendCaptures(t, captureURL, 1, false)
	step(t, ctx, 5*time.Second, "a sixth arrives", chromedp.WaitVisible(chromedp.CSS(`#request-list [data-request-id="req_6"]`)), chromedp.Sleep(200*time.Millisecond))
	if got := openDetail(t, ctx); got != "req_1" {
		t.Fatalf("without follow, the open request changed to %s", got)
	}

	step(t, ctx, 5*time.Second, "follow newest",
		chromedp.Click(chromedp.CSS(`#follow-newest`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_6"]`)),
	)
	sendCaptures(t, captureURL, 3, true)
	step(t, ctx, 5*time.Second, "follow opens the newest",
		chromedp.WaitVisible(chromedp.CSS(`#request-list [data-request-id="req_9"]`)),
		chromedp.Poll[chromedp.Void](`(function () { var d = document.querySelector('#detail [data-detail-id]'); return d && d.getAttribute('data-detail-id') === document.querySelector('#request-list .req').getAttribute('data-request-id'); })()`),
	)
	step(t, ctx, 10*time.Second, "reload keeps the toggle",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#live-status[data-state="live"]`)),
	)
	if !evalIn[bool](t, ctx, `document.querySelector('#follow-newest').checked`) {
		t.Fatal("follow newest was forgotten")
	}
	sendCaptures(t, captureURL, 1, false)
	step(t, ctx, 5*time.Second, "follow after reload",
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_10"]`)))
}

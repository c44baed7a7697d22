package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserRetryNowSays: "Retry now" says what it did, in the delivery
// section as it is after the refresh.
func TestBrowserRetryNowSays(t *testing.T) {
	a := newTestApp(t)
	ctx := newBrowser(t)
	captureURL := newBinPage(t, a, ctx)
	tg := newTarget(t, func(n int, w http.ResponseWriter) { w.WriteHeader(400) }) // not retried: fails at once
	binID := strings.TrimPrefix(captureURL, a.ts.URL+"/b/")
	evalIn[bool](t, ctx, `(function () {
		var x = new XMLHttpRequest();
		x.open('PUT', '/api/bins/`+binID+`/forwarding', false);
		x.setRequestHeader('Content-Type', 'application/json');
		x.send(JSON.stringify({ url: '`+tg.URL+`', enabled: true }));
		return x.status === 200;
	})()`)
	sendCaptures(t, captureURL, 1, false)
	tg.waitFor(t, 1, 5*time.Second)
	step(t, ctx, 10*time.Second, "the failed delivery, retried",
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_1"]`)),
		chromedp.Poll[chromedp.Void](`!!document.querySelector('#delivery-req_1 [data-delivery-action$="/retry"]')`, chromedp.WithPollingTimeout(8*time.Second)),
		chromedp.Click(chromedp.CSS(`#delivery-req_1 [data-delivery-action$="/retry"]`)),
	)
	waitJS(t, ctx, `(document.querySelector('#delivery-req_1 .form-status') || {}).textContent === 'Retry queued: attempt 2 starts now.'`, 5*time.Second, "the message")
	tg.waitFor(t, 2, 5*time.Second)
}

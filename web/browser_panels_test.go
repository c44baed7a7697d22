package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tailhook-dev/tailhook/storage"
)

// waitJS polls a JavaScript condition in the page until it is true.
func waitJS(t *testing.T, ctx context.Context, js string, d time.Duration, what string) {
	t.Helper()
	eventually(t, d, what+": "+js, func() bool { return evalIn[bool](t, ctx, js) })
}

// TestBrowserPanels drives the panels as a user: set a Stripe secret, send a
// test event and watch it arrive with ✓, filter the list, and watch an
// auto-forward's badge change without a reload.
func TestBrowserPanels(t *testing.T) {
	a := newTestApp(t)
	ctx := newBrowser(t)
	newBinPage(t, a, ctx)
	// Marks this document: a reload would lose it.
	evalIn[bool](t, ctx, `window.__sameDocument = true`)
	evalIn[bool](t, ctx, `window.addEventListener('error', function (e) { window.__errs = (window.__errs || []).concat(e.message) }); true`)

	step(t, ctx, 10*time.Second, "set a Stripe secret in the panel",
		chromedp.Click(chromedp.CSS("#signature-panel > summary")),
		chromedp.Evaluate[chromedp.Void](`(function () {
			var s = document.querySelector('#signature-provider');
			s.value = 'stripe';
			s.dispatchEvent(new Event('change', { bubbles: true }));
		})()`),
		chromedp.WaitVisible(chromedp.CSS(`fieldset[data-provider="stripe"] textarea[name="secret"]`)),
		chromedp.SendKeys(chromedp.CSS(`fieldset[data-provider="stripe"] textarea[name="secret"]`), stripeSecret),
		chromedp.Click(chromedp.CSS(`#signature-form button[type="submit"]`)),
	)
	waitJS(t, ctx, `document.querySelector('#signature-summary').textContent.indexOf('Stripe · secret whse••••') === 0`, 5*time.Second, "saved, masked")
	if v := evalIn[string](t, ctx, `document.querySelector('fieldset[data-provider="stripe"] textarea[name="secret"]').value`); v != "" {
		t.Errorf("the secret stays in the form after saving: %q", v)
	}
	if html := evalIn[string](t, ctx, `document.documentElement.outerHTML`); strings.Contains(html, stripeSecret) {
		t.Error("the page holds the secret after saving")
	}

	step(t, ctx, 5*time.Second, "send a test event; it arrives live with ✓",
		chromedp.Click(chromedp.CSS(`#signature-form [data-sample]`)),
		chromedp.WaitVisible(chromedp.CSS(`#request-list [data-request-id="req_1"] .sig-ok`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_1"] .verdict[data-verdict="valid"]`)),
	)
	binID := evalIn[string](t, ctx, `document.querySelector('#inspector').getAttribute('data-bin')`)
	a.sendCapture(binID, "POST", "/orders", nil, `{"order":1}`)
	step(t, ctx, 3*time.Second, "a plain capture arrives",
		chromedp.WaitVisible(chromedp.CSS(`#request-list [data-request-id="req_2"]`)))

	// The filter: "/" focuses it; typing narrows the list and the stream.
	step(t, ctx, 5*time.Second, "type a filter",
		chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`),
		chromedp.KeyEvent("/"),
	)
	if id := evalIn[string](t, ctx, `document.activeElement.id`); id != "filter" {
		t.Fatalf("/ focused %q, not the filter", id)
	}
	// CDP sends the "/" as a separate char event, which a real keyboard's
	// prevented keydown would not produce.
	evalIn[bool](t, ctx, `document.querySelector('#filter').value = ''; true`)
	step(t, ctx, 5*time.Second, "type", chromedp.KeyEvent("orders"))
	waitJS(t, ctx, `Array.from(document.querySelectorAll('#request-list [data-request-id]')).map(r => r.dataset.requestId).join() === 'req_2'`,
		5*time.Second, "the list narrows to the match")
	waitJS(t, ctx, `document.querySelector('#live-status').dataset.state === 'live'`, 5*time.Second, "stream reconnected")
	if href := evalIn[string](t, ctx, `document.querySelector('#export-har').getAttribute('href')`); !strings.HasSuffix(href, "export.har?q=orders") {
		t.Errorf("export link %q does not follow the filter", href)
	}
	a.sendCapture(binID, "POST", "/ignored", nil, `{}`)
	a.sendCapture(binID, "POST", "/orders/2", nil, `{}`)
	step(t, ctx, 3*time.Second, "a matching capture arrives live",
		chromedp.WaitVisible(chromedp.CSS(`#request-list [data-request-id="req_4"]`)))
	if n := evalIn[int](t, ctx, `document.querySelectorAll('#request-list [data-request-id="req_3"]').length`); n != 0 {
		t.Error("a capture that does not match the filter was added")
	}
	step(t, ctx, 5*time.Second, "clear the filter", chromedp.KeyEvent("\x1b"))
	waitJS(t, ctx, `document.querySelectorAll('#request-list [data-request-id]').length === 4`, 5*time.Second, "every request is back")

	// Auto-forward to a slow loopback target: the row is queued first, then
	// its badge turns "delivered" through the stream.
	release := make(chan struct{})
	tg := newTarget(t, func(n int, w http.ResponseWriter) {
		<-release
		w.WriteHeader(204)
	})
	step(t, ctx, 10*time.Second, "turn auto-forward on in the panel",
		chromedp.Click(chromedp.CSS("#forwarding-panel > summary")),
		chromedp.SendKeys(chromedp.CSS(`#forwarding-form input[name="url"]`), tg.URL+"/in"),
		chromedp.Click(chromedp.CSS(`#forwarding-form button[type="submit"]`)),
	)
	waitJS(t, ctx, `document.querySelector('#forwarding-summary').textContent === 'on → `+tg.URL+`/in'`, 5*time.Second, "auto-forward saved")
	a.sendCapture(binID, "POST", "/deliver-me", nil, `{}`)
	step(t, ctx, 3*time.Second, "the capture arrives queued",
		chromedp.WaitVisible(chromedp.CSS(`#request-list [data-request-id="req_5"] .dlv[data-delivery="pending"]`)))
	tg.waitFor(t, 1, 5*time.Second)
	close(release)
	step(t, ctx, 5*time.Second, "the badge turns delivered live",
		chromedp.WaitVisible(chromedp.CSS(`#request-list [data-request-id="req_5"] .dlv[data-delivery="delivered"]`)))

	// The delivery mode is a select in the same form.
	step(t, ctx, 5*time.Second, "switch to independent delivery",
		chromedp.SetValue(chromedp.CSS(`#forwarding-form select[name="mode"]`), "independent"),
		chromedp.Click(chromedp.CSS(`#forwarding-form button[type="submit"]`)),
	)
	waitJS(t, ctx, `document.querySelector('#forwarding-form .form-status').textContent === 'Saved.'`, 5*time.Second, "mode saved")
	if b, err := a.db.Bin(context.Background(), binID); err != nil || b.Forwarding.Mode != storage.ForwardIndependent {
		t.Errorf("forwarding after saving the panel: %+v, %v", b.Forwarding, err)
	}
	if !evalIn[bool](t, ctx, `window.__sameDocument === true`) {
		t.Error("the page was reloaded")
	}
	if errs := evalIn[string](t, ctx, `JSON.stringify(window.__errs || [])`); errs != "[]" {
		t.Errorf("script errors: %s", errs)
	}
}

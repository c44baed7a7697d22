package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// overflowJS lists the elements that reach past the viewport's right edge,
// and the page's scroll width: at 360 px nothing may scroll sideways.
const overflowJS = `(function () {
	var w = document.documentElement.clientWidth, out = [];
	document.querySelectorAll('body *').forEach(function (e) {
		var r = e.getBoundingClientRect();
		if (r.width === 0 || r.right <= w + 0.5) return;
		// Inside a box that scrolls on its own (a table, a code block): fine.
		for (var p = e.parentElement; p && p !== document.body; p = p.parentElement) {
			var s = getComputedStyle(p);
			if ((s.overflowX === 'auto' || s.overflowX === 'scroll') && p.getBoundingClientRect().right <= w + 0.5) return;
		}
		out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().replace(/\s+/g, '.') : '') + ' right=' + Math.round(r.right));
	});
	return JSON.stringify({scroll: document.documentElement.scrollWidth, width: w, over: out.slice(0, 15)});
})()`

func checkNoOverflow(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	got := evalIn[string](t, ctx, overflowJS)
	if !strings.Contains(got, `"over":[]`) || !strings.Contains(got, `"scroll":360,`) {
		t.Errorf("%s overflows 360 px: %s", where, got)
	}
}

// TestBrowserFits360 loads the home page and the inspector, with a request
// whose query string is long and every settings panel open, 360 px wide:
// nothing may scroll sideways, and the request's actions stay near the top.
func TestBrowserFits360(t *testing.T) {
	a := newTestApp(t)
	ctx := newBrowser(t)
	step(t, ctx, 10*time.Second, "home at 360 px",
		chromedp.EmulateViewport(360, 800),
		chromedp.Navigate(a.ts.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#new-bin")),
	)
	checkNoOverflow(t, ctx, "home")

	captureURL := newBinPage(t, a, ctx)
	long := "?" + strings.Repeat("utm_source=newsletter&", 40) + "token=" + strings.Repeat("x", 300)
	req, _ := http.NewRequest("POST", captureURL+"/a/rather/long/path/"+strings.Repeat("segment/", 12)+long, strings.NewReader(`{"a":"`+strings.Repeat("b", 500)+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Long", strings.Repeat("v", 400))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	step(t, ctx, 10*time.Second, "open the request",
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_1"]`)),
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('details').forEach(function (d) { d.open = true; })`),
		// Long things shown on request: a login link and a new token.
		chromedp.Click(chromedp.CSS(`#login-link-new`)),
		chromedp.WaitVisible(chromedp.CSS(`#login-link-out`)),
		chromedp.Click(chromedp.CSS(`[data-new-token]`)),
		chromedp.WaitVisible(chromedp.CSS(`#token-out`)),
		chromedp.Sleep(200*time.Millisecond),
	)
	checkNoOverflow(t, ctx, "inspector")
	// The login link's page and a bin's not-found page with its token form.
	binID := strings.TrimPrefix(captureURL, a.ts.URL+"/b/")
	link := evalIn[string](t, ctx, `(function () {
		var x = new XMLHttpRequest();
		x.open('POST', '/api/bins/`+binID+`/login-links', false);
		x.setRequestHeader('Content-Type', 'application/json');
		x.send('{}');
		return JSON.parse(x.responseText).url;
	})()`)
	other := newBrowser(t)
	step(t, other, 10*time.Second, "a login link at 360 px",
		chromedp.EmulateViewport(360, 800),
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#login-link-open")),
	)
	checkNoOverflow(t, other, "login link page")
	step(t, other, 10*time.Second, "a foreign bin's page at 360 px",
		chromedp.Navigate(a.ts.URL+"/bins/"+binID),
		chromedp.WaitVisible(chromedp.CSS("#unlock-token")),
		chromedp.SendKeys(chromedp.CSS("#unlock-token"), "wrong"),
		chromedp.Click(chromedp.CSS("#unlock-open")),
		chromedp.WaitVisible(chromedp.CSS("#unlock-error")),
	)
	checkNoOverflow(t, other, "not-found page with the token form")
	step(t, ctx, 10*time.Second, "the inspector again", chromedp.Navigate(a.ts.URL+"/bins/"+binID+"?req=req_1"),
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_1"]`)))
	// The request's actions are within the first two screens of the details.
	top := evalIn[float64](t, ctx, `(function () {
		var d = document.querySelector('#detail'), a = d.querySelector('.detail-actions, [data-curl]');
		return a.getBoundingClientRect().top - d.getBoundingClientRect().top;
	})()`)
	if top > 400 {
		t.Errorf("the request's actions are %v px below the top of its details", top)
	}
}

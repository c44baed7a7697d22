package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tailhook-dev/tailhook/views"
)

// TestBrowserLoginLink opens a bin in a second browser through "Open on
// another device": the link's button adds the bin there, once.
func TestBrowserLoginLink(t *testing.T) {
	a := newTestApp(t)
	owner := newBrowser(t)
	captureURL := newBinPage(t, a, owner)
	step(t, owner, 5*time.Second, "make a login link",
		chromedp.Click(chromedp.CSS(`#other-device summary`)),
		chromedp.Click(chromedp.CSS(`#login-link-new`)),
		chromedp.WaitVisible(chromedp.CSS(`#login-link-out`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('#login-link-url').textContent !== ''`),
	)
	link := evalIn[string](t, owner, `document.querySelector('#login-link-url').textContent`)
	if !strings.HasPrefix(link, a.ts.URL+"/login/") {
		t.Fatalf("login link %q", link)
	}
	// Its QR code is beside it, drawn by the server: the path shown is the
	// QR of this link (views' TestQRDecodesToText decodes NewQR's paths).
	want, err := views.NewQR(link)
	if err != nil {
		t.Fatal(err)
	}
	qr := evalIn[map[string]any](t, owner, `(function () {
		var svg = document.querySelector('#login-link-out #login-link-qr svg.qr'), r = svg.getBoundingClientRect();
		return {d: svg.querySelector('path').getAttribute('d'), box: svg.getAttribute('viewBox'), w: r.width, h: r.height};
	})()`)
	if qr["d"] != want.Path || qr["box"] != fmt.Sprintf("0 0 %d %d", want.Size, want.Size) {
		t.Fatalf("the QR shown (%v, %.60v) is not the link's (%d, %.60v)", qr["box"], qr["d"], want.Size, want.Path)
	}
	if w, _ := qr["w"].(float64); w < 120 || qr["w"] != qr["h"] {
		t.Fatalf("QR drawn %v × %v px", qr["w"], qr["h"])
	}

	other := newBrowser(t)
	step(t, other, 10*time.Second, "open the link in another browser",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`#login-link-open`)),
		chromedp.Click(chromedp.CSS(`#login-link-open`)),
		chromedp.WaitVisible(chromedp.CSS(`#capture-url`)),
		chromedp.WaitVisible(chromedp.CSS(`#live-status[data-state="live"]`)),
	)
	if got := evalIn[string](t, other, `document.querySelector('#capture-url').textContent`); got != captureURL {
		t.Fatalf("second browser shows %q, want %q", got, captureURL)
	}
	// The link is spent.
	step(t, other, 10*time.Second, "open the link again",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`h1`)),
	)
	if h := evalIn[string](t, other, `document.querySelector('h1').textContent`); !strings.Contains(h, "does not work") {
		t.Fatalf("a used link shows %q", h)
	}
}

// TestBrowserTokenForm unlocks an API-made bin with its token on the bin's
// not-found page.
func TestBrowserTokenForm(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	ctx := newBrowser(t)
	step(t, ctx, 10*time.Second, "open the bin's page, try a wrong token",
		chromedp.Navigate(bin.InspectURL),
		chromedp.WaitVisible(chromedp.CSS(`#unlock-token`)),
		chromedp.SendKeys(chromedp.CSS(`#unlock-token`), "wrong"),
		chromedp.Click(chromedp.CSS(`#unlock-open`)),
		chromedp.WaitVisible(chromedp.CSS(`#unlock-error`)),
	)
	if n := evalIn[int](t, ctx, `document.querySelectorAll('#capture-url').length`); n != 0 {
		t.Fatal("a wrong token showed the bin")
	}
	step(t, ctx, 10*time.Second, "the right token",
		chromedp.SendKeys(chromedp.CSS(`#unlock-token`), bin.Token),
		chromedp.Click(chromedp.CSS(`#unlock-open`)),
		chromedp.WaitVisible(chromedp.CSS(`#capture-url`)),
	)
	if got := evalIn[string](t, ctx, `document.querySelector('#capture-url').textContent`); got != bin.CaptureURL {
		t.Fatalf("capture URL %q, want %q", got, bin.CaptureURL)
	}
}

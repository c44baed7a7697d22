package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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

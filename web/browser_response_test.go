package web

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func captureOnce(t *testing.T, u string) (int, string) {
	t.Helper()
	res, err := http.Post(u, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestBrowserResponseSave: the response panel confirms a save in place,
// updates its summary without a reload, and never saves its placeholders.
func TestBrowserResponseSave(t *testing.T) {
	a := newTestApp(t)
	ctx := newBrowser(t)
	captureURL := newBinPage(t, a, ctx)
	step(t, ctx, 5*time.Second, "change only the status",
		chromedp.Click(chromedp.CSS(`#response-panel summary`)),
		chromedp.SetValue(chromedp.CSS(`#response-form [name=status]`), "201"),
		chromedp.Click(chromedp.CSS(`#response-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('#response-summary').textContent === '201'`),
	)
	if s := evalIn[string](t, ctx, `document.querySelector('#response-form .form-status').textContent`); !strings.HasPrefix(s, "Saved") {
		t.Fatalf("no confirmation in place: %q", s)
	}
	if code, body := captureOnce(t, captureURL); code != 201 || body != "" {
		t.Fatalf("capture answered %d %q, want 201 with no body (the placeholder is not a value)", code, body)
	}
	step(t, ctx, 5*time.Second, "a body and a delay",
		chromedp.SetValue(chromedp.CSS(`#response-form [name=body]`), "hello"),
		chromedp.SetValue(chromedp.CSS(`#response-form [name=delay_ms]`), "5"),
		chromedp.Click(chromedp.CSS(`#response-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('#response-summary').textContent === '201 after 5 ms'`),
	)
	if code, body := captureOnce(t, captureURL); code != 201 || body != "hello" {
		t.Fatalf("capture answered %d %q", code, body)
	}
	step(t, ctx, 5*time.Second, "restore the default",
		chromedp.Click(chromedp.CSS(`[data-reset-response]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('#response-summary').textContent.indexOf('default') === 0`),
	)
	if v := evalIn[string](t, ctx, `document.querySelector('#response-form [name=body]').value`); v != "" {
		t.Fatalf("body after restore: %q", v)
	}
	if code, body := captureOnce(t, captureURL); code != 200 || body != `{"ok":true,"id":"req_3"}`+"\n" {
		t.Fatalf("default answer %d %q", code, body)
	}
	// After a reload the form still holds no placeholder as a value.
	step(t, ctx, 10*time.Second, "reload",
		chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#live-status[data-state="live"]`)))
	if v := evalIn[string](t, ctx, `document.querySelector('#response-form [name=body]').value + document.querySelector('#response-form [name=headers]').value`); v != "" {
		t.Fatalf("default response form has values %q", v)
	}
}

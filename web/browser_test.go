package web

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/tailhook-dev/tailhook/storage"
)

// chromiumPath finds a Chromium to drive. In CI (CI=true) a missing browser
// fails the test; elsewhere the test is skipped with a note.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no Chromium found (install Debian's chromium, or set CHROMIUM=/path/to/chrome)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; browser tests are required in CI")
	}
	t.Skip(msg + "; skipping the browser test")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and returns a
// tab's context. Each call is a separate browser: separate cookies.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// Start the browser now, without a deadline (a deadline on the first
	// run would end the browser with it).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// step runs actions with a deadline.
func step(t *testing.T, ctx context.Context, d time.Duration, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func evalIn[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// newBinPage creates a bin from the home page in the browser of ctx, waits
// for its inspector to be live, and returns the bin's capture URL.
func newBinPage(t *testing.T, a *testApp, ctx context.Context) string {
	t.Helper()
	step(t, ctx, 15*time.Second, "open / and create a bin",
		chromedp.Navigate(a.ts.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#new-bin")),
		chromedp.Click(chromedp.CSS("#new-bin")),
		chromedp.WaitVisible(chromedp.CSS("#capture-url")),
		chromedp.WaitVisible(chromedp.CSS(`#live-status[data-state="live"]`)),
	)
	return evalIn[string](t, ctx, `document.querySelector('#capture-url').textContent`)
}

// TestBrowserLiveInspector is the newcomer's path in a real browser: create a
// bin, send it a hostile request, watch it arrive live, open it, and make sure
// nothing the sender wrote runs.
func TestBrowserLiveInspector(t *testing.T) {
	a := newTestApp(t)
	ctx := newBrowser(t)

	captureURL := newBinPage(t, a, ctx)
	if !strings.HasPrefix(captureURL, a.ts.URL+"/b/") {
		t.Fatalf("capture URL %q is not under %s/b/", captureURL, a.ts.URL)
	}

	const payload = `<img src=x onerror="window.__pwned=1">`
	req, _ := http.NewRequest("POST", captureURL+"/hook?q="+strings.ReplaceAll(payload, " ", "%20")+"&n=1", strings.NewReader(`{"html":"`+strings.ReplaceAll(payload, `"`, `\"`)+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hostile", payload)
	sent := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("capture: %d", res.StatusCode)
	}

	// No reload: the row comes over the page's event stream.
	step(t, ctx, 2*time.Second, "the request appears live within 2 s",
		chromedp.WaitVisible(chromedp.CSS(`#request-list [data-request-id="req_1"]`)))
	t.Logf("request appeared %v after it was sent", time.Since(sent).Round(time.Millisecond))

	step(t, ctx, 5*time.Second, "open the request",
		chromedp.Click(chromedp.CSS(`#request-list [data-request-id="req_1"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_1"]`)),
	)
	detail := evalIn[string](t, ctx, `document.querySelector('#detail').textContent`)
	for _, where := range []string{"headers-table", "query-table"} {
		text := evalIn[string](t, ctx, `document.getElementById('`+where+`').textContent`)
		if !strings.Contains(text, payload) {
			t.Errorf("%s does not show the payload as text: %q", where, text)
		}
	}
	if !strings.Contains(detail, `"html": "<img src=x onerror=\"window.__pwned=1\">"`) {
		t.Errorf("body does not show the payload as text; details: %q", detail)
	}
	if n := evalIn[int](t, ctx, `document.querySelectorAll('img[src="x"], [onerror]').length`); n != 0 {
		t.Errorf("%d elements were created from captured bytes", n)
	}
	if pwned := evalIn[bool](t, ctx, `window.__pwned === 1`); pwned {
		t.Error("the payload ran")
	}

	// j/k move through requests; the second arrives live too.
	a.do("GET", "/b/"+strings.TrimPrefix(captureURL, a.ts.URL+"/b/")+"/second", "", nil, "")
	step(t, ctx, 2*time.Second, "second request arrives",
		chromedp.WaitVisible(chromedp.CSS(`#request-list [data-request-id="req_2"]`)))
	step(t, ctx, 5*time.Second, "k selects the newer request",
		chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`),
		chromedp.KeyEvent("k"),
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_2"]`)),
	)

	// Another browser cannot see the bin.
	other := newBrowser(t)
	var status int64
	step(t, other, 10*time.Second, "second browser opens the bin",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			resp, err := chromedp.NavigateResponse(strings.Replace(captureURL, "/b/", "/bins/", 1))(ctx, tg)
			if err == nil {
				status = resp.Status
			}
			return err
		}))
	if status != http.StatusNotFound {
		t.Errorf("second browser got %d for the bin, want 404", status)
	}
}

// TestBrowserDeletesReachOtherTabs: what is deleted elsewhere (another tab,
// the API) leaves the open inspector without a reload, which keeps showing
// what it had open; its own Delete and a later capture work as before.
func TestBrowserDeletesReachOtherTabs(t *testing.T) {
	a := newTestApp(t)
	ctx := newBrowser(t)
	captureURL := newBinPage(t, a, ctx)
	api := "/api/bins/" + strings.TrimPrefix(captureURL, a.ts.URL+"/b/") + "/requests"
	capture := func(path string) {
		t.Helper()
		res, err := http.Post(captureURL+path, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	// elsewhere deletes with this browser's session but outside the page's
	// own handlers, as another tab does: only the stream tells the page.
	elsewhere := func(path string) {
		t.Helper()
		evalIn[bool](t, ctx, `fetch(`+strconv.Quote(path)+`, {method: 'DELETE', credentials: 'same-origin'}), true`)
	}
	for _, p := range []string{"/one", "/two", "/three", "/four"} {
		capture(p)
	}
	step(t, ctx, 5*time.Second, "the four arrive; open req_4",
		chromedp.WaitVisible(chromedp.CSS(`#request-list [data-request-id="req_1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#request-list [data-request-id="req_4"]`)),
		chromedp.Click(chromedp.CSS(`#request-list [data-request-id="req_4"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_4"]`)),
	)
	elsewhere(api + "/req_1")
	step(t, ctx, 5*time.Second, "req_1 leaves the list; req_4 stays open",
		chromedp.WaitNotPresent(chromedp.CSS(`#request-list [data-request-id="req_1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_4"]`)),
	)
	if n := evalIn[int](t, ctx, `document.querySelectorAll('#request-list .req').length`); n != 3 {
		t.Errorf("%d requests listed, want 3", n)
	}
	elsewhere(api + "/req_4")
	step(t, ctx, 5*time.Second, "the open request deleted elsewhere: the next one is shown",
		chromedp.WaitNotPresent(chromedp.CSS(`#request-list [data-request-id="req_4"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_3"]`)),
	)
	step(t, ctx, 5*time.Second, "the page's own Delete",
		chromedp.Click(chromedp.CSS(`#detail [data-detail-id="req_3"] [data-delete]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#request-list [data-request-id="req_3"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_2"]`)),
	)
	elsewhere(api)
	step(t, ctx, 5*time.Second, "cleared elsewhere: the list empties",
		chromedp.WaitNotPresent(chromedp.CSS(`#request-list .req`)),
		chromedp.WaitVisible(chromedp.CSS(`#list-empty`)),
	)
	capture("/five")
	step(t, ctx, 5*time.Second, "a new capture still arrives",
		chromedp.WaitVisible(chromedp.CSS(`#request-list [data-request-id="req_5"]`)))
	elsewhere(strings.TrimSuffix(api, "/requests"))
	step(t, ctx, 5*time.Second, "the bin deleted elsewhere: the page says so",
		chromedp.WaitVisible(chromedp.CSS(`#live-status[data-state="deleted"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#request-list .req`)),
	)
	if text := evalIn[string](t, ctx, `document.querySelector('#detail').textContent`); !strings.Contains(text, "This bin was deleted.") {
		t.Errorf("details pane: %q", text)
	}
}

// TestBrowserTitleCountsUnseen: while the tab is hidden its title counts
// the requests that arrived; coming back resets it.
func TestBrowserTitleCountsUnseen(t *testing.T) {
	a := newTestApp(t)
	ctx := newBrowser(t)
	captureURL := newBinPage(t, a, ctx)
	title := evalIn[string](t, ctx, `document.title`)
	// Headless tabs are always visible: play the browser's part.
	evalIn[bool](t, ctx, `window.__hidden = true; Object.defineProperty(document, 'hidden', {configurable: true, get: function () { return window.__hidden; }}); true`)
	for _, p := range []string{"/one", "/two"} {
		res, err := http.Post(captureURL+p, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	step(t, ctx, 5*time.Second, "the hidden tab's title counts two",
		chromedp.Poll[chromedp.Void](`document.title === `+strconv.Quote("(2) "+title)))
	evalIn[bool](t, ctx, `window.__hidden = false; document.dispatchEvent(new Event('visibilitychange')); true`)
	if got := evalIn[string](t, ctx, `document.title`); got != title {
		t.Errorf("title after coming back: %q, want %q", got, title)
	}
}

// TestBrowserRenamesBin: the heading's Rename button renames the bin; the
// heading, the tab's title and the home page's list follow.
func TestBrowserRenamesBin(t *testing.T) {
	a := newTestApp(t)
	ctx := newBrowser(t)
	captureURL := newBinPage(t, a, ctx)
	binID := strings.TrimPrefix(captureURL, a.ts.URL+"/b/")
	// Inline: the heading becomes a field; Escape cancels, Enter saves.
	step(t, ctx, 5*time.Second, "start renaming, cancel",
		chromedp.Click(chromedp.CSS(`[data-rename]`)),
		chromedp.WaitVisible(chromedp.CSS(`#rename-input`)),
		chromedp.SendKeys(chromedp.CSS(`#rename-input`), "nope"+kb.Escape),
		chromedp.WaitNotPresent(chromedp.CSS(`#rename-input`)),
	)
	if got := evalIn[string](t, ctx, `document.querySelector('#bin-title').textContent.trim()`); got != "Bin "+binID {
		t.Fatalf("after Escape the heading is %q", got)
	}
	step(t, ctx, 5*time.Second, "rename",
		chromedp.Click(chromedp.CSS(`[data-rename]`)),
		chromedp.WaitVisible(chromedp.CSS(`#rename-input`)),
		chromedp.SetValue(chromedp.CSS(`#rename-input`), "stripe <dev>"),
		chromedp.SendKeys(chromedp.CSS(`#rename-input`), kb.Enter),
		chromedp.Poll[chromedp.Void](`document.querySelector('#bin-title').textContent.trim() === 'stripe <dev>'`),
		chromedp.WaitNotPresent(chromedp.CSS(`#rename-input`)),
	)
	if got := evalIn[string](t, ctx, `document.title`); got != "stripe <dev> · tailhook" {
		t.Errorf("title %q", got)
	}
	if n := evalIn[int](t, ctx, `document.querySelectorAll('#bin-title *').length`); n != 0 {
		t.Errorf("the name was parsed as markup (%d elements)", n)
	}
	step(t, ctx, 10*time.Second, "the home page lists the new name",
		chromedp.Navigate(a.ts.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-bin-id="`+binID+`"]`)),
	)
	if got := evalIn[string](t, ctx, `document.querySelector('[data-bin-id="`+binID+`"] .bin-name').textContent.trim()`); got != "stripe <dev>" {
		t.Errorf("home page lists %q", got)
	}
}

// TestBrowserDeletesBin: the bin's own page deletes it, after asking, and
// goes home, where the bin is no longer listed; its capture URL is gone.
func TestBrowserDeletesBin(t *testing.T) {
	a := newTestApp(t)
	ctx := newBrowser(t)
	captureURL := newBinPage(t, a, ctx)
	binID := strings.TrimPrefix(captureURL, a.ts.URL+"/b/")
	evalIn[bool](t, ctx, `window.confirm = function () { return true; }, true`)
	step(t, ctx, 10*time.Second, "delete the bin from its settings",
		chromedp.Click(chromedp.CSS(`#delete-panel summary`)),
		chromedp.Click(chromedp.CSS(`[data-delete-bin]`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-bin`)),
	)
	if n := evalIn[int](t, ctx, `document.querySelectorAll('[data-bin-id="`+binID+`"]').length`); n != 0 {
		t.Errorf("the deleted bin is still listed on the home page")
	}
	res, err := http.Post(captureURL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("capture to the deleted bin: %d, want 404", res.StatusCode)
	}
}

// TestBrowserCreatesToken: a bin made in the browser gets an API token from
// its page, with the relay command ready to copy, and the token works.
func TestBrowserCreatesToken(t *testing.T) {
	a := newTestApp(t)
	ctx := newBrowser(t)
	captureURL := newBinPage(t, a, ctx)
	step(t, ctx, 5*time.Second, "ask for a token",
		chromedp.Click(chromedp.CSS(`#api-access summary`)),
		chromedp.Click(chromedp.CSS(`[data-new-token]`)),
		chromedp.WaitVisible(chromedp.CSS(`#token-out`)),
	)
	token := evalIn[string](t, ctx, `document.querySelector('#bin-token').textContent`)
	relay := evalIn[string](t, ctx, `document.querySelector('#relay-command').textContent`)
	if want := "tailhook relay " + captureURL + " --to http://localhost:3000 --token " + token; token == "" || relay != want {
		t.Fatalf("relay command %q, want %q", relay, want)
	}
	binID := strings.TrimPrefix(captureURL, a.ts.URL+"/b/")
	if res := a.do("GET", "/api/bins/"+binID, token, nil, ""); res.StatusCode != http.StatusOK {
		t.Fatalf("the token from the page: %d", res.StatusCode)
	}
	// A second one replaces the first (after a confirmation).
	evalIn[bool](t, ctx, `window.confirm = function () { return true; }, true`)
	step(t, ctx, 5*time.Second, "replace the token",
		chromedp.Click(chromedp.CSS(`[data-new-token]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('#bin-token').textContent !== `+strconv.Quote(token)),
	)
	if res := a.do("GET", "/api/bins/"+binID, token, nil, ""); res.StatusCode != http.StatusNotFound {
		t.Fatalf("the replaced token: %d, want 404", res.StatusCode)
	}
}

// TestScreenshots refreshes docs/inspector-{light,dark}.png. It runs only
// when asked: TAILHOOK_SCREENSHOTS=1 go test -run TestScreenshots ./web/
func TestScreenshots(t *testing.T) {
	if os.Getenv("TAILHOOK_SCREENSHOTS") == "" {
		t.Skip("set TAILHOOK_SCREENSHOTS=1 to refresh docs/inspector-*.png")
	}
	a := newTestApp(t, func(c *Config, _ *storage.Options) { c.Version = "v0.1.0" })
	ctx := newBrowser(t)
	// The bin gets a Stripe check and a share link through the panels' API,
	// so the shots show verdicts and the settings panels.
	step(t, ctx, 15*time.Second, "create a bin",
		chromedp.Navigate(a.ts.URL+"/"),
		chromedp.SendKeys(chromedp.CSS("#bin-name"), "stripe-dev"),
		chromedp.Click(chromedp.CSS("#new-bin")),
		chromedp.WaitVisible(chromedp.CSS(`#live-status[data-state="live"]`)),
	)
	captureURL := evalIn[string](t, ctx, `document.querySelector('#capture-url').textContent`)
	send := func(method, path, ctype, body string, h map[string]string) {
		req, _ := http.NewRequest(method, captureURL+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		for k, v := range h {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		time.Sleep(30 * time.Millisecond)
	}
	send("GET", "/health?probe=uptime", "", "", map[string]string{"User-Agent": "UptimeRobot/2.0"})
	send("POST", "/github", "application/json", `{"ref":"refs/heads/main","repository":{"full_name":"acme/api"},"pusher":{"name":"octocat"}}`,
		map[string]string{"X-GitHub-Event": "push", "User-Agent": "GitHub-Hookshot/4f1b2c9"})
	send("POST", "/forms/contact", "application/x-www-form-urlencoded", "name=Ada+Lovelace&email=ada%40example.com&message=Hello%21", nil)
	send("PUT", "/upload", "application/octet-stream", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", nil)
	evalIn[bool](t, ctx, `(function () {
		var send = function (m, path, body) {
			var x = new XMLHttpRequest();
			x.open(m, '/api/bins/' + document.querySelector('#inspector').dataset.bin + path, false);
			x.setRequestHeader('Content-Type', 'application/json');
			x.send(JSON.stringify(body));
			return x.status < 300;
		};
		return send('PUT', '/signature', { provider: 'stripe', secret: 'whsec_c2NyZWVuc2hvdC1zZWNyZXQtb25seQ' }) &&
			send('POST', '/shares', { expires_in: '7d' });
	})()`)
	send("POST", "/stripe?livemode=false", "application/json; charset=utf-8",
		`{"id":"evt_1QxY8B2eZvKYlo2C","object":"event","api_version":"2024-06-20","created":1732700000,"type":"payment_intent.succeeded","livemode":false,"data":{"object":{"id":"pi_3QxY8A2eZvKYlo2C0","object":"payment_intent","amount":4200,"currency":"eur","status":"succeeded","metadata":{"order_id":"A-1042"},"receipt_email":null}}}`,
		map[string]string{"Stripe-Signature": "t=1732700000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd", "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"})
	// A signed test event (✓) beside the forged Stripe one (✗).
	evalIn[bool](t, ctx, `(function () {
		var x = new XMLHttpRequest();
		x.open('POST', '/api/bins/' + document.querySelector('#inspector').dataset.bin + '/samples', false);
		x.setRequestHeader('Content-Type', 'application/json');
		x.send('{"provider":"stripe"}');
		return x.status === 201;
	})()`)
	step(t, ctx, 5*time.Second, "rows arrive",
		chromedp.WaitVisible(chromedp.CSS(`#request-list [data-request-id="req_6"]`)),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#live-status[data-state="live"]`)),
		chromedp.Click(chromedp.CSS(`#request-list [data-request-id="req_6"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_6"] .verdict`)),
	)
	for _, scheme := range []string{"light", "dark"} {
		var png []byte
		step(t, ctx, 10*time.Second, "screenshot "+scheme,
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
					Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
				return err
			}),
			chromedp.EmulateViewport(1280, 1500),
			chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('.req.new').forEach(r => r.classList.remove('new')); window.scrollTo(0, 0)`),
			chromedp.Sleep(300*time.Millisecond),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				var err error
				png, err = chromedp.CaptureScreenshot()(ctx, tg)
				return err
			}),
		)
		out := filepath.Join("..", "docs", "inspector-"+scheme+".png")
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d KiB)", out, len(png)/1024)
	}
	// The settings panels, light.
	var png []byte
	step(t, ctx, 10*time.Second, "screenshot settings",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}})
			return err
		}),
		chromedp.EmulateViewport(1280, 1000),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#signature-panel').open = true; document.querySelector('.settings').scrollIntoView()`),
		chromedp.Sleep(300*time.Millisecond),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			var err error
			png, err = chromedp.CaptureScreenshot()(ctx, tg)
			return err
		}),
	)
	out := filepath.Join("..", "docs", "inspector-settings.png")
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d KiB)", out, len(png)/1024)
	if os.Getenv("TAILHOOK_SCREENSHOTS") != "all" {
		return
	}
	// For review only: the phone layout and the landing page.
	for name, url := range map[string]string{"mobile": "", "home": a.ts.URL + "/"} {
		var png []byte
		w, h := int64(360), int64(1400)
		if name == "home" {
			w, h = 1280, 800
		}
		actions := []chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(w, h)}
		if url != "" {
			actions = append(actions, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#new-bin")))
		}
		actions = append(actions, chromedp.Sleep(300*time.Millisecond), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			var err error
			png, err = chromedp.CaptureScreenshot()(ctx, tg)
			return err
		}))
		step(t, ctx, 10*time.Second, "screenshot "+name, actions...)
		out := filepath.Join(os.TempDir(), "tailhook-"+name+".png")
		os.WriteFile(out, png, 0o644)
		t.Logf("wrote %s", out)
	}
}

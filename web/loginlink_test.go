package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/tailhook-dev/tailhook/storage"
	"github.com/tailhook-dev/tailhook/views"
)

// browserClient is a cookie-keeping client that does not follow redirects:
// one "browser" for the session tests.
func (a *testApp) browserClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func send(t *testing.T, c *http.Client, method, u string, header http.Header, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(b)
}

var formHeader = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}

func TestLoginLinkAPI(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC).UnixMilli())
	a := newTestApp(t, func(_ *Config, o *storage.Options) {
		o.Now = func() time.Time { return time.UnixMilli(clock.Load()) }
	})
	bin := a.newBin()
	path := "/api/bins/" + bin.ID + "/login-links"

	for _, bad := range []string{`{"expires_in":"25h"}`, `{"expires_in":"2d"}`, `{"expires_in":"0s"}`, `{"expires_in":"soon"}`, `{"nope":1}`} {
		if res := a.do("POST", path, bin.Token, nil, bad); res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", bad, res.StatusCode, res.body)
		}
	}
	if res := a.do("POST", path, "", nil, ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("without the token: %d, want 404", res.StatusCode)
	}
	create := func(body string) (string, time.Time) {
		t.Helper()
		res := a.do("POST", path, bin.Token, nil, body)
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("create login link: %d %s", res.StatusCode, res.body)
		}
		var l struct {
			URL       string `json:"url"`
			ExpiresAt string `json:"expires_at"`
		}
		if err := json.Unmarshal(res.body, &l); err != nil {
			t.Fatal(err)
		}
		exp, err := time.Parse(time.RFC3339Nano, l.ExpiresAt)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(l.URL, a.ts.URL+"/login/") {
			t.Fatalf("url %q", l.URL)
		}
		return l.URL, exp
	}
	now := time.UnixMilli(clock.Load())
	link, exp := create("")
	if !exp.Equal(now.Add(15 * time.Minute)) {
		t.Errorf("default expiry %v, want 15 minutes after %v", exp, now)
	}
	if _, exp := create(`{"expires_in":"24h"}`); !exp.Equal(now.Add(24 * time.Hour)) {
		t.Errorf("24h link expires %v", exp)
	}

	// Opening the link changes nothing; a link preview cannot spend it.
	browser := a.browserClient()
	for range 2 {
		code, _, body := send(t, browser, "GET", link, nil, "")
		if code != 200 || !strings.Contains(body, `id="login-link-open"`) || !strings.Contains(body, bin.ID) {
			t.Fatalf("GET the link: %d %s", code, body)
		}
	}
	// A cross-site form cannot use it.
	code, _, _ := send(t, browser, "POST", link, http.Header{"Sec-Fetch-Site": {"cross-site"}}, "")
	if code != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d, want 403", code)
	}
	if code, _, _ := send(t, browser, "GET", a.ts.URL+"/bins/"+bin.ID, nil, ""); code != http.StatusNotFound {
		t.Fatalf("inspector before the link is used: %d, want 404", code)
	}
	code, h, _ := send(t, browser, "POST", link, http.Header{"Sec-Fetch-Site": {"same-origin"}}, "")
	if code != http.StatusSeeOther || h.Get("Location") != "/bins/"+bin.ID {
		t.Fatalf("use the link: %d → %q", code, h.Get("Location"))
	}
	if code, _, body := send(t, browser, "GET", a.ts.URL+"/bins/"+bin.ID, nil, ""); code != 200 || !strings.Contains(body, `id="capture-url"`) {
		t.Fatalf("inspector after the link: %d", code)
	}
	if code, _, body := send(t, browser, "GET", a.ts.URL+"/", nil, ""); code != 200 || !strings.Contains(body, `data-bin-id="`+bin.ID+`"`) {
		t.Fatalf("home page does not list the bin: %d", code)
	}
	// The browser's session works on the API too, like the creator's.
	if code, _, _ := send(t, browser, "GET", a.ts.URL+"/api/bins/"+bin.ID, nil, ""); code != 200 {
		t.Fatalf("API with the session: %d", code)
	}

	// Used: 404 for anyone, on both methods.
	other := a.browserClient()
	if code, _, _ := send(t, other, "GET", link, nil, ""); code != http.StatusNotFound {
		t.Fatalf("GET a used link: %d, want 404", code)
	}
	if code, _, _ := send(t, other, "POST", link, nil, ""); code != http.StatusNotFound {
		t.Fatalf("POST a used link: %d, want 404", code)
	}
	if code, _, _ := send(t, other, "GET", a.ts.URL+"/bins/"+bin.ID, nil, ""); code != http.StatusNotFound {
		t.Fatalf("a second browser got in: %d", code)
	}

	// Expired: 404.
	link2, _ := create(`{"expires_in":"1m"}`)
	clock.Add((time.Minute + time.Millisecond).Milliseconds())
	if code, _, _ := send(t, other, "GET", link2, nil, ""); code != http.StatusNotFound {
		t.Fatalf("GET an expired link: %d, want 404", code)
	}
	if code, _, _ := send(t, other, "POST", link2, nil, ""); code != http.StatusNotFound {
		t.Fatalf("POST an expired link: %d, want 404", code)
	}
	if code, _, _ := send(t, other, "GET", a.ts.URL+"/login/invented", nil, ""); code != http.StatusNotFound {
		t.Fatalf("GET an invented link: %d, want 404", code)
	}

	// Deleting the bin ends the access it gave.
	if res := a.do("DELETE", "/api/bins/"+bin.ID, bin.Token, nil, ""); res.StatusCode != 204 {
		t.Fatal(res.StatusCode)
	}
	if code, _, _ := send(t, browser, "GET", a.ts.URL+"/bins/"+bin.ID, nil, ""); code != http.StatusNotFound {
		t.Fatalf("deleted bin: %d", code)
	}
}

var nonceRE = regexp.MustCompile(`nonce="[^"]*"`)

func TestTokenFormOnNotFoundPage(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin() // an API bin: no browser owns it
	b := a.browserClient()
	u := a.ts.URL + "/bins/" + bin.ID

	page := func(code int, body string) string {
		t.Helper()
		if code != http.StatusNotFound {
			t.Fatalf("status %d, want 404", code)
		}
		if strings.Contains(body, "test") && strings.Contains(body, `id="capture-url"`) {
			t.Fatalf("the page shows the bin")
		}
		if !strings.Contains(body, `id="unlock-form"`) {
			t.Fatalf("no token form in %s", body)
		}
		return strings.ReplaceAll(nonceRE.ReplaceAllString(body, ""), bin.ID, "ID")
	}
	code, _, known := send(t, b, "GET", u, nil, "")
	known = page(code, known)
	code, _, unknown := send(t, b, "GET", a.ts.URL+"/bins/nosuchbinatall", nil, "")
	unknown = strings.ReplaceAll(page(code, unknown), "nosuchbinatall", "ID")
	if known != unknown {
		t.Errorf("a foreign bin's page differs from an unknown bin's:\n%s\n---\n%s", known, unknown)
	}

	// A wrong token: the same page with an error, for a real bin and for an
	// invented one alike.
	code, _, wrong := send(t, b, "POST", u+"/unlock", formHeader, url.Values{"token": {"nope"}}.Encode())
	wrong = page(code, wrong)
	code, _, wrong2 := send(t, b, "POST", a.ts.URL+"/bins/nosuchbinatall/unlock", formHeader, url.Values{"token": {"nope"}}.Encode())
	wrong2 = strings.ReplaceAll(page(code, wrong2), "nosuchbinatall", "ID")
	if !strings.Contains(wrong, `id="unlock-error"`) || wrong != wrong2 {
		t.Errorf("wrong token pages differ or lack the error:\n%s\n---\n%s", wrong, wrong2)
	}
	if code, _, _ := send(t, b, "GET", u, nil, ""); code != http.StatusNotFound {
		t.Fatalf("a wrong token let the browser in: %d", code)
	}
	// Cross-site: refused.
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Sec-Fetch-Site": {"cross-site"}}
	if code, _, _ := send(t, b, "POST", u+"/unlock", h, url.Values{"token": {bin.Token}}.Encode()); code != http.StatusForbidden {
		t.Fatalf("cross-site unlock: %d, want 403", code)
	}
	// The right token opens it here.
	code, hdr, _ := send(t, b, "POST", u+"/unlock", formHeader, url.Values{"token": {" " + bin.Token + " "}}.Encode())
	if code != http.StatusSeeOther || hdr.Get("Location") != "/bins/"+bin.ID {
		t.Fatalf("unlock: %d → %q", code, hdr.Get("Location"))
	}
	if code, _, body := send(t, b, "GET", u, nil, ""); code != 200 || !strings.Contains(body, `id="capture-url"`) {
		t.Fatalf("inspector after unlocking: %d", code)
	}
}

// TestLoginLinkFragment: the inspector's "Open on another device" gets the
// link and its QR code as a fragment, only for a browser (or token) that
// opens the bin, and only same-origin.
func TestLoginLinkFragment(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	path := "/bins/" + bin.ID + "/login-link"
	if res := a.do("POST", path, "", nil, ""); res.StatusCode != http.StatusNotFound {
		t.Fatalf("without the bin: %d, want 404", res.StatusCode)
	}
	if res := a.do("POST", path, bin.Token, http.Header{"Sec-Fetch-Site": {"cross-site"}}, ""); res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site: %d, want 403", res.StatusCode)
	}
	res := a.do("POST", path, bin.Token, nil, "")
	if res.StatusCode != http.StatusCreated || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("fragment: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(res.body))
	if err != nil {
		t.Fatal(err)
	}
	link := doc.Find("#login-link-url").Text()
	if !strings.HasPrefix(link, a.ts.URL+"/login/") {
		t.Fatalf("link %q", link)
	}
	want, err := views.NewQR(link)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := doc.Find("#login-link-qr svg path").Attr("d"); d != want.Path {
		t.Fatalf("the QR is not the link's")
	}
	if _, ok := doc.Find("#login-link-expiry time").Attr("datetime"); !ok {
		t.Fatal("no expiry")
	}
	// The link works, once.
	if code, _, body := send(t, a.browserClient(), "GET", link, nil, ""); code != http.StatusOK || !strings.Contains(body, `id="login-link-open"`) {
		t.Fatalf("the link's page: %d", code)
	}
}

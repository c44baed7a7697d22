package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/tailhook-dev/tailhook/static"
	"github.com/tailhook-dev/tailhook/storage"
)

// page GETs path with client c and parses the HTML.
func (a *testApp) page(c *http.Client, path string, wantStatus int) (*goquery.Document, *http.Response) {
	a.t.Helper()
	if c == nil {
		c = &http.Client{}
	}
	res, err := c.Get(a.ts.URL + path)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != wantStatus {
		b, _ := io.ReadAll(res.Body)
		a.t.Fatalf("GET %s: %d, want %d: %.300s", path, res.StatusCode, wantStatus, b)
	}
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return doc, res
}

func TestHomePage(t *testing.T) {
	a := newTestApp(t)
	doc, res := a.page(nil, "/", http.StatusOK)
	if doc.Find(`form[method="post"][action="/bins"]`).Length() == 0 {
		t.Error(`no <form method="post" action="/bins">`)
	}
	if !strings.Contains(doc.Find("h1").Text(), "webhook") || doc.Find(".lede").Text() == "" {
		t.Error("the landing page does not say what tailhook is")
	}
	checkPageHeaders(t, res, doc)

	c1, bin1 := a.browserBin("first <b>bin</b>")
	_, bin2 := a.browserBin("someone else's")
	doc, _ = a.page(c1, "/", http.StatusOK)
	items := doc.Find("[data-bin-id]")
	if items.Length() != 1 || items.AttrOr("data-bin-id", "") != bin1 {
		t.Fatalf("home lists %d bins, want only %s (not %s)", items.Length(), bin1, bin2)
	}
	if !strings.Contains(items.Text(), "first <b>bin</b>") || items.Find("b").Length() != 0 {
		t.Errorf("bin name not shown as text: %q", items.Text())
	}
}

// checkPageHeaders checks the security headers of a page and that its
// scripts carry the CSP nonce.
func checkPageHeaders(t *testing.T, res *http.Response, doc *goquery.Document) {
	t.Helper()
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self' 'nonce-", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP is not strict: %q", csp)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers: nosniff=%q referrer=%q", res.Header.Get("X-Content-Type-Options"), res.Header.Get("Referrer-Policy"))
	}
	doc.Find("script").Each(func(_ int, s *goquery.Selection) {
		nonce, _ := s.Attr("nonce")
		src, _ := s.Attr("src")
		if nonce == "" || !strings.Contains(csp, "'nonce-"+nonce+"'") || !strings.HasPrefix(src, "/static/") {
			t.Errorf("script src=%q nonce=%q does not match the CSP", src, nonce)
		}
	})
	if doc.Find("[style]").Length() > 0 {
		t.Error("inline style attributes would be blocked by the CSP")
	}
}

func TestCreateBinFromBrowser(t *testing.T) {
	a := newTestApp(t, func(c *Config, _ *storage.Options) { c.TrustProxy = true })
	for _, tc := range []struct {
		name       string
		header     http.Header
		wantSecure bool
	}{
		{"plain http", nil, false},
		{"behind a TLS proxy", http.Header{"X-Forwarded-Proto": {"https"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", a.ts.URL+"/bins", strings.NewReader("name=dev"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.header {
				req.Header[k] = v
			}
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/bins/") {
				t.Fatalf("POST /bins: %d → %q", res.StatusCode, res.Header.Get("Location"))
			}
			cookies := res.Cookies()
			if len(cookies) != 1 {
				t.Fatalf("want one cookie, got %v", cookies)
			}
			c := cookies[0]
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != tc.wantSecure {
				t.Errorf("cookie: HttpOnly=%v SameSite=%v Path=%q Secure=%v", c.HttpOnly, c.SameSite, c.Path, c.Secure)
			}
			if len(c.Value) > 300 {
				t.Errorf("the session should hold only an id; cookie is %d bytes", len(c.Value))
			}
		})
	}
}

func TestCrossSiteProtection(t *testing.T) {
	a := newTestApp(t)
	owner, binID := a.browserBin("csrf")
	a.capture(binID, "", "{}")
	crossSite := http.Header{"Sec-Fetch-Site": {"cross-site"}, "Content-Type": {"application/x-www-form-urlencoded"}}
	send := func(c *http.Client, method, path string, h http.Header) int {
		req, _ := http.NewRequest(method, a.ts.URL+path, strings.NewReader("name=x"))
		for k, v := range h {
			req.Header[k] = v
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, tc := range []struct {
		method, path string
		header       http.Header
		want         int
	}{
		{"POST", "/bins", crossSite, http.StatusForbidden},
		{"DELETE", "/api/bins/" + binID + "/requests/req_1", crossSite, http.StatusForbidden},
		{"PUT", "/api/bins/" + binID + "/response", crossSite, http.StatusForbidden},
		{"DELETE", "/api/bins/" + binID + "/requests", http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"POST", "/b/" + binID + "/from-a-browser", crossSite, http.StatusOK},
		{"DELETE", "/api/bins/" + binID + "/requests/req_1", http.Header{"Sec-Fetch-Site": {"same-origin"}}, http.StatusNoContent},
	} {
		if got := send(owner, tc.method, tc.path, tc.header); got != tc.want {
			t.Errorf("%s %s %v: %d, want %d", tc.method, tc.path, tc.header, got, tc.want)
		}
	}
	// Authorization carries its own credential: exempt.
	b := a.newBin()
	h := http.Header{"Sec-Fetch-Site": {"cross-site"}, "Authorization": {"Bearer " + b.Token}}
	if got := send(http.DefaultClient, "DELETE", "/api/bins/"+b.ID+"/requests", h); got != http.StatusNoContent {
		t.Errorf("cross-site DELETE with a token: %d, want 204", got)
	}
}

func TestPrivateBins(t *testing.T) {
	a := newTestApp(t)
	owner, binID := a.browserBin("private")
	a.capture(binID, "/secret", "{}")
	stranger, _ := a.browserBin("stranger")
	for _, c := range []*http.Client{http.DefaultClient, stranger} {
		doc, res := a.page(c, "/bins/"+binID, http.StatusNotFound)
		if !strings.Contains(doc.Text(), "Bin not found") {
			t.Error("404 page does not say so")
		}
		checkPageHeaders(t, res, doc)
		for _, p := range []string{"/bins/" + binID + "/requests/req_1", "/bins/" + binID + "/rows", "/api/bins/" + binID + "/requests"} {
			res, err := c.Get(a.ts.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("stranger GET %s: %d, want 404", p, res.StatusCode)
			}
		}
	}
	// Unknown and owned bins look the same to a stranger.
	a.page(stranger, "/bins/doesnotexist", http.StatusNotFound)
	// The owner's cookie reaches the API too.
	res, _ := owner.Get(a.ts.URL + "/api/bins/" + binID + "/requests")
	if res.StatusCode != http.StatusOK {
		t.Errorf("owner GET API: %d", res.StatusCode)
	}
	res.Body.Close()
}

// hostile is what a sender might try to run in the inspector.
const hostile = `<img src=x onerror=alert(1)><script>alert(2)</script>"'&`

func TestInspectorHooksAndEscaping(t *testing.T) {
	a := newTestApp(t)
	owner, binID := a.browserBin(`<script>alert("name")</script>`)
	q := url.QueryEscape(hostile)
	// Raw '<' in the query: as some senders send it.
	res := a.do("POST", "/b/"+binID+"/p%3Cscript%3E?raw=<svg/onload=alert(3)>&q="+q,
		"", http.Header{"Content-Type": {"application/json"}, "X-Hostile": {hostile}}, `{"html":"</pre>`+strings.ReplaceAll(hostile, `"`, `\"`)+`"}`)
	if res.StatusCode != 200 {
		t.Fatalf("capture: %d", res.StatusCode)
	}
	a.capture(binID, "/second", `{"ok":true}`)

	doc, hres := a.page(owner, "/bins/"+binID+"?req=req_1", http.StatusOK)
	checkPageHeaders(t, hres, doc)
	if got := doc.Find("#capture-url").Text(); got != a.ts.URL+"/b/"+binID {
		t.Errorf("#capture-url = %q", got)
	}
	if doc.Find(`[data-copy="#capture-url"]`).Length() != 1 {
		t.Error("no copy button for the capture URL")
	}
	if !strings.Contains(doc.Find("#sample-curl").Text(), "curl -X POST '"+a.ts.URL+"/b/"+binID) {
		t.Error("no sample curl command")
	}
	var ids []string
	doc.Find("#request-list [data-request-id]").Each(func(_ int, s *goquery.Selection) {
		ids = append(ids, s.AttrOr("data-request-id", ""))
	})
	if strings.Join(ids, ",") != "req_2,req_1" {
		t.Errorf("list order %v, want newest first", ids)
	}
	if doc.Find(`#request-list [data-request-id="req_1"][aria-current="true"]`).Length() != 1 {
		t.Error("the selected request is not marked")
	}
	detail := doc.Find(`#detail [data-detail-id="req_1"]`)
	if detail.Length() != 1 {
		t.Fatal("no details for the selected request")
	}
	// Only our own script, no element made of captured bytes.
	doc.Find("script").Each(func(_ int, sc *goquery.Selection) {
		if src, _ := sc.Attr("src"); !strings.HasPrefix(src, "/static/") || strings.TrimSpace(sc.Text()) != "" {
			t.Errorf("a <script> that is not one of ours: src %q", src)
		}
	})
	if n := doc.Find("img[src=x], svg, [onerror], [onload]").Length(); n != 0 {
		t.Errorf("%d elements made from captured bytes", n)
	}
	for where, sel := range map[string]string{"header": "#headers-table", "query": "#query-table", "body": ".body .json", "name": "h1", "url": ".detail-url"} {
		text := doc.Find(sel).Text()
		want := hostile
		switch where {
		case "body":
			want = strings.ReplaceAll(hostile, `"`, `\"`)
		case "name":
			want = `<script>alert("name")</script>`
		case "url":
			want = "/p%3Cscript%3E?raw=<svg/onload=alert(3)>"
		}
		if !strings.Contains(text, want) {
			t.Errorf("%s: %q not shown as text in %q", where, want, text)
		}
	}
	if detail.Find(`[data-curl="/api/bins/`+binID+`/requests/req_1/curl"]`).Length() != 1 {
		t.Error("copy as cURL does not use the API's builder")
	}
	for _, sel := range []string{`a[href="/api/bins/` + binID + `/requests/req_1/body"][download]`, `[data-delete="/api/bins/` + binID + `/requests/req_1"]`, `[data-clear]`, `#response-form`} {
		if doc.Find(sel).Length() == 0 {
			t.Errorf("no %s", sel)
		}
	}

	// The details fragment the page's script fetches is the same component.
	frag, _ := a.page(owner, "/bins/"+binID+"/requests/req_1", http.StatusOK)
	if frag.Find(`[data-detail-id="req_1"] #headers-table`).Length() != 1 {
		t.Error("details fragment lacks the headers table")
	}
	a.page(owner, "/bins/"+binID+"/requests/req_9", http.StatusNotFound)
}

func TestBodyRendering(t *testing.T) {
	a := newTestApp(t)
	owner, binID := a.browserBin("bodies")
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("greeting", "hello <b>")
	fw, _ := mw.CreateFormFile("upload", `"><img src=x>.txt`)
	fw.Write([]byte("file \x00 bytes"))
	mw.Close()
	bigJSON := `{"items":[` + strings.Repeat(`{"n":1},`, 20000) + `{"n":2}]}`
	for _, tc := range []struct {
		ctype, body string
		check       func(t *testing.T, d *goquery.Selection)
	}{
		{"application/json", `{"a":[1,true,null],"s":"x"}`, func(t *testing.T, d *goquery.Selection) {
			if d.Find(".j-key").Length() != 2 || d.Find(".j-num").Length() != 1 || d.Find(".j-null").Length() != 1 {
				t.Errorf("JSON not highlighted: %s", d.Find(".body").Text())
			}
			if !strings.Contains(d.Find(`[data-view-pane="pretty"]`).Text(), "\"a\": [\n    1,") {
				t.Errorf("JSON not indented")
			}
			if d.Find(`[data-view-pane="raw"]`).Text() != `{"a":[1,true,null],"s":"x"}` {
				t.Errorf("raw view")
			}
		}},
		{"application/x-www-form-urlencoded", "a=1&b=%3Cb%3E+x&a=2", func(t *testing.T, d *goquery.Selection) {
			var got []string
			d.Find("#form-table tr").Each(func(_ int, s *goquery.Selection) {
				got = append(got, s.Find("th").Text()+"="+s.Find("td").Text())
			})
			if strings.Join(got, "&") != "a=1&b=<b> x&a=2" {
				t.Errorf("form table: %v", got)
			}
		}},
		{mw.FormDataContentType(), mp.String(), func(t *testing.T, d *goquery.Selection) {
			parts := d.Find(".part")
			if parts.Length() != 2 || !strings.Contains(parts.Eq(0).Text(), "hello <b>") {
				t.Fatalf("parts: %d %q", parts.Length(), parts.Text())
			}
			link := parts.Eq(1).Find("a[download]").AttrOr("href", "")
			res, err := owner.Get(a.ts.URL + link)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if string(b) != "file \x00 bytes" || !strings.HasPrefix(res.Header.Get("Content-Disposition"), `attachment; filename="img_srcx.txt"`) ||
				res.Header.Get("Content-Type") != "application/octet-stream" {
				t.Errorf("part download: %q %v", b, res.Header)
			}
		}},
		{"application/xml", `<a><b x="1">t</b></a>`, func(t *testing.T, d *goquery.Selection) {
			if got := d.Find(`[data-view-pane="pretty"] pre`).Text(); got != "<a>\n  <b x=\"1\">t</b>\n</a>" {
				t.Errorf("XML: %q", got)
			}
		}},
		{"application/octet-stream", "\x00\x01binary\xff", func(t *testing.T, d *goquery.Selection) {
			if got := d.Find(".hex").Text(); !strings.HasPrefix(got, "00000000  00 01 62 69 6e 61 72 79  ff") || !strings.Contains(got, "|..binary.|") {
				t.Errorf("hex: %q", got)
			}
		}},
		{"text/plain", "just <text>", func(t *testing.T, d *goquery.Selection) {
			if d.Find(`[data-kind="text"] pre`).Text() != "just <text>" {
				t.Errorf("text")
			}
		}},
		{"application/json", bigJSON, func(t *testing.T, d *goquery.Selection) {
			if d.Find(".j-key").Length() != 0 || !strings.Contains(d.Find(".body pre").Text(), `"n": 2`) {
				t.Errorf("a large JSON body should be indented but not highlighted")
			}
		}},
		{"application/octet-stream", strings.Repeat("\xff", 200<<10), func(t *testing.T, d *goquery.Selection) {
			if lines := strings.Count(d.Find(".hex").Text(), "\n"); lines != 4096 {
				t.Errorf("hex dump has %d lines, want 64 KiB worth", lines)
			}
			if d.Find(".notice a[download]").Length() != 1 {
				t.Error("no download link for the rest")
			}
		}},
	} {
		t.Run(tc.ctype, func(t *testing.T) {
			res := a.do("POST", "/b/"+binID, "", http.Header{"Content-Type": {tc.ctype}}, tc.body)
			if res.StatusCode != 200 {
				t.Fatalf("capture: %d", res.StatusCode)
			}
			var out struct{ ID string }
			if err := json.Unmarshal(res.body, &out); err != nil {
				t.Fatal(err)
			}
			doc, _ := a.page(owner, "/bins/"+binID+"/requests/"+out.ID, http.StatusOK)
			tc.check(t, doc.Find("[data-detail-id]"))
		})
	}
}

// TestLargeBinOpensFast: 10 000 requests, and the page renders one page of
// them with a link to older ones.
func TestLargeBinOpensFast(t *testing.T) {
	a := newTestApp(t)
	owner, binID := a.browserBin("big")
	const n = 10000
	var wg sync.WaitGroup
	work := make(chan int)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				_, err := a.db.Capture(context.Background(), storage.Capture{Request: &storage.Request{
					BinID: binID, Method: "POST", Path: fmt.Sprintf("/%d", i), Body: []byte(`{"i":1}`),
					Header: http.Header{"Content-Type": {"application/json"}}, Size: 7, Proto: "HTTP/1.1", RemoteAddr: "127.0.0.1:1"}})
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()

	start := time.Now()
	doc, _ := a.page(owner, "/bins/"+binID, http.StatusOK)
	took := time.Since(start)
	rows := doc.Find("#request-list [data-request-id]")
	if rows.Length() != listPage || rows.First().AttrOr("data-request-id", "") != "req_10000" {
		t.Fatalf("%d rows, first %s", rows.Length(), rows.First().AttrOr("data-request-id", ""))
	}
	if took > 2*time.Second {
		t.Errorf("a bin of %d requests took %v to open", n, took)
	}
	if s := doc.Find("#inspector").AttrOr("data-stream", ""); !strings.HasSuffix(s, "last_event_id=10000") {
		t.Errorf("stream URL %q does not resume after the newest request", s)
	}
	older := doc.Find("#older a[data-older]").AttrOr("data-older", "")
	frag, _ := a.page(owner, older, http.StatusOK)
	rows = frag.Find("[data-request-id]")
	if rows.Length() != listPage || rows.First().AttrOr("data-request-id", "") != "req_9950" {
		t.Errorf("older page: %d rows from %s", rows.Length(), rows.First().AttrOr("data-request-id", ""))
	}
	if frag.Find("#older a[data-older]").Length() != 1 {
		t.Error("older page has no link to the next")
	}
	// Without script, the same page as a whole document.
	doc, _ = a.page(owner, doc.Find("#older a").AttrOr("href", ""), http.StatusOK)
	if doc.Find("#request-list [data-request-id]").First().AttrOr("data-request-id", "") != "req_9950" {
		t.Error("no-script older page")
	}
}

func TestStaticAssets(t *testing.T) {
	a := newTestApp(t)
	for _, name := range []string{"app.css", "app.js"} {
		u := static.URL(name)
		res := a.do("GET", u, "", nil, "")
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") || len(res.body) == 0 {
			t.Errorf("GET %s: %d %q", u, res.StatusCode, res.Header.Get("Cache-Control"))
		}
		stale := a.do("GET", "/static/000000000000/"+name, "", nil, "")
		if stale.StatusCode != 200 || stale.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("stale hash: %d %q", stale.StatusCode, stale.Header.Get("Cache-Control"))
		}
	}
	if res := a.do("GET", "/static/x/nope.js", "", nil, ""); res.StatusCode != 404 {
		t.Errorf("unknown asset: %d", res.StatusCode)
	}
	if ct := a.do("GET", static.URL("app.css"), "", nil, "").Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("app.css Content-Type %q", ct)
	}
}

func TestResponseSettingsPanel(t *testing.T) {
	a := newTestApp(t)
	owner, binID := a.browserBin("settings")
	req, _ := http.NewRequest("PUT", a.ts.URL+"/api/bins/"+binID+"/response",
		strings.NewReader(`{"status":201,"headers":{"X-A":"b"},"body":"<ok>","delay_ms":5,"sequence":[{"status":500,"times":3}]}`))
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := owner.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("PUT response: %v %v", err, res.StatusCode)
	}
	res.Body.Close()
	doc, _ := a.page(owner, "/bins/"+binID, http.StatusOK)
	f := doc.Find("#response-form")
	for name, want := range map[string]string{"status": "201", "delay_ms": "5", "sequence": "500x3"} {
		if got := f.Find(`input[name="`+name+`"]`).AttrOr("value", ""); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if got := f.Find(`textarea[name="headers"]`).Text(); got != "X-A: b\n" {
		t.Errorf("headers = %q", got)
	}
	if got := f.Find(`textarea[name="body"]`).Text(); got != "<ok>" {
		t.Errorf("body = %q", got)
	}
}

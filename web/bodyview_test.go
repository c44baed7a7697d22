package web

import (
	"bytes"
	"compress/gzip"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/tailhook-dev/tailhook/storage"
)

func tinyPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func multipartWithImage(t *testing.T, pngData []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("title", "holiday")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="upload.png"`)
	h.Set("Content-Type", "image/png")
	pw, _ := mw.CreatePart(h)
	pw.Write(pngData)
	h = textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="evil"`)
	h.Set("Content-Type", "image/png") // declared PNG, is SVG
	pw, _ = mw.CreatePart(h)
	pw.Write([]byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`))
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func post(t *testing.T, u, ctype string, body []byte, h map[string]string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
}

// TestImageRoutes: previews are served only for real raster images, with
// their exact type, nosniff and a sandbox; downloads and exports are named.
func TestImageRoutes(t *testing.T) {
	a := newTestApp(t)
	c, binID := a.browserBin("photos & more")
	p := tinyPNG(t)
	post(t, a.ts.URL+"/b/"+binID+"/img", "image/png", p, nil)                                                   // req_1
	post(t, a.ts.URL+"/b/"+binID+"/svg", "image/png", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), nil) // req_2
	ct, mp := multipartWithImage(t, p)
	post(t, a.ts.URL+"/b/"+binID+"/form", ct, mp, nil)                                                                                 // req_3
	post(t, a.ts.URL+"/b/"+binID+"/gz", "application/json", gzBytes([]byte(`{"a":1}`)), map[string]string{"Content-Encoding": "gzip"}) // req_4

	get := func(c *http.Client, path string) (*http.Response, []byte) {
		t.Helper()
		res, err := c.Get(a.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	for _, path := range []string{"/bins/" + binID + "/requests/req_1/image", "/bins/" + binID + "/requests/req_3/parts/1/image"} {
		res, b := get(c, path)
		if res.StatusCode != 200 || !bytes.Equal(b, p) || res.Header.Get("Content-Type") != "image/png" ||
			res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(res.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("%s: %d %q %v", path, res.StatusCode, res.Header.Get("Content-Type"), res.Header)
		}
	}
	for _, path := range []string{"/bins/" + binID + "/requests/req_2/image", "/bins/" + binID + "/requests/req_3/parts/2/image",
		"/bins/" + binID + "/requests/req_3/parts/0/image", "/bins/" + binID + "/requests/req_3/parts/9/image"} {
		if res, _ := get(c, path); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, res.StatusCode)
		}
	}
	// Another browser cannot see them.
	if res, _ := get(&http.Client{}, "/bins/"+binID+"/requests/req_1/image"); res.StatusCode != http.StatusNotFound {
		t.Errorf("stranger: %d", res.StatusCode)
	}
	doc, _ := a.page(c, "/bins/"+binID+"?req=req_3", 200)
	if doc.Find(`[data-part-image="1"]`).Length() != 1 {
		t.Error("no preview of the image part")
	}
	doc, _ = a.page(c, "/bins/"+binID+"?req=req_4", 200)
	if doc.Find(`#detail .json`).Length() != 1 || doc.Find(`[data-view="wire"]`).Length() != 1 {
		t.Error("the gzip JSON body is not shown decoded with its wire bytes a view away")
	}

	names := map[string]string{
		"/api/bins/" + binID + "/requests/req_1/body": "req_1.png",
		"/api/bins/" + binID + "/requests/req_4/body": "req_4.json.gz",
		"/bins/" + binID + "/requests/req_3/parts/1":  "upload.png",
		"/bins/" + binID + "/requests/req_3/parts/0":  "req_3-part1.txt",
		"/api/bins/" + binID + "/export.har":          "photos__more.har",
		"/api/bins/" + binID + "/export.json":         "photos__more.json",
	}
	for path, want := range names {
		res, _ := get(c, path)
		if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="`+want+`"` {
			t.Errorf("%s: Content-Disposition %q, want %q", path, cd, want)
		}
	}
}

func gzBytes(b []byte) []byte {
	var buf bytes.Buffer
	w := newGzip(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// TestBrowserImagePreview: an image body and an image part preview inline
// in Chromium; nothing the sender sent runs.
func TestBrowserImagePreview(t *testing.T) {
	a := newTestApp(t)
	ctx := newBrowser(t)
	captureURL := newBinPage(t, a, ctx)
	p := tinyPNG(t)
	post(t, captureURL+"/img", "image/png", p, nil)
	ct, mp := multipartWithImage(t, p)
	post(t, captureURL+"/form", ct, mp, nil)
	loaded := func(sel string) string {
		return `(function () { var i = document.querySelector('` + sel + `'); return !!i && i.complete && i.naturalWidth === 3 && i.naturalHeight === 2; })()`
	}
	step(t, ctx, 10*time.Second, "the image body previews",
		chromedp.WaitVisible(chromedp.CSS(`#request-list [data-request-id="req_2"]`)),
		chromedp.Click(chromedp.CSS(`#request-list [data-request-id="req_1"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_1"] #body-image`)),
		chromedp.Poll[chromedp.Void](loaded(`#body-image`)),
	)
	step(t, ctx, 10*time.Second, "the image part previews",
		chromedp.Click(chromedp.CSS(`#request-list [data-request-id="req_2"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_2"] [data-part-image="1"]`)),
		chromedp.Poll[chromedp.Void](loaded(`[data-part-image="1"]`)),
	)
	// The fake PNG (an SVG) gets a broken image, not a document.
	if evalIn[bool](t, ctx, `(function () { var i = document.querySelector('[data-part-image="2"]'); return !!i && i.naturalWidth > 0; })()`) {
		t.Fatal("an SVG part rendered as an image")
	}
	if evalIn[bool](t, ctx, `typeof window.alert === 'function' && !!window.__pwned`) {
		t.Fatal("script ran")
	}
}

func newGzip(w io.Writer) *gzip.Writer { return gzip.NewWriter(w) }

// TestBrowserJSONTree: a JSON body of several MiB (too big to pretty-print
// on the server) folds in a tree that builds only what is opened.
func TestBrowserJSONTree(t *testing.T) {
	a := newTestApp(t, func(c *Config, _ *storage.Options) { c.MaxBody = 10 << 20 })
	ctx := newBrowser(t)
	captureURL := newBinPage(t, a, ctx)
	var b strings.Builder
	b.WriteString(`{"name":"big","items":[`)
	for i := range 60000 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"id":` + strconv.Itoa(i) + `,"label":"item number ` + strconv.Itoa(i) + `","tags":["a","b"]}`)
	}
	b.WriteString(`]}`)
	if b.Len() < 3<<20 {
		t.Fatalf("body only %d bytes", b.Len())
	}
	post(t, captureURL+"/big", "application/json", []byte(b.String()), nil)
	start := time.Now()
	step(t, ctx, 20*time.Second, "open the tree",
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_1"] [data-json-tree]`)),
		chromedp.Click(chromedp.CSS(`#detail [data-json-tree]`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail .json-tree`)),
	)
	t.Logf("tree of %d bytes shown after %v", b.Len(), time.Since(start).Round(time.Millisecond))
	if txt := evalIn[string](t, ctx, `document.querySelector('.json-tree').textContent`); !strings.Contains(txt, "60000 items") {
		t.Fatalf("tree: %.300q", txt)
	}
	step(t, ctx, 10*time.Second, "open items, show more",
		chromedp.Click(chromedp.CSS(`.json-tree > .jt-node > .jt-children > .jt-node > summary`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('.json-tree .jt-children .jt-children > .jt-node').length === 200`),
		chromedp.Click(chromedp.CSS(`.json-tree .jt-more`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('.json-tree .jt-children .jt-children > .jt-node').length === 400`),
	)
	// The page stays small: only what was opened exists.
	if n := evalIn[int](t, ctx, `document.querySelectorAll('.json-tree *').length`); n > 5000 {
		t.Errorf("%d elements in the tree", n)
	}
}

package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/tailhook-dev/tailhook/signature"
	"github.com/tailhook-dev/tailhook/storage"
	"github.com/tailhook-dev/tailhook/views"
)

// ownerDo sends an API request the way the page's script does: with the
// browser's cookie, from the same origin.
func (a *testApp) ownerDo(c *http.Client, method, path, body string) testResponse {
	a.t.Helper()
	req, err := http.NewRequest(method, a.ts.URL+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return testResponse{res, b}
}

const stripeSecret = "whsec_dGhpcy1pcy1hLXRlc3Qtc2VjcmV0LW9ubHk"

// signedStripe sets a stripe check on a browser bin and sends one valid
// sample through the panel's API; it returns the sample's request JSON.
func signedStripe(t *testing.T, a *testApp, owner *http.Client, binID string) requestJSON {
	t.Helper()
	if res := a.ownerDo(owner, "PUT", "/api/bins/"+binID+"/signature", `{"provider":"stripe","secret":"`+stripeSecret+`"}`); res.StatusCode != 200 {
		t.Fatalf("set signature: %d %s", res.StatusCode, res.body)
	}
	res := a.ownerDo(owner, "POST", "/api/bins/"+binID+"/samples", `{"provider":"stripe"}`)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("sample: %d %s", res.StatusCode, res.body)
	}
	var j requestJSON
	if err := json.Unmarshal(res.body, &j); err != nil {
		t.Fatal(err)
	}
	return j
}

func TestSignaturePanelAndVerdicts(t *testing.T) {
	a := newTestApp(t)
	owner, binID := a.browserBin("signatures")

	doc, _ := a.page(owner, "/bins/"+binID, http.StatusOK)
	panel := doc.Find("#signature-panel")
	if n, want := panel.Find(`select[name="provider"] option[value!=""]`).Length(), len(signature.Providers()); n != want {
		t.Errorf("provider picker has %d providers, want %d", n, want)
	}
	stripe := panel.Find(`fieldset[data-provider="stripe"]`)
	if !strings.Contains(stripe.Find(".provider-desc").Text(), "whsec_") || stripe.Find(`textarea[name="secret"][data-secret]`).Length() != 1 {
		t.Errorf("stripe's fieldset lacks its description or secret input: %s", stripe.Text())
	}
	if panel.Find(`fieldset[data-provider="discord"] textarea[name="private_key"][data-secret]`).Length() != 1 ||
		panel.Find(`fieldset[data-provider="postmark"] input[type="password"][name="header_value"]`).Length() != 1 {
		t.Error("secret parameters are not secret inputs")
	}
	if panel.Find(`[data-sample]`).Length() != 1 || doc.Find("#forwarding-form").Length() != 1 || doc.Find("#share-form").Length() != 1 {
		t.Error("missing the test-event button, the forwarding or the share panel")
	}

	sample := signedStripe(t, a, owner, binID)
	// The same body, changed after signing.
	tampered := bytes.Replace(b64(*sample.BodyBase64), []byte(`"`), []byte(`"x`), 1)
	h := http.Header{}
	for k, vs := range sample.Headers {
		if k != "Host" && k != "Content-Length" {
			h[k] = vs
		}
	}
	a.sendCapture(binID, "POST", sample.Path, h, string(tampered))
	// A GitHub delivery checked as Stripe: a hint says so. Its signature
	// header is hostile.
	a.sendCapture(binID, "POST", "/gh", http.Header{"X-Hub-Signature-256": {`sha256=<img src=x onerror=alert(1)>`}, "X-Github-Event": {"push"}}, `{}`)

	doc, _ = a.page(owner, "/bins/"+binID+"?req=req_2", http.StatusOK)
	if got := doc.Find("#signature-summary").Text(); !strings.Contains(got, "Stripe") || !strings.Contains(got, "••••") {
		t.Errorf("signature summary %q", got)
	}
	html, _ := doc.Html()
	if strings.Contains(html, stripeSecret) || strings.Contains(html, stripeSecret[6:20]) {
		t.Error("the page shows the saved secret")
	}
	for id, want := range map[string]string{"req_1": "valid", "req_2": "invalid", "req_3": "invalid"} {
		badge := doc.Find(`#request-list [data-request-id="` + id + `"] .sig[data-verdict="` + want + `"]`)
		title := badge.AttrOr("title", "")
		if badge.Length() != 1 || !strings.HasPrefix(title, "Signature "+want) || !strings.Contains(badge.Find(".visually-hidden").Text(), title) {
			t.Errorf("%s: badge %q titled %q, want %s with the reason", id, badge.Text(), title, want)
		}
	}
	if !strings.Contains(doc.Find(`[data-request-id="req_1"] .sig`).Text(), "✓") || !strings.Contains(doc.Find(`[data-request-id="req_2"] .sig`).Text(), "✗") {
		t.Error("badges are not ✓ and ✗")
	}
	v := doc.Find(`#detail .verdict[data-verdict="invalid"]`)
	if v.Length() != 1 || v.Find(".verdict-reason").Text() == "" {
		t.Fatalf("no explained verdict for the tampered request: %s", v.Text())
	}
	kv := v.Find(".kv").Text()
	for _, want := range []string{"Stripe-Signature", "Expected", "Received", "Timestamp", "Signed bytes", "tolerance 300 s"} {
		if !strings.Contains(kv, want) {
			t.Errorf("verdict details lack %q: %s", want, kv)
		}
	}

	// The hint, and the hostile header, shown as text.
	doc, _ = a.page(owner, "/bins/"+binID+"/requests/req_3", http.StatusOK)
	hints := doc.Find(".verdict .hints li")
	if hints.Length() == 0 || !strings.Contains(hints.Text(), "GitHub") {
		t.Errorf("hints: %q", hints.Text())
	}
	if n := doc.Find("img, [onerror]").Length(); n != 0 {
		t.Errorf("%d elements made from the verdict's details", n)
	}
	if doc.Find(`.verdict-reason`).Length() != 1 {
		t.Error("no reason")
	}

	// The details offer the owner's tools.
	for _, sel := range []string{`form[data-verify="/api/bins/` + binID + `/requests/req_3/verify"]`,
		`form[data-forward="/api/bins/` + binID + `/requests/req_3/forward"]`, `#forwards-req_3`} {
		if doc.Find(sel).Length() != 1 {
			t.Errorf("details lack %s", sel)
		}
	}
	if doc.Find(`form[data-verify] select option[selected]`).AttrOr("value", "") != "stripe" {
		t.Error("Verify with… does not default to the bin's provider")
	}
	// Its fields start from the bin's check: the stripe fieldset shown, the
	// secret masked with what leaving it empty does.
	stripeFS := doc.Find(`form[data-verify] fieldset.provider-params[data-provider="stripe"]`)
	if _, hidden := stripeFS.Attr("hidden"); stripeFS.Length() != 1 || hidden {
		t.Error("Verify with… does not show the bin's provider's fields")
	}
	if ph := stripeFS.Find(`[name="secret"]`).AttrOr("placeholder", ""); !strings.HasPrefix(ph, "saved: whse") || !strings.HasSuffix(ph, "(leave empty to use it)") {
		t.Errorf("the secret's placeholder is %q", ph)
	}
	if html, _ := doc.Html(); strings.Contains(html, stripeSecret) {
		t.Error("the details hold the secret")
	}
}

func TestForwardingInDetails(t *testing.T) {
	a := newTestApp(t)
	owner, binID := a.browserBin("forwarding")
	tg := newTarget(t, func(n int, w http.ResponseWriter) {
		w.Header().Set("X-Evil", "<script>alert(1)</script>")
		w.WriteHeader(200)
		io.WriteString(w, "<img src=x onerror=alert(2)>")
	})
	id := a.sendCapture(binID, "POST", "/x", http.Header{"Content-Type": {"application/json"}}, `{"a":1}`)

	// A refused target is a 422 with the message the panel shows.
	if res := a.ownerDo(owner, "PUT", "/api/bins/"+binID+"/forwarding", `{"url":"ftp://nope","enabled":true}`); res.StatusCode != 422 || !strings.Contains(string(res.body), `"error"`) {
		t.Errorf("bad target: %d %s", res.StatusCode, res.body)
	}
	hostileURL := tg.URL + "/hook?<script>=1"
	res := a.ownerDo(owner, "POST", "/api/bins/"+binID+"/requests/"+id+"/forward", `{"url":"`+hostileURL+`"}`)
	if res.StatusCode != 200 {
		t.Fatalf("forward: %d %s", res.StatusCode, res.body)
	}
	doc, _ := a.page(owner, "/bins/"+binID+"/requests/"+id, http.StatusOK)
	rows := doc.Find("#forwards-" + id + " tbody tr")
	if rows.Length() != 1 {
		t.Fatalf("history has %d rows", rows.Length())
	}
	cells := rows.Find("td")
	if cells.Eq(1).Text() != hostileURL || !strings.Contains(cells.Eq(2).Text(), "200") || !strings.Contains(cells.Eq(3).Text(), "manual") || cells.Eq(0).Find("time").Length() != 1 {
		t.Errorf("history row: %q", rows.Text())
	}
	if doc.Find("script, img").Length() != 0 {
		t.Error("elements made from the forward")
	}
	// The remembered target prefills the next forward.
	if got := doc.Find(`form[data-forward] input[name="url"]`).AttrOr("value", ""); got != hostileURL {
		t.Errorf("replay URL %q", got)
	}
	if doc.Find(`form[data-forward] textarea[name="body"]`).Text() != `{"a":1}` {
		t.Error("the body is not prefilled")
	}
	if doc.Find(`form[data-forward] input[name="resign"][disabled]`).Length() != 1 {
		t.Error("re-sign is offered without a secret")
	}
}

func TestDeliveryBadges(t *testing.T) {
	sc := views.Scope{BinID: "b1"}
	next := time.Date(2026, 11, 27, 10, 11, 12, 0, time.UTC)
	for _, tc := range []struct {
		d    storage.Delivery
		want string
	}{
		{storage.Delivery{State: storage.DeliveryPending}, "queued"},
		{storage.Delivery{State: storage.DeliveryPending, Attempts: 2, NextAt: next, LastStatus: 503}, "retrying at 10:11:12"},
		{storage.Delivery{State: storage.DeliveryDelivered, Attempts: 1, LastStatus: 200}, "delivered"},
		{storage.Delivery{State: storage.DeliveryFailed, Attempts: 7, LastError: "connection refused"}, "failed"},
		{storage.Delivery{State: storage.DeliveryCancelled, Attempts: 1}, "cancelled"},
	} {
		r := &storage.Request{ID: "req_1", Seq: 1, Method: "POST", Delivery: &tc.d}
		for _, shared := range []bool{false, true} {
			s := sc
			if shared {
				s = views.Scope{ShareID: "sh"}
			}
			var buf bytes.Buffer
			if err := views.RequestRow(s, r, false).Render(context.Background(), &buf); err != nil {
				t.Fatal(err)
			}
			doc, _ := goquery.NewDocumentFromReader(&buf)
			badge := doc.Find(`.dlv[data-delivery="` + tc.d.State + `"]`)
			switch {
			case shared && badge.Length() != 0:
				t.Errorf("%s: a shared row shows the delivery", tc.want)
			case !shared && (badge.Length() != 1 || badge.Text() != "→ "+tc.want):
				t.Errorf("badge %q, want %q", badge.Text(), tc.want)
			}
			if !shared && tc.d.LastError != "" && !strings.Contains(badge.AttrOr("title", ""), tc.d.LastError) {
				t.Errorf("title %q lacks the error", badge.AttrOr("title", ""))
			}
		}
	}

	// End to end: an auto-forward delivered, then shown on the page with
	// its "Retry now" (no "Cancel": it is not pending).
	a := newTestApp(t)
	owner, binID := a.browserBin("badges")
	tg := newTarget(t, nil)
	if res := a.ownerDo(owner, "PUT", "/api/bins/"+binID+"/forwarding", `{"url":"`+tg.URL+`","enabled":true}`); res.StatusCode != 200 {
		t.Fatalf("set forwarding: %d %s", res.StatusCode, res.body)
	}
	id := a.sendCapture(binID, "POST", "/a", nil, "x")
	tg.waitFor(t, 1, 5*time.Second)
	eventually(t, 5*time.Second, "delivered badge", func() bool {
		doc, _ := a.page(owner, "/bins/"+binID, http.StatusOK)
		return doc.Find(`[data-request-id="`+id+`"] .dlv[data-delivery="delivered"]`).Length() == 1
	})
	doc, _ := a.page(owner, "/bins/"+binID+"/requests/"+id, http.StatusOK)
	sec := doc.Find("#delivery-" + id)
	if sec.Find(`[data-delivery-action$="/delivery/retry"]`).Length() != 0 || sec.Find(`[data-delivery-action$="/delivery/cancel"]`).Length() != 0 {
		t.Error("a delivered job offers retry or cancel")
	}
	if !strings.Contains(sec.Text(), tg.URL+"/a") {
		t.Errorf("delivery section: %q", sec.Text())
	}
	if doc.Find("#forwards-"+id+" tbody tr").Length() != 1 || !strings.Contains(doc.Find("#forwards-"+id).Text(), "auto") {
		t.Error("the auto attempt is not in the history")
	}
}

func TestSearchNarrowsRows(t *testing.T) {
	a := newTestApp(t)
	owner, binID := a.browserBin("search")
	a.sendCapture(binID, "POST", "/alpha", nil, `{"k":"one"}`)
	a.sendCapture(binID, "POST", "/beta", http.Header{"X-Kind": {"Special"}}, `{"k":"two"}`)
	a.sendCapture(binID, "GET", "/gamma", nil, "")

	ids := func(doc *goquery.Document) string {
		var out []string
		doc.Find("[data-request-id]").Each(func(_ int, s *goquery.Selection) { out = append(out, s.AttrOr("data-request-id", "")) })
		return strings.Join(out, ",")
	}
	for q, want := range map[string]string{"": "req_3,req_2,req_1", "alpha": "req_1", "special": "req_2", "TWO": "req_2", "nothing": ""} {
		doc, _ := a.page(owner, "/bins/"+binID+"/rows?q="+url.QueryEscape(q), http.StatusOK)
		if got := ids(doc); got != want {
			t.Errorf("rows?q=%s: %s, want %s", q, got, want)
		}
		if doc.Find("ol[data-last-seq]").AttrOr("data-last-seq", "") != "3" {
			t.Errorf("rows?q=%s: no resume position", q)
		}
	}
	doc, _ := a.page(owner, "/bins/"+binID+"?q=beta", http.StatusOK)
	var list []string
	doc.Find("#request-list [data-request-id]").Each(func(_ int, s *goquery.Selection) { list = append(list, s.AttrOr("data-request-id", "")) })
	if strings.Join(list, ",") != "req_2" {
		t.Errorf("page ?q=beta lists %v", list)
	}
	if doc.Find(`#filter`).AttrOr("value", "") != "beta" || doc.Find(`#filter`).AttrOr("aria-keyshortcuts", "") != "/" {
		t.Error("the filter box does not show the filter")
	}
	if got := doc.Find("#inspector").AttrOr("data-stream", ""); !strings.HasSuffix(got, "&q=beta") {
		t.Errorf("stream URL %q does not carry the filter", got)
	}
	for _, kind := range []string{"har", "json"} {
		if got := doc.Find("#export-"+kind).AttrOr("href", ""); got != "/api/bins/"+binID+"/export."+kind+"?q=beta" {
			t.Errorf("export %s: %q", kind, got)
		}
	}
}

// TestPageStreamFilterAndRowUpdates: a filtered page stream sends only
// matching captures, resumes past the others, and a forward sends the
// row again (and the API stream a "forward" event).
func TestPageStreamFilterAndRowUpdates(t *testing.T) {
	a := newTestApp(t)
	owner, binID := a.browserBin("filtered")
	s := openStream(t, owner, a.ts.URL+"/bins/"+binID+"/stream?last_event_id=0&q=wanted", nil)
	a.sendCapture(binID, "POST", "/other", nil, "x")
	a.sendCapture(binID, "POST", "/wanted", nil, "y")
	a.sendCapture(binID, "POST", "/other", nil, "z")
	a.sendCapture(binID, "POST", "/x", nil, "WANTED in the body")
	for _, want := range []string{"2", "4"} {
		ev := s.next(2 * time.Second)
		if ev.Event != "request" || ev.ID != want || !strings.Contains(ev.Data, `data-request-id="req_`+want+`"`) {
			t.Fatalf("event %+v, want request %s", ev, want)
		}
	}
	// Nothing else matched: the next event is the next match.
	a.sendCapture(binID, "POST", "/wanted/5", nil, "m")
	if ev := s.next(2 * time.Second); ev.Event != "request" || ev.ID != "5" {
		t.Fatalf("event %+v, want request 5", ev)
	}
	s.close()

	// Resuming with the filter skips what it does not match, from the
	// database too.
	s = openStream(t, owner, a.ts.URL+"/bins/"+binID+"/stream?q=wanted", http.Header{"Last-Event-ID": {"2"}})
	for _, want := range []string{"4", "5"} {
		if ev := s.next(2 * time.Second); ev.ID != want {
			t.Fatalf("resumed with %+v, want %s", ev, want)
		}
	}

	tg := newTarget(t, nil)
	page := openStream(t, owner, a.ts.URL+"/bins/"+binID+"/stream", nil)
	b := a.newBin()
	apiEvents := openStream(t, nil, eventsURL(a, b), nil)
	if res := a.ownerDo(owner, "POST", "/api/bins/"+binID+"/requests/req_4/forward", `{"url":"`+tg.URL+`"}`); res.StatusCode != 200 {
		t.Fatalf("forward: %d %s", res.StatusCode, res.body)
	}
	for _, st := range []*sseStream{s, page} {
		ev := st.next(2 * time.Second)
		if ev.Event != "row-update" || ev.ID != "" || !strings.HasPrefix(ev.Data, `<li class="req" data-request-id="req_4"`) {
			t.Fatalf("after a forward: %+v", ev)
		}
	}
	// The filter still applies to updates: req_3 does not match.
	if res := a.ownerDo(owner, "POST", "/api/bins/"+binID+"/requests/req_3/forward", `{"url":"`+tg.URL+`"}`); res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	if ev := page.next(2 * time.Second); ev.Event != "row-update" || !strings.Contains(ev.Data, `"req_3"`) {
		t.Fatalf("unfiltered page: %+v", ev)
	}
	// Nor did s get req_3's update: its next event is the next match.
	a.sendCapture(binID, "POST", "/wanted/6", nil, "m")
	if ev := s.next(2 * time.Second); ev.Event != "request" || ev.ID != "6" {
		t.Fatalf("filtered page after req_3's update: %+v, want request 6", ev)
	}

	// The API stream: a forward event on a token bin.
	id := a.sendCapture(b.ID, "POST", "/z", nil, "z")
	if ev := apiEvents.next(2 * time.Second); ev.Event != "request" {
		t.Fatalf("api: %+v", ev)
	}
	if res := a.do("POST", "/api/bins/"+b.ID+"/requests/"+id+"/forward", b.Token, nil, `{"url":"`+tg.URL+`"}`); res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	ev := apiEvents.next(2 * time.Second)
	var fe struct {
		Seq      int64
		Forwards []forwardJSON
	}
	if ev.Event != "forward" || json.Unmarshal([]byte(ev.Data), &fe) != nil || fe.Seq != 1 || len(fe.Forwards) != 1 || fe.Forwards[0].Status != 202 {
		t.Fatalf("api forward event: %+v", ev)
	}
}

func TestSharedInspector(t *testing.T) {
	clock := &settableClock{t: time.Now().UTC()}
	a := newTestApp(t, func(_ *Config, o *storage.Options) { o.Now = clock.Now })
	owner, binID := a.browserBin("shared <b>bin</b>")
	signedStripe(t, a, owner, binID)
	if res := a.ownerDo(owner, "PUT", "/api/bins/"+binID+"/forwarding", `{"url":"http://127.0.0.1:9/private-target","enabled":true}`); res.StatusCode != 200 {
		t.Fatalf("forwarding: %d", res.StatusCode)
	}
	a.sendCapture(binID, "POST", "/hook", http.Header{"X-Hostile": {hostile}}, `{"hello":"<script>x</script>"}`)
	res := a.ownerDo(owner, "POST", "/api/bins/"+binID+"/shares", `{"expires_in":"1h"}`)
	var sh struct{ ID, URL string }
	if json.Unmarshal(res.body, &sh) != nil || sh.ID == "" {
		t.Fatalf("share: %d %s", res.StatusCode, res.body)
	}

	// The owner's panel lists it.
	doc, _ := a.page(owner, "/bins/"+binID, http.StatusOK)
	item := doc.Find(`#share-list [data-share-id="` + sh.ID + `"]`)
	if item.Find(".share-url").Text() != sh.URL || item.Find(`[data-share-revoke="/api/bins/`+binID+`/shares/`+sh.ID+`"]`).Length() != 1 {
		t.Errorf("share panel item: %q", item.Text())
	}

	for _, p := range []string{"/s/" + sh.ID, "/s/" + sh.ID + "?req=req_1", "/s/" + sh.ID + "/requests/req_2", "/s/" + sh.ID + "/rows?q=hook"} {
		doc, res := a.page(nil, p, http.StatusOK)
		if res.Header.Get("Cache-Control") != "no-store" || !strings.Contains(res.Header.Get("X-Robots-Tag"), "noindex") {
			t.Errorf("%s: headers %v", p, res.Header)
		}
		html, _ := doc.Html()
		for _, leak := range []string{binID, "/b/", stripeSecret, stripeSecret[:10], "private-target", "Expected", "/api/"} {
			if strings.Contains(html, leak) {
				t.Errorf("%s shows %q", p, leak)
			}
		}
		// Nothing that changes state: the only form is the filter (GET),
		// the only buttons switch the body view.
		doc.Find("form").Each(func(_ int, f *goquery.Selection) {
			if f.AttrOr("method", "") != "get" {
				t.Errorf("%s: a form that changes state: %s", p, f.AttrOr("action", f.AttrOr("id", "?")))
			}
		})
		// (The body view, its tree and the colour theme only change what
		// this page shows.)
		doc.Find("button").Each(func(_ int, b *goquery.Selection) {
			_, view := b.Attr("data-view")
			_, tree := b.Attr("data-json-tree")
			if !view && !tree && b.AttrOr("id", "") != "theme-toggle" {
				t.Errorf("%s: a button %q", p, b.Text())
			}
		})
		for _, sel := range []string{"[data-delete]", "[data-clear]", "[data-forward]", "[data-verify]", "[data-curl]", "#settings-title", ".dlv", "#capture-url"} {
			if doc.Find(sel).Length() != 0 {
				t.Errorf("%s has %s", p, sel)
			}
		}
		if doc.Find(`script:not([src^="/static/"])`).Length() != 0 || doc.Find("img[src=x], [onerror]").Length() != 0 {
			t.Errorf("%s: elements made from captured bytes", p)
		}
	}
	doc, _ = a.page(nil, "/s/"+sh.ID, http.StatusOK)
	if doc.Find(`#request-list [data-request-id="req_2"] a`).AttrOr("href", "") != "/s/"+sh.ID+"?req=req_2" ||
		doc.Find(`#request-list [data-request-id="req_1"] .sig[data-verdict="valid"]`).Length() != 1 {
		t.Error("the shared list does not link within the share or lacks the verdict")
	}
	if !strings.Contains(doc.Find("#headers-table").Text(), hostile) || !strings.Contains(doc.Find("h1").Text(), "shared <b>bin</b>") {
		t.Error("captured data not shown as text")
	}
	if !strings.HasPrefix(doc.Find("#inspector").AttrOr("data-stream", ""), "/s/"+sh.ID+"/stream?") {
		t.Error("no shared stream")
	}
	body := a.do("GET", "/s/"+sh.ID+"/requests/req_2/body", "", nil, "")
	if body.StatusCode != 200 || string(body.body) != `{"hello":"<script>x</script>"}` || body.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("body download: %d %q %v", body.StatusCode, body.body, body.Header)
	}

	// Its live stream sends rows linking within the share, and ends on revoke.
	s := openStream(t, nil, a.ts.URL+"/s/"+sh.ID+"/stream", nil)
	a.sendCapture(binID, "GET", "/live", nil, "")
	ev := s.next(2 * time.Second)
	for ev.Event == "row-update" {
		// req_2's auto-forward to a dead target may still be retrying: its
		// badge updates are not what this waits for.
		ev = s.next(2 * time.Second)
	}
	if ev.Event != "request" || !strings.Contains(ev.Data, `href="/s/`+sh.ID+`?req=req_3"`) || strings.Contains(ev.Data, binID) || strings.Contains(ev.Data, "dlv") {
		t.Fatalf("shared event: %+v", ev)
	}
	if res := a.ownerDo(owner, "DELETE", "/api/bins/"+binID+"/shares/"+sh.ID, ""); res.StatusCode != 204 {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	select {
	case <-s.done:
	case <-time.After(3 * time.Second):
		t.Fatal("the shared stream goes on after the link was revoked")
	}
	for _, p := range []string{"/s/" + sh.ID, "/s/" + sh.ID + "/stream", "/s/" + sh.ID + "/rows", "/s/" + sh.ID + "/requests/req_1", "/s/" + sh.ID + "/requests/req_1/body"} {
		if res := a.do("GET", p, "", nil, ""); res.StatusCode != 404 || string(res.body) != "404 page not found\n" {
			t.Errorf("%s after revoke: %d %q", p, res.StatusCode, res.body)
		}
	}

	// Expiry: the page is a 404, and an open stream ends.
	res = a.ownerDo(owner, "POST", "/api/bins/"+binID+"/shares", `{"expires_in":"1h"}`)
	json.Unmarshal(res.body, &sh)
	a.page(nil, "/s/"+sh.ID, http.StatusOK)
	old := recheckEvery
	recheckEvery = 50 * time.Millisecond
	t.Cleanup(func() { recheckEvery = old })
	s = openStream(t, nil, a.ts.URL+"/s/"+sh.ID+"/stream", nil)
	clock.Advance(time.Hour)
	select {
	case <-s.done:
	case <-time.After(3 * time.Second):
		t.Fatal("the shared stream goes on after the link expired")
	}
	a.page(nil, "/s/"+sh.ID, http.StatusNotFound)
}

package web

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserVerifyWithFields: "Verify with…" offers the settings' fields.
// A generic HMAC-SHA512, base64, prefixed signature checks valid with the
// matching parameters typed into them, and invalid when one is wrong: the
// form sends what its fields say.
func TestBrowserVerifyWithFields(t *testing.T) {
	a := newTestApp(t)
	ctx := newBrowser(t)
	captureURL := newBinPage(t, a, ctx)
	binID := strings.TrimPrefix(captureURL, a.ts.URL+"/b/")
	const secret, body = "s3cr3t-key", `{"event":"order.paid","id":42}`
	m := hmac.New(sha512.New, []byte(secret))
	m.Write([]byte(body))
	sig := "sha512=" + base64.StdEncoding.EncodeToString(m.Sum(nil))
	a.sendCapture(binID, "POST", "/hook", http.Header{"Content-Type": {"application/json"}, "X-Shop-Sig": {sig}}, body)

	form := `#detail form[data-verify]`
	step(t, ctx, 10*time.Second, "open Verify with… and choose Generic HMAC",
		chromedp.WaitVisible(chromedp.CSS(`#detail [data-detail-id="req_1"]`)),
		chromedp.Click(chromedp.CSS(`#detail details[id^="verify-"] > summary`)),
		chromedp.WaitVisible(chromedp.CSS(form+` select[name="provider"]`)),
		chromedp.Evaluate[chromedp.Void](`(function () {
			var s = document.querySelector('`+form+` select[name="provider"]');
			s.value = 'hmac';
			s.dispatchEvent(new Event('change', { bubbles: true }));
		})()`),
		chromedp.WaitVisible(chromedp.CSS(form+` fieldset[data-provider="hmac"] input[name="header"]`)),
	)
	// The same labelled fields as the settings' form, provider by provider.
	same := evalIn[bool](t, ctx, `(function () {
		function fields(f) {
			return Array.from(f.querySelectorAll('.provider-params')).map(function (fs) {
				return fs.dataset.provider + ':' + Array.from(fs.querySelectorAll('[name]')).map(function (i) { return i.name + '/' + i.type; }).join(',');
			}).join(';');
		}
		var v = document.querySelector('`+form+`'), s = document.querySelector('#signature-form');
		return fields(v) !== '' && fields(v) === fields(s) &&
			v.querySelector('option[value="hmac"]').textContent === 'Generic HMAC';
	})()`)
	if !same {
		t.Fatal("Verify with… does not offer the settings' provider fields")
	}
	if n := evalIn[int](t, ctx, `document.querySelectorAll('`+form+` .provider-params:not([hidden])').length`); n != 1 {
		t.Fatalf("%d provider fieldsets shown, want 1", n)
	}

	fill := func(algorithm string) {
		t.Helper()
		set := func(name, v string) string {
			return `f.querySelector('fieldset[data-provider="hmac"] [name="` + name + `"]').value = ` + jsString(v) + `;`
		}
		evalIn[bool](t, ctx, `(function () { var f = document.querySelector('`+form+`');`+
			set("secret", secret)+set("header", "X-Shop-Sig")+set("algorithm", algorithm)+set("encoding", "base64")+set("prefix", "sha512=")+
			`document.querySelector('`+form+` .verify-result, #detail .verify-result').replaceChildren(); return true; })()`)
		step(t, ctx, 5*time.Second, "verify with "+algorithm,
			chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#detail .verify-result .verdict`)),
		)
	}
	fill("sha512")
	if v := evalIn[string](t, ctx, `document.querySelector('#detail .verify-result .verdict').dataset.verdict + ' ' + document.querySelector('#detail .verify-result .verdict-head .mono').textContent`); v != "valid hmac" {
		t.Fatalf("with the right parameters: %q, want valid hmac (%s)", v, evalIn[string](t, ctx, `document.querySelector('#detail .verify-result').textContent`))
	}
	fill("sha256")
	if v := evalIn[string](t, ctx, `document.querySelector('#detail .verify-result .verdict').dataset.verdict`); v != "invalid" {
		t.Fatalf("with the wrong algorithm: %q, want invalid", v)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`)
	return "'" + r.Replace(s) + "'"
}

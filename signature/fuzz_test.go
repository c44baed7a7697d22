package signature

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for every header parser. Seed corpora live in
// testdata/fuzz/<FuzzName>/; run e.g. go test -fuzz=FuzzParseTV -fuzztime=15s.

func FuzzParseTV(f *testing.F) {
	f.Add("t=1533204620,v1=abc,v1=def,v0=ghi", ",", "t", "v1", true)
	f.Add("ts=1698796800;h1=a3;h1=28;h2=x", ";", "ts", "h1", false)
	f.Fuzz(func(t *testing.T, header, sep, tsKey, sigKey string, strict bool) {
		if sep == "" || tsKey == "" || sigKey == "" || strings.Contains(tsKey+sigKey, sep) {
			t.Skip()
		}
		ts, sigs, err := parseTV(header, sep, tsKey, sigKey, strict)
		if err != nil {
			return
		}
		if ts == "" || len(sigs) == 0 {
			t.Fatalf("accepted %q without timestamp or signature", header)
		}
		// The parsed parts, written back, parse to the same thing.
		rebuilt := tsKey + "=" + ts
		for _, s := range sigs {
			rebuilt += sep + sigKey + "=" + s
		}
		ts2, sigs2, err := parseTV(rebuilt, sep, tsKey, sigKey, false)
		if err != nil || ts2 != strings.TrimSpace(ts2) || len(sigs2) != len(sigs) {
			t.Fatalf("rebuilt %q: %q %q %v", rebuilt, ts2, sigs2, err)
		}
	})
}

func FuzzParseSWSignatures(f *testing.F) {
	f.Add("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1a,abc v2,x")
	f.Add("  v1,  ,x v1,a,b")
	f.Fuzz(func(t *testing.T, v string) {
		for _, e := range parseSWSignatures(v) {
			if e.version == "" || e.sig == "" || strings.ContainsAny(e.version+e.sig, " \t\n") || strings.Contains(e.version, ",") {
				t.Fatalf("bad entry %+v from %q", e, v)
			}
		}
	})
}

func FuzzParsePagerDuty(f *testing.F) {
	f.Add("v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd,v1=7020c8a7")
	f.Add(" v2=x , v1= ,v1=a")
	f.Fuzz(func(t *testing.T, v string) {
		for _, s := range parsePagerDuty(v) {
			if s == "" || strings.Contains(s, ",") {
				t.Fatalf("bad entry %q from %q", s, v)
			}
		}
	})
}

func FuzzParseGenericHeader(f *testing.F) {
	f.Add("sha256=abc, sha256=def", "sha256=")
	f.Add("  Zm9v== ", "")
	f.Add("v1=a v0=b", "V1=")
	f.Fuzz(func(t *testing.T, v, prefix string) {
		for _, s := range parseGenericHeader(v, prefix) {
			if s == "" || (prefix != "" && strings.ContainsAny(s, ", \t")) {
				t.Fatalf("bad entry %q from %q/%q", s, v, prefix)
			}
		}
	})
}

func FuzzParseTemplate(f *testing.F) {
	f.Add("{timestamp}.{body}")
	f.Add("v0:{timestamp}:{body}")
	f.Add("{method}{url}{body}{x}")
	f.Add("{{body}")
	f.Fuzz(func(t *testing.T, tmpl string) {
		parts, err := parseTemplate(tmpl)
		if err != nil {
			return
		}
		// Rendering the parts gives the template back: nothing is lost or invented.
		var sb strings.Builder
		for _, p := range parts {
			if p.field == "" {
				sb.WriteString(p.lit)
			} else {
				sb.WriteString("{" + p.field + "}")
			}
		}
		if sb.String() != tmpl {
			t.Fatalf("%q rendered as %q", tmpl, sb.String())
		}
		_ = expand(parts, map[string]string{"timestamp": "1"}, []byte("b"))
	})
}

func FuzzTwilioParams(f *testing.F) {
	f.Add("CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212")
	f.Add("Reason=a&ReasonConferenceEnded=b&a=2&a=1&a=2")
	f.Add("%zz=1&;=2&=&&x")
	f.Fuzz(func(t *testing.T, body string) {
		form, _ := url.ParseQuery(body)
		got := twilioParams(form)
		// Order of the pairs in the body does not matter, only names and values.
		again, _ := url.ParseQuery(form.Encode())
		if twilioParams(again) != got {
			t.Fatalf("sorting depends on input order for %q", body)
		}
	})
}

func FuzzParseMailgun(f *testing.F) {
	f.Add([]byte(`{"signature":{"timestamp":"1529006854","token":"a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0","signature":"d2271d12299f6592d9d44cd9d250f0704e4674c30d79d07c47a66f95ce71cf55"},"event-data":{}}`))
	f.Add([]byte(`timestamp=1&token=t&signature=s`))
	f.Add([]byte(`{"signature":{"timestamp":1529006854}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, _, ok := parseMailgun(body)
		if ok && fields.Signature == "" {
			t.Fatal("ok without signature")
		}
	})
}

// FuzzSignVerify checks, for every provider, that Verify never panics on
// arbitrary header values and bodies, and that whatever Sign produces for a
// body verifies.
func FuzzSignVerify(f *testing.F) {
	f.Add(0, "t=1,v1=00", []byte(`{"a":1}`), "s3cr3t")
	f.Add(8, "abc", []byte("A=1&B=2&A=0"), "tok")
	f.Add(19, "", []byte(`{"signature":{"token":"x"}}`), "k")
	f.Add(32, "sha256=zz", []byte{0xff, 0, '\n'}, " s ")
	f.Fuzz(func(t *testing.T, idx int, value string, body []byte, secret string) {
		ps := Providers()
		if idx < 0 {
			idx = -idx
		}
		prov := ps[idx%len(ps)].ID
		p := Params{"secret": secret, "url": "https://h.example:8443/p?q=1", "header": "X-Sig", "template": "{timestamp}{body}", "timestamp_header": "X-Ts"}
		if prov == "postmark" {
			p["secret"] = "u:" + secret
		}
		now := time.Unix(1_800_000_000, 0)
		h := http.Header{}
		for _, s := range schemes {
			for _, n := range s.sigHeaders {
				h.Set(n, value)
			}
		}
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		_, _ = Verify(prov, p, Input{Method: "POST", URL: p["url"], Header: h, Body: body, Now: now})

		sh, sb, err := Sign(prov, p, Input{Method: "POST", URL: p["url"], Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: body, Now: now})
		if err != nil {
			return // asymmetric providers without a private key, unusable secrets, bodies Mailgun cannot carry
		}
		sh.Set("Content-Type", "application/x-www-form-urlencoded")
		v, err := Verify(prov, p, Input{Method: "POST", URL: p["url"], Header: sh, Body: sb, Now: now})
		if err != nil {
			return
		}
		if !v.Valid {
			t.Fatalf("%s: signed request does not verify: %+v", prov, v)
		}
	})
}

package views

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tailhook-dev/tailhook/storage"
)

// Captures at the limits: 1 MiB of distinct header names, and a 10 MiB
// multipart body of parts with thousands of headers each. Their details
// pane must render fast and small whatever they hold.

func manyHeaders(n int) *storage.Request {
	h := http.Header{}
	for i := range n {
		h[fmt.Sprintf("X-H%05d", n-i)] = []string{fmt.Sprintf("v%05d", i)}
	}
	return &storage.Request{ID: "req_1", BinID: "bin", Seq: 1, Method: "GET", Header: h, ReceivedAt: time.Now()}
}

func multipartCapture(parts, headers int) *storage.Request {
	var b bytes.Buffer
	for p := range parts {
		fmt.Fprintf(&b, "--XX\r\nContent-Disposition: form-data; name=\"f%d\"\r\n", p)
		for i := range headers {
			fmt.Fprintf(&b, "X-%d: v\r\n", i)
		}
		b.WriteString("\r\nvalue\r\n")
	}
	b.WriteString("--XX--\r\n")
	return &storage.Request{ID: "req_1", BinID: "bin", Seq: 1, Method: "POST", Body: b.Bytes(), Size: int64(b.Len()),
		Header: http.Header{"Content-Type": {"multipart/form-data; boundary=XX"}}, ReceivedAt: time.Now()}
}

func renderDetail(tb testing.TB, req *storage.Request) int {
	var out bytes.Buffer
	if err := RequestDetail(*NewDetail(Scope{BinID: "bin"}, req, "http://x/b/bin", time.Now())).Render(context.Background(), &out); err != nil {
		tb.Fatal(err)
	}
	return out.Len()
}

// TestRenderIsBounded: ten times the headers do not make a bigger page, and
// the page says how many were left out.
func TestRenderIsBounded(t *testing.T) {
	small, big := renderDetail(t, manyHeaders(2000)), renderDetail(t, manyHeaders(20000))
	if big > small+100 || big > 64<<10 {
		t.Errorf("2 000 headers: %d bytes of HTML, 20 000: %d", small, big)
	}
	var out bytes.Buffer
	RequestDetail(*NewDetail(Scope{BinID: "bin"}, manyHeaders(20000), "", time.Now())).Render(context.Background(), &out)
	if !strings.Contains(out.String(), "19800 more headers") {
		t.Error("no note of the headers left out")
	}
	// The raw view shows up to MaxText of the body; the parts add little.
	req := multipartCapture(150, 200)
	if n := renderDetail(t, req); n > len(req.Body)+256<<10 {
		t.Errorf("150 parts of 200 headers (%d bytes): %d bytes of HTML", len(req.Body), n)
	}
}

// formCapture is a 10 MiB urlencoded body of 2.6 million fields, with a
// query string of 200 000.
func formCapture() *storage.Request {
	body := strings.Repeat("a=1&", 10<<20/4)
	return &storage.Request{ID: "req_1", BinID: "bin", Seq: 1, Method: "POST", Body: []byte(body), Size: int64(len(body)),
		Query:  strings.Repeat("q=1&", 200000),
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, ReceivedAt: time.Now()}
}

func TestRenderFormIsBounded(t *testing.T) {
	d := NewDetail(Scope{BinID: "bin"}, formCapture(), "", time.Now())
	if d.Body.Kind != KindForm || len(d.Body.Fields) != MaxFields || d.Body.MoreFields != 10<<20/4-MaxFields ||
		len(d.Query) != MaxFields || d.MoreQuery != 200000-MaxFields || len(d.URL) > MaxShown+len("…") {
		t.Fatalf("form: kind %s, %d fields + %d more, %d query + %d more, URL %d bytes",
			d.Body.Kind, len(d.Body.Fields), d.Body.MoreFields, len(d.Query), d.MoreQuery, len(d.URL))
	}
	// The raw view shows MaxText of the body, each "&" escaped as "&amp;".
	if n := renderDetail(t, formCapture()); n > 2*MaxText+64<<10 {
		t.Errorf("form: %d bytes of HTML", n)
	}
}

func BenchmarkRenderForm(b *testing.B) {
	req := formCapture()
	for b.Loop() {
		renderDetail(b, req)
	}
}

func BenchmarkRenderManyHeaders(b *testing.B) {
	req := manyHeaders(20000)
	for b.Loop() {
		renderDetail(b, req)
	}
}

func BenchmarkRenderMultipartHeaders(b *testing.B) {
	req := multipartCapture(100, 9990) // about 10 MiB
	b.ReportMetric(float64(len(req.Body)), "body-bytes")
	for b.Loop() {
		renderDetail(b, req)
	}
}

// FuzzScanMultipart checks the page's multipart scanner against
// mime/multipart: where the standard reader reads a body whole, the
// scanner finds the same parts with the same names, file names, types and
// bytes, so the page and its part downloads show what was sent.
func FuzzScanMultipart(f *testing.F) {
	for _, s := range []string{
		"--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XX--\r\n",
		"preamble\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"../a b.txt\"\r\n\r\n\x00\x01\r\n--XX--",
		"--XX\nContent-Disposition: form-data; name=\"a\"\n\nline\r\n--XX  \n\nno headers\n--XX--\n",
		"--XX\r\nX: 1\r\n folded\r\n\r\n--XX-\r\n--XX--\r\n",
		"--XX\r\n\r\n\r\n--XX--",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		type part struct {
			name, file, ctype, data string
		}
		var want []part
		mr := multipart.NewReader(bytes.NewReader(body), "XX")
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return // not a body the standard reader reads whole
			}
			data, err := io.ReadAll(p)
			if err != nil {
				return
			}
			want = append(want, part{p.FormName(), p.FileName(), p.Header.Get("Content-Type"), string(data)})
		}
		var got []part
		// An error only ends the list: the page shows the parts before it.
		scanMultipart(body, "XX", func(i int, p rawPart) bool {
			got = append(got, part{p.name(), p.fileName(), p.contentType, string(p.data)})
			return true
		})
		if len(got) != len(want) || len(got) > 0 && !reflect.DeepEqual(got, want) {
			t.Fatalf("scanner found %q\nmime/multipart %q", got, want)
		}
	})
}

package web

import (
	"bufio"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/tailhook-dev/tailhook/rawhead"
	"time"
)

// TestHeaderListAcrossKeepAlive sends captures over one raw connection,
// pipelined, with headers in odd order and spelling, a value that is not
// UTF-8 and a path and query that are not either: header_list keeps the
// wire, *_base64 the bytes.
func TestHeaderListAcrossKeepAlive(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	conn, err := net.Dial("tcp", a.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	host := a.ts.Listener.Addr().String()
	raw := "POST /b/" + bin.ID + "/one HTTP/1.1\r\nHost: " + host + "\r\nZeta: z\r\nx-github-event: push\r\nAlpha: a\r\nzeta: second\r\nContent-Length: 2\r\n\r\nhi" +
		"GET /a/page/that/is/not/a/capture HTTP/1.1\r\nHost: " + host + "\r\nX-Not-Captured: 1\r\n\r\n" +
		"PUT /b/" + bin.ID + "/caf\xe9?q=\xff&ok=1 HTTP/1.1\r\nhost: " + host + "\r\nX-Latin1: caf\xe9\r\nTransfer-Encoding: chunked\r\nCONTENT-type: text/plain\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
		"DELETE /b/" + bin.ID + "/three HTTP/1.1\r\nHost: " + host + "\r\nB: 2\r\nA: 1\r\n\r\n"
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	for i := range 4 {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i+1, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	type reqJSON struct {
		Path        string     `json:"path"`
		Query       string     `json:"query"`
		PathBase64  *string    `json:"path_base64"`
		QueryBase64 *string    `json:"query_base64"`
		HeaderList  [][]string `json:"header_list"`
	}
	get := func(id string) reqJSON {
		var r reqJSON
		a.getJSON("/api/bins/"+bin.ID+"/requests/"+id, bin.Token, &r)
		return r
	}
	r1 := get("req_1")
	want1 := [][]string{{"Host", host}, {"Zeta", "z"}, {"x-github-event", "push"}, {"Alpha", "a"}, {"zeta", "second"}, {"Content-Length", "2"}}
	if !reflect.DeepEqual(r1.HeaderList, want1) || r1.PathBase64 != nil || r1.QueryBase64 != nil {
		t.Errorf("req_1: %+v\nwant header_list %v", r1, want1)
	}
	r2 := get("req_2")
	want2 := [][]string{{"host", host}, {"X-Latin1", "caf\ufffd", base64.StdEncoding.EncodeToString([]byte("caf\xe9"))},
		{"Transfer-Encoding", "chunked"}, {"CONTENT-type", "text/plain"}}
	if !reflect.DeepEqual(r2.HeaderList, want2) {
		t.Errorf("req_2 header_list %q\nwant %q", r2.HeaderList, want2)
	}
	if r2.PathBase64 == nil || *r2.PathBase64 != base64.StdEncoding.EncodeToString([]byte("/caf\xe9")) ||
		r2.QueryBase64 == nil || *r2.QueryBase64 != base64.StdEncoding.EncodeToString([]byte("q=\xff&ok=1")) {
		t.Errorf("req_2 base64 forms: %v %v", r2.PathBase64, r2.QueryBase64)
	}
	r3 := get("req_3")
	if want := [][]string{{"Host", host}, {"B", "2"}, {"A", "1"}}; !reflect.DeepEqual(r3.HeaderList, want) {
		t.Errorf("req_3 header_list %q, want %q", r3.HeaderList, want)
	}
	// List summaries carry it too.
	var list struct {
		Requests []reqJSON `json:"requests"`
	}
	a.getJSON("/api/bins/"+bin.ID+"/requests", bin.Token, &list)
	if len(list.Requests) != 3 || !reflect.DeepEqual(list.Requests[2].HeaderList, want1) {
		t.Errorf("list: %+v", list.Requests)
	}
	// cURL replays the wire order and spelling.
	res := a.do("GET", "/api/bins/"+bin.ID+"/requests/req_1/curl", bin.Token, nil, "")
	c := string(res.body)
	iz, ix, ia := strings.Index(c, "'Zeta: z'"), strings.Index(c, "'x-github-event: push'"), strings.Index(c, "'Alpha: a'")
	if iz < 0 || ix < iz || ia < ix {
		t.Errorf("cURL does not keep the order and spelling:\n%s", c)
	}
}

// TestDetailShowsWireOrder: the details pane lists the header lines as
// received.
func TestDetailShowsWireOrder(t *testing.T) {
	a := newTestApp(t)
	c, binID := a.browserBin("wire")
	conn, err := net.Dial("tcp", a.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /b/"+binID+" HTTP/1.1\r\nHost: h\r\nZeta: 1\r\nx-github-event: push\r\nAlpha: 2\r\nContent-Length: 0\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	doc, _ := a.page(c, "/bins/"+binID+"?req=req_1", 200)
	var names []string
	doc.Find("#headers-table th").Each(func(_ int, s *goquery.Selection) { names = append(names, s.Text()) })
	if got := strings.Join(names, " "); got != "Host Zeta x-github-event Alpha Content-Length" {
		t.Errorf("headers in the details: %s", got)
	}
}

// TestAutoForwardKeepsSpelling: auto-forward sends each header name as the
// sender spelled it.
func TestAutoForwardKeepsSpelling(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	got := make(chan []rawhead.Field, 1)
	tg := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- rawhead.Take(r.Context(), r.Method, r.RequestURI)
	}))
	tg.Listener = rawhead.Listen(tg.Listener)
	tg.Config.ConnContext = rawhead.ConnContext
	tg.Start()
	defer tg.Close()
	if res := a.do("PUT", "/api/bins/"+bin.ID+"/forwarding", bin.Token, nil, `{"url":"`+tg.URL+`","enabled":true}`); res.StatusCode != 200 {
		t.Fatalf("PUT forwarding: %d %s", res.StatusCode, res.body)
	}
	conn, err := net.Dial("tcp", a.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /b/"+bin.ID+"/hook HTTP/1.1\r\nHost: h\r\nx-github-event: push\r\nuser-agent: GitHub-Hookshot/1\r\nContent-Length: 2\r\nconnection: keep-alive\r\n\r\n{}")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var fields []rawhead.Field
	select {
	case fields = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery")
	}
	var lines []string
	for _, f := range fields {
		lines = append(lines, f.Name+": "+f.Value)
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{"x-github-event: push", "user-agent: GitHub-Hookshot/1"} {
		if !strings.Contains(all, want) {
			t.Errorf("delivered without %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "X-Github-Event") || strings.Contains(all, "Go-http-client") || strings.Contains(strings.ToLower(all), "connection: keep-alive") {
		t.Errorf("delivered headers:\n%s", all)
	}
}

// TestReplayEditsInPlace: a replay's header edits take the place of the
// line they change, spelled as typed; new headers go last (in name
// order); the rest keep the captured order and spelling.
func TestReplayEditsInPlace(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	got := make(chan []rawhead.Field, 1)
	tg := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- rawhead.Take(r.Context(), r.Method, r.RequestURI)
	}))
	tg.Listener = rawhead.Listen(tg.Listener)
	tg.Config.ConnContext = rawhead.ConnContext
	tg.Start()
	defer tg.Close()
	conn, err := net.Dial("tcp", a.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /b/"+bin.ID+"/hook HTTP/1.1\r\nHost: h\r\nZeta: 1\r\nx-sig: old\r\nAlpha: 2\r\nContent-Length: 2\r\nx-drop: 1\r\n\r\n{}")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if r := a.do("POST", "/api/bins/"+bin.ID+"/requests/req_1/forward", bin.Token, nil,
		`{"url":"`+tg.URL+`/r","headers":{"X-Sig":"new","X-New":["n1","n2"],"X-Drop":null,"A-New":"a"}}`); r.StatusCode != 200 {
		t.Fatalf("forward: %d %s", r.StatusCode, r.body)
	}
	var lines []string
	select {
	case fields := <-got:
		for _, f := range fields {
			lines = append(lines, f.Name+": "+f.Value)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery")
	}
	want := []string{"Host: " + strings.TrimPrefix(tg.URL, "http://"), "Zeta: 1", "X-Sig: new", "Alpha: 2", "Content-Length: 2", "A-New: a", "X-New: n1", "X-New: n2"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("replayed:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

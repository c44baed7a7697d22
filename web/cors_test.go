package web

import (
	"net/http"
	"testing"
)

func TestCORSSwitch(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	preflight := http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"PUT"}, "Access-Control-Request-Headers": {"content-type,x-a"}}
	// Off (the default): a preflight is an ordinary capture.
	if res := a.do("OPTIONS", "/b/"+bin.ID+"/x", "", preflight, ""); res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS off: %d %v", res.StatusCode, res.Header)
	}
	if res := a.do("PUT", "/api/bins/"+bin.ID+"/response", bin.Token, nil, `{"status":201,"body":"made","cors":true}`); res.StatusCode != 200 {
		t.Fatalf("PUT response: %d %s", res.StatusCode, res.body)
	}
	res := a.do("OPTIONS", "/b/"+bin.ID+"/x", "", preflight, "")
	if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		res.Header.Get("Access-Control-Allow-Methods") != "PUT" || res.Header.Get("Access-Control-Allow-Headers") != "content-type,x-a" ||
		res.Header.Get("Access-Control-Allow-Credentials") != "true" || len(res.body) != 0 {
		t.Fatalf("preflight: %d %v %q", res.StatusCode, res.Header, res.body)
	}
	res = a.do("PUT", "/b/"+bin.ID+"/x", "", http.Header{"Origin": {"https://app.example"}}, "data")
	if res.StatusCode != 201 || string(res.body) != "made" || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		res.Header.Get("Access-Control-Expose-Headers") != "*" {
		t.Fatalf("CORS request: %d %v %q", res.StatusCode, res.Header, res.body)
	}
	if res := a.do("POST", "/b/"+bin.ID, "", nil, ""); res.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("no Origin: %v", res.Header)
	}
	// Every one of them was captured, the preflight included.
	var list struct {
		Requests []struct{ Method string } `json:"requests"`
	}
	a.getJSON("/api/bins/"+bin.ID+"/requests", bin.Token, &list)
	if len(list.Requests) != 4 || list.Requests[2].Method != "OPTIONS" {
		t.Fatalf("captured: %+v", list.Requests)
	}
}

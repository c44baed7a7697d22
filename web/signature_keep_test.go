package web

import (
	"encoding/json"
	"testing"
)

// TestToleranceWithoutSecret: saving the same provider without the secret
// keeps the saved one; another provider does not inherit it.
func TestToleranceWithoutSecret(t *testing.T) {
	a := newTestApp(t)
	bin := a.newBin()
	put := func(body string) (int, map[string]any) {
		res := a.do("PUT", "/api/bins/"+bin.ID+"/signature", bin.Token, nil, body)
		var j map[string]any
		json.Unmarshal(res.body, &j)
		return res.StatusCode, j
	}
	if code, _ := put(`{"provider":"stripe","secret":"whsec_abcdefghijklmnop"}`); code != 200 {
		t.Fatal(code)
	}
	code, j := put(`{"provider":"stripe","tolerance_s":"600"}`)
	if code != 200 {
		t.Fatalf("tolerance alone: %d %v", code, j)
	}
	params := j["signature"].(map[string]any)["params"].(map[string]any)
	if params["tolerance_s"] != "600" || params["secret"] == nil || params["secret"] == "" {
		t.Fatalf("params %v", params)
	}
	// The check uses the kept secret: a sample signed with it verifies.
	res := a.do("POST", "/api/bins/"+bin.ID+"/samples", bin.Token, nil, `{"provider":"stripe"}`)
	if res.StatusCode != 201 || !json.Valid(res.body) {
		t.Fatalf("sample: %d %s", res.StatusCode, res.body)
	}
	var sample struct {
		Signature struct{ Valid bool } `json:"signature"`
	}
	json.Unmarshal(res.body, &sample)
	if !sample.Signature.Valid {
		t.Fatalf("sample after keeping the secret: %s", res.body)
	}
	if code, _ := put(`{"provider":"github"}`); code != 400 {
		t.Fatalf("another provider without its secret: %d, want 400", code)
	}
}

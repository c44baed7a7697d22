package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestDatabaseErrorsAreNotNotFound: one error path answers in each route's
// language, and a failing database is a 500 on every kind of route, never
// a "not found" that hides it.
func TestDatabaseErrorsAreNotNotFound(t *testing.T) {
	a := newTestApp(t)
	owner, binID := a.browserBin("db errors")
	b := a.newBin()
	res := a.ownerDo(owner, "POST", "/api/bins/"+binID+"/shares", `{}`)
	var sh struct{ ID string }
	if err := json.Unmarshal(res.body, &sh); err != nil || sh.ID == "" {
		t.Fatalf("share: %d %s", res.StatusCode, res.body)
	}
	for _, p := range []string{"/bins/nope/stream", "/api/bins/nope", "/s/nope"} {
		if res := a.do("GET", p, "", nil, ""); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
	}
	a.db.Close()
	for _, tc := range []struct {
		path   string
		client *http.Client
		token  string
		want   string // a piece of the body
	}{
		{"/bins/" + binID + "/stream", owner, "", "Internal error"},
		{"/bins/" + binID, owner, "", "Internal error"},
		{"/api/bins/" + b.ID + "/events", nil, b.Token, `{"error":"internal error`},
		{"/api/bins/" + b.ID + "/requests/wait?timeout=1s", nil, b.Token, `{"error":"internal error`},
		{"/s/" + sh.ID + "/stream", nil, "", "Internal error"},
	} {
		var res testResponse
		if tc.client != nil {
			res = a.ownerDo(tc.client, "GET", tc.path, "")
		} else {
			res = a.do("GET", tc.path, tc.token, nil, "")
		}
		if res.StatusCode != http.StatusInternalServerError || !strings.Contains(string(res.body), tc.want) {
			t.Errorf("GET %s with the database closed: %d %q, want 500 with %q", tc.path, res.StatusCode, res.body, tc.want)
		}
	}
}

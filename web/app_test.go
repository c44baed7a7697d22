package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tailhook-dev/tailhook/rawhead"
	"github.com/tailhook-dev/tailhook/storage"
	"github.com/tailhook-dev/tailhook/storage/pgtest"
)

// testApp is the whole web app on a real listener with a real SQLite file.
type testApp struct {
	t   testing.TB
	db  *storage.DB
	hub *Hub
	srv *Server
	ts  *httptest.Server
}

// newTestApp starts the app; cfg may be modified by the callers' options.
func newTestApp(t testing.TB, opts ...func(*Config, *storage.Options)) *testApp {
	t.Helper()
	cfg := Config{MaxBody: 1 << 20, RateLimit: 0, AllowPrivateForwarding: true, Version: "test"}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	sopts := storage.Options{Log: log}
	for _, o := range opts {
		o(&cfg, &sopts)
	}
	where := filepath.Join(t.TempDir(), "test.db")
	if os.Getenv(engineEnv) == "postgres" {
		where = pgtest.DSN(t) // see TestMain
	}
	db, err := storage.Open(context.Background(), where, sopts)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(context.Background(), cfg, db, log)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Config.MaxHeaderBytes = 1 << 20
	// As serve does: header lines recorded as received.
	ts.Listener = rawhead.Listen(ts.Listener)
	ts.Config.ConnContext = rawhead.ConnContext
	ts.Config.RegisterOnShutdown(srv.Close)
	ts.Start()
	a := &testApp{t: t, db: db, hub: srv.hub, srv: srv, ts: ts}
	t.Cleanup(func() {
		ts.CloseClientConnections()
		srv.Close()
		ts.Close()
		db.Close()
	})
	return a
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// createdBin is the answer to POST /api/bins.
type createdBin struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Token      string `json:"token"`
	CaptureURL string `json:"capture_url"`
	InspectURL string `json:"inspect_url"`
	CreatedAt  string `json:"created_at"`
}

// newBin creates a bin through the API.
func (a *testApp) newBin() createdBin {
	a.t.Helper()
	res := a.do("POST", "/api/bins", "", nil, `{"name":"test"}`)
	if res.StatusCode != http.StatusCreated {
		a.t.Fatalf("create bin: %d %s", res.StatusCode, res.body)
	}
	var b createdBin
	if err := json.Unmarshal(res.body, &b); err != nil {
		a.t.Fatal(err)
	}
	return b
}

type testResponse struct {
	*http.Response
	body []byte
}

// do sends a request to the app; token, when set, goes in Authorization.
func (a *testApp) do(method, path, token string, header http.Header, body string) testResponse {
	a.t.Helper()
	req, err := http.NewRequest(method, a.ts.URL+path, bytes.NewBufferString(body))
	if err != nil {
		a.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := a.ts.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return testResponse{res, b}
}

// getJSON GETs path with the bin token and decodes the answer into v.
func (a *testApp) getJSON(path, token string, v any) {
	a.t.Helper()
	res := a.do("GET", path, token, nil, "")
	if res.StatusCode != http.StatusOK {
		a.t.Fatalf("GET %s: %d %s", path, res.StatusCode, res.body)
	}
	if err := json.Unmarshal(res.body, v); err != nil {
		a.t.Fatalf("GET %s: %v in %s", path, err, res.body)
	}
}

// eventually polls cond, a cheap check, until it holds, and fails the test
// when it still does not after within. It is the one poll helper of these
// tests: use it only where no event can be awaited.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

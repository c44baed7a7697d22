package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseServe(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // substring; "" means success
		check   func(t *testing.T, c serveConfig)
	}{
		{name: "defaults", check: func(t *testing.T, c serveConfig) {
			if c.Addr != "127.0.0.1:8080" || c.DB != "tailhook.db" || c.MaxBody != 10<<20 || c.MaxRequests != 10000 ||
				c.Retention != 168*time.Hour || c.RateLimit != 100 || c.AllowPrivateForwarding || c.TrustProxy || c.BaseURL != "" {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{name: "PORT", env: map[string]string{"PORT": "9000"}, check: func(t *testing.T, c serveConfig) {
			if c.Addr != ":9000" {
				t.Errorf("addr %q", c.Addr)
			}
		}},
		{name: "env beats PORT, flag beats env", args: []string{"--max-body", "2MiB"},
			env: map[string]string{"PORT": "9000", "TAILHOOK_ADDR": "127.0.0.1:7000", "TAILHOOK_MAX_BODY": "1KiB", "TAILHOOK_TRUST_PROXY": "true"},
			check: func(t *testing.T, c serveConfig) {
				if c.Addr != "127.0.0.1:7000" || c.MaxBody != 2<<20 || !c.TrustProxy {
					t.Errorf("%+v", c)
				}
			}},
		{name: "sizes", args: []string{"--max-body=512KiB"}, check: func(t *testing.T, c serveConfig) {
			if c.MaxBody != 512<<10 {
				t.Errorf("max body %d", c.MaxBody)
			}
		}},
		{name: "plain bytes and bare bool", args: []string{"--max-body", "1000", "--allow-private-forwarding", "--rate-limit", "0"}, check: func(t *testing.T, c serveConfig) {
			if c.MaxBody != 1000 || !c.AllowPrivateForwarding || c.RateLimit != 0 {
				t.Errorf("%+v", c)
			}
		}},
		{name: "bad size", args: []string{"--max-body", "10MB"}, wantErr: `invalid value "10MB" for --max-body`},
		{name: "bad size from env", env: map[string]string{"TAILHOOK_MAX_BODY": "lots"}, wantErr: `--max-body (or TAILHOOK_MAX_BODY)`},
		{name: "bad retention", args: []string{"--retention", "7d"}, wantErr: "--retention"},
		{name: "bad rate", args: []string{"--rate-limit", "-1"}, wantErr: "--rate-limit"},
		{name: "bad bool", args: []string{"--trust-proxy=maybe"}, wantErr: "--trust-proxy"},
		{name: "bad addr", args: []string{"--addr", "8080"}, wantErr: "--addr"},
		{name: "bad base url", args: []string{"--base-url", "hooks.example.com"}, wantErr: "--base-url"},
		{name: "base url with path", args: []string{"--base-url", "https://x.example/path"}, wantErr: "--base-url"},
		{name: "bad max requests", args: []string{"--max-requests", "0"}, wantErr: "--max-requests"},
		{name: "limit defaults", check: func(t *testing.T, c serveConfig) {
			if c.BodyTimeout != 60*time.Second || c.MaxInflight != 256<<20 || c.BinLimit != 60 || c.CaptureHost != "" {
				t.Errorf("%+v", c)
			}
		}},
		{name: "limits", args: []string{"--capture-host", "hooks.example.com", "--body-timeout", "5s", "--max-inflight=1GiB", "--bin-limit", "0"},
			env: map[string]string{"TAILHOOK_BIN_LIMIT": "5", "TAILHOOK_BODY_TIMEOUT": "1s"},
			check: func(t *testing.T, c serveConfig) {
				if c.CaptureHost != "hooks.example.com" || c.BodyTimeout != 5*time.Second || c.MaxInflight != 1<<30 || c.BinLimit != 0 {
					t.Errorf("%+v", c)
				}
			}},
		{name: "limits from env", env: map[string]string{"TAILHOOK_CAPTURE_HOST": "hooks.example.com:8443", "TAILHOOK_BIN_LIMIT": "5"},
			check: func(t *testing.T, c serveConfig) {
				if c.CaptureHost != "hooks.example.com:8443" || c.BinLimit != 5 {
					t.Errorf("%+v", c)
				}
			}},
		{name: "capture host with scheme", args: []string{"--capture-host", "https://hooks.example.com"}, wantErr: "--capture-host"},
		{name: "capture host with path", args: []string{"--capture-host", "hooks.example.com/b"}, wantErr: "--capture-host"},
		{name: "bad body timeout", args: []string{"--body-timeout", "0s"}, wantErr: "--body-timeout"},
		{name: "bad max inflight", env: map[string]string{"TAILHOOK_MAX_INFLIGHT": "lots"}, wantErr: "--max-inflight (or TAILHOOK_MAX_INFLIGHT)"},
		{name: "bad bin limit", args: []string{"--bin-limit", "-1"}, wantErr: "--bin-limit"},
		{name: "postgres URL", env: map[string]string{"TAILHOOK_DB": "postgres://u:pw@db.example:5432/th"}, check: func(t *testing.T, c serveConfig) {
			if c.DB != "postgres://u:pw@db.example:5432/th" {
				t.Errorf("db %q", c.DB)
			}
		}},
		// The value is never echoed: it may hold a password.
		{name: "bad postgres URL", args: []string{"--db", "postgres://u:s3cret@%zz/th"}, wantErr: "--db"},
		{name: "postgres URL without host (the local socket)", args: []string{"--db", "postgresql:///th"}, check: func(t *testing.T, c serveConfig) {
			if c.DB != "postgresql:///th" {
				t.Errorf("db %q", c.DB)
			}
		}},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: "flag provided but not defined: -nope"},
		{name: "stray argument", args: []string{"extra"}, wantErr: `no arguments, got "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			c, err := parseServe(tt.args, envOf(tt.env), &out)
			if tt.wantErr != "" {
				var ue usageError
				if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want usage error with %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error shows the password: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestRunCommands(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"version"}, noEnv, &out, &errb); err != nil || !strings.HasPrefix(out.String(), "tailhook ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"help"}, noEnv, &out, &errb); err != nil || !strings.Contains(out.String(), "tailhook relay") {
		t.Fatalf("help: %v %q", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"help", "serve"}, noEnv, &out, &errb); err != nil || !strings.Contains(out.String(), "-max-body") {
		t.Fatalf("help serve: %v %q", err, out.String())
	}
	err := run(context.Background(), []string{"frobnicate"}, noEnv, &out, &errb)
	var ue usageError
	if !errors.As(err, &ue) {
		t.Fatalf("unknown command: %v", err)
	}
	if loopbackOnly(":8080") || loopbackOnly("0.0.0.0:1") || !loopbackOnly("127.0.0.1:1") || !loopbackOnly("localhost:1") || !loopbackOnly("[::1]:1") {
		t.Fatal("loopbackOnly")
	}
}

// serverLog is the stderr of a tailhook under test, started on
// 127.0.0.1:0: it reads the address the server bound from its "tailhook
// listening" line (no free-port guessing, no polling for health), keeps
// the log, and passes warnings and errors on to the test's output.
type serverLog struct {
	mu      sync.Mutex
	all     bytes.Buffer
	partial []byte
	addr    chan string
}

func newServerLog() *serverLog { return &serverLog{addr: make(chan string, 1)} }

func (l *serverLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all.Write(p)
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		if strings.Contains(line, `msg="tailhook listening"`) {
			if _, a, ok := strings.Cut(line, " addr="); ok {
				a, _, _ = strings.Cut(a, " ")
				select {
				case l.addr <- a:
				default:
				}
			}
		}
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			fmt.Fprintln(os.Stderr, line)
		}
	}
	return len(p), nil
}

func (l *serverLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all.String()
}

// base waits for the server to say where it listens.
func (l *serverLog) base(t *testing.T) string {
	t.Helper()
	select {
	case a := <-l.addr:
		return "http://" + a
	case <-time.After(20 * time.Second):
		t.Fatalf("the server never said where it listens:\n%s", l.String())
		return ""
	}
}

// eventually polls cond, a cheap check, until it holds, and fails the test
// when it still does not after within: the one poll helper of these tests.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startRun runs the whole program in-process on 127.0.0.1:0 and returns its
// origin and a function that stops it like SIGINT and returns run's error.
func startRun(t *testing.T, args ...string) (base string, log *serverLog, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log = newServerLog()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), noEnv, io.Discard, log)
	}()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(15 * time.Second):
				err = errors.New("run did not return after cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return log.base(t), log, stop
}

type binInfo struct {
	ID    string `json:"id"`
	Token string `json:"token"`
}

func createBin(t *testing.T, base string) binInfo {
	t.Helper()
	res, err := http.Post(base+"/api/bins", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b binInfo
	if err := json.NewDecoder(res.Body).Decode(&b); err != nil || res.StatusCode != 201 {
		t.Fatalf("create bin: %d %v", res.StatusCode, err)
	}
	return b
}

// TestRunGracefulShutdown starts the whole program in-process, captures, and
// cancels it like SIGINT would: it must exit cleanly with the capture kept.
func TestRunGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	base, logs, stop := startRun(t, "--db", filepath.Join(dir, "sub", "t.db"))
	bin := createBin(t, base)
	res, err := http.Post(base+"/b/"+bin.ID+"/x", "text/plain", strings.NewReader("kept"))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("capture: %v", err)
	}
	res.Body.Close()
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, want := range []string{"tailhook listening", "db=" + filepath.Join(dir, "sub", "t.db"), "stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *safeBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// buildBinary compiles tailhook once per test binary run.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "tailhook-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "tailhook")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// startBinary runs the real binary's serve on addr ("" for 127.0.0.1:0)
// and returns it with the origin it listens on.
func startBinary(t *testing.T, addr string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr}, args...)...)
	cmd.Env = append(os.Environ(), "TAILHOOK_LOG_LEVEL=info")
	log := newServerLog()
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, log.base(t)
}

// TestDurabilityAcrossSIGKILL loads the real binary from several goroutines,
// kills it with SIGKILL mid-load, restarts it on the same database, and
// checks that every capture that was answered 2xx is there.
func TestDurabilityAcrossSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "durable.db")
	cmd, base := startBinary(t, "", "--db", dbPath, "--rate-limit", "0")
	bin := createBin(t, base)

	var (
		mu    sync.Mutex
		acked = map[string]string{} // id → body
		wg    sync.WaitGroup
		stop  = make(chan struct{})
	)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"g":%d,"i":%d}`, g, i)
				res, err := client.Post(base+"/b/"+bin.ID+"/load", "application/json", strings.NewReader(body))
				if err != nil {
					return // the server is gone
				}
				var ack struct {
					ID string `json:"id"`
				}
				err = json.NewDecoder(res.Body).Decode(&ack)
				res.Body.Close()
				if res.StatusCode == 200 && err == nil {
					mu.Lock()
					acked[ack.ID] = body
					mu.Unlock()
				}
			}
		}(g)
	}
	// Let the load run, then kill without warning.
	for {
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	close(stop)
	wg.Wait()

	_, base2 := startBinary(t, "", "--db", dbPath)
	stored := map[string]string{}
	before := ""
	for {
		req, _ := http.NewRequest("GET", base2+"/api/bins/"+bin.ID+"/requests?limit=500&before="+before, nil)
		req.Header.Set("Authorization", "Bearer "+bin.Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Requests []struct {
				ID  string `json:"id"`
				Seq int64  `json:"seq"`
			} `json:"requests"`
			Next *string `json:"next"`
		}
		json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		for _, r := range page.Requests {
			stored[r.ID] = ""
		}
		if page.Next == nil {
			break
		}
		before = *page.Next
	}
	for id, body := range acked {
		if _, ok := stored[id]; !ok {
			t.Errorf("acknowledged capture %s (%s) is missing after SIGKILL", id, body)
		}
	}
	// Spot-check that bodies are intact.
	checked := 0
	for id, body := range acked {
		if checked == 20 {
			break
		}
		checked++
		req, _ := http.NewRequest("GET", base2+"/api/bins/"+bin.ID+"/requests/"+id+"/body", nil)
		req.Header.Set("Authorization", "Bearer "+bin.Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(got) != body {
			t.Errorf("%s body = %q, want %q", id, got, body)
		}
	}
	t.Logf("%d acknowledged, %d stored after SIGKILL", len(acked), len(stored))
}

// TestAutoForwardSurvivesRestart queues a delivery whose first attempt
// fails, kills the real binary, and checks that the restarted one delivers it.
func TestAutoForwardSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	var (
		mu   sync.Mutex
		fail = true
		got  []string
	)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.URL.Path+" "+string(b))
		if fail {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(200)
	}))
	defer target.Close()
	received := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}

	dbPath := filepath.Join(t.TempDir(), "fwd.db")
	cmd, base := startBinary(t, "", "--db", dbPath)
	bin := createBin(t, base)
	req, _ := http.NewRequest("PUT", base+"/api/bins/"+bin.ID+"/forwarding", strings.NewReader(`{"url":"`+target.URL+`/in","enabled":true}`))
	req.Header.Set("Authorization", "Bearer "+bin.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("PUT forwarding: %v %v", err, res.Status)
	}
	res.Body.Close()
	res, err = http.Post(base+"/b/"+bin.ID+"/evt", "text/plain", strings.NewReader("survivor"))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("capture: %v", err)
	}
	res.Body.Close()
	eventually(t, 10*time.Second, "the first attempt", func() bool { return len(received()) > 0 })
	// Killed before the retry (due ~1 s later) can run.
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	mu.Lock()
	fail = false
	mu.Unlock()

	startBinary(t, "", "--db", dbPath)
	eventually(t, 15*time.Second, "the pending delivery to resume after restart", func() bool { return len(received()) >= 2 })
	if r := received(); r[len(r)-1] != "/in/evt survivor" {
		t.Fatalf("target got %q", r)
	}
}

// TestRelayEndToEnd runs the real binary as server and as relay, restarts the
// server while the relay runs, and checks that every request reaches the
// target exactly once, in order, including those captured while the relay
// was disconnected; Ctrl-C ends the relay with status 0.
func TestRelayEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	var (
		mu  sync.Mutex
		got []string
	)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.RequestURI()+" "+string(b))
		mu.Unlock()
		w.WriteHeader(204)
	}))
	defer target.Close()
	received := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
	waitCount := func(n int) {
		t.Helper()
		eventually(t, 20*time.Second, fmt.Sprintf("%d requests at the target", n), func() bool { return len(received()) >= n })
	}

	dbPath := filepath.Join(t.TempDir(), "relay.db")
	server, base := startBinary(t, "", "--db", dbPath)
	bin := createBin(t, base)

	binPath, _ := buildOnce()
	var out safeBuffer
	relay := exec.Command(binPath, "relay", base+"/bins/"+bin.ID, "--to", target.URL+"/local", "--token", bin.Token)
	relay.Stdout = &out
	relay.Stderr = &out
	if err := relay.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Process.Kill(); relay.Wait() })
	eventually(t, 10*time.Second, "the relay to connect", func() bool { return strings.Contains(out.String(), "connected") })
	capture := func(i int) {
		t.Helper()
		res, err := http.Post(fmt.Sprintf("%s/b/%s/hook/%d?i=%d", base, bin.ID, i, i), "text/plain", strings.NewReader(fmt.Sprint("body", i)))
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("capture %d: %v", i, err)
		}
		res.Body.Close()
	}
	for i := 1; i <= 3; i++ {
		capture(i)
	}
	waitCount(3)

	// Restart the server on the same address and database; capture while the
	// relay is still reconnecting.
	server.Process.Signal(syscall.SIGTERM)
	server.Wait()
	startBinary(t, strings.TrimPrefix(base, "http://"), "--db", dbPath)
	for i := 4; i <= 6; i++ {
		capture(i)
	}
	// A duplicate of 1…6 would reach the target before 7: the relay
	// delivers in order, so waiting for 7 is enough to see one.
	capture(7)
	waitCount(7)
	var want []string
	for i := 1; i <= 7; i++ {
		want = append(want, fmt.Sprintf("POST /local/hook/%d?i=%d body%d", i, i, i))
	}
	if strings.Join(received(), "\n") != strings.Join(want, "\n") {
		t.Fatalf("target got:\n%s\nwant:\n%s", strings.Join(received(), "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(out.String(), "POST /hook/1") || !strings.Contains(out.String(), "→ 204") {
		t.Errorf("relay output lacks per-request lines:\n%s", out.String())
	}
	relay.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- relay.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("relay exit after Ctrl-C: %v\n%s", err, out.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("relay did not exit on Ctrl-C")
	}
}

// TestHeaderLimits checks the real server's limits: headers over 1 MiB get
// 431, and a sender that trickles its headers is cut off after
// --read-header-timeout (10 s by default; 1 s here).
func TestHeaderLimits(t *testing.T) {
	t.Parallel()
	base, _, _ := startRun(t, "--db", filepath.Join(t.TempDir(), "h.db"), "--read-header-timeout", "1s")
	addr := strings.TrimPrefix(base, "http://")
	bin := createBin(t, base)

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /b/%s HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", bin.ID, strings.Repeat("a", 1<<20+8192))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := io.ReadAll(io.LimitReader(conn, 64))
	if !strings.HasPrefix(string(line), "HTTP/1.1 431") {
		t.Errorf("huge headers: got %q, want 431", line)
	}

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	start := time.Now()
	fmt.Fprintf(slow, "POST /b/%s HTTP/1.1\r\nHost: x\r\n", bin.ID) // never finished
	slow.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = io.ReadAll(slow)
	if elapsed := time.Since(start); err != nil || elapsed < 900*time.Millisecond || elapsed > 10*time.Second {
		t.Errorf("slow headers: connection ended after %v (err %v), want about 1 s", elapsed, err)
	}
}
